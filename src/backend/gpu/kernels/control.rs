//! Per-step control kernels of `shaders/control.wgsl`: dt and the galvanostatic electrode
//! potential computed on the device.

use super::{kernel_module, Dispatch, Encode, Reduction, Reductions, CONTROL_WGSL};
use crate::backend::gpu::buffers::uniform_buffer;
use crate::backend::gpu::context::{step_scalar, GpuContext};
use crate::model::params::MAX_H_SECOND_DERIVATIVE;
use crate::model::timestep::{bounds, RateMaxima};

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
    /// Σ ∂xi/∂t of the galvanostatic current (0 when potentiostatic: do not record the solve).
    pub target_rate_sum: f32,
    pub control_tolerance: f32,
    _pad: u32,
}

impl StepControl {
    /// The constants of a run of `p`; `control_tolerance` is the relative tolerance of the
    /// galvanostatic root find (`model::control::RELATIVE_TOLERANCE`, 1e-5).
    pub fn from_params(p: &crate::model::Params, control_tolerance: f64) -> StepControl {
        // The state-independent bounds come from the CPU's own formula.
        let b = bounds(p, RateMaxima::default());
        let target = p.target_rate_sum().unwrap_or(0.0);
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
            control_tolerance: control_tolerance as f32,
            _pad: 0,
        }
    }

    pub fn buffer(&self, ctx: &GpuContext) -> wgpu::Buffer {
        uniform_buffer(ctx, "step control", self)
    }
}

/// The galvanostatic root find recorded for a fixed budget of evaluations: start, then
/// `iterations` × (reaction_sum, its two sums, one Newton step). Steps after convergence return at
/// once (CONTROL_DONE); CONTROL_DONE = 0 afterwards means the budget ran out first.
pub struct ShiftSolve {
    start: Dispatch,
    reaction_sum: Dispatch,
    sum: Reduction,
    derivative_sum: Reduction,
    iteration: Dispatch,
    iterations: u32,
}

impl Encode for ShiftSolve {
    fn encode(&self, pass: &mut wgpu::ComputePass<'_>) {
        self.start.encode(pass);
        for _ in 0..self.iterations {
            self.reaction_sum.encode(pass);
            self.sum.encode(pass);
            self.derivative_sum.encode(pass);
            self.iteration.encode(pass);
        }
    }
}

/// Per-step control kernels (twins of `model::timestep::time_step` and `model::control::
/// solve_shift`), single invocations on step_scalars.
pub struct ControlKernels {
    time_step: wgpu::ComputePipeline,
    solve_shift_start: wgpu::ComputePipeline,
    solve_shift_iteration: wgpu::ComputePipeline,
    advance_step: wgpu::ComputePipeline,
}

impl ControlKernels {
    pub fn new(ctx: &GpuContext) -> ControlKernels {
        let build = |entry| kernel_module(ctx, &[], CONTROL_WGSL, entry);
        ControlKernels {
            time_step: build("time_step"),
            solve_shift_start: build("solve_shift_start"),
            solve_shift_iteration: build("solve_shift_iteration"),
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

    /// ELECTRODE_BASE = ELECTRODE_POTENTIAL (the last step's E), Δ = 0, bracket (−∞, ∞).
    pub fn solve_shift_start(&self, ctx: &GpuContext, step_scalars: &wgpu::Buffer) -> Dispatch {
        Dispatch::new(
            ctx,
            "solve_shift_start",
            &self.solve_shift_start,
            &[step_scalars],
            (1, 1, 1),
        )
    }

    /// One Newton step from AC_RATE_SUM, REACTION_SUM and REACTION_SUM_DERIVATIVE.
    pub fn solve_shift_iteration(
        &self,
        ctx: &GpuContext,
        control: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::new(
            ctx,
            "solve_shift_iteration",
            &self.solve_shift_iteration,
            &[control, step_scalars],
            (1, 1, 1),
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

    /// The whole root find from the last step's E: `reaction_sum` bound to (rate,
    /// rate_derivative) fields, summed by `reductions` into REACTION_SUM and
    /// REACTION_SUM_DERIVATIVE (AC_RATE_SUM computed before), `iterations` evaluations at most;
    /// ELECTRODE_POTENTIAL holds the controlled E afterwards.
    #[allow(clippy::too_many_arguments)]
    pub fn solve_shift(
        &self,
        ctx: &GpuContext,
        control: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
        reaction_sum: &Dispatch,
        reductions: &Reductions,
        (rate, rate_derivative): (&wgpu::Buffer, &wgpu::Buffer),
        cells: usize,
        iterations: u32,
    ) -> ShiftSolve {
        ShiftSolve {
            start: self.solve_shift_start(ctx, step_scalars),
            reaction_sum: reaction_sum.clone(),
            sum: reductions.sum(ctx, rate, cells, step_scalars, step_scalar::REACTION_SUM),
            derivative_sum: reductions.sum(
                ctx,
                rate_derivative,
                cells,
                step_scalars,
                step_scalar::REACTION_SUM_DERIVATIVE,
            ),
            iteration: self.solve_shift_iteration(ctx, control, step_scalars),
            iterations,
        }
    }
}
