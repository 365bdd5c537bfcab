//! The resolved band (R2) on the device against its CPU twins (the oracle):
//! `distance_from_metal_along_x/_along_y` against `model::interphase::distance_from_metal`,
//! `layer_indicator` against `model::interphase::layer_indicator`, and the refresh cadence of
//! `GpuBackend` against `CpuBackend` (the band of the xi at the start of every
//! `refresh_every_steps`-th step, inside a batch).
//!
//! Tolerances. The squared distance is integer arithmetic on both sides, so within the window
//! (distance ≤ R cells) d differs only by the f32 √ and one product against the CPU's f64:
//! a few ulps, held to 1e-6 relative. Beyond the window the device promises only d > (R − ½)Δx,
//! where the band is below BAND_FLOOR = 1e-8. The band s ∈ [0, 1] enters D and σ as
//! (1 − s) + s r: it is held to 1e-6 absolute (~8 ulps of 1; the device's exp and the f32
//! exponent (d − L)/δ_s against the CPU's f64 tanh).
//!
//! In CI (`CI` set) a missing adapter fails; elsewhere the tests skip with a message.

mod gpu_common;

use mgpf::backend::cpu::CpuBackend;
use mgpf::backend::gpu::buffers::{read_back, storage_buffer, zeroed_buffer};
use mgpf::backend::gpu::context::step_scalar;
use mgpf::backend::gpu::kernels::{submit, InterphaseKernels, RunConstants, BAND_FLOOR};
use mgpf::backend::gpu::{GpuBackend, GpuContext};
use mgpf::backend::Backend;
use mgpf::config::presets::Preset;
use mgpf::config::Config;
use mgpf::model::interphase::{distance_from_metal, layer_indicator};
use mgpf::model::params::Params;
use mgpf::{Field, Grid};

const DISTANCE_TOLERANCE: f64 = 1e-6;
const LAYER_TOLERANCE: f32 = 1e-6;

/// A rough metal surface on 40 × 50 cells (no multiple of the 16 × 16 workgroup): a deposit
/// of varying height with a gap of four bare columns, a nucleus on it, two pillars against the
/// periodic edge j = 49 | 0 (one on each side, which cells across the edge reach only through
/// the wrap), and a floating island with electrolyte below it. xi takes values
/// across [0, ½) and [½, 1] so that 1 − h(xi) varies.
fn rough_surface(grid: Grid) -> Field {
    grid.field_from_fn(|(i, j, _)| {
        let (x, y) = (i as f64, j as f64);
        let ny = grid.ny as f64;
        let height = 6.0
            + 3.0 * (2.0 * std::f64::consts::PI * y / ny).sin()
            + if j % 7 == 0 { 2.0 } else { 0.0 };
        let deposit = !(20..=23).contains(&j) && x < height;
        let nucleus = (x - 12.0).powi(2) + (y - 35.0).powi(2) <= 9.0;
        let across_the_edge = ((14..=17).contains(&i) && (46..=49).contains(&j))
            || ((22..=24).contains(&i) && (0..=2).contains(&j));
        let island = (18..=19).contains(&i) && (10..=13).contains(&j);
        let wobble = ((i * grid.ny + j) as f32 * 0.37).sin().abs();
        if deposit || nucleus || across_the_edge || island {
            0.5 + 0.5 * wobble
        } else {
            0.49 * wobble
        }
    })
}

/// A rough 3D surface on 20 × 14 × 12 cells: a deposit whose height varies along y and z with a
/// bare stripe of three z planes, pillars against the periodic z edge k = 11 | 0 and the y edge
/// j = 13 | 0 (cells across an edge reach them only through the wrap), and a floating island;
/// xi across [0, ½) and [½, 1] as in the 2D surface.
fn rough_surface_3d(grid: Grid) -> Field {
    grid.field_from_fn(|(i, j, k)| {
        let (x, y, z) = (i as f64, j as f64, k as f64);
        let tau = 2.0 * std::f64::consts::PI;
        let height =
            4.0 + 2.0 * (tau * y / grid.ny as f64).sin() * (tau * z / grid.nz as f64).cos();
        let deposit = !(5..=7).contains(&k) && x < height;
        let across_z = (9..=10).contains(&i) && (3..=5).contains(&j) && (k == 11 || k == 0);
        let across_y = (12..=13).contains(&i) && (j == 13 || j == 0) && (8..=9).contains(&k);
        let island = i == 15 && (6..=8).contains(&j) && (1..=2).contains(&k);
        let wobble = ((grid.index(i, j, k)) as f32 * 0.37).sin().abs();
        if deposit || across_z || across_y || island {
            0.5 + 0.5 * wobble
        } else {
            0.49 * wobble
        }
    })
}

fn upload(ctx: &GpuContext, label: &str, f: &Field) -> wgpu::Buffer {
    storage_buffer(ctx, label, f.as_slice().unwrap())
}

/// The device's distance and band of `xi` for a band of thickness `l` and width `w` (µm), with
/// the window R the run constants derive.
fn device_band(
    ctx: &GpuContext,
    xi: &Field,
    grid: Grid,
    l: f64,
    w: f64,
) -> (Vec<f32>, Vec<f32>, u32) {
    let mut cfg = Config::default_demo();
    cfg.grid.nx = grid.nx;
    cfg.grid.ny = grid.ny;
    cfg.grid.nz = grid.nz;
    cfg.grid.dx_um = grid.dx;
    let p = Params::from_config(&cfg).unwrap();
    let k = RunConstants::from_params(&p).with_band(grid, l, w);
    let n = grid.cells();
    let kernels = InterphaseKernels::new(ctx);
    let (column, plane, distance, layer) = (
        zeroed_buffer(ctx, "column distance", n),
        zeroed_buffer(ctx, "plane distance squared", n),
        zeroed_buffer(ctx, "distance", n),
        zeroed_buffer(ctx, "layer", n),
    );
    // Step 0: a refresh is due.
    let step_scalars = zeroed_buffer(ctx, "step scalars", step_scalar::COUNT as usize);
    let refresh = kernels.refresh_layer(
        ctx,
        grid,
        &k.buffer(ctx),
        &step_scalars,
        &upload(ctx, "xi", xi),
        [&column, &plane, &distance],
        &layer,
    );
    submit(ctx, &[&refresh]);
    (
        read_back(ctx, &distance, n),
        read_back(ctx, &layer, n),
        k.band_reach,
    )
}

/// Checks the device's distance and band against the CPU's; returns the cells beyond R.
fn check_band(ctx: &GpuContext, what: &str, l: f64, w: f64) -> usize {
    let grid = Grid::new(40, 50, 0.5);
    check_band_on(ctx, what, grid, &rough_surface(grid), l, w)
}

fn check_band_on(ctx: &GpuContext, what: &str, grid: Grid, xi: &Field, l: f64, w: f64) -> usize {
    let xi = xi.clone();
    let (gpu_d, gpu_s, reach) = device_band(ctx, &xi, grid, l, w);
    let cpu_d = distance_from_metal(&xi, grid);
    let cpu_s = layer_indicator(&xi, grid, l, w);
    let edge = (reach as f64 - 0.5) * grid.dx;
    let (mut worst_d, mut at_d, mut beyond, mut metal) = (0.0f64, 0, 0, 0);
    for (n, (&g, &c)) in gpu_d.iter().zip(cpu_d.iter()).enumerate() {
        if c <= edge * (1.0 + 1e-12) {
            let rel = (g as f64 - c).abs() / c.max(f64::MIN_POSITIVE);
            if c == 0.0 {
                metal += 1;
                assert_eq!(
                    g, 0.0,
                    "{what}: cell {n} is in the metal, device distance {g}"
                );
            } else if rel > worst_d || rel.is_nan() {
                worst_d = rel;
                at_d = n;
            }
        } else {
            beyond += 1;
            assert!(
                g as f64 > edge,
                "{what}: cell {n} is {c} µm from the metal (beyond R = {reach} cells), the device says {g} ≤ (R − ½)Δx = {edge}"
            );
        }
    }
    println!(
        "{what}: R = {reach} cells; {metal} metal cells at d = 0, {beyond} cells beyond R (device d > {edge} µm there); within R max |gpu − cpu|/cpu = {worst_d:.2e} at cell {at_d} (cpu {}, gpu {}), tolerance {DISTANCE_TOLERANCE:e}",
        cpu_d.as_slice().unwrap()[at_d],
        gpu_d[at_d]
    );
    assert!(
        worst_d <= DISTANCE_TOLERANCE,
        "{what}: distance {worst_d:e}"
    );
    let (mut worst_s, mut at_s) = (0.0f32, 0);
    for (n, (&g, &c)) in gpu_s.iter().zip(cpu_s.iter()).enumerate() {
        let d = (g - c).abs();
        if d > worst_s || d.is_nan() {
            worst_s = d;
            at_s = n;
        }
    }
    println!(
        "{what}: band max |gpu − cpu| = {worst_s:.2e} at cell {at_s} (cpu {}, gpu {}), tolerance {LAYER_TOLERANCE:e}",
        cpu_s.as_slice().unwrap()[at_s],
        gpu_s[at_s]
    );
    assert!(worst_s <= LAYER_TOLERANCE, "{what}: band {worst_s:e}");
    beyond
}

#[test]
fn distance_and_band_match_the_cpu_within_the_window() {
    let Some(ctx) = gpu_common::gpu() else { return };
    // L = 2 µm, δ_s = 0.25 µm, Δx = 0.5 µm: R = ⌈(2 + 0.25 · 18.42)/0.5 + ½⌉ = 14 cells, so
    // cells of the top rows more than 14 cells from the island and the pillars lie beyond it.
    let beyond = check_band(ctx, "window R = 14", 2.0, 0.25);
    println!("cells beyond R: {beyond} (expected > 0: the test reaches past the window)");
    assert!(beyond > 0);
    let band_at_edge = 1.0 / (1.0 + ((13.5f64 * 0.5 - 2.0) / 0.25).exp());
    println!("band at (R − ½)Δx: {band_at_edge:.2e} (below BAND_FLOOR = {BAND_FLOOR:e})");
    assert!(band_at_edge < BAND_FLOOR);
}

#[test]
fn distance_is_exact_everywhere_when_the_window_spans_the_grid() {
    let Some(ctx) = gpu_common::gpu() else { return };
    // L = 5 µm, δ_s = 1 µm wants R = 48; the 40 × 50 grid's diameter √(39² + 25²) caps it at 47,
    // where the windows cover the grid: no cell is beyond R, the bare columns included.
    let beyond = check_band(ctx, "window = grid", 5.0, 1.0);
    assert_eq!(beyond, 0);
}

fn zeolite(nx: usize, ny: usize) -> (Config, Params) {
    let mut cfg = Config::default_demo();
    cfg.grid.nx = nx;
    cfg.grid.ny = ny;
    cfg.initial.deposit_height_um = 6.0;
    cfg.interphase.preset = Preset::Zeolite;
    let p = Params::from_config(&cfg).unwrap();
    assert!(p.interphase.has_resolved_band());
    (cfg, p)
}

fn state_field(b: &dyn Backend, name: &str) -> Field {
    b.save_state().field(name).unwrap().clone()
}

fn max_abs_diff(a: &Field, b: &Field) -> f32 {
    // NaN counts as infinitely far.
    a.iter().zip(b).fold(0.0f32, |m, (x, y)| {
        let d = (x - y).abs();
        m.max(if d.is_nan() { f32::INFINITY } else { d })
    })
}

#[test]
fn the_backend_refreshes_the_band_at_the_cpu_cadence_inside_a_batch() {
    let Some(ctx) = gpu_common::gpu() else { return };
    let (cfg, p) = zeolite(48, 64);
    let every = p.interphase.refresh_every_steps;
    println!("refresh every {every} steps (zeolite preset)");
    assert!((2..20).contains(&every));
    let band = |xi: &Field| layer_indicator(xi, p.grid, p.interphase.thickness, p.delta);
    // The initial band, as CpuBackend::new builds it.
    let cpu = CpuBackend::new(&p, &cfg.initial);
    let mut split = GpuBackend::new(ctx, &p, &cfg.initial).unwrap();
    let d0 = max_abs_diff(
        &state_field(&split, "interphase_layer"),
        &state_field(&cpu, "interphase_layer"),
    );
    println!("initial band: max |gpu − cpu| = {d0:.2e} (tolerance {LAYER_TOLERANCE:e})");
    assert!(d0 <= LAYER_TOLERANCE);
    // Split at the refresh: the band of step `every` is that of the xi it starts from.
    split.advance(0, every).unwrap();
    let xi_at_refresh = state_field(&split, "order_parameter");
    let before = state_field(&split, "interphase_layer");
    split.advance(every, 5).unwrap();
    let after = state_field(&split, "interphase_layer");
    let want = band(&xi_at_refresh);
    let moved = max_abs_diff(&before, &want);
    let d1 = max_abs_diff(&after, &want);
    println!(
        "band after step {every}: max |gpu − band(xi at step {every})| = {d1:.2e} (tolerance {LAYER_TOLERANCE:e}); it moved by {moved:.2e} since the initial band"
    );
    assert!(d1 <= LAYER_TOLERANCE);
    assert!(
        moved > 10.0 * LAYER_TOLERANCE,
        "the test needs a band that moves"
    );
    // One batch over the refresh records it at the same step: the same fields, bit for bit.
    let mut whole = GpuBackend::new(ctx, &p, &cfg.initial).unwrap();
    whole.advance(0, every + 5).unwrap();
    for name in ["interphase_layer", "order_parameter", "concentration"] {
        let d = max_abs_diff(&state_field(&whole, name), &state_field(&split, name));
        println!("{name} after {} steps, one batch vs split at the refresh: max |diff| = {d:e} (expected 0)", every + 5);
        assert_eq!(d, 0.0);
    }
}

/// The three separable passes in 3D (the z pass is the one 2D never runs) against the CPU's exact
/// transform, with a window that stops short of the top layers (R = 7 cells: cells beyond it
/// exist) and one that spans the grid (R capped by the diameter √(19² + 7² + 6²) = 21.1 → 22,
/// exact everywhere).
#[test]
fn distance_and_band_match_the_cpu_in_3d() {
    let Some(ctx) = gpu_common::gpu() else { return };
    let grid = Grid {
        nx: 20,
        ny: 14,
        nz: 12,
        dx: 0.5,
    };
    let xi = rough_surface_3d(grid);
    // L = 1 µm, δ_s = 0.1 µm: R = ⌈(1 + 0.1 · 18.42)/0.5 + ½⌉ = 7 cells.
    let beyond = check_band_on(ctx, "3D window R = 7", grid, &xi, 1.0, 0.1);
    println!("3D cells beyond R: {beyond} (expected > 0)");
    assert!(beyond > 0);
    let beyond = check_band_on(ctx, "3D window = grid", grid, &xi, 5.0, 1.0);
    println!("3D cells beyond R with the window spanning the grid: {beyond} (expected 0)");
    assert_eq!(beyond, 0);
}
