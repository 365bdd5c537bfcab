//! What `mgpf check` prints and run.json records: the dimensionless groups of physics.md §2.1,
//! the stable time step at the start of the run and the memory the run needs.

use super::memory::{self, MemoryNeed};
use crate::error::{Error, Result};
use crate::model::params::{Control, Params, LENGTH_UNIT_M};
use crate::model::timestep::{bounds, time_step, Bound, RateMaxima};
use crate::model::units::MAH_CM2_IN_C_M2;
use serde::Serialize;

/// Derived quantities of a run, before it starts.
#[derive(Debug, Clone, Serialize)]
pub struct DerivedGroups {
    /// Δx/δ (≤ 0.5 required).
    pub dx_over_delta: f64,
    /// Λ at η = −0.15 V, c = c0 (the physics.md §1.6 reference), and Λ at the nominal interface |B|.
    pub lambda_target: f64,
    pub lambda_nominal: f64,
    /// Nominal |B| at the interface: i / (i0 m_i0 (1 − P_b)).
    pub nominal_b: f64,
    /// Damköhler number over the electrolyte gap.
    pub damkohler: f64,
    pub cs_over_c0: f64,
    /// Capillary/kinetic ratio (δK)/(3Λ) at K = 1/(5δ).
    pub capillary_kinetic_ratio: f64,
    pub l_sigma_m3_j_s: f64,
    pub l_eta_per_s: f64,
    pub w_j_m3: f64,
    pub kappa_j_m: f64,
    pub sigma_liquid_s_m: f64,
    /// Planar growth speed at the target current (µm/s) and the Faraday thickness per mAh/cm².
    pub planar_speed_um_s: f64,
    pub thickness_per_mah_cm2_um: f64,
    /// Stable dt at the start (s) and the bound that sets it.
    pub stable_dt_s: f64,
    pub dt_bound: Bound,
    /// Host memory of a CPU run (bytes): fields, solvers and output buffers; and one frame, of
    /// which a run keeps `run.frames` ([`super::memory`] says how each is counted).
    pub memory_bytes: u64,
    pub frame_bytes: u64,
}

/// Nominal rate maxima at the start: the target current through the active area.
fn nominal_maxima(p: &Params) -> (RateMaxima, f64) {
    let ip = &p.interphase;
    let active = (1.0 - ip.blocked_fraction).max(1e-3);
    let (current, b) = match p.control {
        Control::Galvanostatic {
            current_density_a_m2,
        } => (
            current_density_a_m2,
            current_density_a_m2 / (p.i0_a_m2 * ip.exchange_current_multiplier * active),
        ),
        Control::Potentiostatic {
            applied_potential_v,
        } => {
            let b = p
                .butler_volmer(applied_potential_v.clamp(-0.6, 0.6), 1.0)
                .abs();
            (b * p.i0_a_m2 * ip.exchange_current_multiplier, b)
        }
    };
    let speed = p.velocity_of_current(current / active);
    let migration = p.d_liquid * p.f * current / p.sigma_liquid_s_m * LENGTH_UNIT_M;
    (
        RateMaxima {
            reaction_factor: b * ip.exchange_current_multiplier,
            front_speed: speed,
            migration_speed: migration,
        },
        b,
    )
}

pub fn derived_groups(p: &Params) -> DerivedGroups {
    let (maxima, b) = nominal_maxima(p);
    let (dt, bound) = match time_step(p, maxima) {
        Ok(v) => v,
        Err((b, limit)) => (limit, b),
    };
    let lambda_nominal = p.stiffness_lambda(b);
    let e0 = p.energy_unit_j_m3;
    let gap = p.grid.lx() * 0.9;
    let k = 1.0 / (5.0 * p.delta);
    let memory = MemoryNeed::of(p);
    DerivedGroups {
        dx_over_delta: p.grid.dx / p.delta,
        lambda_target: p.stiffness_lambda(p.butler_volmer(-0.15, 1.0).abs()),
        lambda_nominal,
        nominal_b: b,
        damkohler: p.damkohler(gap),
        cs_over_c0: p.cs_over_c0,
        capillary_kinetic_ratio: if lambda_nominal > 0.0 {
            p.delta * k / (3.0 * lambda_nominal)
        } else {
            f64::INFINITY
        },
        l_sigma_m3_j_s: p.l_sigma / e0,
        l_eta_per_s: p.l_eta,
        w_j_m3: p.w * e0,
        kappa_j_m: p.kappa * e0 * LENGTH_UNIT_M * LENGTH_UNIT_M,
        sigma_liquid_s_m: p.sigma_liquid_s_m,
        planar_speed_um_s: p.velocity_of_current(match p.control {
            Control::Galvanostatic {
                current_density_a_m2,
            } => current_density_a_m2,
            Control::Potentiostatic { .. } => 0.0,
        }),
        thickness_per_mah_cm2_um: p
            .metal
            .thickness_um_of_charge(crate::model::units::MAH_CM2_IN_C_M2),
        stable_dt_s: dt,
        dt_bound: bound,
        memory_bytes: memory.state_bytes + memory.output_bytes,
        frame_bytes: memory.frame_bytes,
    }
}

/// A potentiostatic run whose Ohmic drop dominates its kinetics is refused under the explicit
/// coupling (it would oscillate, [`crate::model::coupling`]), naming the numbers and what to do
/// instead.
pub fn check_potential_coupling(p: &Params, initial: &crate::config::InitialConfig) -> Result<()> {
    let Some(c) = crate::model::coupling::planar_coupling(p, initial) else {
        return Ok(());
    };
    if c.coupling_number < 1.0 || p.implicit_coupling {
        return Ok(());
    }
    let e = p.initial_electrode_potential();
    Err(Error::config(
        "control.applied_potential_v",
        format!(
            "= {e} V drives a planar current of {:.4} mA/cm² whose Ohmic drop over the {:.1} µm of electrolyte ({:.4} V) outweighs the interface's kinetic overpotential ({:.4} V): the step couples the potential to the reaction explicitly, which oscillates where R·∂i/∂E > 1 (here {:.3}, R = {:.3e} Ω m²). Solve the two together (numerics.potential_coupling = \"implicit\" or \"auto\", CPU backend), or run galvanostatically",
            0.1 * c.current_a_m2,
            c.gap_um,
            c.current_a_m2 * c.resistance_ohm_m2,
            c.kinetic_overpotential_v,
            c.coupling_number,
            c.resistance_ohm_m2,
        ),
    ))
}

/// A fixed `numerics.dt_s` above the start-of-run bound is an error naming the bound.
pub fn check_time_step(p: &Params) -> Result<()> {
    let (maxima, _) = nominal_maxima(p);
    match time_step(p, maxima) {
        Ok(_) => Ok(()),
        Err((b, limit)) => Err(Error::config(
            "numerics.dt_s",
            format!(
                "= {} s is above the stable time step {:.4e} s (S · the {} bound); allowed range (0, {:.4e}]",
                p.fixed_dt.unwrap_or(0.0),
                limit,
                b,
                limit
            ),
        )),
    }
}

/// The 10–90 % width of the equilibrium profile ½[1 − tanh(d/(2δ))]: 4 artanh(0.8) δ = 4.394 δ.
pub fn interface_width_10_90(delta: f64) -> f64 {
    4.0 * 0.8f64.atanh() * delta
}

/// `mgpf check`'s line on resolution: the mean growth a planar deposit reaches at the end
/// charge against the interface's 10–90 % width (a morphology smaller than the interface is
/// not resolved); None without an end charge.
pub fn describe_growth(p: &Params, end_charge_mah_cm2: Option<f64>) -> Option<String> {
    let q = end_charge_mah_cm2?;
    let growth = p.metal.thickness_um_of_charge(q * MAH_CM2_IN_C_M2);
    let width = interface_width_10_90(p.delta);
    Some(format!(
        "resolution: mean growth at run.end_charge_mah_cm2 = {q} (planar) {growth:.3} µm = {:.2} × the interface's 10–90 % width 4.39 δ = {width:.3} µm\n",
        growth / width
    ))
}

/// Human-readable report for `mgpf check`.
pub fn describe(p: &Params) -> String {
    let d = derived_groups(p);
    let (maxima, _) = nominal_maxima(p);
    let mut s = String::new();
    s.push_str("derived groups (docs/model.md, \"Derived groups\"):\n");
    s.push_str(&format!(
        "  Δx/δ                      {:.3} (≤ 0.5 required)\n",
        d.dx_over_delta
    ));
    s.push_str(&format!(
        "  Λ at η = −0.15 V, c = c0  {:.4}\n",
        d.lambda_target
    ));
    s.push_str(&format!(
        "  Λ at the nominal current  {:.4}  (|B| = {:.3})\n",
        d.lambda_nominal, d.nominal_b
    ));
    s.push_str(&format!(
        "  Damköhler i0 ℓ/(nFDc0)    {:.4e}\n",
        d.damkohler
    ));
    s.push_str(&format!(
        "  C_s/c0                    {:.1}\n",
        d.cs_over_c0
    ));
    s.push_str(&format!(
        "  capillary/kinetic (δK)/(3Λ) at K = 1/(5δ): {:.3}\n",
        d.capillary_kinetic_ratio
    ));
    s.push_str("coefficients:\n");
    s.push_str(&format!(
        "  metal {}: n = {}, C_s = {:.4e} mol/m³, f = nF/(RT) = {:.4} 1/V\n",
        p.metal.preset.name(),
        p.metal.charge_number,
        p.metal.site_density_mol_m3,
        p.f
    ));
    s.push_str(&format!("  L_σ = {:.4e} m³/(J s), L_η = {:.4e} 1/s, W = {:.4e} J/m³, κ0 = {:.4e} J/m, σ_l = {:.4} S/m\n",
        d.l_sigma_m3_j_s, d.l_eta_per_s, d.w_j_m3, d.kappa_j_m, d.sigma_liquid_s_m));
    s.push_str(&format!(
        "  planar speed at the target current {:.4e} µm/s; {:.4} µm per mAh/cm²\n",
        d.planar_speed_um_s, d.thickness_per_mah_cm2_um
    ));
    s.push_str("time step bounds at the start (s, before the safety factor):\n");
    for (b, v) in bounds(p, maxima) {
        s.push_str(&format!("  {:<10} {:.4e}\n", b.to_string(), v));
    }
    s.push_str(&format!(
        "stable dt = {:.4e} s, set by the {} bound\n",
        d.stable_dt_s, d.dt_bound
    ));
    let g = p.grid;
    let shape = if g.nz > 1 {
        format!("{} x {} x {}", g.nx, g.ny, g.nz)
    } else {
        format!("{} x {}", g.nx, g.ny)
    };
    s.push_str(&format!(
        "memory (CPU backend): {} for {shape} cells ({:.0} bytes per cell: fields, solvers, \
         output buffers) + {} per frame kept for growth.gif\n",
        memory::bytes(d.memory_bytes),
        d.memory_bytes as f64 / g.cells() as f64,
        memory::bytes(d.frame_bytes)
    ));
    if g.nz > 1 {
        let c = p.crystal.c;
        let stiffness = p
            .hcp
            .least_stiffness(&p.crystal, crate::model::params::STIFFNESS_NORMALS);
        let v = |u: [f64; 3]| format!("({:.3}, {:.3}, {:.3})", u[0], u[1], u[2]);
        s.push_str(&format!(
            "hcp anisotropy (3D): c-axis {} (lab x, y, z), δ6 = {}, δ_c = {}, ε_k2 = {}, ε_k6 = {}; \
             least surface stiffness (γ + γ'')/γ0 = {:.4} at the normal {} ({} normals; must be \
             positive)\n",
            v(c),
            p.hcp.delta6,
            p.hcp.delta_c,
            p.hcp.kinetic_2fold,
            p.hcp.kinetic_6fold,
            stiffness.value,
            v(stiffness.normal),
            crate::model::params::STIFFNESS_NORMALS
        ));
    }
    s
}
