//! The run's device buffers, named as the CPU backend's fields, and their allocation.

use crate::backend::gpu::buffers::{layer_workgroups, zeroed_buffer};
use crate::backend::gpu::context::step_scalar;
use crate::backend::gpu::context::GpuContext;
use crate::backend::gpu::kernels::{
    clear_point_field_guard, indirect_args_buffer, points_field_guard_buffer, RunConstants,
    StepControl, StepGlue,
};
use crate::backend::gpu::points::MAX_POINTS;
use crate::grid::{Field, Real};
use crate::model::interphase::InterphaseFields;
use crate::model::params::Params;
use crate::model::state::ModelState;

/// f32 words per cell of the step's fields ([`Fields::new`]: xi, u, u_old, φ, Δxi, the band,
/// the interphase's D and σ ratios, ASR and blocked, D, σ, a_k, |∇xi|, both rates, the noise,
/// the solves' rhs, zeros and 1/dt, h', the two reaction maxima and the migration speed), and
/// the resolved band's three more (the distance passes' scratch).
pub const FIELD_WORDS: u64 = 24;
pub const BAND_WORDS: u64 = 3;

/// Device bytes of [`Fields`] for a run of `p`: the per-cell fields and the per-layer and
/// per-workgroup buffers (inflow, reaction partials), per point of a batch.
pub fn fields_bytes(p: &Params) -> u64 {
    let g = p.grid;
    let words = FIELD_WORDS
        + if p.interphase.has_resolved_band() {
            BAND_WORDS
        } else {
            0
        };
    let (x, y) = layer_workgroups(g);
    4 * (words * g.cells() as u64 + g.layer_cells() as u64 + 2 * x as u64 * y as u64)
}

/// Device bytes of the per-point uniform arrays (run constants, step control, step glue: one
/// block for each of [`MAX_POINTS`] points, whatever the batch holds) and the point table.
pub fn point_uniform_bytes() -> u64 {
    let block = std::mem::size_of::<RunConstants>()
        + std::mem::size_of::<StepControl>()
        + std::mem::size_of::<StepGlue>();
    (MAX_POINTS as usize * (block + 4) + 16) as u64
}

/// Device buffers of the fields (names as the CPU backend's).
pub(super) struct Fields {
    pub(super) xi: wgpu::Buffer,
    /// The concentration state u = c/c0 − 1.
    pub(super) excess: wgpu::Buffer,
    /// u before the concentration solve (for the bulk-face inflow).
    pub(super) excess_old: wgpu::Buffer,
    pub(super) phi: wgpu::Buffer,
    pub(super) dxi: wgpu::Buffer,
    pub(super) layer: wgpu::Buffer,
    /// Scratch of the band refresh (R2 only; one element otherwise): cells along x to the metal
    /// (u32), then the distance (µm).
    pub(super) column_distance: wgpu::Buffer,
    pub(super) plane_distance_sq: wgpu::Buffer,
    pub(super) distance: wgpu::Buffer,
    pub(super) layer_diffusivity_ratio: wgpu::Buffer,
    pub(super) layer_conductivity_ratio: wgpu::Buffer,
    pub(super) asr: wgpu::Buffer,
    pub(super) blocked: wgpu::Buffer,
    pub(super) diffusivity: wgpu::Buffer,
    pub(super) conductivity: wgpu::Buffer,
    pub(super) kinetic_factor: wgpu::Buffer,
    pub(super) grad_norm: wgpu::Buffer,
    pub(super) ac_rate: wgpu::Buffer,
    pub(super) bv_rate: wgpu::Buffer,
    pub(super) noise: wgpu::Buffer,
    pub(super) rhs: wgpu::Buffer,
    pub(super) zeros: wgpu::Buffer,
    pub(super) inverse_dt: wgpu::Buffer,
    /// Per-cell operands of the reductions.
    pub(super) h_prime: wgpu::Buffer,
    /// reaction_field's partial sums (Σ rate, Σ ∂rate/∂E per workgroup) and the indirect
    /// dispatch of its evaluations in the galvanostatic search.
    pub(super) reaction_partials: wgpu::Buffer,
    pub(super) reaction_dispatch: wgpu::Buffer,
    pub(super) reaction_factor: wgpu::Buffer,
    pub(super) front_speed: wgpu::Buffer,
    pub(super) migration_speed: wgpu::Buffer,
    pub(super) inflow: wgpu::Buffer,
    pub(super) step_scalars: wgpu::Buffer,
    /// The first bad cell of the first step that blew up (u32 words, `field_guard`).
    pub(super) field_guard: wgpu::Buffer,
    /// The per-point uniform arrays: run constants, step control, step glue.
    pub(super) run_constants: wgpu::Buffer,
    pub(super) step_control: wgpu::Buffer,
    pub(super) step_glue: wgpu::Buffer,
}

impl Fields {
    /// The buffers of `capacity` points of `p`'s grid, zeroed; [`Fields::load`] puts a run in
    /// a point. Every point's block of a buffer holds what one run's buffer holds.
    pub(super) fn new(ctx: &GpuContext, p: &Params, capacity: u32) -> Fields {
        let g = p.grid;
        let points = capacity as usize;
        let cells = g.cells() * points;
        let field = |label: &str| zeroed_buffer(ctx, label, cells);
        let band_cells = if p.interphase.has_resolved_band() {
            cells
        } else {
            1
        };
        let (x, y) = layer_workgroups(g);
        Fields {
            xi: field("xi"),
            excess: field("excess"),
            excess_old: field("excess_old"),
            phi: field("phi"),
            dxi: field("dxi"),
            layer: field("layer"),
            column_distance: zeroed_buffer(ctx, "column distance", band_cells),
            plane_distance_sq: zeroed_buffer(ctx, "plane distance squared", band_cells),
            distance: zeroed_buffer(ctx, "distance", band_cells),
            layer_diffusivity_ratio: field("layer D ratio"),
            layer_conductivity_ratio: field("layer σ ratio"),
            asr: field("asr"),
            blocked: field("blocked"),
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
            reaction_partials: zeroed_buffer(
                ctx,
                "reaction partials",
                2 * (x * y) as usize * points,
            ),
            reaction_dispatch: indirect_args_buffer(ctx, "reaction dispatch"),
            reaction_factor: field("reaction_factor"),
            front_speed: field("front_speed"),
            migration_speed: field("migration_speed"),
            inflow: zeroed_buffer(ctx, "inflow", g.layer_cells() * points),
            step_scalars: zeroed_buffer(ctx, "step scalars", step_scalar::COUNT as usize * points),
            field_guard: points_field_guard_buffer(ctx, capacity),
            run_constants: RunConstants::points_buffer(ctx, &[]),
            step_control: StepControl::points_buffer(ctx, &[]),
            step_glue: StepGlue::points_buffer(ctx, &[]),
        }
    }

    /// Puts the run of `p` from `start` in point `point`: its fields, its interphase, its
    /// constants and step scalars, its guard cleared (queued before the next submit). The
    /// other points are left as they are.
    pub(super) fn load(
        &self,
        ctx: &GpuContext,
        point: u32,
        p: &Params,
        interphase: &InterphaseFields,
        start: &ModelState,
    ) {
        let cells = p.grid.cells() as u64;
        let at = |buffer: &wgpu::Buffer, f: &Field| {
            ctx.queue.write_buffer(
                buffer,
                4 * cells * point as u64,
                bytemuck::cast_slice(slice(f)),
            );
        };
        at(&self.xi, &start.order_parameter);
        at(&self.excess, &start.concentration_excess);
        at(&self.phi, &start.potential);
        at(&self.dxi, &start.order_parameter_change);
        at(&self.layer, &start.interphase_layer);
        at(&self.bv_rate, &start.plating_rate);
        at(&self.layer_diffusivity_ratio, &interphase.diffusivity_ratio);
        at(
            &self.layer_conductivity_ratio,
            &interphase.conductivity_ratio,
        );
        at(&self.asr, &interphase.asr);
        at(&self.blocked, &interphase.blocked);
        let mut scalars = vec![0.0f32; step_scalar::COUNT as usize];
        scalars[step_scalar::ELECTRODE_POTENTIAL as usize] = start.applied_potential_v as f32;
        scalars[step_scalar::DT as usize] = start.last_dt_s as f32;
        self.write_scalars(ctx, point, &scalars);
        let uniform = |buffer: &wgpu::Buffer, bytes: &[u8]| {
            ctx.queue
                .write_buffer(buffer, (bytes.len() * point as usize) as u64, bytes);
        };
        uniform(
            &self.run_constants,
            bytemuck::bytes_of(&RunConstants::from_params(p)),
        );
        uniform(
            &self.step_control,
            bytemuck::bytes_of(&StepControl::from_params(p)),
        );
        uniform(
            &self.step_glue,
            bytemuck::bytes_of(&StepGlue::from_params(p)),
        );
        clear_point_field_guard(ctx, &self.field_guard, point);
    }

    /// Writes point `point`'s step scalars.
    pub(super) fn write_scalars(&self, ctx: &GpuContext, point: u32, scalars: &[f32]) {
        let offset = 4 * step_scalar::COUNT as u64 * point as u64;
        ctx.queue
            .write_buffer(&self.step_scalars, offset, bytemuck::cast_slice(scalars));
    }
}

fn slice(f: &Field) -> &[Real] {
    f.as_slice().expect("standard layout")
}
