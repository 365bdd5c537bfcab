//! The kernels of one step, each bound to the run's buffers once, in the CPU backend's order.

use super::fields::Fields;
use crate::backend::gpu::context::{step_scalar, GpuContext};
use crate::backend::gpu::kernels::{
    CheckFields, ControlKernels, Dispatch, FusedAllenCahn, GuardKernels, InterphaseKernels,
    LayerRefresh, OrderParameterKernels, ReactionInputs, Reduction, Reductions, ShiftSolve,
    StepGlueKernels, TransportKernels,
};
use crate::backend::gpu::points::Points;
use crate::model::params::{Control, Params};
use std::sync::Arc;

/// The kernels of one step, bound to the run's buffers once.
pub(super) struct StepKernels {
    /// R2: the band from xi, every `interphase.refresh_every_steps` steps.
    pub(super) refresh_layer: Option<LayerRefresh>,
    pub(super) transport_coefficients: Dispatch,
    pub(super) potential_source: Dispatch,
    /// The fused Allen–Cahn kernel (streaming or tiled), with a_k and |∇xi|, and its name.
    pub(super) allen_cahn_rate: Dispatch,
    pub(super) allen_cahn_kernel: &'static str,
    pub(super) ac_rate_sum: Reduction,
    /// The reaction field at E: once (potentiostatic), or at each E of the galvanostatic search.
    pub(super) reaction_field: Dispatch,
    pub(super) shift_solve: Option<ShiftSolve>,
    pub(super) reaction_maxima: Dispatch,
    pub(super) reaction_factor_max: Reduction,
    pub(super) front_speed_max: Reduction,
    pub(super) max_migration_speed: Dispatch,
    pub(super) migration_speed_max: Reduction,
    pub(super) time_step: Dispatch,
    pub(super) interface_noise: Dispatch,
    pub(super) noise_sum: Reduction,
    pub(super) h_prime_sum: Reduction,
    pub(super) noise_mean: Dispatch,
    pub(super) update_order_parameter: Dispatch,
    pub(super) dxi_sum: Reduction,
    pub(super) concentration_rhs: Dispatch,
    pub(super) inverse_time_step_field: Dispatch,
    pub(super) boundary_inflow: Dispatch,
    pub(super) inflow_sum: Reduction,
    pub(super) check_fields: CheckFields,
    pub(super) advance_step: Dispatch,
}

impl StepKernels {
    /// The kernels of a step of every live point of `points` (their runs share `p`'s shape:
    /// `GpuBackend`'s batch key), bound to `f`.
    pub(super) fn bind(
        ctx: &GpuContext,
        p: &Params,
        f: &Fields,
        fused: FusedAllenCahn,
        points: &Arc<Points>,
    ) -> StepKernels {
        StepKernels::bind_single(ctx, p, f, fused, points).with_points(ctx, points)
    }

    /// The kernels bound for a lone run (the single point's table; reductions over `points`).
    fn bind_single(
        ctx: &GpuContext,
        p: &Params,
        f: &Fields,
        fused: FusedAllenCahn,
        points: &Arc<Points>,
    ) -> StepKernels {
        let grid = p.grid;
        let cells = p.grid.cells();
        let k = f.run_constants.clone();
        let control = f.step_control.clone();
        let glue = f.step_glue.clone();
        let op = OrderParameterKernels::new(ctx);
        let tr = TransportKernels::new(ctx);
        let red = Reductions::for_points(ctx, points);
        let ctl = ControlKernels::new(ctx);
        let sg = StepGlueKernels::new(ctx);
        let guards = GuardKernels::new(ctx);
        let s = &f.step_scalars;
        let inputs = ReactionInputs {
            xi: &f.xi,
            excess: &f.excess,
            phi: &f.phi,
            kinetic_factor: &f.kinetic_factor,
            asr: &f.asr,
            blocked: &f.blocked,
        };
        let reaction_field =
            op.reaction_field(ctx, grid, &k, &inputs, s, &f.bv_rate, &f.reaction_partials);
        let shift_solve = match p.control {
            Control::Galvanostatic { .. } => Some(ctl.solve_shift(
                ctx,
                &control,
                s,
                &op.reaction_field_searching(
                    ctx,
                    grid,
                    &k,
                    &inputs,
                    s,
                    &f.bv_rate,
                    &f.reaction_partials,
                ),
                &f.reaction_partials,
                &f.reaction_dispatch,
            )),
            Control::Potentiostatic { .. } => None,
        };
        StepKernels {
            refresh_layer: p.interphase.has_resolved_band().then(|| {
                InterphaseKernels::new(ctx).refresh_layer(
                    ctx,
                    grid,
                    &k,
                    s,
                    &f.xi,
                    [&f.column_distance, &f.plane_distance_sq, &f.distance],
                    &f.layer,
                )
            }),
            transport_coefficients: tr.transport_coefficients(
                ctx,
                grid,
                &k,
                &f.xi,
                &f.layer,
                &f.layer_diffusivity_ratio,
                &f.layer_conductivity_ratio,
                &f.diffusivity,
                &f.conductivity,
            ),
            potential_source: sg.potential_source(ctx, grid, &glue, &f.dxi, s, &f.rhs),
            allen_cahn_kernel: fused.kernel(p.grid),
            allen_cahn_rate: op.allen_cahn_rate_fused(
                ctx,
                fused,
                grid,
                &k,
                &f.xi,
                &f.ac_rate,
                &f.kinetic_factor,
                &f.grad_norm,
            ),
            ac_rate_sum: red.sum(ctx, &f.ac_rate, cells, s, step_scalar::AC_RATE_SUM),
            reaction_field,
            shift_solve,
            reaction_maxima: op.reaction_maxima(
                ctx,
                grid,
                &k,
                &f.xi,
                &f.bv_rate,
                &f.ac_rate,
                &f.grad_norm,
                &f.reaction_factor,
                &f.front_speed,
            ),
            reaction_factor_max: red.max(
                ctx,
                &f.reaction_factor,
                cells,
                s,
                step_scalar::REACTION_FACTOR_MAX,
            ),
            front_speed_max: red.max(ctx, &f.front_speed, cells, s, step_scalar::FRONT_SPEED_MAX),
            max_migration_speed: tr.max_migration_speed(
                ctx,
                grid,
                &k,
                &f.phi,
                &f.diffusivity,
                &f.migration_speed,
            ),
            migration_speed_max: red.max(
                ctx,
                &f.migration_speed,
                cells,
                s,
                step_scalar::MIGRATION_SPEED_MAX,
            ),
            time_step: ctl.time_step(ctx, &control, s),
            interface_noise: op.interface_noise(ctx, grid, &k, s, &f.xi, &f.noise, &f.h_prime),
            noise_sum: red.sum(ctx, &f.noise, cells, s, step_scalar::NOISE_SUM),
            h_prime_sum: red.sum(ctx, &f.h_prime, cells, s, step_scalar::H_PRIME_SUM),
            noise_mean: red.noise_mean(ctx, s),
            update_order_parameter: op.update_order_parameter(
                ctx, grid, &k, &f.xi, &f.ac_rate, &f.bv_rate, &f.noise, s, &f.dxi,
            ),
            dxi_sum: red.sum(ctx, &f.dxi, cells, s, step_scalar::DXI_SUM),
            concentration_rhs: tr.concentration_rhs(
                ctx,
                grid,
                &k,
                &f.excess,
                &f.phi,
                &f.diffusivity,
                &f.dxi,
                s,
                &f.rhs,
            ),
            inverse_time_step_field: sg.inverse_time_step_field(ctx, grid, &glue, s, &f.inverse_dt),
            boundary_inflow: tr.boundary_inflow(
                ctx,
                grid,
                &k,
                &f.excess_old,
                &f.excess,
                &f.phi,
                &f.diffusivity,
                s,
                &f.inflow,
            ),
            inflow_sum: red.sum(
                ctx,
                &f.inflow,
                p.grid.layer_cells(),
                s,
                step_scalar::BOUNDARY_INFLOW,
            ),
            check_fields: guards.check_fields(
                ctx,
                grid,
                &k,
                &f.xi,
                &f.excess,
                &f.phi,
                s,
                &f.field_guard,
            ),
            advance_step: ctl.advance_step(ctx, s),
        }
    }
}

impl StepKernels {
    /// Every dispatch over the points of `points` (the reductions already are).
    fn with_points(self, ctx: &GpuContext, points: &Arc<Points>) -> StepKernels {
        let d = |d: &Dispatch| d.with_points(ctx, points);
        StepKernels {
            refresh_layer: self
                .refresh_layer
                .as_ref()
                .map(|r| r.with_points(ctx, points)),
            transport_coefficients: d(&self.transport_coefficients),
            potential_source: d(&self.potential_source),
            allen_cahn_rate: d(&self.allen_cahn_rate),
            reaction_field: d(&self.reaction_field),
            shift_solve: self
                .shift_solve
                .as_ref()
                .map(|s| s.with_points(ctx, points)),
            reaction_maxima: d(&self.reaction_maxima),
            max_migration_speed: d(&self.max_migration_speed),
            time_step: d(&self.time_step),
            interface_noise: d(&self.interface_noise),
            update_order_parameter: d(&self.update_order_parameter),
            concentration_rhs: d(&self.concentration_rhs),
            inverse_time_step_field: d(&self.inverse_time_step_field),
            boundary_inflow: d(&self.boundary_inflow),
            check_fields: self.check_fields.with_points(ctx, points),
            advance_step: d(&self.advance_step),
            ..self
        }
    }
}
