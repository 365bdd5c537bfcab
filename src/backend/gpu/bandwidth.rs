//! The device's copy bandwidth: a = b over a buffer of f32, the roofline the step's kernels are
//! measured against (benches/gpu_step.rs, `mgpf bench`). The CPU twin is
//! `backend::cpu::bandwidth::copy_bandwidth`.

use super::buffers::{bind_group, linear_workgroups, zeroed_buffer};
use super::context::GpuContext;
use std::time::Instant;

/// Copies timed per measurement, after two untimed ones, in one submit.
const REPS: u32 = 20;

/// GB/s of the copy kernel `dst[i] = src[i]` over `n` f32 on the device: 8 B per element (one
/// read, one write), the mean of [`REPS`] dispatches in one submit, timed to completion.
pub fn copy_bandwidth(ctx: &GpuContext, n: usize) -> f64 {
    let (src, dst) = (zeroed_buffer(ctx, "src", n), zeroed_buffer(ctx, "dst", n));
    let module = ctx.shader(
        "copy",
        "@group(0) @binding(0) var<storage, read> src: array<f32>;\n\
         @group(0) @binding(1) var<storage, read_write> dst: array<f32>;\n\
         @compute @workgroup_size(WORKGROUP_1D)\n\
         fn copy(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {\n\
             let i = id.x + id.y * groups.x * WORKGROUP_1D;\n\
             if (i >= arrayLength(&dst)) { return; }\n\
             dst[i] = src[i];\n\
         }",
    );
    let pipeline = ctx.pipeline(&module, "copy");
    let group = bind_group(ctx, "copy", &pipeline, &[&src, &dst]);
    let groups = linear_workgroups(n);
    let (x, y) = (groups.min(32768), groups.div_ceil(32768));
    let run = |reps: u32| {
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &group, &[]);
            for _ in 0..reps {
                pass.dispatch_workgroups(x, y, 1);
            }
        }
        ctx.queue.submit([encoder.finish()]);
        ctx.device
            .poll(wgpu::PollType::wait_indefinitely())
            .expect("device poll");
    };
    run(2);
    let t = Instant::now();
    run(REPS);
    let s = t.elapsed().as_secs_f64() / f64::from(REPS);
    8.0 * n as f64 / s / 1e9
}
