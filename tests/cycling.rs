//! Plating/stripping cycles (issue 19, physics.md decision 16): the parasitic current, the
//! cycling schedule, Coulombic efficiency and the conservation of Mg through cycles.

use mgpf::backend::cpu::CpuBackend;
use mgpf::backend::{Backend, ControlSetting};
use mgpf::config::presets::Preset;
use mgpf::config::Config;
use mgpf::model::metrics::equivalent_thickness;
use mgpf::model::params::{Params, LENGTH_UNIT_M};
use mgpf::model::timestep::Bound;

/// A planar deposit 8 µm thick (8δ: its profile reaches 1 before the collector) on 48 × 16
/// cells of 0.5 µm, no anisotropy, no noise, no interphase.
fn planar() -> Config {
    let mut cfg = Config::default_demo();
    cfg.grid.nx = 48;
    cfg.grid.ny = 16;
    cfg.initial.deposit_height_um = 8.0;
    cfg.interphase.preset = Preset::None;
    cfg.interface.anisotropy_strength = 0.0;
    cfg.interface.kinetic_anisotropy_2fold = 0.0;
    cfg.interface.kinetic_anisotropy_6fold = 0.0;
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
