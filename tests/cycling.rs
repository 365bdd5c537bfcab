//! Plating/stripping cycles (issue 19, physics.md decision 16): the parasitic current, the
//! cycling schedule, Coulombic efficiency and the conservation of Mg through cycles.

use mgpf::backend::cpu::CpuBackend;
use mgpf::backend::{Backend, ControlSetting};
use mgpf::cli::BackendKind;
use mgpf::config::{Collector, Config, CyclingConfig};
use mgpf::model::dead_metal::dead_metal;
use mgpf::model::metrics::equivalent_thickness;
use mgpf::model::params::{Params, LENGTH_UNIT_M};
use mgpf::model::timestep::Bound;
use mgpf::model::units::MAH_CM2_IN_C_M2;
use mgpf::simulation::cycling::CYCLES_HEADER;
use mgpf::simulation::{run_with_backend, RunOptions};

mod common;

/// A planar deposit 8 µm thick (8δ: its profile reaches 1 before the collector) on 48 × 16
/// cells of 0.5 µm, no anisotropy, no noise, no interphase.
fn planar() -> Config {
    let mut cfg = Config::default_demo();
    cfg.grid.nx = 48;
    cfg.grid.ny = 16;
    cfg.initial.deposit_height_um = 8.0;
    common::bare_isotropic(&mut cfg);
    cfg.noise.amplitude_per_s = 0.0;
    cfg
}

/// Plating at 0.5 mA/cm² with i_p = 0.1 mA/cm² of metal surface: a flat front's surface is its
/// projected area, so 0.1 mA/cm² of the 0.5 goes to the layer and 0.4 plates metal, by
/// Faraday's law.
#[test]
fn the_parasitic_current_passes_charge_without_metal() {
    let mut cfg = planar();
    cfg.interphase.parasitic_current_ma_cm2 = Some(0.1);
    cfg.validate().unwrap();
    let p = Params::from_config(&cfg).unwrap();
    let mut b = CpuBackend::new(&p, &cfg.initial);
    let thick0 = equivalent_thickness(&b.snapshot().order_parameter, p.grid);
    let (mut charge, mut parasitic_charge) = (0.0, 0.0);
    let mut last = None;
    for step in 0..200 {
        let r = b.step(step).unwrap();
        charge += r.current_density_a_m2 * r.dt;
        parasitic_charge += r.parasitic_current_a_m2 * r.dt;
        last = Some(r);
    }
    let last = last.unwrap();
    let grown_um = equivalent_thickness(&b.snapshot().order_parameter, p.grid) - thick0;
    let faraday_um = (charge - parasitic_charge) / p.metal.charge_density_c_m3() / LENGTH_UNIT_M;
    println!(
        "current {:.6} mA/cm² (target 0.5), parasitic {:.6} mA/cm² (flat front: 0.1); metal grown {grown_um:.8} µm, Faraday's for the charge less the parasitic {faraday_um:.8} µm (relative difference {:.2e})",
        0.1 * last.current_density_a_m2,
        0.1 * last.parasitic_current_a_m2,
        grown_um / faraday_um - 1.0
    );
    assert!((0.1 * last.current_density_a_m2 / 0.5 - 1.0).abs() < 1e-4);
    assert!((0.1 * last.parasitic_current_a_m2 / 0.1 - 1.0).abs() < 0.01);
    assert!((grown_um / faraday_um - 1.0).abs() < 1e-6);
}

#[test]
fn a_parasitic_current_above_the_applied_one_is_an_error_naming_the_key() {
    let mut cfg = planar();
    cfg.interphase.parasitic_current_ma_cm2 = Some(0.6);
    cfg.validate().unwrap();
    let p = Params::from_config(&cfg).unwrap();
    let e = CpuBackend::new(&p, &cfg.initial)
        .step(0)
        .unwrap_err()
        .to_string();
    println!("{e}");
    assert!(
        e.contains("interphase.parasitic_current_ma_cm2 = 0.6"),
        "{e}"
    );
    cfg.interphase.parasitic_current_ma_cm2 = Some(-0.1);
    let e = cfg.validate().unwrap_err().to_string();
    assert!(
        e.contains("`interphase.parasitic_current_ma_cm2` = -0.1"),
        "{e}"
    );
}

/// The time loop's control setting: a stripping target that needs η ≈ 12 mV against a cut-off
/// of 5 mV is taken at the cut-off (less current, flagged), and a dt cap shortens the step.
#[test]
fn a_control_setting_holds_the_cut_off_and_the_step_cap() {
    let cfg = planar();
    cfg.validate().unwrap();
    let p = Params::from_config(&cfg).unwrap();
    let mut b = CpuBackend::new(&p, &cfg.initial);
    let strip = ControlSetting {
        current_density_a_m2: -5.0,
        tolerance_scale_a_m2: 5.0,
        cutoff_v: Some(0.005),
        max_dt_s: Some(0.5),
    };
    b.set_control(strip).unwrap();
    let r = b.step(0).unwrap();
    println!(
        "at the cut-off: E = {} V, current {:.4} mA/cm² (target −0.5), dt {} s ({}), flagged {}",
        r.applied_potential_v,
        0.1 * r.current_density_a_m2,
        r.dt,
        r.bound,
        r.at_cutoff
    );
    assert!(r.at_cutoff);
    assert!((r.applied_potential_v - 0.005).abs() < 1e-12);
    assert!(r.current_density_a_m2 < 0.0 && r.current_density_a_m2 > -5.0);
    assert_eq!((r.dt, r.bound), (0.5, Bound::Schedule));
    // With room above the target's η the step reaches it, unflagged, at its own dt.
    b.set_control(ControlSetting {
        cutoff_v: Some(1.0),
        max_dt_s: None,
        ..strip
    })
    .unwrap();
    let r = b.step(1).unwrap();
    println!(
        "below the cut-off: E = {} V, current {:.6} mA/cm², dt {} s ({})",
        r.applied_potential_v,
        0.1 * r.current_density_a_m2,
        r.dt,
        r.bound
    );
    assert!(!r.at_cutoff && r.applied_potential_v > 0.005 && r.dt > 0.5);
    assert!((r.current_density_a_m2 / -5.0 - 1.0).abs() < 1e-4);
}

/// A cycling config on `planar()`: `cycles` cycles of `capacity` mAh/cm² at 0.5 mA/cm² both ways.
fn cycling(cycles: u32, capacity: f64, collector: Collector, strip_to_capacity: bool) -> Config {
    let mut cfg = planar();
    cfg.run.end_charge_mah_cm2 = None;
    cfg.run.frames = 4;
    cfg.noise.amplitude_per_s = 0.001;
    cfg.cycling = Some(CyclingConfig {
        cycles,
        plating_capacity_mah_cm2: capacity,
        stripping_capacity_mah_cm2: strip_to_capacity.then_some(capacity),
        collector,
        ..CyclingConfig::default()
    });
    cfg.validate().unwrap();
    cfg
}

/// Runs `backend` under `cfg` into a fresh directory; its cycles.csv rows and metrics.csv.
fn run_cycles(cfg: &Config, p: &Params, backend: &mut CpuBackend) -> (Vec<Vec<f64>>, String) {
    let dir = tempfile::tempdir().unwrap();
    let summary = run_with_backend(cfg, p, backend, &RunOptions::new(dir.path())).unwrap();
    let csv = std::fs::read_to_string(dir.path().join("cycles.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(CYCLES_HEADER));
    let rows: Vec<Vec<f64>> = lines
        .map(|l| {
            l.split(',')
                .map(|v| v.parse().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), summary.cycles.len());
    // run.json's final figures of the cycles (and sweep.csv's, which reads them).
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("run.json")).unwrap())
            .unwrap();
    let last = rows.last().unwrap();
    let mean = rows.iter().map(|r| r[3]).sum::<f64>() / rows.len() as f64;
    let close = |key: &str, v: f64| {
        let got = json["final"][key].as_f64().unwrap();
        assert!(
            (got - v).abs() <= 1e-8 * v.abs().max(1e-12),
            "{key}: {got} against {v}"
        );
    };
    close("ce_last_cycle", last[3]);
    close("ce_mean", mean);
    close("dead_fraction", last[5]);
    assert!(dir.path().join("voltage.png").exists());
    let metrics = std::fs::read_to_string(dir.path().join("metrics.csv")).unwrap();
    (rows, metrics)
}

/// Column `name` of metrics.csv, per row.
fn column(metrics: &str, name: &str) -> Vec<f64> {
    let mut lines = metrics.lines();
    let k = lines
        .next()
        .unwrap()
        .split(',')
        .position(|c| c == name)
        .unwrap();
    lines
        .map(|l| l.split(',').nth(k).unwrap().parse().unwrap_or(f64::NAN))
        .collect()
}

/// Without a parasitic current or dead metal, a cycle that strips what it plated (a metal
/// collector, stripping to the plating's capacity) returns CE = 1: the last step of each half
/// is cut to land on the capacity. metrics.csv marks the halves and the current's sign.
#[test]
fn a_lossless_cycle_returns_all_its_charge() {
    let cfg = cycling(2, 0.05, Collector::Metal, true);
    let p = Params::from_config(&cfg).unwrap();
    let mut b = CpuBackend::new(&p, &cfg.initial);
    let (rows, metrics) = run_cycles(&cfg, &p, &mut b);
    for r in &rows {
        println!(
            "cycle {}: plated {:.6} C/m², stripped {:.6} C/m², CE {:.9} (expected 1 within 1e-5), dead {} mol/m², η plating {:.4} V, stripping {:.4} V",
            r[0], r[1], r[2], r[3], r[4], r[7], r[8]
        );
        assert!((r[3] - 1.0).abs() < 1e-5, "CE {}", r[3]);
        assert!((r[1] / (0.05 * MAH_CM2_IN_C_M2) - 1.0).abs() < 1e-5);
        assert_eq!(r[4], 0.0);
        assert!(r[7] < 0.0 && r[8] > 0.0);
    }
    let (half, sign) = (
        column(&metrics, "half_cycle"),
        column(&metrics, "current_sign"),
    );
    let current = column(&metrics, "current_density_a_m2");
    assert_eq!(half.iter().copied().fold(0.0, f64::max), 4.0);
    for k in 1..half.len() {
        // The sign of each row's step is its half's: plating in odd halves.
        let expected = if half[k] % 2.0 == 1.0 { 1.0 } else { -1.0 };
        assert_eq!(sign[k], expected, "row {k}");
        assert_eq!(current[k].signum(), expected, "row {k}");
    }
}

/// Total Mg (ions, live metal, dead metal) through two cycles over an inert collector with a
/// dead island: what entered through the bulk face, to V8's bound (1e-6 of the total per 1e4
/// steps).
#[test]
fn mg_is_conserved_through_cycles() {
    let cfg = island_cycling();
    let p = Params::from_config(&cfg).unwrap();
    let mut b = CpuBackend::new(&p, &cfg.initial);
    add_island(&p, &mut b, 24.0);
    let (rows, metrics) = run_cycles(&cfg, &p, &mut b);
    let (mg, inflow) = (
        column(&metrics, "mg_areal_mol_m2"),
        column(&metrics, "inflow_mol_m2"),
    );
    let steps = column(&metrics, "step");
    let n = steps.len() - 1;
    let drift = (mg[n] - mg[0] - inflow[n]) / mg[0];
    let per_1e4 = drift * 1e4 / steps[n];
    println!(
        "{} steps, {} cycles (CE {:.4}, {:.4}; dead {:.4e} mol/m²): Mg {:.9e} → {:.9e} mol/m², inflow {:.3e}: balance error {drift:.3e} ({per_1e4:.3e} per 1e4 steps, bound 1e-6)",
        steps[n], rows.len(), rows[0][3], rows[1][3], rows[1][4], mg[0], mg[n], inflow[n]
    );
    assert!(per_1e4.abs() < 1e-6);
}

/// A disc of radius 2 µm centred `x_um` above the collector, laid over the deposit.
fn add_island(p: &Params, b: &mut CpuBackend, x_um: f64) {
    common::lay_metal_disc(p, b, x_um, 2.0);
}

/// Two cycles of 0.05 mAh/cm² stripped to the cut-off over an inert collector, on a taller
/// domain (32 µm) for an island: its profile's tail (ξ < 1e-3 at 7 µm) barely reaches the
/// deposit's side of the gap, where it would strip as live metal.
fn island_cycling() -> Config {
    let mut cfg = cycling(2, 0.05, Collector::Inert, false);
    cfg.grid.nx = 64;
    cfg.validate().unwrap();
    cfg
}

/// An island 14 µm above a deposit cycled over an inert collector is dead from the start: it
/// keeps its metal through the cycles, and cycles.csv counts it (all of it, and as a fraction of
/// the metal plated so far); the deposit's cycles return at most what they plated.
#[test]
fn a_dead_island_counts_in_cycles_csv() {
    let cfg = island_cycling();
    let p = Params::from_config(&cfg).unwrap();
    let mut b = CpuBackend::new(&p, &cfg.initial);
    add_island(&p, &mut b, 24.0);
    let island = dead_metal(&b.xi).expect("the island is dead");
    let g = p.grid;
    let island_mol_m2 = island.xi_sum * g.cell_measure() / g.collector_measure()
        * LENGTH_UNIT_M
        * p.metal.site_density_mol_m3;
    let (rows, _) = run_cycles(&cfg, &p, &mut b);
    let plated_mol_m2: f64 = rows
        .iter()
        .map(|r| (r[1] - r[6]) / p.metal.charge_per_mol())
        .sum();
    for r in &rows {
        println!(
            "cycle {}: CE {:.5}, dead {:.6e} mol/m² (the island: {island_mol_m2:.6e}), dead fraction {:.4}",
            r[0], r[3], r[4], r[5]
        );
        assert!((r[4] / island_mol_m2 - 1.0).abs() < 1e-6);
        assert!(r[3] > 0.95 && r[3] < 1.0 + 1e-3, "CE {}", r[3]);
    }
    let last = rows.last().unwrap();
    assert!((last[5] / (island_mol_m2 / plated_mol_m2) - 1.0).abs() < 1e-7);
}

#[test]
fn bad_cycling_input_names_the_key_and_the_range() {
    let base = cycling(1, 0.05, Collector::Inert, false);
    type Change = fn(&mut CyclingConfig);
    let cases: [(&str, Change); 5] = [
        (
            "`cycling.plating_capacity_mah_cm2` = -0.5 is outside the allowed range (0, 100]",
            |c| c.plating_capacity_mah_cm2 = -0.5,
        ),
        (
            "`cycling.stripping_capacity_mah_cm2` = 0 is outside the allowed range (0, 100]",
            |c| c.stripping_capacity_mah_cm2 = Some(0.0),
        ),
        (
            "`cycling.cutoff_voltage_v` = -1 is outside the allowed range (0, 10]",
            |c| c.cutoff_voltage_v = -1.0,
        ),
        (
            "`cycling.cycles` = 0 is outside the allowed range [1, 10000]",
            |c| c.cycles = 0,
        ),
        (
            "`cycling.rest_s` = -5 is outside the allowed range [0, 1e7]",
            |c| c.rest_s = -5.0,
        ),
    ];
    for (expected, change) in cases {
        let mut cfg = base.clone();
        change(cfg.cycling.as_mut().unwrap());
        let e = cfg.validate().unwrap_err().to_string();
        println!("{e}");
        assert!(e.contains(expected), "{e}");
    }
    let mut cfg = base.clone();
    cfg.control.mode = mgpf::config::ControlMode::Potentiostatic;
    let e = cfg.validate().unwrap_err().to_string();
    assert!(e.contains("`control.mode`"), "{e}");
}

/// A cycling run interrupted in its second cycle's stripping and resumed ends byte for byte as
/// the straight run: cycles.csv, metrics.csv and the last frame (the schedule, the backend's
/// dead-metal mask and the collector travel in the checkpoint or follow from the config).
#[test]
fn a_resumed_cycling_run_is_identical() {
    let mut cfg = island_cycling();
    cfg.run.checkpoint_every_steps = 0;
    let root = tempfile::tempdir().unwrap();
    let (straight, split) = (root.path().join("straight"), root.path().join("split"));
    let whole = mgpf::cli::run(&cfg, BackendKind::Cpu, &RunOptions::new(&straight)).unwrap();
    let at = whole
        .rows
        .iter()
        .find(|r| r.half_cycle == 4)
        .expect("a row in the second stripping")
        .step
        + 3;
    let opts = RunOptions {
        stop_after_steps: Some(at),
        ..RunOptions::new(&split)
    };
    assert!(mgpf::cli::run(&cfg, BackendKind::Cpu, &opts).is_err());
    mgpf::cli::resume(None, &[], BackendKind::Cpu, &RunOptions::new(&split)).unwrap();
    for file in ["cycles.csv", "metrics.csv", "frames/frame_000003.png"] {
        let (a, b) = (
            std::fs::read(straight.join(file)).unwrap(),
            std::fs::read(split.join(file)).unwrap(),
        );
        println!("{file}: identical after resuming at step {at}: {}", a == b);
        assert!(a == b, "{file} differs");
    }
}

/// The GPU backend does not run cycling (nor stripping, nor a parasitic current) yet: asked to,
/// it says so with the key and the way out, before it looks for an adapter.
#[test]
fn the_gpu_backend_refuses_a_cycling_run() {
    let cfg = cycling(1, 0.05, Collector::Inert, false);
    let dir = tempfile::tempdir().unwrap();
    let e = mgpf::cli::run(&cfg, BackendKind::Gpu, &RunOptions::new(dir.path()))
        .unwrap_err()
        .to_string();
    println!("{e}");
    assert!(
        e.contains("GPU backend") && e.contains("--backend cpu"),
        "{e}"
    );
    assert!(!dir.path().join("metrics.csv").exists());
}
