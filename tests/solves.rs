//! Each solve stops where its field's accuracy matters (issue 13 §2): the potential on an
//! estimated error in volts, the concentration on its own relative residual after at least one
//! cycle.

use mgpf::backend::cpu::CpuBackend;
use mgpf::backend::{Backend, BackendState};
use mgpf::config::presets::Preset;
use mgpf::config::Config;
use mgpf::model::interphase::interpolation_prime;
use mgpf::model::params::{Params, MAX_H_PRIME};

fn config(preset: Preset, n: usize) -> Config {
    let mut cfg = Config::default_demo();
    cfg.grid.nx = n;
    cfg.grid.ny = n;
    cfg.initial.deposit_height_um = 0.25 * n as f64 * cfg.grid.dx_um;
    cfg.interphase.preset = preset;
    cfg
}

/// The potential a step solves, from the same state, at `numerics.potential_tolerance_v` and
/// to 1e-11 V (the reference): the step's estimated error bounds the true error, on the states of
/// real runs (the interface noise renews the source every step, so each solve starts with a
/// full-multigrid cycle), with and without a resolved band.
#[test]
fn the_potential_error_estimate_bounds_the_true_error_in_volts() {
    for preset in [Preset::None, Preset::Passivating, Preset::Zeolite] {
        let n = 128;
        let cfg = config(preset, n);
        let p = Params::from_config(&cfg).unwrap();
        let mut run = CpuBackend::new(&p, &cfg.initial);
        for step in 0..12 {
            run.step(step).unwrap();
        }
        // One step from `state` at potential tolerance `tol`: its report and φ.
        let step_from = |state: &BackendState, step: u64, tol: f64| {
            let mut c = cfg.clone();
            c.numerics.potential_tolerance_v = tol;
            let p = Params::from_config(&c).unwrap();
            let mut b = CpuBackend::new(&p, &c.initial);
            b.restore_state(state).unwrap();
            let report = b.step(step).unwrap();
            (report, b.phi.clone(), b.save_state())
        };
        for tolerance_v in [1e-6, 1e-7, 1e-5] {
            let (mut worst, mut most_cycles, mut largest_estimate) = (0.0f64, 0, 0.0f64);
            let mut worst_metal = 0.0f64;
            let mut state = run.save_state();
            for step in 12..16 {
                let (report, phi, next) = step_from(&state, step, tolerance_v);
                let (reference, exact, _) = step_from(&state, step, 1e-11);
                // Weighed as the kinetics read φ: 1 in the electrolyte, h'(ξ)/max h' in the metal.
                let xi = state.field("order_parameter").unwrap();
                let weight = |x: f32| {
                    if x < 0.5 {
                        1.0
                    } else {
                        interpolation_prime(x) as f64 / MAX_H_PRIME
                    }
                };
                let error = phi
                    .iter()
                    .zip(exact.iter())
                    .zip(xi.iter())
                    .fold(0.0f64, |m, ((a, b), &x)| {
                        m.max(weight(x) * (a - b).abs() as f64)
                    });
                let metal_error = phi
                    .iter()
                    .zip(exact.iter())
                    .fold(0.0f64, |m, (a, b)| m.max((a - b).abs() as f64));
                worst_metal = worst_metal.max(metal_error);
                let scale = exact.iter().fold(0.0f32, |m, v| m.max(v.abs())) as f64;
                let s = report.potential_solve;
                assert!(reference.potential_solve.converged);
                assert!(s.converged && s.error_estimate <= tolerance_v, "{s:?}");
                // The true error within the tolerance (plus the f32 rounding of both fields).
                assert!(
                    error <= tolerance_v + 2.0 * f32::EPSILON as f64 * scale,
                    "{} step {step}: true error {error:.2e} V above {tolerance_v:.0e} V (estimate {:.2e})",
                    preset.name(),
                    s.error_estimate
                );
                worst = worst.max(error);
                most_cycles = most_cycles.max(s.cycles);
                largest_estimate = largest_estimate.max(s.error_estimate);
                state = next;
            }
            println!(
                "{:<12} 128², tolerance {tolerance_v:.0e} V: at most {most_cycles} cycles, largest estimate {largest_estimate:.2e} V, largest true error {worst:.2e} V (unweighted, the bulk metal's floating level included: {worst_metal:.2e} V)",
                preset.name()
            );
        }
    }
}
