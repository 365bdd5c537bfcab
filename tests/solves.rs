//! Each solve stops where its field's accuracy matters (issue 13 §2): the potential on an
//! estimated error in volts, the concentration on its own relative residual after at least one
//! cycle.

mod gpu_common;

use mgpf::backend::cpu::CpuBackend;
use mgpf::backend::gpu::GpuBackend;
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
                let estimate = s.error_estimate.expect("an estimate");
                assert!(s.converged && estimate <= tolerance_v, "{s:?}");
                // The true error within the tolerance (plus the f32 rounding of both fields).
                assert!(
                    error <= tolerance_v + 2.0 * f32::EPSILON as f64 * scale,
                    "{} step {step}: true error {error:.2e} V above {tolerance_v:.0e} V (estimate {:.2e})",
                    preset.name(),
                    estimate
                );
                worst = worst.max(error);
                most_cycles = most_cycles.max(s.cycles);
                largest_estimate = largest_estimate.max(estimate);
                state = next;
            }
            println!(
                "{:<12} 128², tolerance {tolerance_v:.0e} V: at most {most_cycles} cycles, largest estimate {largest_estimate:.2e} V, largest true error {worst:.2e} V (unweighted, the bulk metal's floating level included: {worst_metal:.2e} V)",
                preset.name()
            );
        }
    }
}

/// The potential weighed as the kinetics read it (1 in the electrolyte, h'(ξ)/max h' in the
/// metal): max |w (a − b)| over the cells.
fn weighted_difference(a: &mgpf::Field, b: &mgpf::Field, xi: &mgpf::Field) -> f64 {
    a.iter()
        .zip(b.iter())
        .zip(xi.iter())
        .fold(0.0f64, |m, ((&a, &b), &x)| {
            let w = if x < 0.5 {
                1.0
            } else {
                interpolation_prime(x) as f64 / MAX_H_PRIME
            };
            m.max(w * (a - b).abs() as f64)
        })
}

/// The device solves the potential with a fixed count (6 CG iterations, no read-back inside a
/// step) and no f64: from the same states, its φ meets the CPU's criterion, an error below the
/// default 1e-6 V in the weighted norm, against the CPU solved to 1e-11 V.
#[test]
fn the_device_potential_meets_the_default_tolerance() {
    let Some(ctx) = gpu_common::gpu() else { return };
    for preset in [Preset::None, Preset::Passivating, Preset::Zeolite] {
        let n = 64;
        let cfg = config(preset, n);
        let p = Params::from_config(&cfg).unwrap();
        let mut run = CpuBackend::new(&p, &cfg.initial);
        for step in 0..12 {
            run.step(step).unwrap();
        }
        let mut reference_cfg = cfg.clone();
        reference_cfg.numerics.potential_tolerance_v = 1e-11;
        let pr = Params::from_config(&reference_cfg).unwrap();
        let mut worst = 0.0f64;
        let mut state = run.save_state();
        for step in 12..16 {
            let mut cpu = CpuBackend::new(&pr, &cfg.initial);
            cpu.restore_state(&state).unwrap();
            cpu.step(step).unwrap();
            let mut gpu = GpuBackend::new(ctx, &p, &cfg.initial).unwrap();
            gpu.restore_state(&state).unwrap();
            gpu.advance(step, 1).unwrap();
            let device = gpu.save_state();
            let xi = state.field("order_parameter").unwrap();
            let error = weighted_difference(device.field("potential").unwrap(), &cpu.phi, xi);
            worst = worst.max(error);
            state = cpu.save_state();
        }
        println!(
            "{:<12} 64²: the device's weighted potential error, largest over 4 steps: {worst:.2e} V (criterion 1e-6 V)",
            preset.name()
        );
        assert!(worst <= 1e-6, "{} {worst:.2e} V", preset.name());
    }
}

/// metrics.csv reports each row's estimated potential error (`potential_error_v`, in volts,
/// below the tolerance on the CPU), and leaves it empty where the backend estimates nothing
/// (the device's fixed count).
#[test]
fn metrics_report_the_potential_error_estimate() {
    let mut cfg = config(Preset::Passivating, 32);
    cfg.run.max_steps = Some(12);
    cfg.run.metrics_every_steps = 1;
    cfg.run.frames = 1;
    let p = Params::from_config(&cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let column = |run: &std::path::Path| -> Vec<String> {
        let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let k = header
            .iter()
            .position(|&h| h == "potential_error_v")
            .expect("the column");
        lines
            .map(|l| l.split(',').nth(k).unwrap().to_string())
            .collect()
    };
    let cpu = dir.path().join("cpu");
    let mut backend = CpuBackend::new(&p, &cfg.initial);
    mgpf::simulation::run_with_backend(
        &cfg,
        &p,
        &mut backend,
        &mgpf::simulation::RunOptions::new(&cpu),
    )
    .unwrap();
    let values = column(&cpu);
    println!("cpu potential_error_v: {values:?}");
    // Row 0 precedes any step; step 1 solves a zero source exactly (0 V).
    for v in &values[1..] {
        let e: f64 = v.parse().expect("a number");
        assert!((0.0..=1e-6).contains(&e), "{e}");
    }
    let Some(ctx) = gpu_common::gpu() else { return };
    let gpu = dir.path().join("gpu");
    let mut backend = GpuBackend::new(ctx, &p, &cfg.initial).unwrap();
    mgpf::simulation::run_with_backend(
        &cfg,
        &p,
        &mut backend,
        &mgpf::simulation::RunOptions::new(&gpu),
    )
    .unwrap();
    let values = column(&gpu);
    println!("gpu potential_error_v: {values:?}");
    assert!(values.iter().all(|v| v.is_empty()), "{values:?}");
}
