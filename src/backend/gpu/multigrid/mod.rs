//! Geometric multigrid on the device: the twin of the CPU multigrid (`backend::cpu::multigrid`) for
//! `a u − ∇·(k ∇u) = f` (kernels in `shaders/multigrid/`, named as their CPU twins).
//!
//! 2D (nz = 1) and 3D grids share one code path: every kernel indexes cells by the grid rule of
//! the WGSL prelude (`context::GRID_RULE`: cell (i, j, k) at i·(ny·nz) + j·nz + k, z fastest) and
//! is dispatched over x layers ([`layer_workgroups`]). The level hierarchy is the CPU's
//! ([`multigrid_levels`](crate::numerics::multigrid_levels): halve every axis of the dimension
//! while all are even and at least 4), so each level can be compared with the CPU level by
//! level. The cycle is the CPU's V(2,2): red-black Gauss–Seidel on the parity of i + j + k (red,
//! black before the restriction; black, red after the prolongation), the 2^d-child average of
//! the residual, (bi/tri)linear prolongation of the correction; harmonic face conductivities on
//! every axis (x faces, and the −y and −z face of each cell) restricted by the CPU's rule.
//!
//! Everything a step needs is recorded into the caller's command encoder with no read-back:
//! [`GpuMultigrid::set_coefficients`] (a and k as device buffers), [`GpuMultigrid::encode_solve`]
//! (a fixed number of V-cycles) and, when a metrics row is due,
//! [`GpuMultigrid::encode_residual_statistics`] into a small device buffer read back by
//! [`GpuMultigrid::read_statistics`]. [`GpuMultigrid::solve`] is the blocking convenience (tests,
//! one-off solves) with the CPU's stop test.
//!
//! Coarsest level: the CPU factorises it (banded Cholesky, f64). On the device one workgroup
//! runs [`coarsest_sweeps_of`] red-black SOR sweeps on it in workgroup memory (`coarsest_solve`),
//! one dispatch for all the sweeps. With the power-of-two grids of the model the coarsest level
//! has 2–4 cells per side, where 44–64 sweeps solve it to f32 round-off (the V-cycle factors
//! match the CPU's to 3 digits, tests/gpu_multigrid.rs and tests/gpu_multigrid_3d.rs), and up to
//! 45 × 50 cells (828 sweeps) it still matches them; a level larger than [`COARSEST_MAX_CELLS`]
//! (large odd factors in the sides) gets the CPU's own fallback, [`COARSEST_FALLBACK_SWEEPS`]
//! global sweeps, which for the potential (a = 0) slows the cycle to 0.6–0.9 (the CPU, which
//! factorises it, keeps 0.2).
//!
//! The CPU's `solve` switches to V-cycle-preconditioned CG after a cycle that reduces the
//! residual less than 5-fold; that decision needs a read-back, so here the caller picks:
//! [`GpuMultigrid::encode_solve`] (V-cycles) or [`GpuMultigrid::encode_pcg`] (flexible PCG with
//! every scalar on the device). For the potential with a weakly conducting metal the V-cycle
//! reduces the metal's floating mode only ~0.6 per cycle, and the residual-based stop test
//! hardly sees it: warm-started steps keep 1–20 % error in the metal with 2–4 V-cycles, 0.1 %
//! with 4 PCG iterations (tests/gpu_multigrid.rs, `warm_started_steps_with_a_fixed_cycle_count`).
//!
//! The batch axis ([`crate::backend::gpu::points`]): [`GpuMultigrid::for_points`] solves
//! `points.capacity()` problems of one grid side by side, every kernel running the live points in
//! one dispatch (one z layer of workgroups per live point; the coarsest solve and the finishing
//! reductions one workgroup per point). Point p's element e of a buffer holding L elements per
//! point is at p·L + e:
//!
//! - the caller's u, f, a, k and every level's cell arrays (a, ky, kz, u, f, r), the PCG vectors
//!   (r, z, p, q) and the mass projection's z and ones: L = that level's nx·ny·nz;
//! - every level's x faces kx: L = (nx + 1)·ny·nz;
//! - the reductions' partials: L = the workgroups of one point's pass over the finest level
//!   ([`layer_workgroups`]), × [`STATISTICS`] for the residual statistics;
//! - the statistics records ([`GpuMultigrid::statistics_buffer`]): L = [`STATISTICS`]; the PCG
//!   scalars: L = 8; the mass projection's scalars: L = 4.
//!
//! The one-element placeholders (the finest level's own u and f, kz in 2D) are never read and stay
//! one element. The uniforms (`Level`, `Walls`, `Slot`) are shared: every point has the same grid,
//! walls and reference offset. No kernel touches a point left out of the live table (its blocks of
//! the caller's buffers and of the statistics keep their values); the per-solve scratch (the
//! coarse levels' u, the PCG vectors and scalars, the projection's z) is cleared whole, and
//! [`GpuMultigrid::set_coefficients`] copies every point's a. A lone run ([`GpuMultigrid::new`])
//! is the batch of one point, and each point of a batch does a lone run's arithmetic bit for bit
//! (tests/gpu_multigrid.rs, `a_batch_of_points_solves_each_point_bit_for_bit_as_a_lone_run`).

use super::buffers::{bind_group, layer_workgroups, uniform_buffer, zeroed_buffer};
use super::context::{GpuContext, WORKGROUP_1D};
use super::points::Points;
use crate::grid::Grid;
use crate::numerics::{Bcs, Boundary};
use std::sync::Arc;

mod cycle;
mod hierarchy;
mod mass_projection;
mod pcg;
mod single_kernels;
mod slot_sums;
mod statistics;

pub use hierarchy::{
    coarsest_sweeps, coarsest_sweeps_of, GpuLevel, COARSEST_FALLBACK_SWEEPS, COARSEST_MAX_CELLS,
};
pub use statistics::{statistics_of, SolveStatistics, StatisticsSlot, STATISTICS};

use hierarchy::{reduction_uniform, StencilGroups, WallsUniform};
use mass_projection::MassProjection;
use pcg::Krylov;

/// The kernel families of `shaders/multigrid/`, one WGSL module: the operator's bindings and
/// helpers first, then each family (every entry point's bindings are its own).
const SHADER_PARTS: [&str; 7] = [
    include_str!("../../../../shaders/multigrid/common.wgsl"),
    include_str!("../../../../shaders/multigrid/coefficients.wgsl"),
    include_str!("../../../../shaders/multigrid/transfers.wgsl"),
    include_str!("../../../../shaders/multigrid/smoothing.wgsl"),
    include_str!("../../../../shaders/multigrid/reductions.wgsl"),
    include_str!("../../../../shaders/multigrid/pcg.wgsl"),
    include_str!("../../../../shaders/multigrid/mass_projection.wgsl"),
];

/// A multigrid kernel and the point table's bind group for it (group 1; the layouts are derived
/// per pipeline). Derefs to the pipeline, for the group-0 bind groups.
struct Kernel {
    pipeline: wgpu::ComputePipeline,
    points: wgpu::BindGroup,
}

impl std::ops::Deref for Kernel {
    type Target = wgpu::ComputePipeline;

    fn deref(&self) -> &wgpu::ComputePipeline {
        &self.pipeline
    }
}

struct Pipelines {
    face_coefficients: Kernel,
    restrict_face_coefficients: Kernel,
    restrict_full_weighting: Kernel,
    prolong_bilinear: Kernel,
    smooth_red_black: Kernel,
    residual: Kernel,
    residual_statistics: Kernel,
    residual_statistics_finish: Kernel,
    coarsest_solve: Kernel,
    apply_operator: Kernel,
    dot: Kernel,
    dot_finish: Kernel,
    residual_sum: Kernel,
    operator_sum: Kernel,
    mass_projection_scale: Kernel,
    add_scaled: Kernel,
    pcg_beta: Kernel,
    pcg_alpha: Kernel,
    scale_and_add: Kernel,
    pcg_update: Kernel,
}

/// Geometric multigrid on the device; see the module documentation.
pub struct GpuMultigrid {
    ctx: &'static GpuContext,
    /// The points of the batch: every buffer holds `points.capacity()` blocks, every kernel runs
    /// the live ones.
    points: Arc<Points>,
    pipelines: Pipelines,
    levels: Vec<GpuLevel>,
    /// The `Walls` uniform every kernel reads, refilled inside the command stream.
    walls: wgpu::Buffer,
    /// One source buffer per distinct set of wall conditions seen, copied into `walls`.
    wall_sources: Vec<(WallsUniform, wgpu::Buffer)>,
    /// Bind groups of coarse levels (index l − 1 for level l), built once.
    coarse_groups: Vec<StencilGroups>,
    /// Bind groups of the finest level per caller (u, f) pair.
    fine_groups: Vec<(wgpu::Buffer, wgpu::Buffer, StencilGroups)>,
    /// face_coefficients bind group per caller k buffer.
    k_groups: Vec<(wgpu::Buffer, wgpu::BindGroup)>,
    /// restrict_full_weighting r_l → f_{l+1} and a_l → a_{l+1}; restrict_face_coefficients.
    restrict_residual: Vec<wgpu::BindGroup>,
    restrict_a: Vec<wgpu::BindGroup>,
    restrict_faces: Vec<wgpu::BindGroup>,
    /// Per-workgroup partial sums of the reductions, per point (see the module documentation).
    partials: wgpu::Buffer,
    /// The Start and End records, [`STATISTICS`] values per point.
    statistics: [wgpu::Buffer; 2],
    statistics_finish: [wgpu::BindGroup; 2],
    stats_workgroups: (u32, u32),
    /// `Level` uniform of the finest level with `count` = workgroups of its reductions.
    reduction: wgpu::Buffer,
    krylov: Option<Krylov>,
    /// See [`GpuMultigrid::conserve_mass`].
    mass_projection: Option<MassProjection>,
}

/// Device bytes of a [`GpuMultigrid`] of one point (a lone run, [`GpuMultigrid::new`]) on
/// `grid` (its storage buffers, the uniforms left out): every level's a, face conductivities (x
/// faces (nx + 1)·ny·nz, y, z in 3D) and residual, the coarse levels' u and f, the statistics
/// partials, and with `pcg` the four PCG vectors, with `mass_projection` the direction z and the
/// ones. 2D: 4 + 2 (the coarse levels, 6 words at ¼ per level) words per cell, 3D: 5 + 1; PCG 4,
/// mass projection 2. A batch of P points takes [`device_bytes_for_points`] (P times as much,
/// less the one-element placeholders).
pub fn device_bytes(grid: Grid, pcg: bool, mass_projection: bool) -> u64 {
    device_bytes_for_points(grid, pcg, mass_projection, 1)
}

/// [`device_bytes`] of a [`GpuMultigrid::for_points`] of `points` points (their capacity).
pub fn device_bytes_for_points(grid: Grid, pcg: bool, mass_projection: bool, points: u32) -> u64 {
    let levels = crate::numerics::multigrid_levels(grid);
    let p = points as usize;
    let word = |n: usize| (n.max(1) * 4) as u64;
    let mut bytes = 0;
    for (l, g) in levels.iter().enumerate() {
        let cells = g.cells();
        let own = if l == 0 { 0 } else { cells * p };
        let kz = if g.nz > 1 { cells * p } else { 1 };
        bytes += word(cells * p) // a
            + word((g.nx + 1) * g.layer_cells() * p) // kx
            + word(cells * p) // ky
            + word(kz)
            + 2 * word(own) // u, f
            + word(cells * p); // r
    }
    let (x, y) = layer_workgroups(grid);
    bytes += word(x as usize * y as usize * STATISTICS * p) + 2 * word(STATISTICS * p);
    if pcg {
        bytes += 4 * word(grid.cells() * p) + word(pcg::PCG_SCALARS * p);
    }
    if mass_projection {
        bytes += 2 * word(grid.cells() * p) + word(mass_projection::MASS_SCALARS * p);
    }
    bytes
}

impl GpuMultigrid {
    /// The device multigrid of `grid` (2D when nz = 1) for a lone run (the batch of one point,
    /// [`Points::single`]): every level's buffers, allocated once.
    pub fn new(ctx: &'static GpuContext, grid: Grid) -> GpuMultigrid {
        GpuMultigrid::for_points(ctx, grid, &Points::single(ctx))
    }

    /// The device multigrid of `grid` for the points of `points`: every internal buffer holds
    /// `points.capacity()` blocks (see the module documentation), every kernel runs the points
    /// live when it is recorded, and the caller's u, f, a and k hold `points.capacity()` blocks
    /// of `grid.cells()` values, point p's from p·cells.
    pub fn for_points(ctx: &'static GpuContext, grid: Grid, points: &Arc<Points>) -> GpuMultigrid {
        assert!(grid.cells() >= 1, "multigrid needs at least one cell");
        let capacity = points.capacity() as usize;
        let source = shader_source();
        let p = |entry: &str| {
            let pipeline = ctx.compute_pipeline("multigrid", &source, entry);
            Kernel {
                points: points.bind_group(ctx, &pipeline),
                pipeline,
            }
        };
        let pipelines = Pipelines {
            face_coefficients: p("face_coefficients"),
            restrict_face_coefficients: p("restrict_face_coefficients"),
            restrict_full_weighting: p("restrict_full_weighting"),
            prolong_bilinear: p("prolong_bilinear"),
            smooth_red_black: p("smooth_red_black"),
            residual: p("residual"),
            residual_statistics: p("residual_statistics"),
            residual_statistics_finish: p("residual_statistics_finish"),
            coarsest_solve: p("coarsest_solve"),
            apply_operator: p("apply_operator"),
            dot: p("dot"),
            dot_finish: p("dot_finish"),
            residual_sum: p("residual_sum"),
            operator_sum: p("operator_sum"),
            mass_projection_scale: p("mass_projection_scale"),
            add_scaled: p("add_scaled"),
            pcg_beta: p("pcg_beta"),
            pcg_alpha: p("pcg_alpha"),
            scale_and_add: p("scale_and_add"),
            pcg_update: p("pcg_update"),
        };
        let stats_workgroups = layer_workgroups(grid);
        let levels = GpuLevel::hierarchy(ctx, grid, capacity);
        let reduction = reduction_uniform(ctx, grid, stats_workgroups.0 * stats_workgroups.1);
        let walls = uniform_buffer(ctx, "multigrid walls", &WallsUniform::of(neumann()));
        let groups = stats_workgroups.0 as usize * stats_workgroups.1 as usize;
        let partials = zeroed_buffer(ctx, "multigrid partials", groups * STATISTICS * capacity);
        let statistics =
            [0, 1].map(|_| zeroed_buffer(ctx, "multigrid statistics", STATISTICS * capacity));
        let statistics_finish = [0, 1].map(|s| {
            bind_group(
                ctx,
                "residual_statistics_finish",
                &pipelines.residual_statistics_finish,
                &[&partials, &statistics[s], &reduction],
            )
        });
        let mut restrict_residual = Vec::new();
        let mut restrict_a = Vec::new();
        let mut restrict_faces = Vec::new();
        for l in 0..levels.len() - 1 {
            let (fine, coarse) = (&levels[l], &levels[l + 1]);
            let fw = &pipelines.restrict_full_weighting;
            let un = &fine.uniforms[0];
            restrict_residual.push(bind_group(ctx, "restrict r", fw, &[&fine.r, &coarse.f, un]));
            restrict_a.push(bind_group(ctx, "restrict a", fw, &[&fine.a, &coarse.a, un]));
            restrict_faces.push(bind_group(
                ctx,
                "restrict_face_coefficients",
                &pipelines.restrict_face_coefficients,
                &[
                    &fine.kx, &fine.ky, &fine.kz, &coarse.kx, &coarse.ky, &coarse.kz, un,
                ],
            ));
        }
        let mut mg = GpuMultigrid {
            ctx,
            points: Arc::clone(points),
            pipelines,
            levels,
            walls,
            wall_sources: Vec::new(),
            coarse_groups: Vec::new(),
            fine_groups: Vec::new(),
            k_groups: Vec::new(),
            restrict_residual,
            restrict_a,
            restrict_faces,
            partials,
            statistics,
            statistics_finish,
            stats_workgroups,
            reduction,
            krylov: None,
            mass_projection: None,
        };
        mg.coarse_groups = (1..mg.levels.len())
            .map(|l| {
                let level = &mg.levels[l];
                mg.stencil_groups(l, &level.u, &level.f)
            })
            .collect();
        mg
    }

    /// Number of levels, the finest included.
    pub fn levels(&self) -> usize {
        self.levels.len()
    }

    /// The points whose problems this multigrid solves.
    pub fn points(&self) -> &Arc<Points> {
        &self.points
    }

    /// Smoothing colours of level `l`: 2, more where the level has an odd periodic side (its
    /// wrap's last plane coloured apart, `smoothing_colour` in shaders/multigrid/common.wgsl).
    pub fn smoothing_colours(&self, l: usize) -> usize {
        self.levels[l].uniforms.len()
    }

    /// The buffers of level `l` (0 the finest), for tests and diagnostics (one block per point:
    /// see the module documentation).
    pub fn level(&self, l: usize) -> &GpuLevel {
        &self.levels[l]
    }

    /// Records `kernel` with `group` at group 0 and the point table at group 1: `(x, y)`
    /// workgroups per point, one z layer per live point (nothing when none is live).
    fn dispatch(
        &self,
        pass: &mut wgpu::ComputePass,
        kernel: &Kernel,
        group: &wgpu::BindGroup,
        (x, y): (u32, u32),
    ) {
        let live = self.points.live();
        if live == 0 {
            return;
        }
        pass.set_pipeline(&kernel.pipeline);
        pass.set_bind_group(0, group, &[]);
        pass.set_bind_group(1, &kernel.points, &[]);
        pass.dispatch_workgroups(x, y, live);
    }
}

/// A bind group with buffers at the given bindings (for entry points that skip some).
fn bind_group_at(
    ctx: &GpuContext,
    label: &str,
    pipeline: &wgpu::ComputePipeline,
    buffers: &[(u32, &wgpu::Buffer)],
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry> = buffers
        .iter()
        .map(|&(binding, b)| wgpu::BindGroupEntry {
            binding,
            resource: b.as_entire_binding(),
        })
        .collect();
    ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    })
}

fn neumann() -> Bcs {
    Bcs {
        x_lo: Boundary::Neumann,
        x_hi: Boundary::Neumann,
    }
}

/// The multigrid shader: the files of `shaders/multigrid/` with the constants this module owns
/// prepended.
fn shader_source() -> String {
    assert_eq!(COARSEST_MAX_CELLS % WORKGROUP_1D as usize, 0);
    format!(
        "const COARSEST_MAX_CELLS: u32 = {COARSEST_MAX_CELLS}u;\n\
         const STATISTICS: u32 = {STATISTICS}u;\n\
         const PCG_SCALARS: u32 = {}u;\n\
         const MASS_SCALARS: u32 = {}u;\n{}",
        pcg::PCG_SCALARS,
        mass_projection::MASS_SCALARS,
        SHADER_PARTS.concat()
    )
}
