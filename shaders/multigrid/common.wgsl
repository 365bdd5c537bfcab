// Geometric multigrid for a u − ∇·(k ∇u) = f on the cell-centred grid: the WGSL twins of
// src/backend/cpu/multigrid/kernels.rs, same names, bindings in the CPU argument order (uniforms last).
//
// Fields are f32, row-major, cell (i, j) at i * ny + j; i runs along x (walls at both ends), j
// along the periodic y. 2D kernels take global_id.x → j, global_id.y → i (buffers::grid_workgroups).
// kx_faces has (nx + 1) rows: row i is the face between cells i − 1 and i, rows 0 and nx the walls.
// ky_faces row i, column j is the face between cells j − 1 and j (periodic).
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
// src/backend/gpu/multigrid/mod.rs, which prepends COARSEST_MAX_CELLS and STATISTICS: this file
// holds the uniforms, the helpers and the five-point operator that the kernel families share.

struct Level {
    nx: u32,
    ny: u32,
    // Size of the next coarser level (0 on the coarsest).
    nx_coarse: u32,
    ny_coarse: u32,
    // 1/Δx² of this level, computed in f64 and rounded once, as on the CPU.
    inv_dx2: f32,
    // Red-black colour of smooth_red_black: cells with (i + j) mod 2 = colour.
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
    pad1: u32,
    pad2: u32,
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
// The five-point operator shared by smooth_red_black, residual, residual_statistics and
// coarsest_solve: bindings u, f, a, kx_faces, ky_faces, bcs, level (dx), then the output.

@group(0) @binding(0) var<storage, read_write> u: array<f32>;
@group(0) @binding(1) var<storage, read> f: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> kx_faces: array<f32>;
@group(0) @binding(4) var<storage, read> ky_faces: array<f32>;
@group(0) @binding(5) var<uniform> walls: Walls;
@group(0) @binding(6) var<uniform> level: Level;

// (Σ w (u_nb − u), Σ w) at cell (i, j), walls as faces to a fixed value: RowStencil::balance,
// in the same order of operations (south, north, then west, east).
struct Balance {
    flux: f32,
    diag: f32,
}

fn balance(i: u32, j: u32) -> Balance {
    let nx = level.nx;
    let ny = level.ny;
    let inv_dx2 = level.inv_dx2;
    let c = i * ny + j;
    let uc = u[c];
    let jm = select(j - 1u, ny - 1u, j == 0u);
    let jp = select(j + 1u, 0u, j + 1u == ny);
    let ws = ky_faces[c] * inv_dx2;
    let wn = ky_faces[i * ny + jp] * inv_dx2;
    var flux = ws * (u[i * ny + jm] - uc) + wn * (u[i * ny + jp] - uc);
    var diag = ws + wn;
    let k_west = kx_faces[c];
    let k_east = kx_faces[c + ny];
    var w: f32;
    var u_nb: f32;
    if (i == 0u) {
        w = walls.factor_lo * k_west * inv_dx2;
        u_nb = wall_value(walls, level, false);
    } else {
        w = k_west * inv_dx2;
        u_nb = u[c - ny];
    }
    flux += w * (u_nb - uc);
    diag += w;
    if (i + 1u == nx) {
        w = walls.factor_hi * k_east * inv_dx2;
        u_nb = wall_value(walls, level, true);
    } else {
        w = k_east * inv_dx2;
        u_nb = u[c + ny];
    }
    flux += w * (u_nb - uc);
    diag += w;
    return Balance(flux, diag);
}
