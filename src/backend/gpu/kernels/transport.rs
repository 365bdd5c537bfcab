//! The transport kernels of `shaders/transport.wgsl`.

use super::{kernel_module, Dispatch, COMMON_WGSL, TRANSPORT_WGSL};
use crate::backend::gpu::buffers::linear_workgroups;
use crate::backend::gpu::context::GpuContext;
use crate::grid::Grid;

/// The transport kernels (twins of `backend::cpu::transport`).
pub struct TransportKernels {
    transport_coefficients: wgpu::ComputePipeline,
    concentration_rhs: wgpu::ComputePipeline,
    max_migration_speed: wgpu::ComputePipeline,
    boundary_inflow: wgpu::ComputePipeline,
}

impl TransportKernels {
    pub fn new(ctx: &GpuContext) -> TransportKernels {
        let libs = [COMMON_WGSL];
        let build = |entry| kernel_module(ctx, &libs, TRANSPORT_WGSL, entry);
        TransportKernels {
            transport_coefficients: build("transport_coefficients"),
            concentration_rhs: build("concentration_rhs"),
            max_migration_speed: build("max_migration_speed"),
            boundary_inflow: build("boundary_inflow"),
        }
    }

    /// D and σ/σ_l from xi and the layer fields.
    #[allow(clippy::too_many_arguments)]
    pub fn transport_coefficients(
        &self,
        ctx: &GpuContext,
        grid: Grid,
        k: &wgpu::Buffer,
        xi: &wgpu::Buffer,
        layer: &wgpu::Buffer,
        layer_diffusivity_ratio: &wgpu::Buffer,
        layer_conductivity_ratio: &wgpu::Buffer,
        diffusivity: &wgpu::Buffer,
        conductivity: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::grid(
            ctx,
            "transport_coefficients",
            &self.transport_coefficients,
            &[
                k,
                xi,
                layer,
                layer_diffusivity_ratio,
                layer_conductivity_ratio,
                diffusivity,
                conductivity,
            ],
            grid,
        )
    }

    /// Right-hand side of the implicit step for the concentration excess u = c/c0 − 1 (the
    /// `excess` buffer) with dt = `step_scalars[DT]`.
    #[allow(clippy::too_many_arguments)]
    pub fn concentration_rhs(
        &self,
        ctx: &GpuContext,
        grid: Grid,
        k: &wgpu::Buffer,
        excess: &wgpu::Buffer,
        phi: &wgpu::Buffer,
        diffusivity: &wgpu::Buffer,
        dxi: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
        rhs: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::grid(
            ctx,
            "concentration_rhs",
            &self.concentration_rhs,
            &[k, excess, phi, diffusivity, dxi, step_scalars, rhs],
            grid,
        )
    }

    /// Per cell the migration face speed (finish with [`Reductions::max`](super::Reductions::max) into
    /// MIGRATION_SPEED_MAX).
    pub fn max_migration_speed(
        &self,
        ctx: &GpuContext,
        grid: Grid,
        k: &wgpu::Buffer,
        phi: &wgpu::Buffer,
        diffusivity: &wgpu::Buffer,
        migration_speed: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::grid(
            ctx,
            "max_migration_speed",
            &self.max_migration_speed,
            &[k, phi, diffusivity, migration_speed],
            grid,
        )
    }

    /// Per bulk-face cell the ions entering in a step of dt = `step_scalars[DT]`, from the excess
    /// u = c/c0 − 1 before and after the solve, into the first ny entries of `inflow` (finish
    /// with [`Reductions::sum`](super::Reductions::sum) over ny into BOUNDARY_INFLOW).
    #[allow(clippy::too_many_arguments)]
    pub fn boundary_inflow(
        &self,
        ctx: &GpuContext,
        grid: Grid,
        k: &wgpu::Buffer,
        excess_old: &wgpu::Buffer,
        excess_new: &wgpu::Buffer,
        phi: &wgpu::Buffer,
        diffusivity: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
        inflow: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::new(
            ctx,
            "boundary_inflow",
            &self.boundary_inflow,
            &[
                k,
                excess_old,
                excess_new,
                phi,
                diffusivity,
                step_scalars,
                inflow,
            ],
            (linear_workgroups(grid.layer_cells()), 1, 1),
        )
    }
}
