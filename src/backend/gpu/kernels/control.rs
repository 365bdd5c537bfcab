//! Per-step control kernels of `shaders/control.wgsl`: dt and the galvanostatic electrode
//! potential computed on the device.

use super::{kernel_module, Dispatch, Encode, CONTROL_WGSL};
use crate::backend::gpu::buffers::{layer_workgroups, point_uniforms};
use crate::backend::gpu::context::GpuContext;
use crate::backend::gpu::points::Points;
use crate::model::control::MAX_EVALUATIONS;
use crate::model::params::MAX_H_SECOND_DERIVATIVE;
use crate::model::timestep::{bounds, RateMaxima};
use std::sync::Arc;

/// Constants of the per-step control kernels (`shaders/control.wgsl`: WGSL `StepControl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct StepControl {
    pub gradient_bound: f32,
    pub reaction_base: f32,
    pub reaction_coefficient: f32,
    pub dx: f32,
    pub cap_bound: f32,
    pub safety: f32,
    /// numerics.dt_s, or 0 for the adaptive step.
    pub fixed_dt: f32,
    pub noise_amplitude: f32,
    pub noise_dt_ref: f32,
    /// Σ ∂xi/∂t of the galvanostatic current (0 when potentiostatic: no search is recorded).
    pub target_rate_sum: f32,
    /// control.max_overpotential_v.
    pub max_overpotential: f32,
    /// reaction_field's workgroups and their count (its partial sums).
    pub reaction_workgroups_x: u32,
    pub reaction_workgroups_y: u32,
    pub reaction_partial_count: u32,
    _pad: [u32; 2],
}

impl StepControl {
    /// The constants of a run of `p` (the search's own constants are generated into the WGSL
    /// from `model::control`).
    pub fn from_params(p: &crate::model::Params) -> StepControl {
        // The state-independent bounds come from the CPU's own formula.
        let b = bounds(p, RateMaxima::default());
        let target = p.target_rate_sum().unwrap_or(0.0);
        let (x, y) = layer_workgroups(p.grid);
        StepControl {
            gradient_bound: b[0].1 as f32,
            reaction_base: (2.0 * p.l_sigma * p.w) as f32,
            reaction_coefficient: (p.l_eta * MAX_H_SECOND_DERIVATIVE) as f32,
            dx: p.grid.dx as f32,
            cap_bound: b[4].1 as f32,
            safety: p.time_step_safety as f32,
            fixed_dt: p.fixed_dt.unwrap_or(0.0) as f32,
            noise_amplitude: p.noise_amplitude as f32,
            noise_dt_ref: p.noise_dt_ref as f32,
            target_rate_sum: target as f32,
            max_overpotential: p.max_overpotential_v as f32,
            reaction_workgroups_x: x,
            reaction_workgroups_y: y,
            reaction_partial_count: x * y,
            _pad: [0; 2],
        }
    }

    /// The uniform array of a lone run (this block for point 0).
    pub fn buffer(&self, ctx: &GpuContext) -> wgpu::Buffer {
        StepControl::points_buffer(ctx, std::slice::from_ref(self))
    }

    /// The uniform array of a batch: point p's control at p.
    pub fn points_buffer(ctx: &GpuContext, points: &[StepControl]) -> wgpu::Buffer {
        point_uniforms(ctx, "step control", points)
    }
}

/// The galvanostatic search of one step (`model::control::solve_shift` on the device), for every
/// live point: solve_shift_start, then [`MAX_EVALUATIONS`] × (reaction_field_searching,
/// solve_shift_iteration, solve_shift_dispatch). reaction_field_searching is dispatched
/// indirectly from `reaction_dispatch`, which solve_shift_dispatch empties once no point
/// searches: the evaluations after convergence dispatch no workgroups, and their iterations
/// return at once (a point whose search has ended skips the evaluations of the others). No
/// evaluation is cut short by the budget: it is the CPU's cap too, and a search still open then
/// ends as not converged (an error on both backends).
pub struct ShiftSolve {
    start: Dispatch,
    reaction_field: Dispatch,
    iteration: Dispatch,
    dispatch: Dispatch,
}

impl ShiftSolve {
    /// The same search over the points of `points`.
    pub fn with_points(&self, ctx: &GpuContext, points: &Arc<Points>) -> ShiftSolve {
        ShiftSolve {
            start: self.start.with_points(ctx, points),
            reaction_field: self.reaction_field.with_points(ctx, points),
            iteration: self.iteration.with_points(ctx, points),
            dispatch: self.dispatch.with_points(ctx, points),
        }
    }
}

impl Encode for ShiftSolve {
    fn encode(&self, pass: &mut wgpu::ComputePass<'_>) {
        self.start.encode(pass);
        for _ in 0..MAX_EVALUATIONS {
            self.reaction_field.encode(pass);
            self.iteration.encode(pass);
            self.dispatch.encode(pass);
        }
    }
}

/// Per-step control kernels (twins of `model::timestep::time_step` and `model::control::
/// ShiftSearch`), single workgroups on step_scalars.
pub struct ControlKernels {
    time_step: wgpu::ComputePipeline,
    solve_shift_start: wgpu::ComputePipeline,
    solve_shift_iteration: wgpu::ComputePipeline,
    solve_shift_dispatch: wgpu::ComputePipeline,
    advance_step: wgpu::ComputePipeline,
}

impl ControlKernels {
    pub fn new(ctx: &GpuContext) -> ControlKernels {
        let build = |entry| kernel_module(ctx, &[], CONTROL_WGSL, entry);
        ControlKernels {
            time_step: build("time_step"),
            solve_shift_start: build("solve_shift_start"),
            solve_shift_iteration: build("solve_shift_iteration"),
            solve_shift_dispatch: build("solve_shift_dispatch"),
            advance_step: build("advance_step"),
        }
    }

    /// DT, STABLE_DT, TIME_STEP_BOUND and NOISE_AMPLITUDE from the maxima slots
    /// (REACTION_FACTOR_MAX, FRONT_SPEED_MAX, MIGRATION_SPEED_MAX).
    pub fn time_step(
        &self,
        ctx: &GpuContext,
        control: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::new(
            ctx,
            "time_step",
            &self.time_step,
            &[control, step_scalars],
            (1, 1, 1),
        )
    }

    /// ELECTRODE_BASE = ELECTRODE_POTENTIAL (the last step's E), Δ = 0, bracket (−∞, ∞), the
    /// first reach; arms `reaction_dispatch` for the first evaluation.
    pub fn solve_shift_start(
        &self,
        ctx: &GpuContext,
        control: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
        reaction_dispatch: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::new(
            ctx,
            "solve_shift_start",
            &self.solve_shift_start,
            &[control, step_scalars, reaction_dispatch],
            (1, 1, 1),
        )
    }

    /// One step of the search from AC_RATE_SUM and reaction_field's partial sums (finished here
    /// into REACTION_SUM and REACTION_SUM_DERIVATIVE).
    pub fn solve_shift_iteration(
        &self,
        ctx: &GpuContext,
        control: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
        reaction_partials: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::new(
            ctx,
            "solve_shift_iteration",
            &self.solve_shift_iteration,
            &[control, step_scalars, reaction_partials],
            (1, 1, 1),
        )
    }

    /// Arms `reaction_dispatch` for the live points while any of them searches, empties it
    /// once none does (one invocation for all points).
    pub fn solve_shift_dispatch(
        &self,
        ctx: &GpuContext,
        control: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
        reaction_dispatch: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::once(
            ctx,
            "solve_shift_dispatch",
            &self.solve_shift_dispatch,
            &[control, step_scalars, reaction_dispatch],
        )
    }

    /// STEP ← STEP + 1.
    pub fn advance_step(&self, ctx: &GpuContext, step_scalars: &wgpu::Buffer) -> Dispatch {
        Dispatch::new(
            ctx,
            "advance_step",
            &self.advance_step,
            &[step_scalars],
            (1, 1, 1),
        )
    }

    /// The whole search from the last step's E, `reaction_field` (reaction_field_searching bound
    /// to the run's buffers, writing `reaction_partials`) evaluated at each E it tries; ELECTRODE_POTENTIAL holds the
    /// controlled E afterwards and bv_rate the reaction field there. `reaction_dispatch` is the
    /// indirect-dispatch buffer of three u32 ([`indirect_args_buffer`]).
    pub fn solve_shift(
        &self,
        ctx: &GpuContext,
        control: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
        reaction_field: &Dispatch,
        reaction_partials: &wgpu::Buffer,
        reaction_dispatch: &wgpu::Buffer,
    ) -> ShiftSolve {
        ShiftSolve {
            start: self.solve_shift_start(ctx, control, step_scalars, reaction_dispatch),
            reaction_field: reaction_field.indirect(reaction_dispatch),
            iteration: self.solve_shift_iteration(ctx, control, step_scalars, reaction_partials),
            dispatch: self.solve_shift_dispatch(ctx, control, step_scalars, reaction_dispatch),
        }
    }
}

/// A buffer of the three u32 workgroup counts of an indirect dispatch, written by kernels.
pub fn indirect_args_buffer(ctx: &GpuContext, label: &str) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: 12,
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::INDIRECT,
        mapped_at_creation: false,
    })
}
