//! GPU ensembles (issue 18, item 4): runs advanced together, their batches of steps recorded into
//! one submit per round ([`GpuEnsemble`]), equal the same runs alone on the GPU bit for bit, and
//! the CPU within the whole-run parity tolerance of tests/gpu_parity.rs.

mod gpu_common;

use gpu_common::gpu;
use mgpf::backend::cpu::CpuBackend;
use mgpf::backend::gpu::{GpuBackend, GpuEnsemble};
use mgpf::backend::Backend;
use mgpf::config::presets::Preset;
use mgpf::config::Config;
use mgpf::model::params::Params;
use mgpf::simulation::{run_with_backend, RunOptions, RunSummary};
use std::path::Path;

/// Three runs that differ in everything a member keeps to itself: the layer (a resolved band
/// with its own refresh cadence, a sub-grid one with its random field), the current (so the
/// control and the time step), the seed and the end (so members leave the ensemble at
/// different steps).
fn configs() -> Vec<Config> {
    [
        (Preset::None, 0.5, 1, 32),
        (Preset::BromineRich, 1.0, 2, 48),
        (Preset::Zeolite, 0.3, 3, 64),
    ]
    .into_iter()
    .map(|(preset, current, seed, steps)| {
        let mut cfg = Config::default_demo();
        cfg.grid.nx = 32;
        cfg.grid.ny = 32;
        cfg.initial.deposit_height_um = 4.0;
        cfg.interphase.preset = preset;
        if preset == Preset::Zeolite {
            // A 2 µm band fits the 12 µm gap above the deposit.
            cfg.interphase.thickness_um = Some(2.0);
        }
        cfg.control.current_density_ma_cm2 = current;
        cfg.run.seed = seed;
        cfg.run.max_steps = Some(steps);
        cfg.run.end_charge_mah_cm2 = Some(10.0);
        cfg.run.frames = 2;
        cfg.run.metrics_every_steps = 8;
        cfg.run.checkpoint_every_steps = 0;
        // The CPU's potential solved to the device's f32 floor, as in tests/gpu_parity.rs, so
        // that the comparison with the CPU is of what the backends compute, not of their
        // stopping rules.
        cfg.numerics.potential_tolerance_v = 1e-10;
        cfg.validate().unwrap();
        cfg
    })
    .collect()
}

fn run(cfg: &Config, backend: &mut dyn Backend, dir: &Path) -> RunSummary {
    let p = Params::from_config(cfg).unwrap();
    run_with_backend(cfg, &p, backend, &RunOptions::new(dir)).unwrap()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn ensemble_members_equal_their_lone_runs_on_the_gpu_and_the_cpu() {
    let Some(ctx) = gpu() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let configs = configs();
    let dir = |mode: &str, k: usize| tmp.path().join(format!("{mode}-{k}"));

    // Each run alone, on the GPU and on the CPU.
    let mut lone = Vec::new();
    let mut cpu = Vec::new();
    for (k, cfg) in configs.iter().enumerate() {
        let p = Params::from_config(cfg).unwrap();
        let mut backend = GpuBackend::new(ctx, &p, &cfg.initial).unwrap();
        lone.push(run(cfg, &mut backend, &dir("lone", k)));
        cpu.push(run(
            cfg,
            &mut CpuBackend::new(&p, &cfg.initial),
            &dir("cpu", k),
        ));
    }

    // The same runs as one ensemble, each time loop on its own thread.
    let ensemble = GpuEnsemble::new(ctx);
    let together: Vec<RunSummary> = std::thread::scope(|scope| {
        let handles: Vec<_> = configs
            .iter()
            .enumerate()
            .map(|(k, cfg)| {
                let ensemble = &ensemble;
                let out = dir("ensemble", k);
                scope.spawn(move || {
                    let p = Params::from_config(cfg).unwrap();
                    let backend = GpuBackend::new(ctx, &p, &cfg.initial).unwrap();
                    let mut member = ensemble.member(backend);
                    run(cfg, &mut member, &out)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let counts = ensemble.counts();
    let batches: u64 = lone
        .iter()
        .map(|s| s.rows.len() as u64) // at least one batch between rows
        .sum();
    println!(
        "ensemble: {} batches in {} submits ({:.2} batches per submit); the runs alone had ≥ {batches} batches",
        counts.batches,
        counts.rounds,
        counts.batches as f64 / counts.rounds as f64
    );
    assert!(
        counts.batches > counts.rounds,
        "the members' batches must share submits: {counts:?}"
    );

    for (k, cfg) in configs.iter().enumerate() {
        let name = cfg.interphase.preset.name();
        // Bit for bit: every metrics row and the final fields.
        for file in ["metrics.csv", "final.vti"] {
            assert!(
                read(&dir("ensemble", k).join(file)) == read(&dir("lone", k).join(file)),
                "{name}: {file} of the ensemble member differs from the run alone"
            );
        }
        assert_eq!(together[k].steps, cfg.run.max_steps.unwrap(), "{name}");
        // Against the CPU: the whole-run tolerance of tests/gpu_parity.rs on what the run
        // reports at its end.
        let (g, c) = (together[k].last(), cpu[k].last());
        for (what, got, want, tol) in [
            ("charge", g.charge_c_m2, c.charge_c_m2, 1e-3),
            (
                "mean height",
                g.front.mean_height,
                c.front.mean_height,
                1e-3,
            ),
            ("overpotential", g.overpotential_v, c.overpotential_v, 1e-3),
            ("total Mg", g.mg_areal_mol_m2, c.mg_areal_mol_m2, 1e-6),
        ] {
            let rel = (got - want).abs() / want.abs().max(1e-30);
            println!(
                "{name:<13} final {what:<13}: cpu {want:.6e}, ensemble {got:.6e}, relative difference {rel:.2e} (tolerance {tol:.0e})"
            );
            assert!(rel <= tol, "{name}: {what} differs by {rel:.2e}");
        }
    }
}
