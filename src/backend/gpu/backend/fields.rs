//! The run's device buffers, named as the CPU backend's fields, and their allocation.

use crate::backend::gpu::buffers::{layer_workgroups, storage_buffer, zeroed_buffer};
use crate::backend::gpu::context::GpuContext;
use crate::backend::gpu::kernels::{field_guard_buffer, indirect_args_buffer, step_scalars_buffer};
use crate::backend::gpu::kernels::{RunConstants, StepControl, StepGlue};
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
/// per-workgroup buffers (inflow, reaction partials).
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
/// block for each of [`MAX_POINTS`] points) and the point table.
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
}

impl Fields {
    /// The buffers of a run of `p` from its initial xi and excess u; the others zeroed.
    pub(super) fn new(
        ctx: &GpuContext,
        p: &Params,
        interphase: &InterphaseFields,
        start: &ModelState,
    ) -> Fields {
        let g = p.grid;
        let cells = g.cells();
        let field = |label: &str| zeroed_buffer(ctx, label, cells);
        let band_cells = if p.interphase.has_resolved_band() {
            cells
        } else {
            1
        };
        Fields {
            xi: storage_buffer(ctx, "xi", slice(&start.order_parameter)),
            excess: storage_buffer(ctx, "excess", slice(&start.concentration_excess)),
            excess_old: field("excess_old"),
            phi: storage_buffer(ctx, "phi", slice(&start.potential)),
            dxi: storage_buffer(ctx, "dxi", slice(&start.order_parameter_change)),
            layer: storage_buffer(ctx, "layer", slice(&start.interphase_layer)),
            column_distance: zeroed_buffer(ctx, "column distance", band_cells),
            plane_distance_sq: zeroed_buffer(ctx, "plane distance squared", band_cells),
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
                let (x, y) = layer_workgroups(g);
                zeroed_buffer(ctx, "reaction partials", 2 * (x * y) as usize)
            },
            reaction_dispatch: indirect_args_buffer(ctx, "reaction dispatch"),
            reaction_factor: field("reaction_factor"),
            front_speed: field("front_speed"),
            migration_speed: field("migration_speed"),
            inflow: zeroed_buffer(ctx, "inflow", g.layer_cells()),
            step_scalars: step_scalars_buffer(ctx),
            field_guard: field_guard_buffer(ctx),
        }
    }
}

fn slice(f: &Field) -> &[Real] {
    f.as_slice().expect("standard layout")
}
