//! Geometric multigrid on the device: the twin of [`crate::solver::multigrid`] for
//! `a u − ∇·(k ∇u) = f` (kernels in `shaders/multigrid.wgsl`, named as their CPU twins).
//!
//! The level hierarchy is the CPU's (halve both sides while both are even and at least 4), so
//! each level can be compared with the CPU level by level. The cycle is the CPU's V(2,2):
//! red-black Gauss–Seidel (red, black before the restriction; black, red after the
//! prolongation), full weighting of the residual, bilinear prolongation of the correction.
//!
//! Everything a step needs is recorded into the caller's command encoder with no read-back:
//! [`GpuMultigrid::set_coefficients`] (a and k as device buffers), [`GpuMultigrid::encode_solve`]
//! (a fixed number of V-cycles) and, when a metrics row is due,
//! [`GpuMultigrid::encode_residual_statistics`] into a small device buffer read back by
//! [`GpuMultigrid::read_statistics`]. [`GpuMultigrid::solve`] is the blocking convenience (tests,
//! one-off solves) with the CPU's stop test.
//!
//! Coarsest level: the CPU factorises it (banded Cholesky, f64). On the device one workgroup
//! runs [`coarsest_sweeps`] red-black SOR sweeps on it in workgroup memory (`coarsest_solve`),
//! one dispatch for all the sweeps. With the power-of-two grids of the model the coarsest level
//! has 2–4 cells per side, where 44–64 sweeps solve it to f32 round-off (the V-cycle factors
//! match the CPU's to 3 digits, tests/gpu_multigrid.rs), and up to 45 × 50 cells (828 sweeps)
//! it still matches them; a level larger than [`COARSEST_MAX_CELLS`] (large odd factors in nx
//! or ny) gets the CPU's own fallback, [`COARSEST_FALLBACK_SWEEPS`] global sweeps, which for the
//! potential (a = 0) slows the cycle to 0.6–0.9 (the CPU, which factorises it, keeps 0.2).
//!
//! The CPU's `solve` switches to V-cycle-preconditioned CG after a cycle that reduces the
//! residual less than 5-fold; that decision needs a read-back, so here the caller picks:
//! [`GpuMultigrid::encode_solve`] (V-cycles) or [`GpuMultigrid::encode_pcg`] (flexible PCG with
//! every scalar on the device). For the potential with a weakly conducting metal the V-cycle
//! reduces the metal's floating mode only ~0.6 per cycle, and the residual-based stop test
//! hardly sees it: warm-started steps keep 1–20 % error in the metal with 2–4 V-cycles, 0.1 %
//! with 4 PCG iterations (tests/gpu_multigrid.rs, `warm_started_steps_with_a_fixed_cycle_count`).

use super::buffers::{bind_group, grid_workgroups, read_back, uniform_buffer, zeroed_buffer};
use super::context::{GpuContext, WORKGROUP_1D};
use crate::grid::Real;
use crate::numerics::{backward_error, Bcs, Boundary, ResidualStatistics, SolveStats};

mod mass_projection;
mod pcg;
mod single_kernels;
mod slot_sums;

use mass_projection::MassProjection;
use pcg::Krylov;

/// Pre- and post-smoothing sweeps (each red then black / black then red), as on the CPU.
const PRE_SWEEPS: usize = 2;
const POST_SWEEPS: usize = 2;
/// Largest coarsest level solved in workgroup memory: 4 bytes a cell, 16 KiB, WebGPU's default
/// `max_compute_workgroup_storage_size` (a multiple of WORKGROUP_1D: each invocation owns 16
/// cells). Grids whose sides are 2^k times an odd factor up to ~64 stay below it.
pub const COARSEST_MAX_CELLS: usize = 4096;
/// Sweeps on a coarsest level too large for workgroup memory (the CPU's `COARSEST_SWEEPS`).
pub const COARSEST_FALLBACK_SWEEPS: usize = 64;
/// Values of one residual-statistics record (Σ r², Σ b², Σ r, Σ |b|, Σ scale²).
/// f32 values of one residual-statistics record (r2, b2, r_sum, b_abs_sum, scale2).
pub const STATISTICS: usize = 5;
/// A cycle reducing the residual less than this counts as stalled (the CPU's STALL_FACTOR).
const STALL_FACTOR: f64 = 0.9;

/// Red-black SOR sweeps that solve the coarsest level. The slowest error mode is constant in y
/// and spans x with a Neumann wall on one side, like a line of 2nx + 1 cells: Gauss–Seidel needs
/// ~(2nx + 1)²/π² sweeps per e-fold, optimal SOR ~(2nx + 1)/(2π). 8 (2nx + 1) + 2 ny sweeps
/// give 10–20 e-folds on the 2–4 cells per side of the model's grids, with a margin for the
/// conductivity contrast; at least 32.
pub fn coarsest_sweeps(nx: usize, ny: usize) -> u32 {
    (8 * (2 * nx + 1) + 2 * ny).clamp(32, 4096) as u32
}

/// Optimal SOR factor 2/(1 + √(1 − ρ²)) for the Jacobi radius ρ = (1 + cos(π/(2nx + 1)))/2 of
/// that slowest mode (equal x and y weights, constant in y).
fn coarsest_relaxation(nx: usize) -> f64 {
    let rho = 0.5 * (1.0 + (std::f64::consts::PI / (2 * nx + 1) as f64).cos());
    2.0 / (1.0 + (1.0 - rho * rho).sqrt())
}

const SHADER: &str = include_str!("../../../shaders/multigrid.wgsl");

/// The `Level` uniform of the shader (field by field).
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct LevelUniform {
    nx: u32,
    ny: u32,
    nx_coarse: u32,
    ny_coarse: u32,
    inv_dx2: f32,
    colour: u32,
    finest: u32,
    count: u32,
    omega: f32,
    /// See [`GpuMultigrid::set_reference_offset`] (0 until set, and on coarse levels).
    reference_offset: f32,
    pad: [u32; 2],
}

/// The `Walls` uniform: conductance factor (2 Dirichlet, 0 Neumann) and value of each x wall.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
struct WallsUniform {
    factor_lo: f32,
    factor_hi: f32,
    value_lo: f32,
    value_hi: f32,
}

impl WallsUniform {
    fn of(bcs: Bcs) -> Self {
        let wall = |b: Boundary| match b {
            Boundary::Dirichlet(g) => (2.0, g),
            Boundary::Neumann => (0.0, 0.0),
        };
        let ((factor_lo, value_lo), (factor_hi, value_hi)) = (wall(bcs.x_lo), wall(bcs.x_hi));
        WallsUniform {
            factor_lo,
            factor_hi,
            value_lo,
            value_hi,
        }
    }
}

/// One residual-statistics record from its [`STATISTICS`] f32 values as the device writes them.
pub fn statistics_of(v: &[f32]) -> ResidualStatistics {
    ResidualStatistics {
        r2: f64::from(v[0]),
        b2: f64::from(v[1]),
        r_sum: f64::from(v[2]),
        b_abs_sum: f64::from(v[3]),
        scale2: f64::from(v[4]),
    }
}

/// Which record of the statistics buffer: before the cycles of a solve or after them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatisticsSlot {
    Start = 0,
    End = 1,
}

/// Residual statistics before and after a solve, as read back from the device (f32 sums).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SolveStatistics {
    pub start: ResidualStatistics,
    pub end: ResidualStatistics,
}

impl SolveStatistics {
    /// ||b − A u_end|| / ||b|| as the CPU's `SolveStats::residual_rel` (relative to the
    /// initial residual when b = 0).
    pub fn residual_rel(&self) -> f64 {
        let b = self.end.b2.sqrt();
        let reference = if b > 0.0 { b } else { self.start.r2.sqrt() };
        if reference > 0.0 {
            self.end.r2.sqrt() / reference
        } else {
            0.0
        }
    }

    /// ||b − A u_end|| / (||b|| + || |D| |u_end| ||), as `SolveStats::backward_error`.
    pub fn backward_error(&self) -> f64 {
        backward_error(&self.end)
    }

    /// |Σ (b − A u_end)| / Σ |b|: mass created or destroyed by an implicit conservative step
    /// (meaningful where a > 0).
    pub fn mass_defect_rel(&self) -> f64 {
        if self.end.b_abs_sum > 0.0 {
            self.end.r_sum.abs() / self.end.b_abs_sum
        } else {
            0.0
        }
    }
}

/// Device buffers of one level. On the finest level `u` and `f` belong to the caller and the
/// level's own stay one element long.
pub struct GpuLevel {
    pub nx: usize,
    pub ny: usize,
    pub dx: f64,
    pub a: wgpu::Buffer,
    /// (nx + 1) × ny x-face conductivities (rows 0 and nx: the walls).
    pub kx: wgpu::Buffer,
    pub ky: wgpu::Buffer,
    /// Error and its right-hand side on coarse levels.
    pub u: wgpu::Buffer,
    pub f: wgpu::Buffer,
    /// Residual of this level (restricted to the next level's f).
    pub r: wgpu::Buffer,
    /// `Level` uniforms for colour 0 and colour 1.
    uniforms: [wgpu::Buffer; 2],
}

/// Bind groups of the kernels that read or write one level's u and f.
struct StencilGroups {
    smooth: [wgpu::BindGroup; 2],
    residual: wgpu::BindGroup,
    /// prolong_bilinear from the next coarser level into this u (None on the coarsest).
    prolong: Option<wgpu::BindGroup>,
    coarsest: Option<wgpu::BindGroup>,
    statistics: Option<wgpu::BindGroup>,
}

struct Pipelines {
    face_coefficients: wgpu::ComputePipeline,
    restrict_face_coefficients: wgpu::ComputePipeline,
    restrict_full_weighting: wgpu::ComputePipeline,
    prolong_bilinear: wgpu::ComputePipeline,
    smooth_red_black: wgpu::ComputePipeline,
    residual: wgpu::ComputePipeline,
    residual_statistics: wgpu::ComputePipeline,
    residual_statistics_finish: wgpu::ComputePipeline,
    coarsest_solve: wgpu::ComputePipeline,
    apply_operator: wgpu::ComputePipeline,
    dot: wgpu::ComputePipeline,
    dot_finish: wgpu::ComputePipeline,
    residual_sum: wgpu::ComputePipeline,
    operator_sum: wgpu::ComputePipeline,
    mass_projection_scale: wgpu::ComputePipeline,
    add_scaled: wgpu::ComputePipeline,
    pcg_beta: wgpu::ComputePipeline,
    pcg_alpha: wgpu::ComputePipeline,
    scale_and_add: wgpu::ComputePipeline,
    pcg_update: wgpu::ComputePipeline,
}

/// Geometric multigrid on the device; see the module documentation.
pub struct GpuMultigrid {
    ctx: &'static GpuContext,
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
    partials: wgpu::Buffer,
    statistics: [wgpu::Buffer; 2],
    statistics_finish: [wgpu::BindGroup; 2],
    stats_workgroups: (u32, u32),
    /// `Level` uniform of the finest level with `count` = workgroups of its reductions.
    reduction: wgpu::Buffer,
    krylov: Option<Krylov>,
    /// See [`GpuMultigrid::conserve_mass`].
    mass_projection: Option<MassProjection>,
}

impl GpuMultigrid {
    /// Allocates every level's buffers for an `nx × ny` grid of cell size `dx`.
    pub fn new(ctx: &'static GpuContext, nx: usize, ny: usize, dx: f64) -> GpuMultigrid {
        assert!(nx >= 1 && ny >= 1, "multigrid needs at least one cell");
        let mut dims = vec![(nx, ny, dx)];
        while let Some(&(n, m, h)) = dims.last() {
            if n % 2 != 0 || m % 2 != 0 || n < 4 || m < 4 {
                break;
            }
            dims.push((n / 2, m / 2, 2.0 * h));
        }
        let module = ctx.shader("multigrid", &shader_source());
        let p = |entry: &str| ctx.pipeline(&module, entry);
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
        let stats_workgroups = grid_workgroups(nx, ny);
        let last = dims.len() - 1;
        let levels: Vec<GpuLevel> = dims
            .iter()
            .enumerate()
            .map(|(l, &(n, m, h))| {
                let (nc, mc) = dims.get(l + 1).map_or((0, 0), |&(a, b, _)| (a, b));
                let count = if l == last { coarsest_sweeps(n, m) } else { 0 };
                let uniform = |colour: u32| LevelUniform {
                    nx: n as u32,
                    ny: m as u32,
                    nx_coarse: nc as u32,
                    ny_coarse: mc as u32,
                    inv_dx2: (1.0 / (h * h)) as f32,
                    colour,
                    finest: u32::from(l == 0),
                    count,
                    omega: coarsest_relaxation(n) as f32,
                    reference_offset: 0.0,
                    pad: [0; 2],
                };
                let own = if l == 0 { 1 } else { n * m };
                GpuLevel {
                    nx: n,
                    ny: m,
                    dx: h,
                    a: zeroed_buffer(ctx, "multigrid a", n * m),
                    kx: zeroed_buffer(ctx, "multigrid kx", (n + 1) * m),
                    ky: zeroed_buffer(ctx, "multigrid ky", n * m),
                    u: zeroed_buffer(ctx, "multigrid u", own),
                    f: zeroed_buffer(ctx, "multigrid f", own),
                    r: zeroed_buffer(ctx, "multigrid r", n * m),
                    uniforms: [0, 1].map(|c| uniform_buffer(ctx, "multigrid level", &uniform(c))),
                }
            })
            .collect();
        // The finishing reductions read the number of partial sums from `count`, which on a
        // single-level grid the coarsest level's sweeps would occupy: a uniform of their own.
        let reduction = uniform_buffer(
            ctx,
            "multigrid reduction",
            &LevelUniform {
                nx: nx as u32,
                ny: ny as u32,
                nx_coarse: 0,
                ny_coarse: 0,
                inv_dx2: (1.0 / (dx * dx)) as f32,
                colour: 0,
                finest: 1,
                count: stats_workgroups.0 * stats_workgroups.1,
                omega: 1.0,
                reference_offset: 0.0,
                pad: [0; 2],
            },
        );
        let walls = uniform_buffer(ctx, "multigrid walls", &WallsUniform::of(neumann()));
        let groups = stats_workgroups.0 as usize * stats_workgroups.1 as usize;
        let partials = zeroed_buffer(ctx, "multigrid partials", groups * STATISTICS);
        let statistics = [0, 1].map(|_| zeroed_buffer(ctx, "multigrid statistics", STATISTICS));
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
                &[&fine.kx, &fine.ky, &coarse.kx, &coarse.ky, un],
            ));
        }
        let mut mg = GpuMultigrid {
            ctx,
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

    /// The buffers of level `l` (0 the finest), for tests and diagnostics.
    pub fn level(&self, l: usize) -> &GpuLevel {
        &self.levels[l]
    }

    /// The CPU's `Multigrid::set_reference_offset`: for a u that stores v − `offset` (the
    /// concentration as c/c0 − 1), the residual statistics measure ‖b‖ and Σ |b| against v's
    /// right-hand side f + a·offset, walls at g + offset, so that `residual_rel` (and the
    /// backward error) mean what they mean for v's equation; r is the same for u and v. Written
    /// into the finest level's uniforms (queued before the next submit).
    pub fn set_reference_offset(&mut self, offset: Real) {
        let at = std::mem::offset_of!(LevelUniform, reference_offset) as u64;
        for uniform in &self.levels[0].uniforms {
            self.ctx
                .queue
                .write_buffer(uniform, at, bytemuck::bytes_of(&offset));
        }
    }

    /// Records: a (≥ 0, nx·ny cells) copied to the finest level, harmonic face conductivities
    /// of k (> 0), then the coarse levels' a and face coefficients. `a` may be filled by an
    /// earlier kernel of the same encoder (e.g. 1/dt computed on the device).
    pub fn set_coefficients(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        a: &wgpu::Buffer,
        k: &wgpu::Buffer,
    ) {
        let fine = &self.levels[0];
        let cells = (fine.nx * fine.ny * 4) as u64;
        encoder.copy_buffer_to_buffer(a, 0, &fine.a, 0, cells);
        let k_group = self.k_group(k);
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("multigrid coefficients"),
            timestamp_writes: None,
        });
        let fine = &self.levels[0];
        dispatch(
            &mut pass,
            &self.pipelines.face_coefficients,
            &k_group,
            grid_workgroups(fine.nx + 1, fine.ny),
        );
        for l in 0..self.levels.len() - 1 {
            let coarse = &self.levels[l + 1];
            let (nc, mc) = (coarse.nx, coarse.ny);
            let fw = &self.pipelines.restrict_full_weighting;
            dispatch(&mut pass, fw, &self.restrict_a[l], grid_workgroups(nc, mc));
            let rf = &self.pipelines.restrict_face_coefficients;
            let group = &self.restrict_faces[l];
            dispatch(&mut pass, rf, group, grid_workgroups(nc + 1, mc));
        }
    }

    /// Records `cycles` V(2,2) cycles on `u` (warm start) for right-hand side `f`, then, after
    /// [`GpuMultigrid::conserve_mass`], the mass projection; no host read-back.
    pub fn encode_solve(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        u: &wgpu::Buffer,
        f: &wgpu::Buffer,
        bcs: Bcs,
        cycles: u32,
    ) {
        for _ in 0..cycles {
            self.encode_v_cycle(encoder, u, f, bcs);
        }
        if self.mass_projection.is_some() {
            self.encode_mass_projection(encoder, u, f, bcs);
        }
    }

    /// [`GpuMultigrid::encode_solve`] between two residual-statistics records (start, end), so
    /// that [`GpuMultigrid::read_statistics`] gives this solve's relative residual after the
    /// submit. Two extra passes over the finest level: for the steps that write a metrics row.
    pub fn encode_solve_with_statistics(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        u: &wgpu::Buffer,
        f: &wgpu::Buffer,
        bcs: Bcs,
        cycles: u32,
    ) {
        self.encode_residual_statistics(encoder, u, f, bcs, StatisticsSlot::Start);
        self.encode_solve(encoder, u, f, bcs, cycles);
        self.encode_residual_statistics(encoder, u, f, bcs, StatisticsSlot::End);
    }

    /// Records one V(2,2) cycle: down the levels smoothing and restricting residuals, the
    /// coarsest solve, back up adding bilinear corrections and smoothing (the CPU's
    /// `Hierarchy::v_cycle`, dispatch for loop iteration).
    pub fn encode_v_cycle(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        u: &wgpu::Buffer,
        f: &wgpu::Buffer,
        bcs: Bcs,
    ) {
        self.encode_walls(encoder, bcs);
        let fine = self.fine_group_index(u, f);
        self.encode_cycle_from(encoder, 0, fine);
    }

    /// The V-cycle of levels `first`.. (the CPU's `Hierarchy::cycle_from`): level `first`'s u
    /// is the caller's (finest level, `fine` its bind groups) or its own, cleared here with
    /// those below it; the walls uniform must already hold the conditions.
    fn encode_cycle_from(&self, encoder: &mut wgpu::CommandEncoder, first: usize, fine: usize) {
        for level in &self.levels[first.max(1)..] {
            encoder.clear_buffer(&level.u, 0, None);
        }
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("multigrid V-cycle"),
            timestamp_writes: None,
        });
        let n = self.levels.len();
        for l in first..n - 1 {
            let groups = self.groups(l, fine);
            for _ in 0..PRE_SWEEPS {
                self.sweep(&mut pass, l, groups, [0, 1]);
            }
            let level = &self.levels[l];
            let wg = grid_workgroups(level.nx, level.ny);
            dispatch(&mut pass, &self.pipelines.residual, &groups.residual, wg);
            let coarse = &self.levels[l + 1];
            dispatch(
                &mut pass,
                &self.pipelines.restrict_full_weighting,
                &self.restrict_residual[l],
                grid_workgroups(coarse.nx, coarse.ny),
            );
        }
        self.coarsest(&mut pass, self.groups(n - 1, fine), n - 1);
        for l in (first..n - 1).rev() {
            let groups = self.groups(l, fine);
            let level = &self.levels[l];
            let prolong = groups
                .prolong
                .as_ref()
                .expect("fine level has a coarser one");
            let wg = grid_workgroups(level.nx, level.ny);
            dispatch(&mut pass, &self.pipelines.prolong_bilinear, prolong, wg);
            for _ in 0..POST_SWEEPS {
                self.sweep(&mut pass, l, groups, [1, 0]);
            }
        }
    }

    /// Records the residual statistics of `u` on the finest level (the CPU's
    /// `residual_statistics`, f32 sums) into record `slot` of the statistics buffer.
    pub fn encode_residual_statistics(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        u: &wgpu::Buffer,
        f: &wgpu::Buffer,
        bcs: Bcs,
        slot: StatisticsSlot,
    ) {
        self.encode_walls(encoder, bcs);
        let fine = self.fine_group_index(u, f);
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("multigrid residual statistics"),
            timestamp_writes: None,
        });
        let group = self.fine_groups[fine].2.statistics.as_ref();
        dispatch(
            &mut pass,
            &self.pipelines.residual_statistics,
            group.expect("finest level has statistics"),
            self.stats_workgroups,
        );
        dispatch(
            &mut pass,
            &self.pipelines.residual_statistics_finish,
            &self.statistics_finish[slot as usize],
            (1, 1),
        );
    }

    /// The statistics buffer of `slot` (STATISTICS f32 values), for callers that copy it into
    /// their own staging buffer.
    pub fn statistics_buffer(&self, slot: StatisticsSlot) -> &wgpu::Buffer {
        &self.statistics[slot as usize]
    }

    /// Reads both statistics records back (blocking: submits a copy and waits).
    pub fn read_statistics(&self) -> SolveStatistics {
        let read = |slot: usize| {
            let v: Vec<f32> = read_back(self.ctx, &self.statistics[slot], STATISTICS);
            statistics_of(&v)
        };
        SolveStatistics {
            start: read(0),
            end: read(1),
        }
    }

    /// Blocking solve with the CPU's stop test: V-cycles until the relative residual
    /// ||b − A u|| / ||b|| ≤ `tol`, at most `max_cycles`, stopping after two stalled cycles (the
    /// f32 floor), then, after [`GpuMultigrid::conserve_mass`], the mass projection (as the
    /// CPU's `Multigrid::solve`; `mass_defect_rel` is then the f32 |Σ r| / Σ |b| after it, else
    /// 0). The CPU's switch to PCG on slow cycles is not made: call
    /// [`GpuMultigrid::encode_pcg`]. Reads back after each cycle: for tests and one-off solves,
    /// not steps.
    pub fn solve(
        &mut self,
        u: &wgpu::Buffer,
        f: &wgpu::Buffer,
        bcs: Bcs,
        tol: f64,
        max_cycles: u32,
    ) -> SolveStats {
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        self.encode_residual_statistics(&mut encoder, u, f, bcs, StatisticsSlot::Start);
        self.encode_residual_statistics(&mut encoder, u, f, bcs, StatisticsSlot::End);
        self.ctx.queue.submit([encoder.finish()]);
        let first = self.read_statistics();
        let mut stats = SolveStats {
            residual_rel: first.residual_rel(),
            backward_error: first.backward_error(),
            ..Default::default()
        };
        let mut stalled = 0;
        while stats.residual_rel > tol && stats.cycles < max_cycles && stalled < 2 {
            let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
            self.encode_v_cycle(&mut encoder, u, f, bcs);
            self.encode_residual_statistics(&mut encoder, u, f, bcs, StatisticsSlot::End);
            self.ctx.queue.submit([encoder.finish()]);
            let now = self.read_statistics();
            let rel = now.residual_rel();
            let factor = if stats.residual_rel > 0.0 {
                rel / stats.residual_rel
            } else {
                0.0
            };
            stats.cycles += 1;
            if stats.cycles == 1 {
                stats.history_first_factor = factor;
            }
            stats.residual_rel = rel;
            stats.backward_error = now.backward_error();
            stalled = if factor > STALL_FACTOR {
                stalled + 1
            } else {
                0
            };
        }
        if self.mass_projection.is_some() {
            let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
            self.encode_mass_projection(&mut encoder, u, f, bcs);
            self.encode_residual_statistics(&mut encoder, u, f, bcs, StatisticsSlot::End);
            self.ctx.queue.submit([encoder.finish()]);
            let now = self.read_statistics();
            stats.residual_rel = now.residual_rel();
            stats.backward_error = now.backward_error();
            stats.mass_defect_rel = now.mass_defect_rel();
        }
        stats.converged = stats.residual_rel <= tol;
        stats
    }

    /// Copies the wall conditions into the `walls` uniform inside the command stream.
    fn encode_walls(&mut self, encoder: &mut wgpu::CommandEncoder, bcs: Bcs) {
        let value = WallsUniform::of(bcs);
        let index = match self.wall_sources.iter().position(|(w, _)| *w == value) {
            Some(n) => n,
            None => {
                let buffer = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("multigrid walls source"),
                    size: std::mem::size_of::<WallsUniform>() as u64,
                    usage: wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: true,
                });
                buffer
                    .slice(..)
                    .get_mapped_range_mut()
                    .expect("mapped at creation")
                    .copy_from_slice(bytemuck::bytes_of(&value));
                buffer.unmap();
                self.wall_sources.push((value, buffer));
                self.wall_sources.len() - 1
            }
        };
        let size = std::mem::size_of::<WallsUniform>() as u64;
        encoder.copy_buffer_to_buffer(&self.wall_sources[index].1, 0, &self.walls, 0, size);
    }

    /// Index into `fine_groups` for the caller's (u, f), building the bind groups once.
    fn fine_group_index(&mut self, u: &wgpu::Buffer, f: &wgpu::Buffer) -> usize {
        if let Some(n) = self
            .fine_groups
            .iter()
            .position(|(bu, bf, _)| bu == u && bf == f)
        {
            return n;
        }
        let groups = self.stencil_groups(0, u, f);
        self.fine_groups.push((u.clone(), f.clone(), groups));
        self.fine_groups.len() - 1
    }

    fn k_group(&mut self, k: &wgpu::Buffer) -> wgpu::BindGroup {
        if let Some((_, g)) = self.k_groups.iter().find(|(b, _)| b == k) {
            return g.clone();
        }
        let fine = &self.levels[0];
        let group = bind_group(
            self.ctx,
            "face_coefficients",
            &self.pipelines.face_coefficients,
            &[k, &fine.kx, &fine.ky, &fine.uniforms[0]],
        );
        self.k_groups.push((k.clone(), group.clone()));
        group
    }

    /// The stencil bind groups of level `l` with the given u and f.
    fn stencil_groups(&self, l: usize, u: &wgpu::Buffer, f: &wgpu::Buffer) -> StencilGroups {
        let (ctx, p) = (self.ctx, &self.pipelines);
        let level = &self.levels[l];
        let (a, kx, ky, w) = (&level.a, &level.kx, &level.ky, &self.walls);
        let [un0, un1] = &level.uniforms;
        let last = l + 1 == self.levels.len();
        let stencil = |pipeline, un, extra: Option<&wgpu::Buffer>| {
            let mut buffers = vec![u, f, a, kx, ky, w, un];
            buffers.extend(extra);
            bind_group(ctx, "multigrid stencil", pipeline, &buffers)
        };
        StencilGroups {
            smooth: [
                stencil(&p.smooth_red_black, un0, None),
                stencil(&p.smooth_red_black, un1, None),
            ],
            residual: stencil(&p.residual, un0, Some(&level.r)),
            prolong: (!last).then(|| {
                bind_group(
                    ctx,
                    "prolong_bilinear",
                    &p.prolong_bilinear,
                    &[&self.levels[l + 1].u, u, w, un0],
                )
            }),
            coarsest: (last && level.nx * level.ny <= COARSEST_MAX_CELLS)
                .then(|| stencil(&p.coarsest_solve, un0, None)),
            statistics: (l == 0)
                .then(|| stencil(&p.residual_statistics, un0, Some(&self.partials))),
        }
    }

    fn groups(&self, l: usize, fine: usize) -> &StencilGroups {
        if l == 0 {
            &self.fine_groups[fine].2
        } else {
            &self.coarse_groups[l - 1]
        }
    }

    /// One Gauss–Seidel sweep of level `l`, colours in the given order.
    fn sweep(&self, pass: &mut wgpu::ComputePass, l: usize, g: &StencilGroups, order: [usize; 2]) {
        let level = &self.levels[l];
        let wg = grid_workgroups(level.nx, level.ny);
        for colour in order {
            dispatch(
                pass,
                &self.pipelines.smooth_red_black,
                &g.smooth[colour],
                wg,
            );
        }
    }

    /// Solves the coarsest level (index `l`) for its u.
    fn coarsest(&self, pass: &mut wgpu::ComputePass, g: &StencilGroups, l: usize) {
        match &g.coarsest {
            Some(group) => dispatch(pass, &self.pipelines.coarsest_solve, group, (1, 1)),
            None => {
                for _ in 0..COARSEST_FALLBACK_SWEEPS {
                    self.sweep(pass, l, g, [0, 1]);
                }
            }
        }
    }
}

fn dispatch(
    pass: &mut wgpu::ComputePass,
    pipeline: &wgpu::ComputePipeline,
    group: &wgpu::BindGroup,
    (x, y): (u32, u32),
) {
    pass.set_pipeline(pipeline);
    pass.set_bind_group(0, group, &[]);
    pass.dispatch_workgroups(x, y, 1);
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

/// shaders/multigrid.wgsl with the constants this file owns prepended.
fn shader_source() -> String {
    assert_eq!(COARSEST_MAX_CELLS % WORKGROUP_1D as usize, 0);
    format!(
        "const COARSEST_MAX_CELLS: u32 = {COARSEST_MAX_CELLS}u;\nconst STATISTICS: u32 = {STATISTICS}u;\n{SHADER}"
    )
}
