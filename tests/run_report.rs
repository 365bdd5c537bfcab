//! What a run reports is what it means: η's mean over the second half of the charge is weighted
//! by charge, whatever rows the metrics keep; a run whose only end is run.max_steps spreads its
//! frames over its steps and ends by its end condition.

use mgpf::config::presets::Preset;
use mgpf::config::Config;
use mgpf::model::units::MAH_CM2_IN_C_M2;
use mgpf::simulation::{RunOptions, RunSummary, StopReason};

/// 91 steps of the passivating preset to 0.005 mAh/cm² (dt capped at 0.4 s).
fn passivating(metrics_every_steps: u64) -> Config {
    let mut cfg = Config::default_demo();
    cfg.grid.nx = 32;
    cfg.grid.ny = 32;
    cfg.initial.deposit_height_um = 3.0;
    cfg.interphase.preset = Preset::Passivating;
    cfg.numerics.max_dt_s = 0.4;
    cfg.run.end_charge_mah_cm2 = Some(0.005);
    cfg.run.frames = 3;
    cfg.run.metrics_every_steps = metrics_every_steps;
    cfg
}

fn run_into(cfg: &Config, dir: &tempfile::TempDir, name: &str) -> RunSummary {
    run(cfg, &RunOptions::new(dir.path().join(name))).expect("run")
}

#[test]
fn mean_overpotential_of_the_second_half_is_charge_weighted_whatever_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let every_step = run_into(&passivating(1), &dir, "every-step");
    let every_7 = run_into(&passivating(7), &dir, "every-7");
    let every_13 = run_into(&passivating(13), &dir, "every-13");
    let means = [&every_step, &every_7, &every_13].map(|s| {
        s.mean_overpotential_second_half_v
            .expect("charge passed in the second half")
    });
    println!(
        "mean η over the 2nd half of the charge, metrics every 1 / 7 / 13 steps: {means:?} ({} / {} / {} rows)",
        every_step.rows.len(),
        every_7.rows.len(),
        every_13.rows.len()
    );
    assert_eq!(means[0].to_bits(), means[1].to_bits());
    assert_eq!(means[0].to_bits(), means[2].to_bits());

    // With a row per step, each row holds the charge passed so far and the E of the step that
    // ended there: ∫ E dq over [q_end/2, q_end] is a sum over rows.
    let half = 0.5 * 0.005 * MAH_CM2_IN_C_M2;
    let (mut integral, mut charge) = (0.0, 0.0);
    for pair in every_step.rows.windows(2) {
        let share = (pair[1].charge_c_m2 - pair[0].charge_c_m2.max(half)).max(0.0);
        integral += pair[1].overpotential_v * share;
        charge += share;
    }
    let direct = integral / charge;
    let rows_mean = {
        let tail: Vec<f64> = every_7
            .rows
            .iter()
            .filter(|r| r.step > 0 && r.charge_c_m2 >= 0.5 * every_7.last().charge_c_m2)
            .map(|r| r.overpotential_v)
            .collect();
        tail.iter().sum::<f64>() / tail.len() as f64
    };
    println!(
        "direct from the per-step rows {direct:.12} V, the run's {:.12} V (the mean of the metrics rows of the second half, every 7 steps: {rows_mean:.12} V); final η {:.6} V",
        means[0],
        every_step.last().overpotential_v
    );
    assert!(
        ((means[0] - direct) / direct).abs() < 1e-12,
        "expected {direct}, got {}",
        means[0]
    );
}

#[test]
fn a_run_ended_by_max_steps_alone_spreads_its_frames_over_the_steps() {
    let mut cfg = passivating(10);
    cfg.run.end_charge_mah_cm2 = None;
    cfg.run.max_steps = Some(30);
    cfg.run.frames = 4;
    let dir = tempfile::tempdir().unwrap();
    let s = run_into(&cfg, &dir, "steps");
    let written = std::fs::read_dir(dir.path().join("steps/frames"))
        .unwrap()
        .count();
    println!(
        "{} steps, stopped by {:?} (expected 30, EndCondition); {written} frames (expected 4, at steps 0, 10, 20, 30); mean η over the 2nd half of the steps {:?}",
        s.steps, s.stopped_by, s.mean_overpotential_second_half_v
    );
    assert_eq!((s.steps, s.stopped_by), (30, StopReason::EndCondition));
    assert_eq!(written, 4);
    assert!(s.mean_overpotential_second_half_v.is_some());
}

/// A run on the CPU backend.
fn run(
    cfg: &mgpf::config::Config,
    opts: &RunOptions,
) -> mgpf::Result<mgpf::simulation::RunSummary> {
    mgpf::cli::run(cfg, mgpf::cli::BackendKind::Cpu, opts)
}
