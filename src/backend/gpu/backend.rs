//! `GpuBackend`: the CPU backend's step, every kernel on the device.
//!
//! One step is recorded in the CPU backend's order (see `kernels` for the chain), the resolved
//! band (R2) refreshed on the device at the CPU's cadence; every scalar the step derives (the
//! galvanostatic electrode potential, dt, the noise mean, the sums behind the reported current)
//! stays in the `step_scalars` buffer. Every step ends with the CPU's field guards on the device
//! (the first bad cell of the first failing step, kept in the `field_guard` buffer). The fields
//! never leave the device except for a snapshot or a checkpoint; a batch of steps reads back only
//! each step's scalars, the last step's solve statistics and the guard (a few kilobytes).
//!
//! Solves: the CPU backend runs each solve to its tolerance (the potential by mixed-precision
//! refinement), deciding on the host; the device runs a fixed count instead (no read-back inside a step), chosen so that the
//! result matches the CPU's to the parity tolerance: preconditioned CG for the potential (plain
//! V-cycles reduce a weakly conducting metal's mode only ~0.6 per cycle, tests/gpu_multigrid.rs)
//! and V-cycles for the concentration (0.03 per cycle). The concentration solve reports its
//! residual against the c-equation's right-hand side, as the CPU's does
//! ([`GpuMultigrid::set_reference_offset`]), and ends, as the CPU's does, by projecting the
//! residual's sum Σ r (the ions it creates or destroys) out ([`GpuMultigrid::conserve_mass`]:
//! u += κ z, z ≈ A⁻¹1, κ = Σ r / Σ A z, all on the device, f32 sums). Over 200 steps at 64²
//! (tests/gpu_parity.rs) that takes the device's Mg balance error from 5.2e-6–1.0e-5 of the
//! total to ≤ 1.3e-9 (the CPU's: ≤ 1.4e-9) and its bulk-face inflow from 2.3–3.1e-4 below the
//! CPU's to within 3.1e-7. z costs one more V-cycle per step (from the first level with ≤ 64²
//! cells, then prolongations) plus 6 dispatches: on lavapipe (benches/gpu_step.rs) the
//! concentration solve goes from 20.8 to 28.5 ms per step at 64² and from 43–48 to 58 ms at
//! 256², the whole step from 78–79 to 88 ms and from 291–302 to 308–319 ms.
//!
//! The concentration is stored as its excess u = c/c0 − 1 (the `excess` buffer), as on the CPU:
//! u ≈ 0 at the bulk face carries c0 − c unrounded (an f32 c ≈ 1 there made each step's inflow
//! uncertain by ~1e-3 of its ions). Snapshots and checkpoints give c = 1 + u, mapped on the host.

use super::buffers::{grid_workgroups, storage_buffer, zeroed_buffer, Staging};
use super::context::{step_scalar, GpuContext};
use super::kernels::{
    check_limits, clear_field_guard, field_guard, field_guard_buffer, first_failure,
    indirect_args_buffer, submit, CheckFields, ControlKernels, Dispatch, Encode, FusedAllenCahn,
    GuardKernels, InterphaseKernels, LayerRefresh, OrderParameterKernels, Reduction, Reductions,
    RunConstants, ShiftSolve, StepControl, StepGlue, StepGlueKernels, TransportKernels,
};
use super::multigrid::{statistics_of, GpuMultigrid, SolveStatistics, StatisticsSlot, STATISTICS};
use super::phase_clock::{Mark, PhaseClock};
use crate::backend::{guards, Backend, BackendState, PhaseTimes, Snapshot, StepReport};
use crate::error::{Error, Result};
use crate::grid::{Field, Real};
use crate::model::control::{control_failure, SearchStatus, ShiftSearch, MAX_EVALUATIONS};
use crate::model::initial;
use crate::model::interphase::InterphaseFields;
use crate::model::params::{Control, Params};
use crate::model::timestep::Bound;
use crate::numerics::{Bcs, Boundary, SolveStats};
use std::time::Instant;

/// Preconditioned CG iterations of the potential solve per step.
pub const POTENTIAL_PCG_ITERATIONS: u32 = 6;
/// V-cycles of the concentration solve per step.
pub const CONCENTRATION_CYCLES: u32 = 3;
/// A backward error at most this is the f32 floor (measured 6–7e-8 for the potential).
const F32_FLOOR: f64 = 1e-6;
/// Most steps recorded in one submit (the run loop asks for fewer when an output is near).
pub const MAX_BATCH: u64 = 32;
/// 4-byte words in the reports buffer: the step scalars of a full batch, the potential's and the
/// concentration's residual statistics, the field guard, then the phase timestamps.
const REPORT_WORDS: usize = TIMESTAMPS_AT + PhaseClock::words(MAX_BATCH as u32);
/// Where the phase timestamps start in the reports buffer (an even word: u64 pairs).
const TIMESTAMPS_AT: usize = (MAX_BATCH as usize * step_scalar::COUNT as usize
    + 2 * STATISTICS
    + field_guard::WORDS as usize)
    .next_multiple_of(2);

/// Device buffers of the fields (names as the CPU backend's).
struct Fields {
    xi: wgpu::Buffer,
    /// The concentration state u = c/c0 − 1.
    excess: wgpu::Buffer,
    /// u before the concentration solve (for the bulk-face inflow).
    excess_old: wgpu::Buffer,
    phi: wgpu::Buffer,
    dxi: wgpu::Buffer,
    layer: wgpu::Buffer,
    /// Scratch of the band refresh (R2 only; one element otherwise): cells along x to the metal
    /// (u32), then the distance (µm).
    column_distance: wgpu::Buffer,
    distance: wgpu::Buffer,
    layer_diffusivity_ratio: wgpu::Buffer,
    layer_conductivity_ratio: wgpu::Buffer,
    asr: wgpu::Buffer,
    blocked: wgpu::Buffer,
    diffusivity: wgpu::Buffer,
    conductivity: wgpu::Buffer,
    kinetic_factor: wgpu::Buffer,
    grad_norm: wgpu::Buffer,
    ac_rate: wgpu::Buffer,
    bv_rate: wgpu::Buffer,
    noise: wgpu::Buffer,
    rhs: wgpu::Buffer,
    zeros: wgpu::Buffer,
    inverse_dt: wgpu::Buffer,
    /// Per-cell operands of the reductions.
    h_prime: wgpu::Buffer,
    /// reaction_field's partial sums (Σ rate, Σ ∂rate/∂E per workgroup) and the indirect
    /// dispatch of its evaluations in the galvanostatic search.
    reaction_partials: wgpu::Buffer,
    reaction_dispatch: wgpu::Buffer,
    reaction_factor: wgpu::Buffer,
    front_speed: wgpu::Buffer,
    migration_speed: wgpu::Buffer,
    inflow: wgpu::Buffer,
    step_scalars: wgpu::Buffer,
    /// The first bad cell of the first step that blew up (u32 words, `field_guard`).
    field_guard: wgpu::Buffer,
}

/// The kernels of one step, bound to the run's buffers once.
struct StepKernels {
    /// R2: the band from xi, every `interphase.refresh_every_steps` steps.
    refresh_layer: Option<LayerRefresh>,
    transport_coefficients: Dispatch,
    potential_source: Dispatch,
    /// The fused Allen–Cahn kernel (streaming or tiled), with a_k and |∇xi|, and its name.
    allen_cahn_rate: Dispatch,
    allen_cahn_kernel: &'static str,
    ac_rate_sum: Reduction,
    /// The reaction field at E: once (potentiostatic), or at each E of the galvanostatic search.
    reaction_field: Dispatch,
    shift_solve: Option<ShiftSolve>,
    reaction_maxima: Dispatch,
    reaction_factor_max: Reduction,
    front_speed_max: Reduction,
    max_migration_speed: Dispatch,
    migration_speed_max: Reduction,
    time_step: Dispatch,
    interface_noise: Dispatch,
    noise_sum: Reduction,
    h_prime_sum: Reduction,
    noise_mean: Dispatch,
    update_order_parameter: Dispatch,
    dxi_sum: Reduction,
    concentration_rhs: Dispatch,
    inverse_time_step_field: Dispatch,
    boundary_inflow: Dispatch,
    inflow_sum: Reduction,
    check_fields: CheckFields,
    advance_step: Dispatch,
}

/// Wall time per step of each phase on the device (s), from [`GpuBackend::profile`].
#[derive(Debug, Clone)]
pub struct GpuStepProfile {
    /// The pointwise and stencil kernels (transport, Allen–Cahn with orientation, reaction
    /// maxima, noise, update, dt; the reaction field too under potentiostatic control).
    pub update_s: f64,
    pub reductions_s: f64,
    /// The galvanostatic search (its evaluations of the reaction field and its iterations).
    pub control_s: f64,
    pub potential_solve_s: f64,
    /// The concentration's right-hand side and its solve.
    pub concentration_solve_s: f64,
    /// One refresh of the resolved band (R2; 0 without one), run every
    /// `interphase.refresh_every_steps` steps: not in the per-step figures.
    pub layer_refresh_s: f64,
    pub dispatches_outside_multigrid: usize,
    /// Seconds per dispatch of each kernel and reduction of `update_s` and `reductions_s`,
    /// each timed alone (a reduction: its two passes), in step order.
    pub kernels: Vec<(&'static str, f64)>,
}

pub struct GpuBackend {
    ctx: &'static GpuContext,
    p: Params,
    interphase: InterphaseFields,
    fields: Fields,
    kernels: StepKernels,
    potential_mg: GpuMultigrid,
    concentration_mg: GpuMultigrid,
    /// The step scalars of each step of a batch, then the two solves' residual statistics of
    /// its last step, copied on the device and read back once per batch.
    reports: wgpu::Buffer,
    /// Reused for every read-back (a field, or the reports).
    staging: Staging,
    /// Timestamps between the phases of each step (None: the adapter has no timestamp queries).
    clock: Option<PhaseClock>,
    times: PhaseTimes,
}

/// Bulk face φ = 0, no current through the collector (the CPU backend's `bcs_potential`).
const POTENTIAL_BCS: Bcs = Bcs {
    x_lo: Boundary::Neumann,
    x_hi: Boundary::Dirichlet(0.0),
};
/// No flux through the collector; the bulk face at c = c0, i.e. the excess u = 0 there.
const CONCENTRATION_BCS: Bcs = Bcs {
    x_lo: Boundary::Neumann,
    x_hi: Boundary::Dirichlet(0.0),
};

fn slice(f: &Field) -> &[Real] {
    f.as_slice().expect("standard layout")
}

impl GpuBackend {
    /// Sets up the initial state of a run of `p` (physics.md §1.7) on `ctx`, with the fused
    /// Allen–Cahn kernel of the adapter ([`FusedAllenCahn::for_adapter`]).
    pub fn new(
        ctx: &'static GpuContext,
        p: &Params,
        init: &crate::config::InitialConfig,
    ) -> Result<GpuBackend> {
        let fused = FusedAllenCahn::for_adapter(&ctx.adapter_info);
        GpuBackend::with_fused_allen_cahn(ctx, p, init, fused)
    }

    /// [`GpuBackend::new`] with the fused Allen–Cahn kernel given (the two are bit for bit the
    /// same step; tests run both).
    pub fn with_fused_allen_cahn(
        ctx: &'static GpuContext,
        p: &Params,
        init: &crate::config::InitialConfig,
        fused: FusedAllenCahn,
    ) -> Result<GpuBackend> {
        let g = p.grid;
        ctx.check_grid(g.nx, g.ny)?;
        check_limits(ctx)?;
        let interphase = InterphaseFields::new(p);
        let xi = initial::order_parameter(g, p.delta, init);
        let excess = initial::concentration_excess(&xi);
        let cells = g.cells();
        let field = |label: &str| zeroed_buffer(ctx, label, cells);
        let band_cells = if p.interphase.has_resolved_band() {
            cells
        } else {
            1
        };
        let fields = Fields {
            xi: storage_buffer(ctx, "xi", slice(&xi)),
            excess: storage_buffer(ctx, "excess", slice(&excess)),
            excess_old: field("excess_old"),
            phi: field("phi"),
            dxi: field("dxi"),
            layer: field("layer"),
            column_distance: zeroed_buffer(ctx, "column distance", band_cells),
            distance: zeroed_buffer(ctx, "distance", band_cells),
            layer_diffusivity_ratio: storage_buffer(
                ctx,
                "layer D ratio",
                slice(&interphase.diffusivity_ratio),
            ),
            layer_conductivity_ratio: storage_buffer(
                ctx,
                "layer σ ratio",
                slice(&interphase.conductivity_ratio),
            ),
            asr: storage_buffer(ctx, "asr", slice(&interphase.asr)),
            blocked: storage_buffer(ctx, "blocked", slice(&interphase.blocked)),
            diffusivity: field("diffusivity"),
            conductivity: field("conductivity"),
            kinetic_factor: field("kinetic_factor"),
            grad_norm: field("grad_norm"),
            ac_rate: field("ac_rate"),
            bv_rate: field("bv_rate"),
            noise: field("noise"),
            rhs: field("rhs"),
            zeros: field("zeros"),
            inverse_dt: field("inverse_dt"),
            h_prime: field("h_prime"),
            reaction_partials: {
                let (x, y) = grid_workgroups(g.nx, g.ny);
                zeroed_buffer(ctx, "reaction partials", 2 * (x * y) as usize)
            },
            reaction_dispatch: indirect_args_buffer(ctx, "reaction dispatch"),
            reaction_factor: field("reaction_factor"),
            front_speed: field("front_speed"),
            migration_speed: field("migration_speed"),
            inflow: zeroed_buffer(ctx, "inflow", g.ny),
            step_scalars: super::kernels::step_scalars_buffer(ctx),
            field_guard: field_guard_buffer(ctx),
        };
        let electrode = p.initial_electrode_potential();
        let mut scalars = vec![0.0f32; step_scalar::COUNT as usize];
        scalars[step_scalar::ELECTRODE_POTENTIAL as usize] = electrode as f32;
        // The CPU backend's last_dt before the first step (Δxi = 0 then, so the source is 0).
        scalars[step_scalar::DT as usize] = 1.0;
        ctx.queue
            .write_buffer(&fields.step_scalars, 0, bytemuck::cast_slice(&scalars));
        let kernels = StepKernels::bind(ctx, p, &fields, fused);
        let backend = GpuBackend {
            ctx,
            p: p.clone(),
            interphase,
            fields,
            kernels,
            potential_mg: GpuMultigrid::new(ctx, g.nx, g.ny, g.dx),
            concentration_mg: {
                let mut mg = GpuMultigrid::new(ctx, g.nx, g.ny, g.dx);
                // The state is u = c/c0 − 1; the tolerance refers to c's equation.
                mg.set_reference_offset(1.0);
                // Each solve ends by projecting Σ r (ions made or lost) out, as on the CPU.
                mg.conserve_mass();
                mg
            },
            reports: zeroed_buffer(ctx, "step reports", REPORT_WORDS),
            staging: Staging::new(ctx, "staging", (4 * g.cells().max(REPORT_WORDS)) as u64),
            clock: PhaseClock::new(ctx, MAX_BATCH as u32),
            times: PhaseTimes::default(),
        };
        // The initial band, as `CpuBackend::new` refreshes it.
        if let Some(refresh) = &backend.kernels.refresh_layer {
            submit(ctx, &[refresh]);
        }
        Ok(backend)
    }

    /// Whether step `step` starts with a refresh of the resolved band: the CPU backend's
    /// cadence (every `interphase.refresh_every_steps` steps after the initial one).
    fn refreshes_layer(&self, step: u64) -> bool {
        let every = self.p.interphase.refresh_every_steps.max(1);
        self.kernels.refresh_layer.is_some() && step > 0 && step.is_multiple_of(every)
    }

    /// c/c0 = 1 + u, from the excess read back.
    fn concentration(&self) -> Field {
        self.read_field(&self.fields.excess).mapv(|u| 1.0 + u)
    }

    fn read_field(&self, buffer: &wgpu::Buffer) -> Field {
        let g = self.p.grid;
        let values: Vec<Real> = self.staging.read(self.ctx, buffer, g.cells());
        Field::from_shape_vec((g.nx, g.ny), values).expect("grid-sized buffer")
    }

    fn write_field(&self, buffer: &wgpu::Buffer, field: &Field) {
        let standard = field.as_standard_layout();
        let values = standard.as_slice().expect("standard layout");
        self.ctx
            .queue
            .write_buffer(buffer, 0, bytemuck::cast_slice(values));
    }

    /// Records step `step`, the `n`-th of its batch (the CPU backend's order, with a timestamp
    /// before each phase where the adapter has them); the solves' residual statistics only when
    /// `with_statistics` (the last step of a batch: its metrics row reports them).
    fn record_step(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        step: u64,
        n: u32,
        with_statistics: bool,
    ) {
        let clock = self.clock.as_ref();
        let mark = |encoder: &mut wgpu::CommandEncoder, m: Mark| {
            if let Some(c) = clock {
                c.mark(encoder, n, m);
            }
        };
        let f = &self.fields;
        let k = &self.kernels;
        mark(encoder, Mark::Start);
        let mut first: Vec<&dyn Encode> = Vec::with_capacity(3);
        if self.refreshes_layer(step) {
            first.extend(k.refresh_layer.as_ref().map(|r| r as &dyn Encode));
        }
        first.extend([
            &k.transport_coefficients as &dyn Encode,
            &k.potential_source,
        ]);
        pass(encoder, &first);
        mark(encoder, Mark::Potential);
        self.potential_mg
            .set_coefficients(encoder, &f.zeros, &f.conductivity);
        self.potential_mg.encode_pcg(
            encoder,
            &f.phi,
            &f.rhs,
            POTENTIAL_BCS,
            POTENTIAL_PCG_ITERATIONS,
        );
        if with_statistics {
            self.potential_mg.encode_residual_statistics(
                encoder,
                &f.phi,
                &f.rhs,
                POTENTIAL_BCS,
                StatisticsSlot::End,
            );
        }
        mark(encoder, Mark::AllenCahn);
        pass(encoder, &[&k.allen_cahn_rate, &k.ac_rate_sum]);
        mark(encoder, Mark::Reaction);
        match &k.shift_solve {
            Some(shift) => pass(encoder, &[shift]),
            None => pass(encoder, &[&k.reaction_field]),
        }
        mark(encoder, Mark::Update);
        pass(
            encoder,
            &[
                &k.reaction_maxima,
                &k.reaction_factor_max,
                &k.front_speed_max,
                &k.max_migration_speed,
                &k.migration_speed_max,
                &k.time_step,
                &k.interface_noise,
                &k.noise_sum,
                &k.h_prime_sum,
                &k.noise_mean,
                &k.update_order_parameter,
                &k.dxi_sum,
            ],
        );
        mark(encoder, Mark::Concentration);
        pass(encoder, &[&k.concentration_rhs, &k.inverse_time_step_field]);
        encoder.copy_buffer_to_buffer(&f.excess, 0, &f.excess_old, 0, f.excess.size());
        self.concentration_mg
            .set_coefficients(encoder, &f.inverse_dt, &f.diffusivity);
        self.concentration_mg.encode_solve(
            encoder,
            &f.excess,
            &f.rhs,
            CONCENTRATION_BCS,
            CONCENTRATION_CYCLES,
        );
        if with_statistics {
            self.concentration_mg.encode_residual_statistics(
                encoder,
                &f.excess,
                &f.rhs,
                CONCENTRATION_BCS,
                StatisticsSlot::End,
            );
        }
        mark(encoder, Mark::Guards);
        pass(
            encoder,
            &[
                &k.boundary_inflow,
                &k.inflow_sum,
                &k.check_fields,
                &k.advance_step,
            ],
        );
        mark(encoder, Mark::End);
    }

    /// The report of step `step` from its scalars (the batch's last solve statistics), or the
    /// error that ends the run there: the CPU backend's checks in its order (a fixed dt above
    /// the stable one, then `blown_up`, the field guard's error if this step failed it), then
    /// non-finite step scalars.
    fn report(
        &self,
        step: u64,
        s: &[f32],
        blown_up: Option<Error>,
        potential_solve: SolveStats,
        concentration_solve: SolveStats,
    ) -> Result<StepReport> {
        let slot = |n: u32| s[n as usize] as f64;
        let bits = |n: u32| s[n as usize].to_bits();
        let dt = slot(step_scalar::DT);
        if let Some(fixed) = self.p.fixed_dt {
            let stable = slot(step_scalar::STABLE_DT);
            if fixed > stable * (1.0 + 1e-6) {
                return Err(Error::Solver {
                    step,
                    message: format!(
                        "numerics.dt_s = {fixed} s is above the stable time step {stable:.4e} s"
                    ),
                });
            }
        }
        // The galvanostatic search: a failure on finite currents first (a blow-up later in
        // the step may be its consequence), a non-finite current after the field guard (which
        // names the blown-up cell), as the CPU backend orders them.
        let control_failure = self.control_failure(step, s);
        if let Some((SearchStatus::BeyondLimit | SearchStatus::NotConverged, e)) = control_failure {
            return Err(e);
        }
        if let Some(e) = blown_up {
            return Err(e);
        }
        for (name, value) in [
            ("dt", dt),
            (
                "electrode potential",
                slot(step_scalar::ELECTRODE_POTENTIAL),
            ),
            ("Σ Δxi", slot(step_scalar::DXI_SUM)),
        ] {
            if !value.is_finite() {
                return Err(Error::Solver {
                    step,
                    message: format!("{name} = {value} on the device: {}", guards::BLOW_UP_CAUSES),
                });
            }
        }
        if let Some((_, e)) = control_failure {
            return Err(e);
        }
        let g = self.p.grid;
        let velocity = slot(step_scalar::DXI_SUM) * g.dx * g.dx / g.ly() / dt;
        Ok(StepReport {
            dt,
            bound: bound_of(bits(step_scalar::TIME_STEP_BOUND)),
            applied_potential_v: slot(step_scalar::ELECTRODE_POTENTIAL),
            current_density_a_m2: self.p.current_of_velocity(velocity),
            boundary_inflow: slot(step_scalar::BOUNDARY_INFLOW),
            control_iterations: if self.kernels.shift_solve.is_some() {
                bits(step_scalar::CONTROL_EVALUATIONS).saturating_sub(1)
            } else {
                0
            },
            potential_solve,
            concentration_solve,
            lambda_max: self
                .p
                .stiffness_lambda(slot(step_scalar::REACTION_FACTOR_MAX)),
        })
    }

    /// The galvanostatic search's error of a step from its scalars `s`, if it did not converge.
    fn control_failure(&self, step: u64, s: &[f32]) -> Option<(SearchStatus, Error)> {
        let target = self.p.target_rate_sum()?;
        let slot = |n: u32| s[n as usize] as f64;
        let search = ShiftSearch {
            base: slot(step_scalar::ELECTRODE_BASE),
            shift: slot(step_scalar::CONTROL_SHIFT),
            lo: slot(step_scalar::CONTROL_LO),
            hi: slot(step_scalar::CONTROL_HI),
            reach: slot(step_scalar::CONTROL_REACH),
            step_last: slot(step_scalar::CONTROL_STEP_LAST),
            step_before: slot(step_scalar::CONTROL_STEP_BEFORE),
            evaluations: s[step_scalar::CONTROL_EVALUATIONS as usize].to_bits(),
            residual: slot(step_scalar::CONTROL_RESIDUAL),
            status: SearchStatus::from_code(s[step_scalar::CONTROL_STATUS as usize].to_bits()),
            limit: self.p.max_overpotential_v,
        };
        if search.status == SearchStatus::Converged {
            return None;
        }
        let p = &self.p;
        let e = control_failure(
            step,
            &search,
            target,
            slot(step_scalar::AC_RATE_SUM),
            p.current_of_rate_sum(target),
            |r| p.current_of_rate_sum(r),
        );
        Some((search.status, e))
    }

    /// Wall time per step of each phase, each recorded `reps` times in its own submit and timed
    /// to completion (the state advances meanwhile; for benchmarks, not for runs).
    pub fn profile(&mut self, reps: u32) -> GpuStepProfile {
        let ctx = self.ctx;
        let time = |record: &mut dyn FnMut(&mut wgpu::CommandEncoder)| {
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            record(&mut encoder);
            ctx.queue.submit([encoder.finish()]);
            ctx.device
                .poll(wgpu::PollType::wait_indefinitely())
                .expect("device poll");
            let start = Instant::now();
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            for _ in 0..reps {
                record(&mut encoder);
            }
            ctx.queue.submit([encoder.finish()]);
            ctx.device
                .poll(wgpu::PollType::wait_indefinitely())
                .expect("device poll");
            start.elapsed().as_secs_f64() / reps as f64
        };
        let k = &self.kernels;
        let pointwise: [(&'static str, &dyn Encode); 14] = [
            ("transport_coefficients", &k.transport_coefficients),
            ("potential_source", &k.potential_source),
            (k.allen_cahn_kernel, &k.allen_cahn_rate),
            ("reaction_field", &k.reaction_field),
            ("reaction_maxima", &k.reaction_maxima),
            ("max_migration_speed", &k.max_migration_speed),
            ("time_step", &k.time_step),
            ("interface_noise", &k.interface_noise),
            ("noise_mean", &k.noise_mean),
            ("update_order_parameter", &k.update_order_parameter),
            ("concentration_rhs", &k.concentration_rhs),
            ("inverse_time_step_field", &k.inverse_time_step_field),
            ("boundary_inflow", &k.boundary_inflow),
            ("advance_step", &k.advance_step),
        ];
        let reductions: [(&'static str, &dyn Encode); 9] = [
            ("Σ ac_rate", &k.ac_rate_sum),
            ("max reaction_factor", &k.reaction_factor_max),
            ("max front_speed", &k.front_speed_max),
            ("max migration_speed", &k.migration_speed_max),
            ("Σ noise", &k.noise_sum),
            ("Σ h'", &k.h_prime_sum),
            ("Σ Δxi", &k.dxi_sum),
            ("Σ inflow", &k.inflow_sum),
            ("check_fields", &k.check_fields),
        ];
        let kernels = pointwise
            .iter()
            .chain(&reductions)
            .map(|&(name, kernel)| (name, time(&mut |e| pass(e, &[kernel]))))
            .collect();
        // Under galvanostatic control reaction_field is the search's (control_s), not the
        // update's; the concentration's right-hand side is its solve's, as on the CPU.
        let galvanostatic = k.shift_solve.is_some();
        let pointwise: Vec<&dyn Encode> = pointwise
            .iter()
            .filter(|&&(name, _)| {
                let elsewhere = match name {
                    "reaction_field" => galvanostatic,
                    "concentration_rhs" | "inverse_time_step_field" => true,
                    _ => false,
                };
                !elsewhere
            })
            .map(|&(_, kernel)| kernel)
            .collect();
        let reductions: Vec<&dyn Encode> = reductions.iter().map(|&(_, kernel)| kernel).collect();
        let update_s = time(&mut |e| pass(e, &pointwise));
        let reductions_s = time(&mut |e| pass(e, &reductions));
        let control_s = match &k.shift_solve {
            Some(shift) => time(&mut |e| pass(e, &[shift])),
            None => 0.0,
        };
        let f = &self.fields;
        let (pot, conc) = (&mut self.potential_mg, &mut self.concentration_mg);
        let potential_solve_s = time(&mut |e| {
            pot.set_coefficients(e, &f.zeros, &f.conductivity);
            pot.encode_pcg(e, &f.phi, &f.rhs, POTENTIAL_BCS, POTENTIAL_PCG_ITERATIONS);
        });
        let rhs: [&dyn Encode; 2] = [&k.concentration_rhs, &k.inverse_time_step_field];
        let concentration_solve_s = time(&mut |e| {
            pass(e, &rhs);
            conc.set_coefficients(e, &f.inverse_dt, &f.diffusivity);
            conc.encode_solve(
                e,
                &f.excess,
                &f.rhs,
                CONCENTRATION_BCS,
                CONCENTRATION_CYCLES,
            );
        });
        let layer_refresh_s = match &k.refresh_layer {
            Some(refresh) => time(&mut |e| pass(e, &[refresh])),
            None => 0.0,
        };
        // Dispatches outside the multigrid: one per kernel, two per reduction (the field guard
        // counts as one), and the search's start plus, per evaluation of its budget,
        // reaction_field (indirect: no workgroups once the search has ended) and the iteration
        // (the reaction_field of the pointwise list is the search's first evaluation).
        let control_dispatches = k
            .shift_solve
            .as_ref()
            .map_or(0, |_| 1 + 2 * MAX_EVALUATIONS as usize);
        GpuStepProfile {
            update_s,
            reductions_s,
            control_s,
            potential_solve_s,
            concentration_solve_s,
            layer_refresh_s,
            dispatches_outside_multigrid: pointwise.len()
                + 2 * reductions.len()
                + control_dispatches,
            kernels,
        }
    }

    fn read_scalars(&self) -> Vec<f32> {
        self.staging.read(
            self.ctx,
            &self.fields.step_scalars,
            step_scalar::COUNT as usize,
        )
    }
}

impl StepKernels {
    fn bind(ctx: &GpuContext, p: &Params, f: &Fields, fused: FusedAllenCahn) -> StepKernels {
        let grid = (p.grid.nx, p.grid.ny);
        let cells = p.grid.cells();
        let k = RunConstants::from_params(p).buffer(ctx);
        let control = StepControl::from_params(p).buffer(ctx);
        let glue = StepGlue::from_params(p).buffer(ctx);
        let op = OrderParameterKernels::new(ctx);
        let tr = TransportKernels::new(ctx);
        let red = Reductions::new(ctx);
        let ctl = ControlKernels::new(ctx);
        let sg = StepGlueKernels::new(ctx);
        let guards = GuardKernels::new(ctx);
        let s = &f.step_scalars;
        let inputs = super::kernels::ReactionInputs {
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
                &reaction_field,
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
                    &f.xi,
                    &f.column_distance,
                    &f.distance,
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
            allen_cahn_kernel: fused.kernel(),
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
            inflow_sum: red.sum(ctx, &f.inflow, p.grid.ny, s, step_scalar::BOUNDARY_INFLOW),
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

/// Records `work` into one compute pass of `encoder`.
fn pass(encoder: &mut wgpu::CommandEncoder, work: &[&dyn Encode]) {
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some("mgpf step"),
        timestamp_writes: None,
    });
    for w in work {
        w.encode(&mut pass);
    }
}

/// The statistics of a device solve of `cycles` cycles; `converged` says whether the relative
/// residual met `tolerance` (the concentration's criterion) or, without one (the potential,
/// whose criterion is an error the device does not estimate), whether the backward error
/// reached the f32 floor.
fn solve_stats(s: SolveStatistics, cycles: u32, tolerance: Option<f64>) -> SolveStats {
    let residual_rel = s.residual_rel();
    SolveStats {
        cycles,
        residual_rel,
        converged: match tolerance {
            Some(tol) => residual_rel <= tol,
            None => s.backward_error() <= F32_FLOOR,
        },
        history_first_factor: 0.0,
        mass_defect_rel: s.mass_defect_rel(),
        backward_error: s.backward_error(),
        // The device runs a fixed count and estimates nothing (tests/solves.rs measures it).
        error_estimate: None,
    }
}

fn bound_of(index: u32) -> Bound {
    match index {
        0 => Bound::Gradient,
        1 => Bound::Reaction,
        2 => Bound::Migration,
        3 => Bound::Motion,
        4 => Bound::Cap,
        _ => Bound::Fixed,
    }
}

impl Backend for GpuBackend {
    fn name(&self) -> String {
        self.ctx.describe()
    }

    fn step(&mut self, step: u64) -> Result<StepReport> {
        let mut reports = self.advance(step, 1)?;
        Ok(reports.remove(0))
    }

    fn max_batch(&self) -> u64 {
        MAX_BATCH
    }

    /// Records up to [`MAX_BATCH`] steps in one submit (band refreshes included), copying each
    /// step's scalars into the reports buffer; reads back the reports and the last step's solve
    /// statistics once.
    fn advance(&mut self, first_step: u64, steps: u64) -> Result<Vec<StepReport>> {
        let t0 = Instant::now();
        let steps = steps.clamp(1, MAX_BATCH);
        let ctx = self.ctx;
        // The noise counter is the step index (CPU: `step as u32`); advance_step moves it on.
        ctx.queue.write_buffer(
            &self.fields.step_scalars,
            step_scalar::STEP as u64 * 4,
            bytemuck::bytes_of(&(first_step as u32)),
        );
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        let record = step_scalar::COUNT as u64 * 4;
        for n in 0..steps {
            self.record_step(&mut encoder, first_step + n, n as u32, n + 1 == steps);
            encoder.copy_buffer_to_buffer(
                &self.fields.step_scalars,
                0,
                &self.reports,
                n * record,
                record,
            );
        }
        let statistics_at = (MAX_BATCH * record) as usize / 4;
        for (n, mg) in [&self.potential_mg, &self.concentration_mg]
            .iter()
            .enumerate()
        {
            encoder.copy_buffer_to_buffer(
                mg.statistics_buffer(StatisticsSlot::End),
                0,
                &self.reports,
                ((statistics_at + n * STATISTICS) * 4) as u64,
                (STATISTICS * 4) as u64,
            );
        }
        let guard_at = statistics_at + 2 * STATISTICS;
        encoder.copy_buffer_to_buffer(
            &self.fields.field_guard,
            0,
            &self.reports,
            (guard_at * 4) as u64,
            field_guard::WORDS as u64 * 4,
        );
        if let Some(clock) = &self.clock {
            clock.resolve(
                &mut encoder,
                steps as u32,
                &self.reports,
                (TIMESTAMPS_AT * 4) as u64,
            );
        }
        ctx.queue.submit([encoder.finish()]);
        let values: Vec<f32> = self.staging.read(ctx, &self.reports, REPORT_WORDS);
        let guard: Vec<u32> = values[guard_at..].iter().map(|v| v.to_bits()).collect();
        let mut failure = first_failure(self.p.grid, &guard);
        if failure.is_some() {
            // Reported once: a run restored from a checkpoint starts with a clean guard.
            clear_field_guard(ctx, &self.fields.field_guard);
        }
        let stats = |n: usize| {
            let end = statistics_of(&values[statistics_at + n * STATISTICS..]);
            SolveStatistics { start: end, end }
        };
        let potential_solve = solve_stats(stats(0), POTENTIAL_PCG_ITERATIONS, None);
        let concentration_solve = solve_stats(
            stats(1),
            CONCENTRATION_CYCLES,
            Some(self.p.concentration_tolerance),
        );
        let scalars = &values[..(steps * step_scalar::COUNT as u64) as usize];
        // Device time per phase from the timestamps; the rest of the batch's wall time
        // (submission, waiting, read-back) as other.
        let mut times = match &self.clock {
            Some(clock) => {
                let words: Vec<u32> = values[TIMESTAMPS_AT..]
                    .iter()
                    .map(|v| v.to_bits())
                    .collect();
                clock.phases(&words, steps as u32, self.kernels.shift_solve.is_some())
            }
            None => PhaseTimes::default(),
        };
        times.other_s = (t0.elapsed().as_secs_f64() - times.phases_s()).max(0.0);
        self.times += times;
        let mut reports = Vec::with_capacity(steps as usize);
        for (n, s) in scalars
            .chunks_exact(step_scalar::COUNT as usize)
            .enumerate()
        {
            let step = first_step + n as u64;
            // The guard records the step number as the noise counter does (u32).
            let blown_up = failure
                .take_if(|(at, _)| *at == step as u32)
                .map(|(_, e)| e);
            reports.push(self.report(step, s, blown_up, potential_solve, concentration_solve)?);
        }
        // The solves' statistics are those of the batch's last step (the one read back).
        let last = first_step + steps - 1;
        if failure.is_none() {
            guards::check_solves(&self.p, last, &potential_solve, &concentration_solve)?;
        }
        match failure {
            // Recorded by a step outside this batch: cannot happen (the guard is cleared after
            // each report), but never dropped.
            Some((_, e)) => Err(e),
            None => Ok(reports),
        }
    }

    fn snapshot(&self) -> Snapshot {
        let f = &self.fields;
        Snapshot::assemble(
            &self.p,
            self.read_field(&f.xi),
            self.concentration(),
            self.read_field(&f.phi),
            self.read_field(&f.bv_rate),
            &self.read_field(&f.layer),
            &self.interphase.blocked,
        )
    }

    fn phase_times(&self) -> PhaseTimes {
        self.times
    }

    fn save_state(&self) -> BackendState {
        let f = &self.fields;
        let s = self.read_scalars();
        let excess = self.read_field(&f.excess);
        BackendState {
            fields: vec![
                ("order_parameter".into(), self.read_field(&f.xi)),
                // c for whoever reads the file; u, unrounded by the 1, to continue from.
                ("concentration".into(), excess.mapv(|u| 1.0 + u)),
                ("concentration_excess".into(), excess),
                ("potential".into(), self.read_field(&f.phi)),
                ("order_parameter_change".into(), self.read_field(&f.dxi)),
                ("interphase_layer".into(), self.read_field(&f.layer)),
                ("plating_rate".into(), self.read_field(&f.bv_rate)),
            ],
            scalars: vec![
                (
                    "applied_potential_v".into(),
                    s[step_scalar::ELECTRODE_POTENTIAL as usize] as f64,
                ),
                ("last_dt_s".into(), s[step_scalar::DT as usize] as f64),
            ],
        }
    }

    fn restore_state(&mut self, state: &BackendState) -> Result<()> {
        let f = &self.fields;
        let checked = |name: &str, field: &Field| -> Result<()> {
            if field.dim() != (self.p.grid.nx, self.p.grid.ny) {
                return Err(Error::Checkpoint(format!(
                    "field `{name}` is {:?}, the grid is {} × {}",
                    field.dim(),
                    self.p.grid.nx,
                    self.p.grid.ny
                )));
            }
            Ok(())
        };
        // A checkpoint from before the excess was the state has c only.
        let excess = match state.field("concentration_excess") {
            Ok(u) => u.clone(),
            Err(_) => state.field("concentration")?.mapv(|c| c - 1.0),
        };
        checked("concentration_excess", &excess)?;
        self.write_field(&f.excess, &excess);
        for (name, buffer) in [
            ("order_parameter", &f.xi),
            ("potential", &f.phi),
            ("order_parameter_change", &f.dxi),
            ("interphase_layer", &f.layer),
        ] {
            let field = state.field(name)?;
            checked(name, field)?;
            self.write_field(buffer, field);
        }
        // The last step's reaction field, for a frame due where the run resumes (absent from
        // older checkpoints: 0; reaction_field rewrites every cell next step).
        match state.field("plating_rate") {
            Ok(field) => {
                checked("plating_rate", field)?;
                self.write_field(&f.bv_rate, field);
            }
            Err(_) => {
                self.ctx
                    .queue
                    .write_buffer(&f.bv_rate, 0, &vec![0u8; 4 * self.p.grid.cells()])
            }
        }
        let mut scalars = self.read_scalars();
        scalars[step_scalar::ELECTRODE_POTENTIAL as usize] =
            state.scalar("applied_potential_v")? as f32;
        scalars[step_scalar::DT as usize] = state.scalar("last_dt_s")? as f32;
        self.ctx
            .queue
            .write_buffer(&f.step_scalars, 0, bytemuck::cast_slice(&scalars));
        clear_field_guard(self.ctx, &f.field_guard);
        Ok(())
    }
}
