//! Morphology from the presets' physics (issue: "What must hold", physics.md decision 12): at the
//! presets' test setting (the built-in defaults, configs/*.toml: 48 × 128 cells of 0.5 µm, 0.5
//! mA/cm² to 0.5 mAh/cm²) the passivating layer gives the roughest growth and the highest overpotential,
//! and bromine-rich deposits spread laterally from an isolated nucleus.

use mgpf::backend::cpu::CpuBackend;
use mgpf::backend::Backend;
use mgpf::config::presets::Preset;
use mgpf::config::Config;
use mgpf::grid::Field;
use mgpf::model::metrics::{front_heights, front_metrics};
use mgpf::model::params::Params;
use mgpf::model::units::MAH_CM2_IN_C_M2;

/// The built-in defaults with `preset`.
fn test_setting(preset: Preset) -> Config {
    let mut cfg = Config::default_demo();
    cfg.interphase.preset = preset;
    cfg
}

/// Runs a config to its end charge; returns the final order parameter and the mean
/// overpotential over the second half of the charge (the steady plateau).
fn run_to_end(cfg: &Config) -> (Field, f64, Params) {
    cfg.validate().unwrap();
    let p = Params::from_config(cfg).unwrap();
    let mut backend = CpuBackend::new(&p, &cfg.initial);
    let end = cfg.run.end_charge_mah_cm2.unwrap() * MAH_CM2_IN_C_M2;
    let (mut charge, mut step) = (0.0, 0u64);
    let (mut eta_sum, mut eta_n) = (0.0, 0u64);
    while charge < end {
        let r = backend.step(step).unwrap();
        charge += r.current_density_a_m2 * r.dt;
        step += 1;
        if charge >= 0.5 * end {
            eta_sum += r.applied_potential_v;
            eta_n += 1;
        }
        assert!(
            step < 50_000,
            "{}: no end in sight",
            cfg.interphase.preset.name()
        );
    }
    (
        backend.snapshot().order_parameter,
        eta_sum / eta_n as f64,
        p,
    )
}

/// The passivating layer's roughness and plateau vary from one realisation of its random layer
/// to the next (6 seeds: η from −0.34 to −1.40 V, mean −0.75 ± 0.38 V), so it is compared as an ensemble mean over
/// seeds 42–47 against one run of each engineered layer (their spread is small: σ_ln ≤ 0.3, no
/// blocking). physics.md decision 7: about −0.9 V for the passivating layer, ≤ ~0.2 V for the
/// engineered layers; −0.9 V must lie within the ensemble's 95 % interval of the mean.
#[test]
fn passivating_is_roughest_and_most_polarised_at_the_presets_test_setting() {
    const SEEDS: u64 = 6;
    let (mut roughness, mut plateaus) = (Vec::new(), Vec::new());
    for seed in 42..42 + SEEDS {
        let mut cfg = test_setting(Preset::Passivating);
        cfg.run.seed = seed;
        let (xi, eta, p) = run_to_end(&cfg);
        let front = front_metrics(&xi, p.grid);
        println!(
            "passivating seed {seed}: roughness {:.4} µm, mean height {:.3} µm, steady overpotential {eta:.4} V",
            front.roughness, front.mean_height
        );
        roughness.push(front.roughness);
        plateaus.push(eta);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (rough_pass, eta_pass) = (mean(&roughness), mean(&plateaus));
    let std =
        (plateaus.iter().map(|e| (e - eta_pass).powi(2)).sum::<f64>() / (SEEDS - 1) as f64).sqrt();
    let half_width = mgpf::study::stats::t_975(SEEDS as usize - 1) * std / (SEEDS as f64).sqrt();
    println!(
        "passivating over {SEEDS} seeds: mean roughness {rough_pass:.4} µm, mean plateau {eta_pass:.4} ± {half_width:.4} V (95 % interval of the mean)"
    );
    let mut results = Vec::new();
    for preset in [Preset::BromineRich, Preset::Zeolite, Preset::BiAlloy] {
        let (xi, eta, p) = run_to_end(&test_setting(preset));
        let front = front_metrics(&xi, p.grid);
        println!(
            "{:<13} roughness {:.4} µm, mean height {:.3} µm, steady overpotential {:.4} V",
            preset.name(),
            front.roughness,
            front.mean_height,
            eta
        );
        results.push((preset, front.roughness, eta));
    }
    for &(preset, rough, eta) in &results {
        println!(
            "passivating (mean) / {}: roughness ratio {:.1} (≥ 3 required), overpotential ratio {:.1} (≥ 3 required)",
            preset.name(),
            rough_pass / rough,
            eta_pass / eta
        );
        assert!(
            rough_pass >= 3.0 * rough,
            "roughness: passivating {rough_pass} vs {} {rough}",
            preset.name()
        );
        assert!(
            eta_pass.abs() >= 3.0 * eta.abs(),
            "overpotential: passivating {eta_pass} vs {} {eta}",
            preset.name()
        );
        assert!(
            eta.abs() <= 0.2,
            "{} overpotential {eta} V above 0.2 V",
            preset.name()
        );
    }
    assert!(
        (eta_pass - half_width..=eta_pass + half_width).contains(&-0.9),
        "passivating plateau {eta_pass} ± {half_width} V does not hold −0.9 V"
    );
}

/// Half the width (µm) of the region where the front stands above `level` µm, and the highest
/// front (µm).
fn extent(xi: &Field, p: &Params, level: f64) -> (f64, f64) {
    let h = front_heights(xi, p.grid);
    let width = h.iter().filter(|&&v| v > level).count() as f64 * p.grid.dx;
    (0.5 * width, h.iter().copied().fold(0.0, f64::max))
}

/// (lateral/vertical growth of the footprint 1 µm above the collector, the same at half the
/// deposit's height) between the initial and the final order parameter.
fn spreading(xi0: &Field, xi: &Field, p: &Params) -> (f64, f64) {
    let (foot0, top0) = extent(xi0, p, 1.0);
    let (foot, top) = extent(xi, p, 1.0);
    let (mid0, _) = extent(xi0, p, 0.5 * top0);
    let (mid, _) = extent(xi, p, 0.5 * top);
    println!(
        "    top {top0:.2} → {top:.2} µm, footprint half-width {foot0:.2} → {foot:.2} µm, half-width at half height {mid0:.2} → {mid:.2} µm"
    );
    ((foot - foot0) / (top - top0), (mid - mid0) / (top - top0))
}

#[test]
fn bromine_rich_nucleus_spreads_laterally() {
    // One semicircular nucleus on the bare collector (configs/nucleus-bromine-rich.toml).
    let base =
        Config::from_path(std::path::Path::new("configs/nucleus-bromine-rich.toml")).unwrap();
    let p0 = Params::from_config(&base).unwrap();
    let xi0 = mgpf::model::initial::order_parameter(p0.grid, p0.delta, &base.initial);
    // The kinetic anisotropy's effect is compared on a uniform layer (σ_ln = 0), so that the
    // two runs differ only in ε_k2: with the preset's heterogeneity a patch of the layer near the
    // nucleus can widen one run's half-height more than ε_k2 does.
    let mut results = Vec::new();
    for (label, anisotropy, sigma_ln) in [
        ("bromine-rich", None, None),
        ("bromine-rich, uniform layer", None, Some(0.0)),
        (
            "bromine-rich, uniform layer, ε_k2 = 0",
            Some(0.0),
            Some(0.0),
        ),
    ] {
        let mut cfg = base.clone();
        cfg.interphase.kinetic_anisotropy_2fold = anisotropy;
        cfg.interphase.heterogeneity_sigma_ln = sigma_ln;
        let (xi, _, p) = run_to_end(&cfg);
        println!("{label}:");
        let (foot, mid) = spreading(&xi0, &xi, &p);
        println!("    lateral/vertical growth: footprint {foot:.2}, at half height {mid:.2}");
        results.push((foot, mid));
    }
    // Measured (ℓ_c = 4.4 µm): footprint 5.52 with the preset's heterogeneity (3.67 on a
    // uniform layer, 2.45 without ε_k2: the deposit also spreads along the collector); at half
    // height 2.67 on the uniform layer against 1.50 without ε_k2 (the basal-planar kinetic
    // anisotropy flattens it).
    println!("expected: footprint ≥ 3; at half height ≥ 1.3 × the isotropic run's");
    assert!(
        results[0].0 >= 3.0,
        "bromine-rich footprint lateral/vertical {} < 3",
        results[0].0
    );
    assert!(
        results[1].1 >= 1.3 * results[2].1,
        "ε_k2 must flatten the nucleus: {results:?}"
    );
}
