//! Dead metal (issue 19, physics.md decision 16): metal cut off from the collector carries no
//! current and stays as it is, counted; metal joined to the deposit is live.

use mgpf::backend::cpu::CpuBackend;
use mgpf::backend::Backend;
use mgpf::config::presets::Preset;
use mgpf::config::Config;
use mgpf::model::params::{Params, LENGTH_UNIT_M};

mod common;

/// A stripping run (−0.5 mA/cm², 48 × 32 cells of 0.5 µm, a 6 µm deposit) with a disc of metal
/// of radius 2 µm centred `island_x_um` above the collector, its tanh profile laid over the
/// deposit's (c = c0 (1 − h(ξ)) as in the initial state).
fn run_with_island(island_x_um: f64) -> (Params, CpuBackend) {
    let mut cfg = Config::default_demo();
    cfg.grid.nx = 48;
    cfg.grid.ny = 32;
    cfg.initial.deposit_height_um = 6.0;
    cfg.interphase.preset = Preset::None;
    cfg.control.current_density_ma_cm2 = -0.5;
    cfg.validate().unwrap();
    let p = Params::from_config(&cfg).unwrap();
    assert!(p.tracks_dead_metal, "a stripping run tracks dead metal");
    let mut b = CpuBackend::new(&p, &cfg.initial);
    common::lay_metal_disc(&p, &mut b, island_x_um, 2.0);
    (p, b)
}

#[test]
fn an_island_apart_from_the_deposit_is_dead_carries_no_current_and_keeps_its_metal() {
    // The disc's edge 5 µm above the deposit's front.
    let (p, mut b) = run_with_island(6.0 + 5.0 + 2.0);
    let g = p.grid;
    let xi0 = b.xi.clone();
    let (mut charge, steps) = (0.0, 60);
    for step in 0..steps {
        let r = b.step(step).expect("a stripping step");
        charge += r.current_density_a_m2 * r.dt;
    }
    let dead = b.dead_metal().expect("the island is found dead").clone();
    let snap = b.snapshot();
    let frozen_cells = dead.frozen.iter().filter(|&&f| f).count();
    let (mut changed, mut rate_on_frozen) = (0, 0.0f64);
    let (mut live_change, mut island_sum0) = (0.0f64, 0.0f64);
    for (n, ((&x1, &x0), &rate)) in snap
        .order_parameter
        .iter()
        .zip(&xi0)
        .zip(&snap.plating_rate)
        .enumerate()
    {
        if dead.frozen[n] {
            changed += (x1.to_bits() != x0.to_bits()) as usize;
            rate_on_frozen = rate_on_frozen.max(rate.abs() as f64);
            island_sum0 += x0 as f64;
        } else {
            live_change += x1 as f64 - x0 as f64;
        }
    }
    let cell_um = g.cell_measure() / g.collector_measure();
    let lost_um = -live_change * cell_um;
    let faraday_um = -charge / p.metal.charge_density_c_m3() / LENGTH_UNIT_M;
    println!(
        "{} dead metal cells, {frozen_cells} frozen cells (Σξ {:.4}, at the start {island_sum0:.4}); {changed} of them changed in {steps} steps, largest |reaction rate| on them {rate_on_frozen:e} 1/s; the live metal lost {lost_um:.6} µm against Faraday's {faraday_um:.6} µm",
        dead.dead_cells, dead.xi_sum
    );
    assert!(dead.dead_cells >= 40, "a disc of radius 2 µm is ~50 cells");
    assert_eq!(changed, 0, "dead metal changed");
    assert_eq!(rate_on_frozen, 0.0, "dead metal carried current");
    assert!((dead.xi_sum - island_sum0).abs() < 1e-9);
    assert!(faraday_um > 0.01);
    assert!(
        (lost_um / faraday_um - 1.0).abs() < 1e-6,
        "the current came from the live metal alone"
    );
}

#[test]
fn an_island_touching_the_deposit_is_live_and_dissolves() {
    // The disc's centre 1 µm above the front: it overlaps the deposit.
    let (_, mut b) = run_with_island(7.0);
    let xi0 = b.xi.clone();
    for step in 0..60 {
        b.step(step).expect("a stripping step");
    }
    assert!(b.dead_metal().is_none(), "no dead metal");
    let top_before: f64 = xi0.iter().map(|&v| v as f64).sum();
    let top_after: f64 = b.xi.iter().map(|&v| v as f64).sum();
    let rate_max = b
        .snapshot()
        .plating_rate
        .iter()
        .fold(0.0f32, |m, &r| m.max(-r));
    println!(
        "joined disc: Σξ {top_before:.4} → {top_after:.4}; largest dissolution rate {rate_max:e} 1/s"
    );
    assert!(top_after < top_before && rate_max > 0.0);
}

/// A checkpoint between two labellings holds the last one's mask: the resumed run continues bit
/// for bit (relabelling the field at the restore would freeze another region until the next).
#[test]
fn a_resumed_run_keeps_the_last_labelling() {
    let (_, mut straight) = run_with_island(13.0);
    for step in 0..40 {
        straight.step(step).unwrap();
    }
    let (p, mut first) = run_with_island(13.0);
    for step in 0..35 {
        first.step(step).unwrap();
    }
    let saved = first.save_state();
    assert!(saved.field("dead_metal_frozen").is_ok());
    let mut resumed = CpuBackend::new(&p, &Config::default_demo().initial);
    resumed.restore_state(&saved).unwrap();
    for step in 35..40 {
        resumed.step(step).unwrap();
    }
    let differing = straight
        .xi
        .iter()
        .zip(&resumed.xi)
        .filter(|(a, b)| a.to_bits() != b.to_bits())
        .count();
    println!("{differing} cells differ between the straight and the resumed run (expected 0)");
    assert_eq!(differing, 0);
}
