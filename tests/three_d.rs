//! The model in 3D on the CPU backend (issue 14): a z-invariant 3D state advances as the 2D run
//! does, V3 and V4 in 3D, the hcp kinetic anisotropy turning the shape of a nucleus with the
//! c-axis, and 3D runs that are deterministic and resume bit for bit.

mod common;

use common::{
    check_bound, check_rel, delta_of, electrode_for_b, mg_params_3d, slope, FrozenStepper,
};
use mgpf::backend::cpu::CpuBackend;
use mgpf::backend::{Backend, BackendState};
use mgpf::cli::BackendKind;
use mgpf::config::presets::Preset;
use mgpf::config::{CAxis, Config};
use mgpf::error::Error;
use mgpf::model::params::Params;
use mgpf::simulation::RunOptions;
use mgpf::{Field, Grid, Real};
use std::f64::consts::PI;

/// A 2D-to-3D copy of a state: every field repeated along z.
fn broadcast(state: &BackendState, nz: usize) -> BackendState {
    let fields = state
        .fields
        .iter()
        .map(|(name, f)| {
            let (nx, ny, _) = f.dim();
            let f3 = Field::from_shape_fn((nx, ny, nz), |(i, j, _)| f[[i, j, 0]]);
            (name.clone(), f3)
        })
        .collect();
    // Each grid measures its own V-cycle contraction.
    let scalars = state
        .scalars
        .iter()
        .map(|(name, v)| {
            let v = if name == "potential_contraction" {
                -1.0
            } else {
                *v
            };
            (name.clone(), v)
        })
        .collect();
    BackendState { fields, scalars }
}

/// Anisotropy settings where the 3D hcp forms restricted to the x–y plane are the 2D in-plane
/// forms (physics.md decision 15).
#[derive(Clone, Copy, Debug)]
enum Reduction {
    Isotropic,
    /// δ6 = 0.02 with ĉ along z (normal to the plane), â along x: ε0 (1 + δ6 cos 6θ).
    SixFoldCNormal,
    /// ε_k2 = 0.5 with ĉ in the plane at 30° from x: a_k = 1 − ε_k2 cos 2(θ − 30°).
    TwoFoldKineticCInPlane,
}

fn reduction_config(preset: Preset, case: Reduction, nz: usize) -> Config {
    let mut cfg = Config::default_demo();
    cfg.grid.nx = 32;
    cfg.grid.ny = 32;
    cfg.grid.nz = nz;
    cfg.interphase.preset = preset;
    // Noise and heterogeneity are keyed by the cell: a 3D field is not a 2D field repeated.
    cfg.noise.amplitude_per_s = 0.0;
    cfg.interphase.heterogeneity_sigma_ln = Some(0.0);
    cfg.interphase.blocked_fraction = Some(0.0);
    cfg.initial.deposit_height_um = 4.0;
    cfg.initial.nucleus_radius_um = 2.5;
    let itf = &mut cfg.interface;
    itf.kinetic_anisotropy_6fold = 0.0;
    cfg.anisotropy.c_axis_energy_strength = 0.0;
    match case {
        Reduction::Isotropic => {
            itf.anisotropy_strength = 0.0;
            itf.kinetic_anisotropy_2fold = 0.0;
            cfg.interphase.kinetic_anisotropy_2fold = Some(0.0);
        }
        Reduction::SixFoldCNormal => {
            itf.anisotropy_strength = 0.02;
            itf.anisotropy_angle_deg = 0.0;
            itf.kinetic_anisotropy_2fold = 0.0;
            cfg.interphase.kinetic_anisotropy_2fold = Some(0.0);
            cfg.anisotropy.c_axis = Some(CAxis::Vector([0.0, 0.0, 1.0]));
            // â = x: the basal direction nearest y (ĉ × â0 = −x) turned by −90° about ĉ.
            cfg.anisotropy.basal_rotation_deg = -90.0;
            cfg.anisotropy.c_axis_energy_strength = -0.02;
        }
        Reduction::TwoFoldKineticCInPlane => {
            itf.anisotropy_strength = 0.0;
            itf.kinetic_anisotropy_2fold = 0.5;
            cfg.interphase.kinetic_anisotropy_2fold = Some(0.5);
            itf.c_axis_angle_deg = 30.0;
        }
    }
    cfg.validate().unwrap();
    cfg
}

/// A z-invariant 3D state (a 2D state with a disc nucleus, repeated along z) advances as the 2D
/// run does, for every preset in the three settings where the forms agree: 60 galvanostatic
/// steps of 0.5 s of the whole model (potential, control, reaction, Allen–Cahn, concentration).
///
/// Expected: ξ equal to f32 rounding (bound 1e-6; measured ≤ 1.2e-7), not bit for bit: the 3D
/// multigrid (8-child restriction, its own coarsest level) stops at the same estimated error
/// (1e-6 V) by a different path, and the hcp ε, a_k are other f32 formulas of the same numbers;
/// so E agrees within a few times the potential tolerance (bound 1e-5 V; measured ≤ 1.1e-6 V).
/// A wrong neighbour rule, a missing z face or a wrong form breaks this by orders of magnitude
/// (â turned by 15° in 3D only: 4e-3, checked below). Within each 3D run the state stays
/// z-invariant to f32 rounding.
#[test]
fn a_z_invariant_3d_state_advances_as_the_2d_run() {
    let steps = 60;
    for case in [
        Reduction::Isotropic,
        Reduction::SixFoldCNormal,
        Reduction::TwoFoldKineticCInPlane,
    ] {
        for preset in Preset::ALL {
            let run_pair = |tweak: &dyn Fn(&mut Config)| {
                let (mut c2, mut c3) = (
                    reduction_config(preset, case, 1),
                    reduction_config(preset, case, 8),
                );
                tweak(&mut c3);
                // One fixed dt for both: the adaptive one follows the dimension's bounds (2d
                // neighbours), so 3D would step at 2/3 of the 2D dt. 0.5 s is below every bound
                // of these runs (the front's motion bound is the tightest, ~3 s).
                let dt = 0.5;
                c2.numerics.dt_s = Some(dt);
                c3.numerics.dt_s = Some(dt);
                let (p2, p3) = (
                    Params::from_config(&c2).unwrap(),
                    Params::from_config(&c3).unwrap(),
                );
                let mut b2 = CpuBackend::new(&p2, &c2.initial);
                let mut b3 = CpuBackend::new(&p3, &c3.initial);
                b3.restore_state(&broadcast(&b2.save_state(), 8)).unwrap();
                let mut worst_e = 0.0f64;
                for s in 0..steps {
                    let (r2, r3) = (b2.step(s).unwrap(), b3.step(s).unwrap());
                    worst_e = worst_e.max((r2.applied_potential_v - r3.applied_potential_v).abs());
                }
                let (x2, x3) = (b2.snapshot().order_parameter, b3.snapshot().order_parameter);
                let mut worst_xi = 0.0f64;
                let mut worst_z = 0.0f64;
                for ((i, j, _), &v) in x3.indexed_iter() {
                    worst_xi = worst_xi.max((v - x2[[i, j, 0]]).abs() as f64);
                    worst_z = worst_z.max((v - x3[[i, j, 0]]).abs() as f64);
                }
                (worst_xi, worst_z, worst_e)
            };
            let (xi, z, e) = run_pair(&|_| {});
            println!(
                "{case:?}, {}: after {steps} steps max |ξ3D − ξ2D| {xi:.2e} (allowed 1e-6), \
                 max variation along z {z:.2e} (allowed 1e-6), max |E3D − E2D| {e:.2e} V \
                 (allowed 1e-5)",
                preset.name()
            );
            assert!(xi <= 1e-6 && z <= 1e-6 && e <= 1e-5, "{case:?} {preset:?}");
            if matches!(case, Reduction::SixFoldCNormal) && preset == Preset::None {
                // The test can fail: â turned by 15° (cos 6θ → −cos 6θ: the other facets).
                let (xi, _, _) = run_pair(&|c| c.anisotropy.basal_rotation_deg = -75.0);
                println!(
                    "  â turned by 15° in 3D only: max |ξ3D − ξ2D| {xi:.2e} (must exceed 1e-4)"
                );
                assert!(xi > 1e-4);
            }
        }
    }
}

/// A sphere of radius r centred at `c` (µm), periodic along y and z.
fn sphere_profile(grid: Grid, delta: f64, c: [f64; 3], r: f64) -> Field {
    let (ly, lz) = (grid.ly(), grid.lz());
    let periodic = |d: f64, l: f64| {
        let d = d.abs() % l;
        d.min(l - d)
    };
    grid.field_from_fn(|(i, j, k)| {
        let x = (i as f64 + 0.5) * grid.dx - c[0];
        let y = periodic((j as f64 + 0.5) * grid.dx - c[1], ly);
        let z = periodic((k as f64 + 0.5) * grid.dx - c[2], lz);
        let d = (x * x + y * y + z * z).sqrt() - r;
        (0.5 * (1.0 - (d / (2.0 * delta)).tanh())) as Real
    })
}

/// V3 in 3D: the planar velocity v = −6δ L_η B at E = −50 mV (Λ ≤ 0.07, Δx = δ/4, the Mg set)
/// on a 3D grid, within 2 %.
#[test]
fn v3_planar_velocity_in_3d() {
    let delta = delta_of(&mg_params_3d(1, 1, 1, 1.0));
    let dx = delta / 4.0;
    let p = mg_params_3d((32.0 * delta / dx) as usize, 8, 8, dx);
    let e = -0.05;
    let b = p.butler_volmer(e, 1.0);
    let xi = common::planar_profile(p.grid, delta, 16.0 * delta);
    let mut s = FrozenStepper::new(&p, xi, 1.0, e);
    let rate = p.l_sigma * p.w;
    let (v, v_sum) = s.planar_velocities(5.0 / rate, 10.0 / rate);
    println!(
        "V3 3D {}×{}×{}: Λ = {:.4}, dt = {:.3e} s, velocity from Σ Δξ {v_sum:.6e} µm/s",
        p.grid.nx,
        p.grid.ny,
        p.grid.nz,
        p.stiffness_lambda(b.abs()),
        s.dt
    );
    assert!(check_rel(
        "V3 3D: v vs −6δL_ηB (µm/s)",
        -6.0 * delta * p.l_eta * b,
        v,
        0.02
    ));
}

/// V4 in 3D: a sphere at B = 0 shrinks by mean curvature, R² = R0² − 4L_σκ0 t. R from the
/// volume: a tanh profile of width 2δ holds ∫ξ dV = (4π/3)(R³ + π²δ²R) (the logistic's
/// variance π²δ²/3), solved for R. Within V4's 1 %.
#[test]
fn v4_shrinking_sphere() {
    let delta = delta_of(&mg_params_3d(1, 1, 1, 1.0));
    let dx = delta / 2.0;
    let (r0, margin) = (14.0 * delta, 6.0 * delta);
    let n = (2.0 * (r0 + margin) / dx).round() as usize;
    let p = mg_params_3d(n, n, n, dx);
    let c = 0.5 * n as f64 * dx;
    let xi = sphere_profile(p.grid, delta, [c, c, c], r0);
    let mut s = FrozenStepper::new(&p, xi, 1.0, 0.0);
    let radius = |volume: f64| {
        let target = 3.0 * volume / (4.0 * PI);
        let a = PI * PI * delta * delta;
        let mut r = target.cbrt();
        for _ in 0..50 {
            r -= (r * r * r + a * r - target) / (3.0 * r * r + a);
        }
        r
    };
    let expected = -4.0 * p.l_sigma * p.kappa;
    let window = 30.0 * delta * delta / expected.abs();
    let (t, r2) = s.sample(2.0 / (p.l_sigma * p.w), window, 10, |s| {
        radius(s.area()).powi(2)
    });
    println!(
        "V4 3D: {n}³ cells, Δx = δ/2, dt = {:.4e} s, {} steps; R² (δ²) {:.2} → {:.2}",
        s.dt,
        s.steps,
        r2[0] / (delta * delta),
        r2[r2.len() - 1] / (delta * delta)
    );
    assert!(check_rel(
        "V4 3D dR²/dt vs −4L_σκ0 (µm²/s)",
        expected,
        slope(&t, &r2),
        0.01
    ));
}

/// Extents (µm) along x, y and z of the cells where ξ > ½.
fn extents(xi: &Field, dx: f64) -> [f64; 3] {
    let (mut lo, mut hi) = ([usize::MAX; 3], [0usize; 3]);
    for ((i, j, k), &v) in xi.indexed_iter() {
        if v > 0.5 {
            for (d, m) in [i, j, k].into_iter().enumerate() {
                lo[d] = lo[d].min(m);
                hi[d] = hi[d].max(m);
            }
        }
    }
    std::array::from_fn(|d| (hi[d] + 1 - lo[d]) as f64 * dx)
}

/// Strong kinetic anisotropy (ε_k2 = 0.8: a_k = 0.2 along ĉ, 1.8 across) grows a free nucleus
/// flat: with ĉ along x it spreads in y and z at least 3× as fast as along x; with ĉ along y
/// the slow axis turns with it (y grows slowest, x and z fast).
#[test]
fn kinetic_anisotropy_spreads_a_nucleus_across_the_c_axis_and_turns_with_it() {
    let delta = delta_of(&mg_params_3d(1, 1, 1, 1.0));
    let dx = delta / 2.0;
    let n = 40;
    for (axis, c_axis) in [(0, [1.0, 0.0, 0.0]), (1, [0.0, 1.0, 0.0])] {
        let mut p = mg_params_3d(n, n, n, dx);
        p.hcp.kinetic_2fold = 0.8;
        p.crystal = mgpf::model::hcp::CrystalFrame::from_c_axis(c_axis, 0.0);
        let c = 0.5 * n as f64 * dx;
        let r0 = 4.0 * delta;
        let xi = sphere_profile(p.grid, delta, [c, c, c], r0);
        let start = extents(&xi, dx);
        // Growth well above the critical radius: v_BV = 6δL_η|B| ≈ 5 L_σκ0/R0.
        let v_bv = 5.0 * p.l_sigma * p.kappa / r0;
        let e = electrode_for_b(&p, -v_bv / (6.0 * delta * p.l_eta));
        let mut s = FrozenStepper::new(&p, xi, 1.0, e);
        // Until the fast directions have grown ~5 µm in all (2.5 µm each way).
        s.advance_for(2.5 / (1.8 * v_bv));
        let end = extents(&s.xi, dx);
        let growth: [f64; 3] = std::array::from_fn(|d| end[d] - start[d]);
        let slow = growth[axis];
        let fast = (0..3)
            .filter(|&d| d != axis)
            .map(|d| growth[d])
            .fold(f64::MAX, f64::min);
        println!(
            "ĉ = {c_axis:?}: extents {start:?} → {end:?} µm, growth {growth:?} µm; slowest across ĉ / along ĉ = {:.2}",
            fast / slow.max(dx)
        );
        assert!(check_bound(
            "growth across ĉ / along ĉ",
            fast / slow.max(dx),
            3.0,
            true
        ));
        let slowest = (0..3)
            .min_by(|&a, &b| growth[a].total_cmp(&growth[b]))
            .unwrap();
        assert_eq!(slowest, axis, "the slow axis must be ĉ's");
    }
}

fn small_3d_config(preset: Preset) -> Config {
    let mut cfg = Config::default_demo();
    cfg.grid.nx = 24;
    cfg.grid.ny = 16;
    cfg.grid.nz = 8;
    cfg.interphase.preset = preset;
    cfg.initial.deposit_height_um = 3.0;
    cfg.initial.nucleus_radius_um = 2.0;
    cfg
}

/// 1 and 2 threads give the same 3D run bit for bit (noise keyed by the 3D cell, sums over fixed
/// layer splits).
#[test]
fn a_3d_run_is_identical_on_one_and_two_threads() {
    for preset in [Preset::Passivating, Preset::BromineRich] {
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let cfg = small_3d_config(preset);
                let p = Params::from_config(&cfg).unwrap();
                let mut b = CpuBackend::new(&p, &cfg.initial);
                let trace: Vec<(f64, f64)> = (0..25)
                    .map(|s| {
                        let r = b.step(s).unwrap();
                        (r.applied_potential_v, r.current_density_a_m2 * r.dt)
                    })
                    .collect();
                (b.snapshot().order_parameter, trace)
            })
        };
        let ((x1, t1), (x2, t2)) = (run(1), run(2));
        let differing = x1
            .iter()
            .zip(&x2)
            .filter(|(a, b)| a.to_bits() != b.to_bits())
            .count();
        println!(
            "{}: 3D cells differing between 1 and 2 threads: {differing} of {} (expected 0)",
            preset.name(),
            x1.len()
        );
        assert_eq!(differing, 0);
        assert_eq!(t1, t2);
    }
}

/// A 3D run interrupted and resumed writes the uninterrupted run's metrics.csv and final.vti
/// byte for byte.
#[test]
fn a_3d_run_resumes_bit_for_bit() {
    let mut cfg = small_3d_config(Preset::Zeolite);
    cfg.run.max_steps = Some(40);
    cfg.run.end_charge_mah_cm2 = Some(10.0);
    cfg.run.frames = 2;
    cfg.run.metrics_every_steps = 5;
    cfg.run.checkpoint_every_steps = 15;
    let root = tempfile::tempdir().unwrap();
    let (straight, split) = (root.path().join("straight"), root.path().join("split"));
    mgpf::cli::run(&cfg, BackendKind::Cpu, &RunOptions::new(&straight)).expect("uninterrupted run");
    let opts = RunOptions {
        stop_after_steps: Some(20),
        ..RunOptions::new(&split)
    };
    assert!(matches!(
        mgpf::cli::run(&cfg, BackendKind::Cpu, &opts),
        Err(Error::Interrupted { .. })
    ));
    let summary = mgpf::cli::resume(None, &[], BackendKind::Cpu, &RunOptions::new(&split))
        .expect("resumed run");
    assert_eq!(summary.steps, 40);
    for file in ["metrics.csv", "final.vti"] {
        let (a, b) = (
            std::fs::read(straight.join(file)).unwrap(),
            std::fs::read(split.join(file)).unwrap(),
        );
        println!(
            "{file}: {} vs {} bytes, identical {}",
            a.len(),
            b.len(),
            a == b
        );
        assert!(a == b, "{file} differs");
    }
    let bytes = std::fs::read(straight.join("final.vti")).unwrap();
    let header = String::from_utf8_lossy(&bytes);
    assert!(header.contains("WholeExtent=\"0 24 0 16 0 8\""));
}

/// Every config under configs/3d runs on the CPU backend (three steps), writing a 3D final.vti
/// and the metrics with `mg_areal_mol_m2` and an empty 2D-only `mg_total_mol_m`.
#[test]
fn every_3d_config_runs_on_the_cpu_backend() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/3d");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), Preset::ALL.len(), "one 3D config per preset");
    for path in &files {
        let cfg = Config::load(path, &["run.max_steps=3".to_string()]).unwrap();
        assert!(cfg.grid.nz >= 8, "{}: not 3D", path.display());
        let out = tempfile::tempdir().unwrap();
        let s = mgpf::cli::run(&cfg, BackendKind::Cpu, &RunOptions::new(out.path())).unwrap();
        let csv = std::fs::read_to_string(out.path().join("metrics.csv")).unwrap();
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        let last: Vec<&str> = csv.lines().last().unwrap().split(',').collect();
        let column = |name: &str| last[header.iter().position(|h| *h == name).unwrap()];
        let bytes = std::fs::read(out.path().join("final.vti")).unwrap();
        let vti = String::from_utf8_lossy(&bytes);
        let extent = format!(
            "WholeExtent=\"0 {} 0 {} 0 {}\"",
            cfg.grid.nx, cfg.grid.ny, cfg.grid.nz
        );
        println!(
            "{}: {} steps, mg_areal_mol_m2 {}, mg_total_mol_m '{}', final.vti {extent}: {}",
            path.display(),
            s.steps,
            column("mg_areal_mol_m2"),
            column("mg_total_mol_m"),
            vti.contains(&extent)
        );
        assert_eq!(s.steps, 3);
        assert!(column("mg_areal_mol_m2").parse::<f64>().unwrap() > 0.0);
        assert_eq!(column("mg_total_mol_m"), "");
        assert!(vti.contains(&extent));
    }
}

/// V8 in 3D: the charge passed is the deposit's Faraday thickness and total Mg (ions + metal)
/// changes only by the ions entering through the bulk face, ≤ 1e-6 per 1e4 steps.
#[test]
fn v8_faraday_and_mg_conservation_in_3d() {
    let mut cfg = Config::default_demo();
    cfg.grid.nx = 32;
    cfg.grid.ny = 16;
    cfg.grid.nz = 16;
    cfg.initial.deposit_height_um = 6.0;
    cfg.control.current_density_ma_cm2 = 0.5;
    cfg.interphase.preset = Preset::Passivating;
    // Patches of 2 µm, so that this 8 µm box holds both blocked and open layer (at the preset's
    // 4.4 µm it can be all blocked); lateral, as a lab-frame field that short needs δ ≤ 0.455 µm.
    cfg.interphase.correlation_length_um = Some(2.0);
    cfg.interphase.attachment = Some(mgpf::config::Attachment::Lateral);
    cfg.validate().unwrap();
    let p = Params::from_config(&cfg).unwrap();
    let g = p.grid;
    let mut b = CpuBackend::new(&p, &cfg.initial);
    let amount = |b: &CpuBackend| {
        let s = b.snapshot();
        let (sc, sx) = mgpf::model::metrics::integrals(&s.concentration, &s.order_parameter, g);
        let thickness = mgpf::model::metrics::equivalent_thickness(&s.order_parameter, g);
        (sc + p.cs_over_c0 * sx, thickness)
    };
    let (total0, thick0) = amount(&b);
    let (mut charge, mut inflow, mut steps) = (0.0, 0.0, 0u64);
    let target = 0.1 * mgpf::model::units::MAH_CM2_IN_C_M2;
    while charge < target {
        let r = b.step(steps).unwrap();
        charge += r.current_density_a_m2 * r.dt;
        inflow += r.boundary_inflow;
        steps += 1;
        assert!(steps < 20_000);
    }
    let (total1, thick1) = amount(&b);
    let faraday_um = charge / p.metal.charge_density_c_m3() / 1e-6;
    let drift = (total1 - total0 - inflow) / total0;
    let per_1e4 = drift * 1e4 / steps as f64;
    println!(
        "V8 3D: {steps} steps, Q = {charge:.4} C/m², Faraday thickness {faraday_um:.5} µm, ∫ξ growth {:.5} µm; total Mg {total0:.6} → {total1:.6} (c/c0 µm³), inflow {inflow:.6}, balance error {drift:.3e} ({per_1e4:.3e} per 1e4 steps, allowed 1e-6)",
        thick1 - thick0
    );
    assert!(((thick1 - thick0) / faraday_um - 1.0).abs() < 5e-3);
    assert!(per_1e4.abs() < 1e-6);
}

fn config_error(cfg: &Config) -> String {
    match cfg
        .validate()
        .and_then(|_| Params::from_config(cfg).map(|_| ()))
    {
        Err(e) => e.to_string(),
        Ok(()) => panic!("accepted"),
    }
}

/// Bad 3D input: nz neither 1 nor even ≥ 8, a zero c-axis, a non-convex hcp surface energy
/// (named with its worst normal), a grid beyond the memory (with the bytes), the GPU backend.
#[test]
fn bad_3d_input_gets_a_clear_error() {
    for nz in [2, 6, 9, 20_000] {
        let mut cfg = small_3d_config(Preset::None);
        cfg.grid.nz = nz;
        let e = config_error(&cfg);
        println!("grid.nz = {nz}: {e}");
        assert!(e.contains("grid.nz") && e.contains("1 for a 2D run"));
    }
    let mut cfg = small_3d_config(Preset::None);
    cfg.anisotropy.c_axis = Some(CAxis::Vector([0.0, 0.0, 0.0]));
    let e = config_error(&cfg);
    println!("zero c-axis: {e}");
    assert!(e.contains("anisotropy.c_axis"));

    for (nz, axes) in [(1, 1), (8, 2)] {
        let mut cfg = small_3d_config(Preset::None);
        cfg.grid.nz = nz;
        cfg.initial.nucleus_c_axes = vec![CAxis::Vector([1.0, 0.0, 0.0]); axes];
        let e = config_error(&cfg);
        println!("grid.nz = {nz}, {axes} nucleus c-axes for 1 nucleus: {e}");
        assert!(e.contains("initial.nucleus_c_axes") && e.contains("3D only"));
    }

    let mut cfg = small_3d_config(Preset::None);
    cfg.interface.anisotropy_strength = 0.025;
    cfg.anisotropy.c_axis_energy_strength = -0.45;
    let e = config_error(&cfg);
    println!("non-convex: {e}");
    assert!(e.contains("anisotropy.c_axis_energy_strength") && e.contains("least stiffness"));
    assert!(e.contains("at the normal ("));
    // Each term within its own bound, 2D: accepted (the check is 3D's).
    cfg.grid.nz = 1;
    cfg.validate().unwrap();
    Params::from_config(&cfg).unwrap();

    let mut cfg = small_3d_config(Preset::None);
    cfg.grid.nx = 1024;
    cfg.grid.ny = 1024;
    cfg.grid.nz = 1024;
    let p = Params::from_config(&cfg).unwrap();
    let e = mgpf::simulation::memory::check(&p, cfg.run.frames, Some(8 << 30))
        .unwrap_err()
        .to_string();
    println!("1024³: {e}");
    assert!(e.contains("grid.nx × grid.ny × grid.nz") && e.contains("1024 × 1024 × 1024 needs"));
    assert!(e.contains("GiB") && e.contains("the largest grid that fits is"));

    // The GPU backend runs 3D with one crystal orientation: per-nucleus c-axes (grains) are
    // refused by their key, the same config without them is accepted.
    let mut cfg = small_3d_config(Preset::None);
    if let Ok(ctx) = mgpf::backend::gpu::GpuContext::shared() {
        let p = Params::from_config(&cfg).unwrap();
        assert!(mgpf::backend::gpu::GpuBackend::new(ctx, &p, &cfg.initial).is_ok());
        cfg.initial.nucleus_c_axes = vec![CAxis::Vector([0.0, 1.0, 0.0])];
        let p = Params::from_config(&cfg).unwrap();
        let e = mgpf::backend::gpu::GpuBackend::new(ctx, &p, &cfg.initial)
            .err()
            .expect("the GPU backend refuses grains")
            .to_string();
        println!("GPU backend: {e}");
        assert!(e.contains("initial.nucleus_c_axes") && e.contains("--backend cpu"));
    }
}

/// Per-nucleus grains (`initial.nucleus_c_axes`): two hemispherical nuclei (3.5 µm) on the bare
/// collector under strong kinetic anisotropy (ε_k2 = 0.8: a_k 0.2 along ĉ, 1.8 across), one
/// with ĉ along x (slow upward: it spreads flat and its tip sinks) and one with ĉ along y (slow
/// along y only: it grows up). Measured over 300 steps: tips −0.36 / +0.41 µm; required: the
/// second rises ≥ 0.2 µm and ≥ 0.5 µm more than the first. With both axes along x the two grow
/// alike (within 2 %), so the difference is the grains'.
#[test]
fn each_nucleus_grows_in_its_own_grain() {
    const STEPS: u64 = 300;
    let rise = |axes: [[f64; 3]; 2]| {
        let mut cfg = Config::default_demo();
        cfg.grid.nx = 40;
        cfg.grid.ny = 48;
        cfg.grid.nz = 24;
        cfg.noise.amplitude_per_s = 0.0;
        cfg.interface.kinetic_anisotropy_2fold = 0.8;
        cfg.initial.deposit_height_um = 0.0;
        cfg.initial.nucleus_radius_um = 3.5;
        cfg.initial.nucleus_positions_um = vec![6.0, 18.0];
        cfg.initial.nucleus_c_axes = axes.iter().map(|&v| CAxis::Vector(v)).collect();
        cfg.validate().unwrap();
        let p = Params::from_config(&cfg).unwrap();
        let mut b = CpuBackend::new(&p, &cfg.initial);
        let heights = |b: &CpuBackend| {
            let h = mgpf::model::metrics::front_heights(&b.snapshot().order_parameter, p.grid);
            // Columns j·nz + k; the grains are the halves y < 12 µm and y ≥ 12 µm.
            let half = p.grid.layer_cells() / 2;
            let max = |s: &[f64]| s.iter().copied().fold(f64::MIN, f64::max);
            [max(&h[..half]), max(&h[half..])]
        };
        let start = heights(&b);
        for s in 0..STEPS {
            b.step(s).unwrap();
        }
        let end = heights(&b);
        [end[0] - start[0], end[1] - start[1]]
    };
    let grains = rise([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]);
    let same = rise([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]);
    println!(
        "tip rise (µm) over {STEPS} steps: ĉ = x / ĉ = y grains {:.3} / {:.3} (required: the second ≥ 0.2, ≥ 0.5 above the first); both ĉ = x {:.3} / {:.3} (within 2 %)",
        grains[0],
        grains[1],
        same[0],
        same[1]
    );
    assert!(grains[1] >= 0.2 && grains[1] - grains[0] >= 0.5);
    assert!((same[0] - same[1]).abs() <= 0.02 * same[0].abs().max(same[1].abs()));
}
