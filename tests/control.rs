//! Galvanostatic control end to end: a target beyond `control.max_overpotential_v` stops the run
//! on both backends with the same message (the step, the target, the bound and the current
//! reached), exit status 2, instead of driving E to whatever the target needs (−158 V at
//! 100 mA/cm² through the passivating layer before the bound).

mod gpu_common;

use mgpf::backend::cpu::CpuBackend;
use mgpf::backend::gpu::GpuBackend;
use mgpf::backend::Backend;
use mgpf::config::presets::Preset;
use mgpf::config::Config;
use mgpf::model::params::Params;
use std::process::Command;

fn overdriven() -> (Config, Params) {
    let mut cfg = Config::default_demo();
    cfg.grid.nx = 32;
    cfg.grid.ny = 32;
    cfg.initial.deposit_height_um = 4.0;
    cfg.interphase.preset = Preset::Passivating;
    cfg.control.current_density_ma_cm2 = 100.0;
    let p = Params::from_config(&cfg).unwrap();
    (cfg, p)
}

/// The message up to the current reached (the backends' f32 and f64 sums differ in its digits).
fn head(message: &str) -> &str {
    &message[..message.find("the current is").expect("the current reached")]
}

#[test]
fn a_target_beyond_the_bound_stops_both_backends_with_the_same_message() {
    let (cfg, p) = overdriven();
    let cpu = CpuBackend::new(&p, &cfg.initial)
        .step(0)
        .expect_err("100 mA/cm² through the passivating layer needs more than 10 V")
        .to_string();
    println!("cpu: {cpu}");
    assert!(cpu.starts_with("solver failure at step 0: the galvanostatic target 100.0000 mA/cm² needs an electrode potential beyond control.max_overpotential_v = 10.0000 V: at E = -10.0000 V"), "{cpu}");
    let Some(ctx) = gpu_common::gpu() else { return };
    let gpu = GpuBackend::new(ctx, &p, &cfg.initial)
        .unwrap()
        .step(0)
        .expect_err("the device bounds E as the CPU does")
        .to_string();
    println!("gpu: {gpu}");
    assert_eq!(head(&gpu), head(&cpu));
}

/// 20 mA/cm² needs ~−110 V in the first step: refused at the default 10 V, passed at 200 V.
#[test]
fn raising_the_bound_lets_the_target_through() {
    let (mut cfg, _) = overdriven();
    cfg.control.current_density_ma_cm2 = 20.0;
    let p = Params::from_config(&cfg).unwrap();
    assert!(CpuBackend::new(&p, &cfg.initial).step(0).is_err());
    cfg.control.max_overpotential_v = 200.0;
    let p = Params::from_config(&cfg).unwrap();
    let report = CpuBackend::new(&p, &cfg.initial)
        .step(0)
        .expect("200 V is enough");
    println!(
        "E = {:.3} V for {:.4} A/m² (target 200 A/m²) after {} control iterations",
        report.applied_potential_v, report.current_density_a_m2, report.control_iterations
    );
    assert!(report.applied_potential_v < -10.0);
    assert!((report.current_density_a_m2 / 200.0 - 1.0).abs() < 1e-4);
}

#[test]
fn mgpf_run_reports_the_bound_and_exits_with_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_mgpf"))
        .args(["run", "configs/passivating.toml", "--out"])
        .arg(dir.path().join("run"))
        .args(["--set", "grid.nx=32", "--set", "grid.ny=32"])
        .args(["--set", "control.current_density_ma_cm2=100"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    println!("status {:?}, stderr: {stderr}", o.status.code());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr.contains("control.max_overpotential_v = 10.0000 V"),
        "{stderr}"
    );
}

#[test]
fn the_bound_is_validated_with_its_key_and_range() {
    for value in [0.0, -1.0, 2000.0] {
        let mut cfg = Config::default_demo();
        cfg.control.max_overpotential_v = value;
        let e = cfg.validate().expect_err("out of range").to_string();
        println!("max_overpotential_v = {value}: {e}");
        assert!(e.contains("`control.max_overpotential_v`"), "{e}");
    }
    // A potentiostatic potential beyond the bound names both keys.
    let mut cfg = Config::default_demo();
    cfg.control.mode = mgpf::config::ControlMode::Potentiostatic;
    cfg.control.applied_potential_v = -2.0;
    cfg.control.max_overpotential_v = 1.0;
    let e = cfg.validate().expect_err("|E| above the bound").to_string();
    println!("{e}");
    assert!(
        e.contains("`control.applied_potential_v`") && e.contains("control.max_overpotential_v"),
        "{e}"
    );
}
