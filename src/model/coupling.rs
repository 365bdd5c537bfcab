//! How strongly the potential and the reaction are coupled, and whether the step's explicit
//! coupling of the two is stable.
//!
//! The potential of a step is solved with the last step's rate as its source (lagged), then the
//! reaction is evaluated at that potential. For the planar (mean) mode this is the iteration
//! φ_{n+1} = −R i(E − φ_n), R = ℓ/σ_l the electrolyte's Ohmic resistance over the gap ℓ: it
//! converges while R·∂i/∂η < 1 and oscillates with a growing amplitude beyond. Under
//! galvanostatic control the current is fixed every step, so the mean never oscillates; under
//! potentiostatic control, where the Ohmic drop i·R exceeds the kinetic overpotential (a
//! migration-limited run: R·∂i/∂η ≈ αf·iR in the Tafel range), it does. The sub-grid interphase's
//! resistance is solved implicitly per cell (model::kinetics), so it enters in series with the
//! charge transfer: ∂i/∂E = 1/(1/g_ct + ASR).
//!
//! `numerics.potential_coupling` chooses from this number between that explicit coupling and the
//! implicit one, Newton on potential and reaction together each step (the CPU backend's
//! `solve_coupled_potential`; docs/model.md, "Control").

use crate::config::InitialConfig;
use crate::model::params::{Control, Params, LENGTH_UNIT_M};

/// `numerics.potential_coupling = "auto"` solves implicitly from this planar R·∂i/∂E on, inside
/// the explicit iteration's convergence (< 1): there each step only halves the mean's error
/// (the error alternates in sign), and the growing current of a closing gap raises the number.
pub const AUTO_IMPLICIT_FROM: f64 = 0.5;
/// Newton iterations of the implicit coupling per step at most (a run's first step starts from
/// φ = 0 and moves ~1/(αf) per iteration down an exponential; later ones take 1–3).
pub const MAX_NEWTON_ITERATIONS: u32 = 60;

/// Whether the run solves potential and reaction together: `numerics.potential_coupling`, with
/// "auto" resolved at the start's planar coupling number; "implicit" is refused under
/// galvanostatic control (the current is fixed there, the mean needs no coupling).
pub fn resolve(p: &Params, cfg: &crate::config::Config) -> crate::Result<bool> {
    use crate::config::PotentialCoupling;
    let coupling = planar_coupling(p, &cfg.initial);
    match (cfg.numerics.potential_coupling, coupling) {
        (PotentialCoupling::Explicit, _) => Ok(false),
        (PotentialCoupling::Implicit, Some(_)) => Ok(true),
        (PotentialCoupling::Implicit, None) => Err(crate::Error::config(
            "numerics.potential_coupling",
            "= \"implicit\" is for potentiostatic runs (control.mode = \"potentiostatic\"): under galvanostatic control the current is fixed every step; use \"auto\" or \"explicit\"",
        )),
        (PotentialCoupling::Auto, Some(c)) => Ok(c.coupling_number >= AUTO_IMPLICIT_FROM),
        (PotentialCoupling::Auto, None) => Ok(false),
    }
}

/// The planar operating point of a potentiostatic run at its start and its coupling number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanarCoupling {
    /// The electrolyte gap ℓ (µm) between the initial deposit and the bulk face.
    pub gap_um: f64,
    /// R = ℓ/σ_l (Ω m²).
    pub resistance_ohm_m2: f64,
    /// The planar current (A/m², positive plating) at which E = η_ct − i (ASR + R), c = c0.
    pub current_a_m2: f64,
    /// Its kinetic (charge-transfer) overpotential η_ct (V).
    pub kinetic_overpotential_v: f64,
    /// R · ∂i/∂E: the explicit coupling's amplification per step (stable below 1).
    pub coupling_number: f64,
}

/// The coupling of a potentiostatic run at its start (None under galvanostatic control): the
/// planar current at c = c0 through the charge transfer (i0 × the interphase's multiplier and
/// open fraction), the interphase's mean ASR and the electrolyte gap, in series.
pub fn planar_coupling(p: &Params, initial: &InitialConfig) -> Option<PlanarCoupling> {
    let Control::Potentiostatic {
        applied_potential_v: e,
    } = p.control
    else {
        return None;
    };
    let gap_um = (p.grid.lx() - initial.deposit_height_um).max(0.0);
    let resistance = gap_um * LENGTH_UNIT_M / p.sigma_liquid_s_m;
    let ip = &p.interphase;
    let i0 = p.i0_a_m2 * ip.exchange_current_multiplier * (1.0 - ip.blocked_fraction);
    let (a, f) = (p.alpha, p.f);
    // Plating current density (A/m²) at charge-transfer overpotential η, c = c0.
    let current = |eta: f64| i0 * ((-a * f * eta).exp() - ((1.0 - a) * f * eta).exp());
    let series = ip.asr_ohm_m2 + resistance;
    // η − i(η)·series − E is increasing in η; its root lies between E and 0.
    let (mut lo, mut hi) = (e.min(0.0), e.max(0.0));
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid - current(mid) * series - e > 0.0 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let eta = 0.5 * (lo + hi);
    let g_ct = i0 * (a * f * (-a * f * eta).exp() + (1.0 - a) * f * ((1.0 - a) * f * eta).exp());
    let conductance = 1.0 / (1.0 / g_ct + ip.asr_ohm_m2);
    Some(PlanarCoupling {
        gap_um,
        resistance_ohm_m2: resistance,
        current_a_m2: current(eta),
        kinetic_overpotential_v: eta,
        coupling_number: resistance * conductance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ControlMode};
    use crate::model::params::FARADAY;

    /// Hong's V6 set (configs/li-hong2018.toml: Li, n = 1, D = 317.9 µm²/s, T = 300 K,
    /// C_s/c0 = 81.9, −0.45 V over a 180 µm gap) with i0 = 20 A/cm²: the planar operating point is the migration-limited one,
    /// v = K/ℓ with K = D f |Δφ| c0/C_s = 67.56 µm²/s (physics.md §4 V6, 67.6), and its
    /// coupling number is far above 1; the Mg demo at −0.1 V is far below.
    #[test]
    fn migration_limited_potentiostatic_runs_have_a_coupling_number_above_one() {
        let cfg = Config::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/li-hong2018.toml"),
            &["interface.exchange_current_ma_cm2=20000".to_string()],
        )
        .unwrap();
        let p = Params::from_config(&cfg).unwrap();
        let c = planar_coupling(&p, &cfg.initial).unwrap();
        let k = p.d_liquid * p.f * 0.45 / p.cs_over_c0 / (1.0 - (-p.f * 0.45).exp());
        let v = c.current_a_m2 / p.metal.charge_density_c_m3() / LENGTH_UNIT_M;
        println!(
            "K = {k:.4} µm²/s; planar v = {v:.5} µm/s vs K/ℓ = {:.5}; η_ct = {:.5} V; R·∂i/∂E = {:.2}",
            k / c.gap_um,
            c.kinetic_overpotential_v,
            c.coupling_number
        );
        assert!((k - 67.6).abs() < 0.1, "K = {k}");
        // The kinetic overpotential (0.4 mV of 0.45 V) is all that separates the two.
        assert!((v / (k / c.gap_um) - 1.0).abs() < 2e-3);
        assert!(c.coupling_number > 100.0);
        // σ_l is the t+ = 1 identity of the Li set: F²D c0/(RT).
        let sigma = FARADAY * p.f * 3.179e-10 * 932.8;
        assert!((p.sigma_liquid_s_m / sigma - 1.0).abs() < 1e-12);

        let mut demo = Config::default_demo();
        demo.control.mode = ControlMode::Potentiostatic;
        let p = Params::from_config(&demo).unwrap();
        let c = planar_coupling(&p, &demo.initial).unwrap();
        println!("Mg demo at −0.1 V: R·∂i/∂E = {:.2e}", c.coupling_number);
        assert!(c.coupling_number < 0.2);
        demo.control.mode = ControlMode::Galvanostatic;
        let p = Params::from_config(&demo).unwrap();
        assert!(planar_coupling(&p, &demo.initial).is_none());
    }
}
