//! The step's coupling of the potential to the reaction under potentiostatic control
//! (`numerics.potential_coupling`, model::coupling): the explicit one (the potential's source is
//! the last step's rate) and the implicit one (Newton on the two together, CPU backend) agree
//! where the explicit one converges, and the implicit one runs where the explicit one
//! oscillates: a migration-limited run whose current is set by the electrolyte's Ohmic drop.

use mgpf::backend::cpu::CpuBackend;
use mgpf::backend::Backend;
use mgpf::config::{Config, ControlMode, PotentialCoupling};
use mgpf::model::coupling::planar_coupling;
use mgpf::model::Params;

/// Bare Mg at a fixed potential, noise off, on a 1D-like grid.
fn mg_potentiostatic(e: f64, coupling: PotentialCoupling) -> Config {
    let mut cfg = Config::default_demo();
    cfg.grid.nx = 200;
    cfg.grid.ny = 8;
    cfg.noise.amplitude_per_s = 0.0;
    cfg.control.mode = ControlMode::Potentiostatic;
    cfg.control.applied_potential_v = e;
    cfg.numerics.potential_coupling = coupling;
    cfg
}

/// V6's Li set (configs/li-hong2018.toml: Hong & Viswanathan 2018, Li n = 1, D = 317.9 µm²/s,
/// 300 K, C_s/c0 = 81.9, −0.45 V over a 180 µm gap) with faster kinetics (i0 = 20 A/cm²).
fn li_migration_limited(coupling: PotentialCoupling) -> Config {
    let mut cfg = Config::load(
        std::path::Path::new("configs/li-hong2018.toml"),
        &["interface.exchange_current_ma_cm2=20000".to_string()],
    )
    .unwrap();
    cfg.numerics.potential_coupling = coupling;
    cfg
}

/// (time, current density A/m²) of every step, until `end_s` or the first error.
fn currents(cfg: &Config, end_s: f64, max_steps: u64) -> (Vec<(f64, f64)>, Option<String>) {
    let p = Params::from_config(cfg).unwrap();
    let mut b = CpuBackend::new(&p, &cfg.initial);
    let (mut t, mut rows) = (0.0, Vec::new());
    for step in 0..max_steps {
        match b.step(step) {
            Ok(r) => {
                t += r.dt;
                rows.push((t, r.current_density_a_m2));
                if t >= end_s {
                    break;
                }
            }
            Err(e) => return (rows, Some(e.to_string())),
        }
    }
    (rows, None)
}

/// Where R·∂i/∂E = 0.52 both converge: at a fixed dt the two current traces differ only by the
/// explicit one's lag of one step (expected: < 1 % after the first second; the first steps start
/// from φ = 0, where the explicit step plates at the full E).
#[test]
fn implicit_and_explicit_coupling_agree_where_both_converge() {
    let mut traces = Vec::new();
    for coupling in [PotentialCoupling::Explicit, PotentialCoupling::Implicit] {
        let mut cfg = mg_potentiostatic(-0.12, coupling);
        cfg.numerics.dt_s = Some(0.02);
        let p = Params::from_config(&cfg).unwrap();
        let c = planar_coupling(&p, &cfg.initial).unwrap();
        println!(
            "{coupling:?}: R·∂i/∂E = {:.3}, implicit {}",
            c.coupling_number, p.implicit_coupling
        );
        let (rows, err) = currents(&cfg, 10.0, 2000);
        assert!(err.is_none(), "{coupling:?}: {err:?}");
        traces.push(rows);
    }
    let (explicit, implicit) = (&traces[0], &traces[1]);
    let mut worst: f64 = 0.0;
    for (a, b) in explicit.iter().zip(implicit).filter(|(a, _)| a.0 >= 1.0) {
        worst = worst.max((a.1 / b.1 - 1.0).abs());
    }
    let last = (explicit.last().unwrap().1, implicit.last().unwrap().1);
    println!(
        "current at 10 s: explicit {:.3} A/m², implicit {:.3} A/m²; largest relative difference after 1 s {worst:.2e} (allowed 1e-2)",
        last.0, last.1
    );
    assert!(worst < 1e-2);
}

/// V6's Li set (R·∂i/∂E = 1258 at the start): the explicit coupling blows up (its first step
/// plates at the full E from φ = 0 and empties c; from a consistent φ it would oscillate); the
/// implicit one runs, and its current over the first second is the
/// planar operating point's, the migration limit σ_l |E − η_ct|/ℓ (expected 2765 A/m², i.e.
/// v = K/ℓ with K = 67.56 µm²/s: physics.md §4 V6), within 2 %.
#[test]
fn implicit_coupling_runs_a_migration_limited_front() {
    let cfg = li_migration_limited(PotentialCoupling::Auto);
    let p = Params::from_config(&cfg).unwrap();
    assert!(p.implicit_coupling, "auto resolves to implicit here");
    let c = planar_coupling(&p, &cfg.initial).unwrap();
    let (rows, err) = currents(&cfg, 1.0, 1000);
    assert!(err.is_none(), "{err:?}");
    let late: Vec<f64> = rows.iter().filter(|r| r.0 >= 0.5).map(|r| r.1).collect();
    let mean = late.iter().sum::<f64>() / late.len() as f64;
    println!(
        "implicit: {} steps to 1 s; mean current over 0.5–1 s {mean:.1} A/m², planar operating point {:.1} A/m² (R·∂i/∂E = {:.0})",
        rows.len(),
        c.current_a_m2,
        c.coupling_number
    );
    assert!((mean / c.current_a_m2 - 1.0).abs() < 0.02);

    let cfg = li_migration_limited(PotentialCoupling::Explicit);
    let (rows, err) = currents(&cfg, 1.0, 1000);
    let last = rows.last().map_or(0.0, |r| r.1);
    println!(
        "explicit: stopped after {} steps ({err:?}), last current {last:.3e} A/m²",
        rows.len()
    );
    assert!(err.is_some() || last.is_nan() || last.abs() >= 10.0 * c.current_a_m2);
}

/// "implicit" needs potentiostatic control; the GPU backend refuses the implicit coupling by its
/// key (`--backend auto` then runs on the CPU).
#[test]
fn implicit_coupling_is_refused_where_it_does_not_apply() {
    let mut cfg = Config::default_demo();
    cfg.numerics.potential_coupling = PotentialCoupling::Implicit;
    let e = Params::from_config(&cfg).unwrap_err().to_string();
    println!("{e}");
    assert!(e.contains("numerics.potential_coupling") && e.contains("potentiostatic"));
    let cfg = li_migration_limited(PotentialCoupling::Auto);
    let p = Params::from_config(&cfg).unwrap();
    if let Ok(ctx) = mgpf::backend::gpu::GpuContext::shared() {
        let e = mgpf::backend::gpu::GpuBackend::new(ctx, &p, &cfg.initial)
            .err()
            .expect("the GPU backend refuses the implicit coupling")
            .to_string();
        println!("GPU backend: {e}");
        assert!(e.contains("numerics.potential_coupling") && e.contains("--backend cpu"));
    }
}
