//! `GpuBackend`: the CPU backend's step, every kernel on the device, for one run or for a batch
//! of runs of one shape (the points of `gpu::points`: each buffer holds every point's block and
//! each kernel runs the live points in one dispatch; a lone run is the batch of one point, and
//! each point of a batch does a lone run's arithmetic bit for bit).
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
//! refinement), deciding on the host; the device runs a fixed count instead (no read-back
//! inside a step), chosen so that the result matches the CPU's to the parity tolerance:
//! preconditioned CG for the potential (plain V-cycles reduce a weakly conducting metal's mode
//! only ~0.6 per cycle, tests/gpu_multigrid.rs) and V-cycles for the concentration (0.03 per
//! cycle). The concentration solve reports its residual against the c-equation's right-hand
//! side, as the CPU's does
//! ([`GpuMultigrid::set_reference_offset`]), and ends, as the CPU's does, by projecting the
//! residual's sum Σ r (the ions it creates or destroys) out ([`GpuMultigrid::conserve_mass`]:
//! u += κ z, z ≈ A⁻¹1, κ = Σ r / Σ A z, all on the device, f32 sums). Over 200 steps at 64²
//! (tests/gpu_parity.rs) that takes the device's Mg balance error from 5.2e-6–1.0e-5 of the
//! total to ≤ 1.3e-9 (the CPU's: ≤ 1.4e-9) and its bulk-face inflow from 2.3–3.1e-4 below the
//! CPU's to within 3.1e-7. z costs one more V-cycle per step (from the first level with ≤ 64²
//! cells, then prolongations) plus 6 dispatches.
//!
//! The concentration is stored as its excess u = c/c0 − 1 (the `excess` buffer), as on the CPU:
//! u ≈ 0 at the bulk face carries c0 − c unrounded (an f32 c ≈ 1 there made each step's inflow
//! uncertain by ~1e-3 of its ions). Snapshots and checkpoints give c = 1 + u, mapped on the host.

mod batch;
mod fields;
mod profile;
mod reports;
mod state;
mod step_kernels;

pub use batch::RecordedBatch;
pub use profile::GpuStepProfile;

use super::buffers::{zeroed_buffer, Staging};
use super::context::{max_field_cells, GpuContext};
use super::kernels::{check_limits, submit, FusedAllenCahn};
use super::multigrid::GpuMultigrid;
use super::phase_clock::PhaseClock;
use super::points::{Points, MAX_POINTS};
use crate::backend::{Backend, BackendState, PhaseTimes, Snapshot, StepReport};
use crate::error::Result;
use crate::model::interphase::InterphaseFields;
use crate::model::params::{Control, Params};
use crate::model::state::ModelState;
use crate::numerics::Bcs;
use fields::Fields;
use std::sync::Arc;
use step_kernels::StepKernels;

/// Most steps recorded in one submit (the run loop asks for fewer when an output is near).
pub const MAX_BATCH: u64 = 32;

/// The runs of one device backend: a lone run ([`GpuBackend::new`], one point), or a batch of
/// points of one shape advanced together ([`GpuBackend::batch`], the batch axis of
/// `gpu::points`: every buffer holds each point's block, every kernel runs the live points in
/// one dispatch).
pub struct GpuBackend {
    ctx: &'static GpuContext,
    points: Arc<Points>,
    /// The parameters the kernels and the recorded step were set up from: every point's run has
    /// this shape ([`batch_mismatch`]).
    shape: Params,
    /// The run held in each point (None: free).
    runs: Vec<Option<PointRun>>,
    fields: Fields,
    kernels: StepKernels,
    potential_mg: GpuMultigrid,
    concentration_mg: GpuMultigrid,
    /// The step scalars of every point at each step of a batch, then the two solves' residual
    /// statistics of its last step and the field guards, copied on the device and read back
    /// once per batch.
    reports: wgpu::Buffer,
    /// Reused for every read-back (a field, or the reports).
    staging: Staging,
    /// Timestamps between the phases of each step (None: the adapter has no timestamp queries).
    clock: Option<PhaseClock>,
}

/// One point's run: its parameters, its interphase and the device time of its steps.
struct PointRun {
    p: Params,
    interphase: InterphaseFields,
    times: PhaseTimes,
}

/// The solves' conditions ([`crate::model::boundary`]).
const POTENTIAL_BCS: Bcs = crate::model::boundary::POTENTIAL;
const CONCENTRATION_BCS: Bcs = crate::model::boundary::CONCENTRATION_EXCESS;

/// Device bytes a run of `p` allocates on the GPU backend: the step's fields
/// ([`fields::fields_bytes`]) and both multigrid hierarchies (the potential's with its PCG
/// vectors, the concentration's with its mass projection). About 42 f32 words per cell, 45 with
/// a resolved band, in 2D and 3D alike (tests/gpu_memory.rs measures it). The host's staging
/// buffer for read-backs is host memory and not counted; a batch of B points takes B times this
/// less the per-point uniform arrays ([`fields::point_uniform_bytes`], 70 KiB), which every
/// backend has once.
pub fn device_bytes(p: &Params) -> u64 {
    fields::point_uniform_bytes()
        + fields::fields_bytes(p)
        + crate::backend::gpu::multigrid::device_bytes(p.grid, true, false)
        + crate::backend::gpu::multigrid::device_bytes(p.grid, false, true)
}

/// Why a run of `p` cannot share a batch set up for `shape` (the recorded step differs), or
/// None: the same grid, the same band and its refresh cadence, the same control mode and the
/// same solves.
pub fn batch_mismatch(shape: &Params, p: &Params) -> Option<&'static str> {
    let (a, b) = (shape, p);
    if a.grid.nx != b.grid.nx
        || a.grid.ny != b.grid.ny
        || a.grid.nz != b.grid.nz
        || a.grid.dx != b.grid.dx
    {
        return Some("the grid (domain and grid.dx_um)");
    }
    if a.interphase.has_resolved_band() != b.interphase.has_resolved_band()
        || (a.interphase.has_resolved_band()
            && a.interphase.refresh_every_steps != b.interphase.refresh_every_steps)
    {
        return Some("the resolved band or interphase.refresh_every_steps");
    }
    if matches!(a.control, Control::Galvanostatic { .. })
        != matches!(b.control, Control::Galvanostatic { .. })
    {
        return Some("the control mode (galvanostatic or potentiostatic)");
    }
    if a.step_solves() != b.step_solves() {
        return Some("the solver settings (tolerances, numerics.max_cycles)");
    }
    None
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
        let mut backend = GpuBackend::batch_with(ctx, p, 1, fused)?;
        backend.load_point(0, p, init)?;
        Ok(backend)
    }

    /// A batch of `capacity` points for runs of `shape`'s shape ([`batch_mismatch`]), all free:
    /// [`GpuBackend::load_point`] puts a run in one.
    pub fn batch(ctx: &'static GpuContext, shape: &Params, capacity: u32) -> Result<GpuBackend> {
        let fused = FusedAllenCahn::for_adapter(&ctx.adapter_info);
        GpuBackend::batch_with(ctx, shape, capacity, fused)
    }

    fn batch_with(
        ctx: &'static GpuContext,
        p: &Params,
        capacity: u32,
        fused: FusedAllenCahn,
    ) -> Result<GpuBackend> {
        check_runs_here(p)?;
        let g = p.grid;
        ctx.check_grid(g)?;
        check_limits(ctx)?;
        if !(1..=MAX_POINTS).contains(&capacity) {
            return Err(crate::error::Error::config(
                "--jobs",
                format!("= {capacity} points in one GPU batch is outside the allowed range [1, {MAX_POINTS}]"),
            ));
        }
        // Every buffer holds each point's block: the largest, the multigrid's x faces, must fit
        // one storage binding for all of them.
        let words = (g.nx as u64 + 1) * g.layer_cells() as u64;
        let allowed = max_field_cells(&ctx.limits);
        if words * capacity as u64 > allowed {
            return Err(crate::error::Error::config(
                "--jobs",
                format!(
                    "= {capacity} points of this grid need {} bytes in the largest buffer of their \
                     GPU batch ((nx + 1)·ny·nz f32 faces per point), the adapter {} allows {} \
                     bytes per storage buffer: at most {} points of this grid",
                    4 * words * capacity as u64,
                    ctx.adapter_info.name,
                    4 * allowed,
                    allowed / words
                ),
            ));
        }
        let points = Points::new(ctx, capacity);
        let fields = Fields::new(ctx, p, capacity);
        let kernels = StepKernels::bind(ctx, p, &fields, fused, &points);
        let report_words = batch::report_words(capacity);
        let backend = GpuBackend {
            ctx,
            shape: p.clone(),
            runs: (0..capacity).map(|_| None).collect(),
            fields,
            kernels,
            potential_mg: GpuMultigrid::for_points(ctx, g, &points),
            concentration_mg: {
                let mut mg = GpuMultigrid::for_points(ctx, g, &points);
                // The state is u = c/c0 − 1; the tolerance refers to c's equation.
                mg.set_reference_offset(1.0);
                // Each solve ends by projecting Σ r (ions made or lost) out, as on the CPU.
                mg.conserve_mass();
                mg
            },
            reports: zeroed_buffer(ctx, "step reports", report_words),
            staging: Staging::new(ctx, "staging", (4 * g.cells().max(report_words)) as u64),
            clock: PhaseClock::new(ctx, MAX_BATCH as u32),
            points,
        };
        Ok(backend)
    }

    /// Points this backend holds.
    pub fn capacity(&self) -> u32 {
        self.points.capacity()
    }

    /// Puts a fresh run of `p` in point `point` (free or not: a run there is replaced), from
    /// its initial state; refused if `p` does not have the batch's shape.
    pub fn load_point(
        &mut self,
        point: u32,
        p: &Params,
        init: &crate::config::InitialConfig,
    ) -> Result<()> {
        check_runs_here(p)?;
        if let Some(what) = batch_mismatch(&self.shape, p) {
            return Err(crate::error::Error::Other(format!(
                "a run differing in {what} cannot join this GPU batch"
            )));
        }
        let interphase = InterphaseFields::new(p);
        let start = ModelState::initial(p, init);
        self.fields.load(self.ctx, point, p, &interphase, &start);
        self.runs[point as usize] = Some(PointRun {
            p: p.clone(),
            interphase,
            times: PhaseTimes::default(),
        });
        // The initial band from the device's own distance transform, as every later refresh.
        if let Some(refresh) = &self.kernels.refresh_layer {
            self.points.set_live(self.ctx, &[point]);
            submit(self.ctx, &[refresh]);
        }
        Ok(())
    }

    /// The device this backend runs on.
    pub fn context(&self) -> &'static GpuContext {
        self.ctx
    }

    /// Device time of point `point`'s steps so far (each round's, for every point in it).
    pub fn point_phase_times(&self, point: u32) -> PhaseTimes {
        self.run(point).times
    }

    fn run(&self, point: u32) -> &PointRun {
        self.runs[point as usize]
            .as_ref()
            .expect("a point holding a run")
    }
}

/// Refuses what the GPU backend does not run, naming the key (before any adapter is sought).
pub fn check_runs_here(p: &Params) -> Result<()> {
    if p.grid.nz > 1 && !p.nucleus_frames.is_empty() {
        return Err(crate::error::Error::config(
            "initial.nucleus_c_axes",
            "sets a c-axis per nucleus (grains): the GPU backend runs 3D grids with one \
             crystal orientation (anisotropy.c_axis) so far; leave initial.nucleus_c_axes \
             empty or run with --backend cpu",
        ));
    }
    if p.parasitic_current_a_m2 > 0.0 {
        return Err(crate::error::Error::config(
            "interphase.parasitic_current_ma_cm2",
            "is above 0: the GPU backend does not draw a parasitic current yet; run with \
             --backend cpu",
        ));
    }
    if p.tracks_dead_metal {
        return Err(crate::error::Error::config(
            "control",
            "strips (a negative control.current_density_ma_cm2, or a positive \
             control.applied_potential_v): stripping runs find and hold dead metal, which the \
             GPU backend does not do yet; run with --backend cpu",
        ));
    }
    if p.implicit_coupling {
        return Err(crate::error::Error::config(
            "numerics.potential_coupling",
            "solves potential and reaction together here (\"implicit\", or \"auto\" for a \
             potentiostatic run whose Ohmic drop rivals its kinetics: `mgpf check` prints \
             R·∂i/∂E): the GPU backend couples them explicitly so far; run with --backend cpu",
        ));
    }
    Ok(())
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

    /// Records up to [`MAX_BATCH`] steps in one submit (band refreshes included), reading back
    /// the reports once (see `batch`).
    fn advance(&mut self, first_step: u64, steps: u64) -> Result<Vec<StepReport>> {
        self.advance_batch(first_step, steps)
    }

    fn snapshot(&self) -> Snapshot {
        self.read_snapshot(0)
    }

    fn phase_times(&self) -> PhaseTimes {
        self.run(0).times
    }

    fn save_state(&self) -> BackendState {
        self.read_state(0)
    }

    fn restore_state(&mut self, state: &BackendState) -> Result<()> {
        self.write_state(0, state)
    }
}
