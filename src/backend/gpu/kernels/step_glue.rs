//! The step's glue kernels of `shaders/step.wgsl`: the potential equation's source and the
//! concentration solve's 1/dt field, from the dt on the device.

use super::{kernel_module, Dispatch, STEP_WGSL};
use crate::backend::gpu::buffers::point_uniforms;
use crate::backend::gpu::context::GpuContext;
use crate::grid::Grid;

/// The WGSL `StepGlue` block (one per point).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct StepGlue {
    pub nx: u32,
    pub ny: u32,
    pub nz: u32,
    pub potential_source: f32,
}

impl StepGlue {
    pub fn from_params(p: &crate::model::Params) -> StepGlue {
        StepGlue {
            nx: p.grid.nx as u32,
            ny: p.grid.ny as u32,
            nz: p.grid.nz as u32,
            potential_source: p.potential_source as f32,
        }
    }

    /// The uniform array of a lone run (this block for point 0).
    pub fn buffer(&self, ctx: &GpuContext) -> wgpu::Buffer {
        StepGlue::points_buffer(ctx, std::slice::from_ref(self))
    }

    /// The uniform array of a batch: point p's block at p.
    pub fn points_buffer(ctx: &GpuContext, points: &[StepGlue]) -> wgpu::Buffer {
        point_uniforms(ctx, "step glue", points)
    }
}

pub struct StepGlueKernels {
    potential_source: wgpu::ComputePipeline,
    inverse_time_step_field: wgpu::ComputePipeline,
}

impl StepGlueKernels {
    pub fn new(ctx: &GpuContext) -> StepGlueKernels {
        let build = |entry| kernel_module(ctx, &[], STEP_WGSL, entry);
        StepGlueKernels {
            potential_source: build("potential_source"),
            inverse_time_step_field: build("inverse_time_step_field"),
        }
    }

    /// rhs = −(q/dt_last) Δxi (the CPU backend's `solve_potential` source).
    pub fn potential_source(
        &self,
        ctx: &GpuContext,
        grid: Grid,
        glue: &wgpu::Buffer,
        dxi: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
        rhs: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::grid(
            ctx,
            "potential_source",
            &self.potential_source,
            &[glue, dxi, step_scalars, rhs],
            grid,
        )
    }

    /// a = 1/dt everywhere (the CPU backend's `inv_dt_field`).
    pub fn inverse_time_step_field(
        &self,
        ctx: &GpuContext,
        grid: Grid,
        glue: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
        a: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::grid(
            ctx,
            "inverse_time_step_field",
            &self.inverse_time_step_field,
            &[glue, step_scalars, a],
            grid,
        )
    }
}
