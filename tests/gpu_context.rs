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

#[test]
fn a_grid_too_big_is_refused_with_both_numbers() {
    let Some(ctx) = gpu_common::gpu() else { return };
    let allowed = mgpf::backend::gpu::context::max_field_cells(&ctx.limits);
    let ny = 1024usize;
    let nx = (allowed as usize / ny) + 1;
    let err = ctx.check_grid(nx, ny).expect_err("grid over the limit");
    let msg = err.to_string();
    println!("{msg}");
    assert!(msg.contains(&format!(
        "largest grid that fits is nx ≤ {}",
        allowed as usize / ny
    )));
    assert!(ctx.check_grid(nx - 1, ny).is_ok());
}
