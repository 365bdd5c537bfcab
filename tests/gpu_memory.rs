//! The GPU backend's device memory: `GpuBackend::device_bytes(p)` (what a run of `p` allocates,
//! computed from the fields and the multigrid levels) against the bytes the backend's
//! construction and first steps actually allocate (`buffers::allocated_bytes`), in 2D and 3D,
//! with and without the resolved band; and the largest grids that fit in 80 GB (the README's
//! table). One test in this binary, so no other test allocates while it measures.
//!
//! In CI (`CI` set) a missing adapter fails; elsewhere the test skips with a message.

mod gpu_common;

use mgpf::backend::gpu::backend::device_bytes;
use mgpf::backend::gpu::buffers::allocated_bytes;
use mgpf::backend::gpu::GpuBackend;
use mgpf::backend::Backend;
use mgpf::config::presets::Preset;
use mgpf::config::Config;
use mgpf::model::params::Params;

fn params(preset: Preset, [nx, ny, nz]: [usize; 3]) -> (Config, Params) {
    let mut cfg = Config::default_demo();
    (cfg.grid.nx, cfg.grid.ny, cfg.grid.nz) = (nx, ny, nz);
    cfg.initial.deposit_height_um = 3.0;
    cfg.interphase.preset = preset;
    let p = Params::from_config(&cfg).unwrap();
    (cfg, p)
}

/// Measured against computed within 1 % + 64 KiB (the uniform blocks, the step scalars and the
/// indirect-dispatch arguments are left out of the count: a few KiB).
#[test]
fn device_bytes_is_what_the_backend_allocates_and_the_largest_grids_in_80_gb() {
    let Some(ctx) = gpu_common::gpu() else { return };
    for (preset, shape) in [
        (Preset::None, [64, 64, 1]),
        (Preset::Zeolite, [64, 96, 1]),
        (Preset::None, [32, 16, 16]),
        (Preset::Zeolite, [32, 24, 16]),
    ] {
        let (cfg, p) = params(preset, shape);
        let before = allocated_bytes();
        let mut gpu = GpuBackend::new(ctx, &p, &cfg.initial).expect("gpu backend");
        // The PCG vectors are allocated when the first step is recorded.
        gpu.advance(0, 1).unwrap();
        let measured = allocated_bytes() - before;
        let computed = device_bytes(&p);
        let cells = p.grid.cells() as f64;
        println!(
            "{preset:?} {shape:?}: allocated {measured} B ({:.1} B/cell), device_bytes {computed} B ({:.1} B/cell)",
            measured as f64 / cells,
            computed as f64 / cells
        );
        let diff = measured.abs_diff(computed) as f64;
        assert!(
            diff <= 0.01 * measured as f64 + 65536.0,
            "{preset:?} {shape:?}: measured {measured}, computed {computed}"
        );
    }
    // The largest square and cube whose run fits 80 GB (even sides), with and without the band.
    let budget = 80e9;
    for preset in [Preset::None, Preset::Zeolite] {
        // The config's axes stop at 16384 cells: the grid is set on the parameters directly.
        let base = params(preset, [64, 64, 1]).1;
        let at = |[nx, ny, nz]: [usize; 3]| {
            let mut p = base.clone();
            p.grid = mgpf::Grid {
                nx,
                ny,
                nz,
                dx: p.grid.dx,
            };
            p
        };
        let fits = |shape: [usize; 3]| device_bytes(&at(shape)) as f64 <= budget;
        let largest = |shape: fn(usize) -> [usize; 3]| {
            let (mut lo, mut hi) = (8usize, 1 << 16);
            while hi - lo > 2 {
                let mid = (lo + hi) / 4 * 2;
                if fits(shape(mid)) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            lo
        };
        let side2 = largest(|n| [n, n, 1]);
        let side3 = largest(|n| [n, n, n]);
        let per_cell = |shape: [usize; 3]| {
            let p = at(shape);
            device_bytes(&p) as f64 / p.grid.cells() as f64
        };
        println!(
            "{preset:?}: largest in 80 GB: {side2}² ({:.1} B/cell), {side3}³ ({:.1} B/cell)",
            per_cell([side2, side2, 1]),
            per_cell([side3, side3, side3])
        );
        assert!(side3 >= 512, "a 512³ run fits 80 GB");
    }
}
