//! The level hierarchy: each level's device buffers and `Level` uniforms (the CPU's levels:
//! halve every axis of the dimension while all are even and at least 4), the coarsest level's
//! sweeps, the coefficients a and k restricted down the levels, the `Walls` uniform and the bind
//! groups of each level's stencil kernels.

use super::GpuMultigrid;
use crate::backend::gpu::buffers::{
    bind_group, grid_workgroups, layer_workgroups, uniform_buffer, zeroed_buffer,
};
use crate::backend::gpu::context::GpuContext;
use crate::grid::Grid;
use crate::grid::Real;
use crate::numerics::multigrid_levels;
use crate::numerics::{Bcs, Boundary};

/// Largest coarsest level solved in workgroup memory: 4 bytes a cell, 16 KiB, WebGPU's default
/// `max_compute_workgroup_storage_size` (a multiple of WORKGROUP_1D: each invocation owns 16
/// cells). Grids whose sides are 2^k times an odd factor up to ~64 stay below it.
pub const COARSEST_MAX_CELLS: usize = 4096;
/// Sweeps on a coarsest level too large for workgroup memory (the CPU's `COARSEST_SWEEPS`).
pub const COARSEST_FALLBACK_SWEEPS: usize = 64;

/// Red-black SOR sweeps that solve the coarsest level. The slowest error mode is constant in y
/// (and z) and spans x with a Neumann wall on one side, like a line of 2nx + 1 cells:
/// Gauss–Seidel needs ~(2nx + 1)²/π² sweeps per e-fold, optimal SOR ~(2nx + 1)/(2π).
/// 8 (2nx + 1) + 2 ny sweeps give 10–20 e-folds on the 2–4 cells per side of the model's grids,
/// with a margin for the conductivity contrast; at least 32. A 3D level passes ny + nz − 1 as
/// `ny` ([`coarsest_sweeps_of`]).
pub fn coarsest_sweeps(nx: usize, ny: usize) -> u32 {
    (8 * (2 * nx + 1) + 2 * ny).clamp(32, 4096) as u32
}

/// [`coarsest_sweeps`] of a coarsest level `grid`, 2D or 3D: the lateral margin counts the
/// cells along y and z (ny + nz − 1; ny in 2D).
pub fn coarsest_sweeps_of(grid: Grid) -> u32 {
    coarsest_sweeps(grid.nx, grid.ny + grid.nz - 1)
}

/// Optimal SOR factor 2/(1 + √(1 − ρ²)) for the Jacobi radius ρ = (1 + cos(π/(2nx + 1)))/2 of
/// that slowest mode (equal x and y weights, constant in y).
fn coarsest_relaxation(nx: usize) -> f64 {
    let rho = 0.5 * (1.0 + (std::f64::consts::PI / (2 * nx + 1) as f64).cos());
    2.0 / (1.0 + (1.0 - rho * rho).sqrt())
}

/// The `Level` uniform of the shader (field by field; 48 bytes, a multiple of 16).
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
    /// z extent of the level and of the next coarser one (1 in 2D, 0 past the coarsest).
    nz: u32,
    nz_coarse: u32,
}

const _: () = assert!(std::mem::size_of::<LevelUniform>().is_multiple_of(16));

impl LevelUniform {
    /// The uniform of level `grid` above `coarse` (None on the coarsest).
    fn of(grid: Grid, coarse: Option<Grid>) -> Self {
        let (nxc, nyc, nzc) = coarse.map_or((0, 0, 0), |c| (c.nx, c.ny, c.nz));
        LevelUniform {
            nx: grid.nx as u32,
            ny: grid.ny as u32,
            nx_coarse: nxc as u32,
            ny_coarse: nyc as u32,
            inv_dx2: (1.0 / (grid.dx * grid.dx)) as f32,
            colour: 0,
            finest: 0,
            count: 0,
            omega: 1.0,
            reference_offset: 0.0,
            nz: grid.nz as u32,
            nz_coarse: nzc as u32,
        }
    }
}

/// The `Walls` uniform: conductance factor (2 Dirichlet, 0 Neumann) and value of each x wall.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub(super) struct WallsUniform {
    factor_lo: f32,
    factor_hi: f32,
    value_lo: f32,
    value_hi: f32,
}

impl WallsUniform {
    pub(super) fn of(bcs: Bcs) -> Self {
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

/// Device buffers of one level, in the grid's flat order (z fastest), one block per point of the
/// batch (point p's cells from p·nx·ny·nz, its x faces from p·(nx + 1)·ny·nz). On the finest
/// level `u` and `f` belong to the caller and the level's own stay one element long, as `kz` in
/// 2D.
pub struct GpuLevel {
    pub nx: usize,
    pub ny: usize,
    /// 1 in 2D.
    pub nz: usize,
    pub dx: f64,
    pub a: wgpu::Buffer,
    /// (nx + 1) layers of ny·nz x-face conductivities (layers 0 and nx: the walls).
    pub kx: wgpu::Buffer,
    /// The −y face of each cell (periodic).
    pub ky: wgpu::Buffer,
    /// The −z face of each cell (periodic); one unused element in 2D.
    pub kz: wgpu::Buffer,
    /// Error and its right-hand side on coarse levels.
    pub u: wgpu::Buffer,
    pub f: wgpu::Buffer,
    /// Residual of this level (restricted to the next level's f).
    pub r: wgpu::Buffer,
    /// `Level` uniforms for each smoothing colour ([`smoothing_colours`]: 0 and 1, more on a
    /// level with an odd periodic side).
    pub(super) uniforms: Vec<wgpu::Buffer>,
}

/// Bind groups of the kernels that read or write one level's u and f.
pub(super) struct StencilGroups {
    /// One per smoothing colour of the level.
    pub(super) smooth: Vec<wgpu::BindGroup>,
    pub(super) residual: wgpu::BindGroup,
    /// prolong_bilinear from the next coarser level into this u (None on the coarsest).
    pub(super) prolong: Option<wgpu::BindGroup>,
    pub(super) coarsest: Option<wgpu::BindGroup>,
    pub(super) statistics: Option<wgpu::BindGroup>,
}

/// Smoothing colours of a level (WGSL `smoothing_colour`): the two parities, times two for an
/// odd periodic y side and two for an odd z side in 3D, whose last planes get colours of their
/// own (only a coarsest level has an odd side).
pub fn smoothing_colours(g: Grid) -> u32 {
    let odd_y = g.ny % 2 == 1;
    let odd_z = g.nz > 1 && g.nz % 2 == 1;
    2 * if odd_y { 2 } else { 1 } * if odd_z { 2 } else { 1 }
}

impl GpuLevel {
    /// Every level's buffers for `grid` (2D when nz = 1) and `points` points, the finest first:
    /// the levels of [`multigrid_levels`], the plan the CPU multigrid follows too.
    pub(super) fn hierarchy(ctx: &GpuContext, grid: Grid, points: usize) -> Vec<GpuLevel> {
        let plan = multigrid_levels(grid);
        let last = plan.len() - 1;
        plan.iter()
            .enumerate()
            .map(|(l, &g)| {
                let cells = g.cells();
                let uniform = |colour: u32| LevelUniform {
                    colour,
                    finest: u32::from(l == 0),
                    count: if l == last { coarsest_sweeps_of(g) } else { 0 },
                    omega: coarsest_relaxation(g.nx) as f32,
                    ..LevelUniform::of(g, plan.get(l + 1).copied())
                };
                let faces = (g.nx + 1) * g.layer_cells() * points;
                let cells = cells * points;
                let own = if l == 0 { 1 } else { cells };
                GpuLevel {
                    nx: g.nx,
                    ny: g.ny,
                    nz: g.nz,
                    dx: g.dx,
                    a: zeroed_buffer(ctx, "multigrid a", cells),
                    kx: zeroed_buffer(ctx, "multigrid kx", faces),
                    ky: zeroed_buffer(ctx, "multigrid ky", cells),
                    kz: zeroed_buffer(ctx, "multigrid kz", if g.nz > 1 { cells } else { 1 }),
                    u: zeroed_buffer(ctx, "multigrid u", own),
                    f: zeroed_buffer(ctx, "multigrid f", own),
                    r: zeroed_buffer(ctx, "multigrid r", cells),
                    uniforms: (0..smoothing_colours(g))
                        .map(|c| uniform_buffer(ctx, "multigrid level", &uniform(c)))
                        .collect(),
                }
            })
            .collect()
    }

    /// The level's grid.
    pub fn grid(&self) -> Grid {
        Grid {
            nx: self.nx,
            ny: self.ny,
            nz: self.nz,
            dx: self.dx,
        }
    }

    /// nx·ny·nz (of one point).
    pub fn cells(&self) -> usize {
        self.nx * self.ny * self.nz
    }
}

/// The `Level` uniform of the finishing reductions of the finest level `grid`. They read the
/// number of partial sums of one point, `groups`, from `count`, which on a single-level grid the
/// coarsest level's sweeps would occupy: a uniform of their own.
pub(super) fn reduction_uniform(ctx: &GpuContext, grid: Grid, groups: u32) -> wgpu::Buffer {
    let uniform = LevelUniform {
        finest: 1,
        count: groups,
        ..LevelUniform::of(grid, None)
    };
    uniform_buffer(ctx, "multigrid reduction", &uniform)
}

impl GpuMultigrid {
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

    /// Records: a (≥ 0, one value per cell) copied to the finest level, harmonic face
    /// conductivities of k (> 0), then the coarse levels' a and face coefficients. `a` may be
    /// filled by an earlier kernel of the same encoder (e.g. 1/dt computed on the device). `a`
    /// and `k` hold one block of cells per point; the copy of a takes every point's block (a
    /// point that is not live keeps its own a, so this changes nothing for it), the kernels the
    /// live points'.
    pub fn set_coefficients(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        a: &wgpu::Buffer,
        k: &wgpu::Buffer,
    ) {
        let fine = &self.levels[0];
        let bytes = (fine.cells() * self.points.capacity() as usize * 4) as u64;
        encoder.copy_buffer_to_buffer(a, 0, &fine.a, 0, bytes);
        let k_group = self.k_group(k);
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("multigrid coefficients"),
            timestamp_writes: None,
        });
        // The face kernels: one invocation per x face, nx + 1 layers.
        let faces = |g: Grid| grid_workgroups(g.nx + 1, g.layer_cells());
        let fine = self.levels[0].grid();
        self.dispatch(
            &mut pass,
            &self.pipelines.face_coefficients,
            &k_group,
            faces(fine),
        );
        for l in 0..self.levels.len() - 1 {
            let coarse = self.levels[l + 1].grid();
            let fw = &self.pipelines.restrict_full_weighting;
            self.dispatch(&mut pass, fw, &self.restrict_a[l], layer_workgroups(coarse));
            let rf = &self.pipelines.restrict_face_coefficients;
            let group = &self.restrict_faces[l];
            self.dispatch(&mut pass, rf, group, faces(coarse));
        }
    }

    /// Copies the wall conditions into the `walls` uniform inside the command stream.
    pub(super) fn encode_walls(&mut self, encoder: &mut wgpu::CommandEncoder, bcs: Bcs) {
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
    pub(super) fn fine_group_index(&mut self, u: &wgpu::Buffer, f: &wgpu::Buffer) -> usize {
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
            &[k, &fine.kx, &fine.ky, &fine.kz, &fine.uniforms[0]],
        );
        self.k_groups.push((k.clone(), group.clone()));
        group
    }

    /// The stencil bind groups of level `l` with the given u and f.
    pub(super) fn stencil_groups(
        &self,
        l: usize,
        u: &wgpu::Buffer,
        f: &wgpu::Buffer,
    ) -> StencilGroups {
        let (ctx, p) = (self.ctx, &self.pipelines);
        let level = &self.levels[l];
        let (a, kx, ky, kz, w) = (&level.a, &level.kx, &level.ky, &level.kz, &self.walls);
        let un0 = &level.uniforms[0];
        let last = l + 1 == self.levels.len();
        let stencil = |pipeline, un, extra: Option<&wgpu::Buffer>| {
            let mut buffers = vec![u, f, a, kx, ky, kz, w, un];
            buffers.extend(extra);
            bind_group(ctx, "multigrid stencil", pipeline, &buffers)
        };
        StencilGroups {
            smooth: level
                .uniforms
                .iter()
                .map(|un| stencil(&p.smooth_red_black, un, None))
                .collect(),
            residual: stencil(&p.residual, un0, Some(&level.r)),
            prolong: (!last).then(|| {
                bind_group(
                    ctx,
                    "prolong_bilinear",
                    &p.prolong_bilinear,
                    &[&self.levels[l + 1].u, u, w, un0],
                )
            }),
            coarsest: (last && level.cells() <= COARSEST_MAX_CELLS)
                .then(|| stencil(&p.coarsest_solve, un0, None)),
            statistics: (l == 0)
                .then(|| stencil(&p.residual_statistics, un0, Some(&self.partials))),
        }
    }

    pub(super) fn groups(&self, l: usize, fine: usize) -> &StencilGroups {
        if l == 0 {
            &self.fine_groups[fine].2
        } else {
            &self.coarse_groups[l - 1]
        }
    }
}
