//! The GPU device opens and a trivial kernel round-trips a field (lavapipe in CI).
//!
//! In CI (`CI` set) a missing adapter fails the test; elsewhere it skips with a message.

mod gpu_common;

use mgpf::backend::gpu::buffers::{bind_group, linear_workgroups, read_back, storage_buffer};

#[test]
fn device_opens_and_runs_a_kernel() {
    let Some(ctx) = gpu_common::gpu() else { return };
    let data: Vec<f32> = (0..1000).map(|n| n as f32 * 0.5).collect();
    let buf = storage_buffer(ctx, "data", &data);
    let module = ctx.shader(
        "double",
        "@group(0) @binding(0) var<storage, read_write> a: array<f32>;\n\
         @compute @workgroup_size(WORKGROUP_1D)\n\
         fn double(@builtin(global_invocation_id) id: vec3<u32>) {\n\
             if (id.x >= arrayLength(&a)) { return; }\n\
             a[id.x] = 2.0 * a[id.x];\n\
         }",
    );
    let pipeline = ctx.pipeline(&module, "double");
    let group = bind_group(ctx, "double", &pipeline, &[&buf]);
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &group, &[]);
        pass.dispatch_workgroups(linear_workgroups(data.len()), 1, 1);
    }
    ctx.queue.submit([encoder.finish()]);
    let got: Vec<f32> = read_back(ctx, &buf, data.len());
    for (n, (&g, &d)) in got.iter().zip(&data).enumerate() {
        assert_eq!(g, 2.0 * d, "element {n}");
    }
    println!("adapter: {}; 1000 values doubled exactly", ctx.describe());
}

/// A grid one layer over the binding limit is refused, naming the bytes needed and allowed and
/// the largest nx that fits (which is accepted), in 2D and in 3D.
#[test]
fn a_grid_too_big_is_refused_with_both_numbers() {
    use mgpf::grid::Grid;
    let Some(ctx) = gpu_common::gpu() else { return };
    let allowed = mgpf::backend::gpu::context::max_field_cells(&ctx.limits) as usize;
    for (ny, nz) in [(1024usize, 1usize), (256, 256)] {
        let layer = ny * nz;
        // The x faces hold (nx + 1) layers.
        let largest = allowed / layer - 1;
        let grid = Grid {
            nx: largest + 1,
            ny,
            nz,
            dx: 1.0,
        };
        let err = ctx.check_grid(grid).expect_err("grid over the limit");
        let msg = err.to_string();
        println!("{msg}");
        assert!(msg.contains(&format!("needs {} bytes", (largest + 2) * layer * 4)));
        assert!(msg.contains(&format!("allows {} bytes", allowed * 4)));
        assert!(msg.contains(&format!("largest grid that fits is nx ≤ {largest}")));
        assert!(ctx
            .check_grid(Grid {
                nx: largest,
                ..grid
            })
            .is_ok());
    }
}

/// The grid rule of the WGSL prelude (`context::GRID_RULE`) against `Grid`: for every cell of
/// odd-shaped 3D and 2D grids, a kernel dispatched over (i, m = j·nz + k) writes its flat index
/// and its six neighbours' (x clamped at both walls, y and z periodic); each must be the index
/// `Grid::index` gives. A wrong stride, a swapped axis or a wrap that misses the periodic image
/// changes at least the cells at an edge.
#[test]
fn the_wgsl_grid_rule_is_the_grids() {
    use mgpf::backend::gpu::buffers::{layer_workgroups, uniform_buffer, zeroed_buffer};
    use mgpf::grid::{periodic_neighbours, Grid};
    let Some(ctx) = gpu_common::gpu() else { return };
    let module = ctx.shader(
        "grid rule",
        "struct Shape { nx: u32, ny: u32, nz: u32, pad: u32 }\n\
         @group(0) @binding(0) var<uniform> s: Shape;\n\
         @group(0) @binding(1) var<storage, read_write> out: array<u32>;\n\
         @compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)\n\
         fn grid_rule(@builtin(global_invocation_id) id: vec3<u32>) {\n\
             let m = id.x;\n\
             let i = id.y;\n\
             let layer = s.ny * s.nz;\n\
             if (i >= s.nx || m >= layer) { return; }\n\
             let n = i * layer + m;\n\
             let lat = lateral_neighbours(m, s.ny, s.nz);\n\
             let o = 7u * n;\n\
             out[o] = n;\n\
             out[o + 1u] = layer_below(i) * layer + m;\n\
             out[o + 2u] = layer_above(i, s.nx) * layer + m;\n\
             out[o + 3u] = i * layer + lat.y_minus;\n\
             out[o + 4u] = i * layer + lat.y_plus;\n\
             out[o + 5u] = i * layer + lat.z_minus;\n\
             out[o + 6u] = i * layer + lat.z_plus;\n\
         }",
    );
    let pipeline = ctx.pipeline(&module, "grid_rule");
    for g in [
        Grid {
            nx: 5,
            ny: 7,
            nz: 3,
            dx: 1.0,
        },
        Grid::new(6, 19, 1.0),
        Grid {
            nx: 3,
            ny: 2,
            nz: 17,
            dx: 1.0,
        },
    ] {
        let shape = uniform_buffer(ctx, "shape", &[g.nx as u32, g.ny as u32, g.nz as u32, 0u32]);
        let out = zeroed_buffer(ctx, "out", 7 * g.cells());
        let group = bind_group(ctx, "grid rule", &pipeline, &[&shape, &out]);
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &group, &[]);
            let (x, y) = layer_workgroups(g);
            pass.dispatch_workgroups(x, y, 1);
        }
        ctx.queue.submit([encoder.finish()]);
        let got: Vec<u32> = read_back(ctx, &out, 7 * g.cells());
        let mut wrong = 0;
        for n in 0..g.cells() {
            let [i, j, k] = g.cell(n);
            let (jm, jp) = periodic_neighbours(j, g.ny);
            let (km, kp) = periodic_neighbours(k, g.nz);
            let want = [
                g.index(i, j, k),
                g.index(i.saturating_sub(1), j, k),
                g.index((i + 1).min(g.nx - 1), j, k),
                g.index(i, jm, k),
                g.index(i, jp, k),
                g.index(i, j, km),
                g.index(i, j, kp),
            ];
            let have = &got[7 * n..7 * n + 7];
            if have.iter().zip(want).any(|(&h, w)| h as usize != w) {
                wrong += 1;
                if wrong < 4 {
                    println!("cell ({i}, {j}, {k}): device {have:?}, grid {want:?}");
                }
            }
        }
        println!(
            "{} × {} × {}: {wrong} of {} cells differ (expected 0)",
            g.nx,
            g.ny,
            g.nz,
            g.cells()
        );
        assert_eq!(wrong, 0);
    }
}
