//! GPU ensembles (issue 18, item 4): runs advanced together as the points of batches (the batch
//! axis of the device's fields, every kernel running all points of a batch in one dispatch,
//! [`GpuEnsemble`]) equal the same runs alone on the GPU bit for bit, and the CPU within the
//! whole-run parity tolerance of tests/gpu_parity.rs.

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

/// Five runs that differ in everything a point keeps to itself: the layer (a resolved band,
/// refreshed at its own steps; a sub-grid one with its random field; none), the current (so the
/// control and the time step), the seed and the end (so points leave their batch at different
/// steps and new runs take their places while the others are further on). The band and the
/// sub-grid runs have different shapes: two batches.
fn configs() -> Vec<Config> {
    [
        (Preset::None, 0.5, 1, 32),
        (Preset::BromineRich, 1.0, 2, 48),
        (Preset::Zeolite, 0.3, 3, 64),
        (Preset::Zeolite, 0.6, 4, 37),
        (Preset::BromineRich, 0.8, 5, 21),
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

    // The same runs as one ensemble of batches of two points, three workers taking the runs in
    // turn (as `mgpf sweep --jobs`): a run joins a batch whose other point is mid-run.
    let ensemble = GpuEnsemble::new(ctx, 2);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut together: Vec<Option<RunSummary>> = vec![None; configs.len()];
    let done: Vec<(usize, RunSummary)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let (ensemble, next, configs) = (&ensemble, &next, &configs);
                scope.spawn(move || {
                    let mut finished = Vec::new();
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let Some(cfg) = configs.get(k) else {
                            return finished;
                        };
                        let p = Params::from_config(cfg).unwrap();
                        let mut member = ensemble.member(&p, &cfg.initial).unwrap();
                        finished.push((k, run(cfg, &mut member, &dir("ensemble", k))));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    for (k, summary) in done {
        together[k] = Some(summary);
    }
    let together: Vec<RunSummary> = together.into_iter().map(Option::unwrap).collect();
    let counts = ensemble.counts();
    let batches: u64 = lone
        .iter()
        .map(|s| s.rows.len() as u64) // at least one batch between rows
        .sum();
    println!(
        "ensemble: {} member batches of steps in {} rounds ({:.2} points per round); the runs alone had ≥ {batches} batches",
        counts.batches,
        counts.rounds,
        counts.batches as f64 / counts.rounds as f64
    );
    assert!(
        counts.batches > counts.rounds,
        "the members' steps must share rounds (dispatches): {counts:?}"
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
