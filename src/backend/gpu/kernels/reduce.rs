//! Device reductions of `shaders/reduce.wgsl`: sums and maxima of a field finished into a
//! `step_scalars` slot.

use super::{kernel_module, Dispatch, Encode, REDUCE_WGSL};
use crate::backend::gpu::buffers::{linear_workgroups, uniform_buffer, zeroed_buffer};
use crate::backend::gpu::context::{step_scalar, GpuContext};
use crate::backend::gpu::points::Points;
use std::sync::Arc;

/// Largest number of workgroups of a reduction's first pass (each thread strides over the input,
/// so the finish pass reads at most this many partials).
pub const MAX_PARTIALS: u32 = 1024;

/// Uniform block of one reduction (WGSL `ReduceParams`).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ReduceParams {
    count: u32,
    slot: u32,
    _pad: [u32; 2],
}

/// A sum or maximum of a field finished into one `step_scalars` slot: two dispatches (partials,
/// then one workgroup), deterministic order.
#[derive(Debug, Clone)]
pub struct Reduction {
    partials: Dispatch,
    finish: Dispatch,
}

impl Encode for Reduction {
    fn encode(&self, pass: &mut wgpu::ComputePass<'_>) {
        self.partials.encode(pass);
        self.finish.encode(pass);
    }
}

/// The reduction kernels of `shaders/reduce.wgsl`, segmented by the points of a batch.
pub struct Reductions {
    points: Arc<Points>,
    sum_partials: wgpu::ComputePipeline,
    max_partials: wgpu::ComputePipeline,
    sum_finish: wgpu::ComputePipeline,
    max_finish: wgpu::ComputePipeline,
    noise_mean: wgpu::ComputePipeline,
}

impl Reductions {
    /// The reductions of a lone run.
    pub fn new(ctx: &GpuContext) -> Reductions {
        Reductions::for_points(ctx, &Points::single(ctx))
    }

    /// The reductions of every point of `points` (their inputs hold `count` elements per point).
    pub fn for_points(ctx: &GpuContext, points: &Arc<Points>) -> Reductions {
        let build = |entry| kernel_module(ctx, &[], REDUCE_WGSL, entry);
        Reductions {
            points: Arc::clone(points),
            sum_partials: build("sum_partials"),
            max_partials: build("max_partials"),
            sum_finish: build("sum_finish"),
            max_finish: build("max_finish"),
            noise_mean: build("noise_mean"),
        }
    }

    /// `step_scalars[slot]` = Σ of the `count` elements of `input` (f32 accumulation), per point.
    pub fn sum(
        &self,
        ctx: &GpuContext,
        input: &wgpu::Buffer,
        count: usize,
        step_scalars: &wgpu::Buffer,
        slot: u32,
    ) -> Reduction {
        self.plan(ctx, true, input, count, step_scalars, slot)
    }

    /// `step_scalars[slot]` = max(0, max of the `count` elements of `input`), per point.
    pub fn max(
        &self,
        ctx: &GpuContext,
        input: &wgpu::Buffer,
        count: usize,
        step_scalars: &wgpu::Buffer,
        slot: u32,
    ) -> Reduction {
        self.plan(ctx, false, input, count, step_scalars, slot)
    }

    /// `step_scalars[NOISE_MEAN]` = NOISE_SUM / H_PRIME_SUM (0 when H_PRIME_SUM = 0).
    pub fn noise_mean(&self, ctx: &GpuContext, step_scalars: &wgpu::Buffer) -> Dispatch {
        Dispatch::new(
            ctx,
            "noise_mean",
            &self.noise_mean,
            &[step_scalars],
            (1, 1, 1),
        )
        .with_points(ctx, &self.points)
    }

    fn plan(
        &self,
        ctx: &GpuContext,
        sum: bool,
        input: &wgpu::Buffer,
        count: usize,
        step_scalars: &wgpu::Buffer,
        slot: u32,
    ) -> Reduction {
        assert!(
            slot < step_scalar::COUNT,
            "step scalar slot {slot} out of range"
        );
        let groups = linear_workgroups(count).clamp(1, MAX_PARTIALS);
        let first = uniform_buffer(
            ctx,
            "reduce partials",
            &ReduceParams {
                count: count as u32,
                slot,
                _pad: [0; 2],
            },
        );
        let second = uniform_buffer(
            ctx,
            "reduce finish",
            &ReduceParams {
                count: groups,
                slot,
                _pad: [0; 2],
            },
        );
        let partials = zeroed_buffer(ctx, "partials", (groups * self.points.capacity()) as usize);
        let (p, f) = if sum {
            (&self.sum_partials, &self.sum_finish)
        } else {
            (&self.max_partials, &self.max_finish)
        };
        Reduction {
            partials: Dispatch::new(
                ctx,
                "partials",
                p,
                &[&first, input, &partials],
                (groups, 1, 1),
            )
            .with_points(ctx, &self.points),
            finish: Dispatch::new(
                ctx,
                "finish",
                f,
                &[&second, &partials, step_scalars],
                (1, 1, 1),
            )
            .with_points(ctx, &self.points),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reduce_params_are_one_16_byte_row() {
        assert_eq!(std::mem::size_of::<super::ReduceParams>(), 16);
    }
}
