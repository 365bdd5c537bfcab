//! The order-parameter kernels of `shaders/order_parameter.wgsl`.

use super::{
    kernel_entry, kernel_module, Dispatch, COMMON_WGSL, KINETICS_WGSL, NOISE_WGSL,
    ORDER_PARAMETER_WGSL,
};
use crate::backend::gpu::context::GpuContext;
use crate::grid::Grid;

/// The order-parameter kernels (twins of `backend::cpu::order_parameter`).
pub struct OrderParameterKernels {
    interface_orientation_field: wgpu::ComputePipeline,
    allen_cahn_rate: wgpu::ComputePipeline,
    allen_cahn_rate_streaming: wgpu::ComputePipeline,
    allen_cahn_rate_tiled: wgpu::ComputePipeline,
    allen_cahn_rate_tiled_3d: wgpu::ComputePipeline,
    reaction_field: wgpu::ComputePipeline,
    reaction_field_searching: wgpu::ComputePipeline,
    reaction_maxima: wgpu::ComputePipeline,
    interface_noise: wgpu::ComputePipeline,
    update_order_parameter: wgpu::ComputePipeline,
}

/// The 3D tile of `allen_cahn_rate_tiled_3d` (i, j, k): WORKGROUP_X × WORKGROUP_Y invocations.
pub const TILE_3D: [u32; 3] = [4, 8, 8];

/// Workgroups of `allen_cahn_rate_tiled_3d`: the (j, k) tiles along x, the i tiles along y.
pub fn tile_workgroups_3d(grid: Grid) -> (u32, u32, u32) {
    let [ti, tj, tk] = TILE_3D;
    let tiles = |n: usize, t: u32| (n as u32).div_ceil(t);
    (
        tiles(grid.ny, tj) * tiles(grid.nz, tk),
        tiles(grid.nx, ti),
        1,
    )
}

/// The two fused Allen–Cahn kernels, bit for bit the same rate. `allen_cahn_rate_streaming`
/// recomputes ε² and J of a cell's 2d + 1 stencil cells from xi in each cell (5 orientations per
/// cell in 2D, 7 in 3D, no workgroup memory); the tiled kernel computes them once per cell of a
/// tile plus halo in workgroup memory, one barrier: `allen_cahn_rate_tiled` in 2D (16 × 16,
/// 1.27 per cell), `allen_cahn_rate_tiled_3d` in 3D (4 × 8 × 8, 2.34 per cell).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FusedAllenCahn {
    Streaming,
    Tiled,
}

impl FusedAllenCahn {
    /// The kernel a step runs on this adapter. On lavapipe (a software adapter) the tile's
    /// barrier costs more than the orientations it saves (benches/gpu_step.rs at 256²: 2.3–2.4
    /// against 1.6 ms). On a hardware GPU the recomputation makes the streaming kernel
    /// arithmetic-bound (~350 instructions per cell against 16 bytes of traffic) where the tile
    /// leaves it memory-bound: chosen by that estimate, not yet measured on one (the bench
    /// prints both).
    /// The same choice in 3D (the tile saves 7 − 2.34 orientations per cell there), also an
    /// estimate until measured on a GPU.
    pub fn for_adapter(info: &wgpu::AdapterInfo) -> FusedAllenCahn {
        if info.device_type == wgpu::DeviceType::Cpu {
            FusedAllenCahn::Streaming
        } else {
            FusedAllenCahn::Tiled
        }
    }

    /// The WGSL entry point.
    /// The WGSL entry point on `grid` (the tile has a 2D and a 3D kernel).
    pub fn kernel(self, grid: Grid) -> &'static str {
        match (self, grid.nz > 1) {
            (FusedAllenCahn::Streaming, _) => "allen_cahn_rate_streaming",
            (FusedAllenCahn::Tiled, false) => "allen_cahn_rate_tiled",
            (FusedAllenCahn::Tiled, true) => "allen_cahn_rate_tiled_3d",
        }
    }
}

/// Buffers of the rate fields the reaction kernels read (one cell each); the concentration as
/// its excess u = c/c0 − 1 (the kernels read c/c0 = 1 + u).
pub struct ReactionInputs<'a> {
    pub xi: &'a wgpu::Buffer,
    pub excess: &'a wgpu::Buffer,
    pub phi: &'a wgpu::Buffer,
    pub kinetic_factor: &'a wgpu::Buffer,
    pub asr: &'a wgpu::Buffer,
    pub blocked: &'a wgpu::Buffer,
}

impl OrderParameterKernels {
    pub fn new(ctx: &GpuContext) -> OrderParameterKernels {
        let libs = [COMMON_WGSL, NOISE_WGSL, KINETICS_WGSL];
        let build = |entry| kernel_module(ctx, &libs, ORDER_PARAMETER_WGSL, entry);
        OrderParameterKernels {
            interface_orientation_field: build("interface_orientation_field"),
            allen_cahn_rate: build("allen_cahn_rate"),
            allen_cahn_rate_streaming: build("allen_cahn_rate_streaming"),
            allen_cahn_rate_tiled: build("allen_cahn_rate_tiled"),
            allen_cahn_rate_tiled_3d: build("allen_cahn_rate_tiled_3d"),
            reaction_field: build("reaction_field"),
            reaction_field_searching: kernel_entry(
                ctx,
                &libs,
                ORDER_PARAMETER_WGSL,
                "reaction_field",
                "reaction_field_searching",
            ),
            reaction_maxima: build("reaction_maxima"),
            interface_noise: build("interface_noise"),
            update_order_parameter: build("update_order_parameter"),
        }
    }

    /// ε², εε', a_k, |∇xi| of xi.
    #[allow(clippy::too_many_arguments)]
    pub fn interface_orientation_field(
        &self,
        ctx: &GpuContext,
        grid: Grid,
        k: &wgpu::Buffer,
        xi: &wgpu::Buffer,
        eps_sq: &wgpu::Buffer,
        eps_deriv: &wgpu::Buffer,
        kinetic_factor: &wgpu::Buffer,
        grad_norm: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::grid(
            ctx,
            "interface_orientation_field",
            &self.interface_orientation_field,
            &[k, xi, eps_sq, eps_deriv, kinetic_factor, grad_norm],
            grid,
        )
    }

    /// The Allen–Cahn rate of xi into `rate`.
    #[allow(clippy::too_many_arguments)]
    pub fn allen_cahn_rate(
        &self,
        ctx: &GpuContext,
        grid: Grid,
        k: &wgpu::Buffer,
        xi: &wgpu::Buffer,
        eps_sq: &wgpu::Buffer,
        eps_deriv: &wgpu::Buffer,
        rate: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::grid(
            ctx,
            "allen_cahn_rate",
            &self.allen_cahn_rate,
            &[k, xi, eps_sq, eps_deriv, rate],
            grid,
        )
    }

    /// [`interface_orientation_field`](Self::interface_orientation_field) then
    /// [`allen_cahn_rate`](Self::allen_cahn_rate) in one dispatch (`fused` picks the kernel):
    /// the Allen–Cahn rate of xi into `rate`, and a_k and |∇xi| (the reaction kernels' inputs)
    /// into `kinetic_factor` and `grad_norm`; no ε², εε' fields.
    #[allow(clippy::too_many_arguments)]
    pub fn allen_cahn_rate_fused(
        &self,
        ctx: &GpuContext,
        fused: FusedAllenCahn,
        grid: Grid,
        k: &wgpu::Buffer,
        xi: &wgpu::Buffer,
        rate: &wgpu::Buffer,
        kinetic_factor: &wgpu::Buffer,
        grad_norm: &wgpu::Buffer,
    ) -> Dispatch {
        let buffers = [k, xi, rate, kinetic_factor, grad_norm];
        match (fused, grid.nz > 1) {
            (FusedAllenCahn::Streaming, _) => Dispatch::grid(
                ctx,
                fused.kernel(grid),
                &self.allen_cahn_rate_streaming,
                &buffers,
                grid,
            ),
            (FusedAllenCahn::Tiled, false) => Dispatch::grid(
                ctx,
                fused.kernel(grid),
                &self.allen_cahn_rate_tiled,
                &buffers,
                grid,
            ),
            (FusedAllenCahn::Tiled, true) => Dispatch::new(
                ctx,
                fused.kernel(grid),
                &self.allen_cahn_rate_tiled_3d,
                &buffers,
                tile_workgroups_3d(grid),
            ),
        }
    }

    /// The reaction rate at E = `step_scalars[ELECTRODE_POTENTIAL]` into `bv_rate`, and per
    /// workgroup of the grid dispatch its partial sums (Σ rate, Σ ∂rate/∂E) into
    /// `reaction_partials` (two f32 per workgroup, finished by the galvanostatic search's
    /// solve_shift_iteration).
    #[allow(clippy::too_many_arguments)]
    pub fn reaction_field(
        &self,
        ctx: &GpuContext,
        grid: Grid,
        k: &wgpu::Buffer,
        inputs: &ReactionInputs,
        step_scalars: &wgpu::Buffer,
        bv_rate: &wgpu::Buffer,
        reaction_partials: &wgpu::Buffer,
    ) -> Dispatch {
        self.bind_reaction_field(
            false,
            ctx,
            grid,
            k,
            inputs,
            step_scalars,
            bv_rate,
            reaction_partials,
        )
    }

    /// [`OrderParameterKernels::reaction_field`] for the galvanostatic search's evaluations:
    /// a point whose search has ended is skipped ([`super::ControlKernels::solve_shift`]).
    #[allow(clippy::too_many_arguments)]
    pub fn reaction_field_searching(
        &self,
        ctx: &GpuContext,
        grid: Grid,
        k: &wgpu::Buffer,
        inputs: &ReactionInputs,
        step_scalars: &wgpu::Buffer,
        bv_rate: &wgpu::Buffer,
        reaction_partials: &wgpu::Buffer,
    ) -> Dispatch {
        self.bind_reaction_field(
            true,
            ctx,
            grid,
            k,
            inputs,
            step_scalars,
            bv_rate,
            reaction_partials,
        )
    }

    /// reaction_field or, `searching`, reaction_field_searching bound to the same buffers.
    #[allow(clippy::too_many_arguments)]
    fn bind_reaction_field(
        &self,
        searching: bool,
        ctx: &GpuContext,
        grid: Grid,
        k: &wgpu::Buffer,
        inputs: &ReactionInputs,
        step_scalars: &wgpu::Buffer,
        bv_rate: &wgpu::Buffer,
        reaction_partials: &wgpu::Buffer,
    ) -> Dispatch {
        let (label, pipeline) = match searching {
            false => ("reaction_field", &self.reaction_field),
            true => ("reaction_field_searching", &self.reaction_field_searching),
        };
        let r = inputs;
        Dispatch::grid(
            ctx,
            label,
            pipeline,
            &[
                k,
                r.xi,
                r.excess,
                r.phi,
                step_scalars,
                r.kinetic_factor,
                r.asr,
                r.blocked,
                bv_rate,
                reaction_partials,
            ],
            grid,
        )
    }

    /// Per cell the operands of the reaction field's maxima (`reaction_factor`, `front_speed`:
    /// finish them with [`Reductions::max`](super::Reductions::max) into REACTION_FACTOR_MAX and
    /// FRONT_SPEED_MAX).
    #[allow(clippy::too_many_arguments)]
    pub fn reaction_maxima(
        &self,
        ctx: &GpuContext,
        grid: Grid,
        k: &wgpu::Buffer,
        xi: &wgpu::Buffer,
        bv_rate: &wgpu::Buffer,
        ac_rate: &wgpu::Buffer,
        grad_norm: &wgpu::Buffer,
        reaction_factor: &wgpu::Buffer,
        front_speed: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::grid(
            ctx,
            "reaction_maxima",
            &self.reaction_maxima,
            &[
                k,
                xi,
                bv_rate,
                ac_rate,
                grad_norm,
                reaction_factor,
                front_speed,
            ],
            grid,
        )
    }

    /// Interface noise with amplitude `step_scalars[NOISE_AMPLITUDE]` at step
    /// `step_scalars[STEP]` (u32 bits), and h'(xi) per cell (finish both with [`Reductions::sum`](super::Reductions::sum)
    /// into NOISE_SUM and H_PRIME_SUM, then [`Reductions::noise_mean`](super::Reductions::noise_mean)).
    #[allow(clippy::too_many_arguments)]
    pub fn interface_noise(
        &self,
        ctx: &GpuContext,
        grid: Grid,
        k: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
        xi: &wgpu::Buffer,
        noise: &wgpu::Buffer,
        h_prime: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::grid(
            ctx,
            "interface_noise",
            &self.interface_noise,
            &[k, step_scalars, xi, noise, h_prime],
            grid,
        )
    }

    /// Forward-Euler update of xi with dt = `step_scalars[DT]` and n̄ = `step_scalars[NOISE_MEAN]`;
    /// writes Δxi (finish with [`Reductions::sum`](super::Reductions::sum) into DXI_SUM).
    #[allow(clippy::too_many_arguments)]
    pub fn update_order_parameter(
        &self,
        ctx: &GpuContext,
        grid: Grid,
        k: &wgpu::Buffer,
        xi: &wgpu::Buffer,
        ac_rate: &wgpu::Buffer,
        bv_rate: &wgpu::Buffer,
        noise: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
        dxi: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::grid(
            ctx,
            "update_order_parameter",
            &self.update_order_parameter,
            &[k, xi, ac_rate, bv_rate, noise, step_scalars, dxi],
            grid,
        )
    }
}
