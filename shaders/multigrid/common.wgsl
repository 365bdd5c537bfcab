// Geometric multigrid for a u − ∇·(k ∇u) = f on the cell-centred grid: the WGSL twins of
// src/backend/cpu/multigrid/kernels.rs, same names, bindings in the CPU argument order (uniforms last).
//
// Fields are f32 in the grid rule of the prelude (GRID_RULE, src/backend/gpu/context.rs): cell
// (i, j, k) of an nx × ny × nz level at i·(ny·nz) + m with m = j·nz + k its index within the x
// layer; i runs along x (walls at both ends), j along the periodic y, k along the periodic z. A 2D
// level is nz = 1, the same code path. Kernels over a level take global_id.y → i and global_id.x →
// m (buffers::layer_workgroups). kx_faces has nx + 1 layers: layer i is the face between cell
// layers i − 1 and i, layers 0 and nx the walls. ky_faces and kz_faces hold one face per cell, the
// one on its −y (−z) side (periodic); kz_faces is a one-element placeholder in 2D (never read).
//
// Sizes and wall conditions come from two small uniform blocks created once per level
// (src/backend/gpu/multigrid/hierarchy.rs): `Level` (this level's size, the next coarser one,
// 1/Δx², the red-black colour, whether wall values apply) and `Walls` (kind and value of each x
// wall). The device is opened without the IMMEDIATES feature and a V-cycle is recorded once per
// step with no host work in between, so fixed uniforms (two per level, one per colour) are the
// simple fit; the wall values are copied into `Walls` inside the command stream, so solves with
// different conditions can share one submit.
//
// Several kernels declare different variables at the same binding number: each entry point's
// bind group layout is derived from the variables it uses, and no entry point uses two of them.
// The files of shaders/multigrid/ are joined into one module (this one first) by
// src/backend/gpu/multigrid/mod.rs, which prepends COARSEST_MAX_CELLS, STATISTICS, PCG_SCALARS
// and MASS_SCALARS: this file holds the uniforms, the helpers and the seven-point operator
// (five-point in 2D) that the kernel families share.
//
// The batch axis (points::POINTS_RULE of the prelude): every buffer holds one block per point of
// the batch, point p's element e of a buffer of L elements per point at p·L + e. Cell arrays
// (u, f, a, r, ky_faces, kz_faces, the PCG vectors) have L = the level's nx·ny·nz, x faces
// L = (nx + 1)·ny·nz, partials L = the workgroups of one point's reduction (× STATISTICS for
// residual_statistics), scalars L = their length per point (STATISTICS, PCG_SCALARS,
// MASS_SCALARS). Every entry point first calls select_point with its z layer (one layer of
// workgroups per live point); the uniforms (Level, Walls, Slot) are shared by all points, which
// have the same grid and walls.

struct Level {
    nx: u32,
    ny: u32,
    // Size of the next coarser level (0 on the coarsest).
    nx_coarse: u32,
    ny_coarse: u32,
    // 1/Δx² of this level, computed in f64 and rounded once, as on the CPU.
    inv_dx2: f32,
    // Red-black colour of smooth_red_black: cells with (i + j + k) mod 2 = colour.
    colour: u32,
    // 1 on the finest level (wall values apply), 0 on coarse levels (the error obeys
    // homogeneous conditions of the same kind).
    finest: u32,
    // Red-black sweeps of coarsest_solve; workgroups of residual_statistics on the finest level.
    count: u32,
    // Over-relaxation factor of coarsest_solve.
    omega: f32,
    // residual_statistics measures b for v = u + reference_offset (GpuMultigrid::
    // set_reference_offset): b = f + offset·a, walls at g + offset. 0 on coarse levels.
    reference_offset: f32,
    // z extent of this level and of the next coarser one (1 in 2D; 0 past the coarsest).
    nz: u32,
    nz_coarse: u32,
}

struct Walls {
    // Conductance factor of each x wall: 2 for Dirichlet (half a cell to the wall), 0 for Neumann.
    factor_lo: f32,
    factor_hi: f32,
    // Dirichlet values (ignored where the factor is 0).
    value_lo: f32,
    value_hi: f32,
}

fn harmonic(l: f32, r: f32) -> f32 {
    return 2.0 * l * r / (l + r);
}

fn wall_value(walls: Walls, level: Level, hi: bool) -> f32 {
    if (level.finest == 0u) {
        return 0.0;
    }
    return select(walls.value_lo, walls.value_hi, hi);
}

// Ghost value of a correction beyond a wall: −e₀ (Dirichlet) or +e₀ (Neumann).
fn ghost_sign(factor: f32) -> f32 {
    return select(1.0, -1.0, factor > 0.0);
}

// ---------------------------------------------------------------------------------------------
// The seven-point operator (five-point in 2D) shared by smooth_red_black, residual,
// residual_statistics and apply_operator: bindings u, f, a, kx_faces, ky_faces, kz_faces, bcs,
// level (dx), then the output.

@group(0) @binding(0) var<storage, read_write> u: array<f32>;
@group(0) @binding(1) var<storage, read> f: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> kx_faces: array<f32>;
@group(0) @binding(4) var<storage, read> ky_faces: array<f32>;
@group(0) @binding(5) var<storage, read> kz_faces: array<f32>;
@group(0) @binding(6) var<uniform> walls: Walls;
@group(0) @binding(7) var<uniform> level: Level;

// Cells per x layer of a level (ny·nz).
fn layer_cells(l: Level) -> u32 {
    return l.ny * l.nz;
}

// The start of the point's block of a cell array of level `l` (p·nx·ny·nz) and of its x faces
// (p·(nx + 1)·ny·nz).
fn cell_base(l: Level) -> u32 {
    return point * l.nx * l.ny * l.nz;
}

fn x_face_base(l: Level) -> u32 {
    return point * (l.nx + 1u) * l.ny * l.nz;
}

// The same for the next coarser level of `l`.
fn coarse_cell_base(l: Level) -> u32 {
    return point * l.nx_coarse * l.ny_coarse * l.nz_coarse;
}

fn coarse_x_face_base(l: Level) -> u32 {
    return point * (l.nx_coarse + 1u) * l.ny_coarse * l.nz_coarse;
}

// Red-black parity (i + j + k) mod 2 of the cell (i, m = j·nz + k), as the CPU colours it
// (kernels.rs: colour 0, red, first on the way down).
fn parity(i: u32, m: u32, nz: u32) -> u32 {
    return (i + m / nz + m % nz) % 2u;
}

// The smoothing colour of cell (i, m): its parity, except that along a periodic axis of odd
// extent (only a coarsest level has one) the wrap joins two cells of one parity, so the last
// plane of such an axis (j = ny − 1, or k = nz − 1 in 3D) gets colours of its own, two per plane
// kind (y wrap, z wrap, both): no cell is updated while a neighbour is. Colours 0 and 1 on a
// level with even periodic sides. `smoothing_colours` counts them.
fn smoothing_colour(i: u32, m: u32, ny: u32, nz: u32) -> u32 {
    let odd_y = ny % 2u == 1u;
    let odd_z = nz > 1u && nz % 2u == 1u;
    let classes_y = select(1u, 2u, odd_y);
    let y_wrap = odd_y && m / nz + 1u == ny;
    let z_wrap = odd_z && m % nz + 1u == nz;
    let kind = u32(y_wrap) + classes_y * u32(z_wrap);
    return 2u * kind + parity(i, m, nz);
}

// (Σ w (u_nb − u), Σ w) at cell (i, m) of the selected point, walls as faces to a fixed value:
// the CPU's LineStencil::balance (stencil.rs) in the same order of operations: the two faces
// along the cell's line (z in 3D, y in 2D), then west, east, then in 3D south, north across y
// (left out when ny = 1, where they would join the cell to itself, as on the CPU).
struct Balance {
    flux: f32,
    diag: f32,
}

fn balance(i: u32, m: u32) -> Balance {
    let nx = level.nx;
    let ny = level.ny;
    let nz = level.nz;
    let layer = ny * nz;
    let inv_dx2 = level.inv_dx2;
    // The point's blocks: cells (u, ky, kz) from `base`, x faces from `faces`.
    let base = cell_base(level);
    let faces = x_face_base(level);
    let row = i * layer;
    let c = row + m;
    let uc = u[base + c];
    let nb = lateral_neighbours(m, ny, nz);
    let three_d = nz > 1u;
    var line_minus = nb.y_minus;
    var line_plus = nb.y_plus;
    var ws: f32;
    var wn: f32;
    if (three_d) {
        line_minus = nb.z_minus;
        line_plus = nb.z_plus;
        ws = kz_faces[base + c] * inv_dx2;
        wn = kz_faces[base + row + nb.z_plus] * inv_dx2;
    } else {
        ws = ky_faces[base + c] * inv_dx2;
        wn = ky_faces[base + row + nb.y_plus] * inv_dx2;
    }
    var flux = ws * (u[base + row + line_minus] - uc) + wn * (u[base + row + line_plus] - uc);
    var diag = ws + wn;
    let k_west = kx_faces[faces + c];
    let k_east = kx_faces[faces + c + layer];
    var w: f32;
    var u_nb: f32;
    if (i == 0u) {
        w = walls.factor_lo * k_west * inv_dx2;
        u_nb = wall_value(walls, level, false);
    } else {
        w = k_west * inv_dx2;
        u_nb = u[base + layer_below(i) * layer + m];
    }
    flux += w * (u_nb - uc);
    diag += w;
    if (i + 1u == nx) {
        w = walls.factor_hi * k_east * inv_dx2;
        u_nb = wall_value(walls, level, true);
    } else {
        w = k_east * inv_dx2;
        u_nb = u[base + layer_above(i, nx) * layer + m];
    }
    flux += w * (u_nb - uc);
    diag += w;
    if (three_d && ny > 1u) {
        let w_south = ky_faces[base + c] * inv_dx2;
        let w_north = ky_faces[base + row + nb.y_plus] * inv_dx2;
        flux += w_south * (u[base + row + nb.y_minus] - uc);
        diag += w_south;
        flux += w_north * (u[base + row + nb.y_plus] - uc);
        diag += w_north;
    }
    return Balance(flux, diag);
}
