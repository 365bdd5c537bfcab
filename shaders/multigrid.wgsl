// Geometric multigrid for a u − ∇·(k ∇u) = f on the cell-centred grid: the WGSL twins of
// src/solver/multigrid_kernels.rs, same names, bindings in the CPU argument order (uniforms last).
//
// Fields are f32, row-major, cell (i, j) at i * ny + j; i runs along x (walls at both ends), j
// along the periodic y. 2D kernels take global_id.x → j, global_id.y → i (buffers::grid_workgroups).
// kx_faces has (nx + 1) rows: row i is the face between cells i − 1 and i, rows 0 and nx the walls.
// ky_faces row i, column j is the face between cells j − 1 and j (periodic).
//
// Sizes and wall conditions come from two small uniform blocks created once per level
// (src/backend/gpu/multigrid.rs): `Level` (this level's size, the next coarser one, 1/Δx², the
// red-black colour, whether wall values apply) and `Walls` (kind and value of each x wall). The
// device is opened without the IMMEDIATES feature and a V-cycle is recorded once per step with
// no host work in between, so fixed uniforms (two per level, one per colour) are the simple fit;
// the wall values are copied into `Walls` inside the command stream, so solves with different
// conditions can share one submit.
//
// Several kernels declare different variables at the same binding number: each entry point's
// bind group layout is derived from the variables it uses, and no entry point uses two of them.
// COARSEST_MAX_CELLS and STATISTICS are prepended by multigrid.rs.

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
// face_coefficients(k, kx_faces, ky_faces)

@group(0) @binding(0) var<storage, read> fc_k: array<f32>;
@group(0) @binding(1) var<storage, read_write> fc_kx: array<f32>;
@group(0) @binding(2) var<storage, read_write> fc_ky: array<f32>;
@group(0) @binding(3) var<uniform> fc_level: Level;

// k_f = 2 k_L k_R/(k_L + k_R); the wall faces take the cell's k. One invocation per x face
// (nx + 1 rows), which also writes the y face of its cell.
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn face_coefficients(@builtin(global_invocation_id) id: vec3<u32>) {
    let j = id.x;
    let i = id.y;
    let nx = fc_level.nx;
    let ny = fc_level.ny;
    if (j >= ny || i > nx) {
        return;
    }
    if (i == 0u || i == nx) {
        fc_kx[i * ny + j] = fc_k[min(i, nx - 1u) * ny + j];
    } else {
        fc_kx[i * ny + j] = harmonic(fc_k[(i - 1u) * ny + j], fc_k[i * ny + j]);
    }
    if (i < nx) {
        fc_ky[i * ny + j] = harmonic(fc_k[i * ny + (j + ny - 1u) % ny], fc_k[i * ny + j]);
    }
}

// ---------------------------------------------------------------------------------------------
// restrict_face_coefficients(kx_fine, ky_fine, kx_coarse, ky_coarse)

@group(0) @binding(0) var<storage, read> rf_kx_fine: array<f32>;
@group(0) @binding(1) var<storage, read> rf_ky_fine: array<f32>;
@group(0) @binding(2) var<storage, read_write> rf_kx_coarse: array<f32>;
@group(0) @binding(3) var<storage, read_write> rf_ky_coarse: array<f32>;
@group(0) @binding(4) var<uniform> rf_level: Level;

// Fine x face conductivity across the coarse x face ic, fine column jf: ¼ behind + ½ on + ¼
// ahead; a wall face ½ (k_wall + k_first).
fn rf_across_x(ic: u32, jf: u32) -> f32 {
    let nyf = rf_level.ny;
    let nxf = rf_level.nx;
    if (ic == 0u) {
        return 0.5 * (rf_kx_fine[jf] + rf_kx_fine[nyf + jf]);
    }
    if (ic == rf_level.nx_coarse) {
        return 0.5 * (rf_kx_fine[nxf * nyf + jf] + rf_kx_fine[(nxf - 1u) * nyf + jf]);
    }
    return 0.25 * rf_kx_fine[(2u * ic - 1u) * nyf + jf] + 0.5 * rf_kx_fine[2u * ic * nyf + jf]
        + 0.25 * rf_kx_fine[(2u * ic + 1u) * nyf + jf];
}

fn rf_across_y(i_f: u32, jc: u32) -> f32 {
    let nyf = rf_level.ny;
    let row = i_f * nyf;
    return 0.25 * rf_ky_fine[row + (2u * jc + nyf - 1u) % nyf] + 0.5 * rf_ky_fine[row + 2u * jc]
        + 0.25 * rf_ky_fine[row + (2u * jc + 1u) % nyf];
}

// Coarse K matching the energy Σ k_f |∇(P e)|² of a bilinearly prolonged correction: across the
// face ¼, ½, ¼ of the fine faces behind, on and ahead; along it the mean of the 2 fine rows.
// One invocation per coarse x face (nx_coarse + 1 rows), which also writes its cell's y face.
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn restrict_face_coefficients(@builtin(global_invocation_id) id: vec3<u32>) {
    let jc = id.x;
    let ic = id.y;
    let nxc = rf_level.nx_coarse;
    let nyc = rf_level.ny_coarse;
    if (jc >= nyc || ic > nxc) {
        return;
    }
    rf_kx_coarse[ic * nyc + jc] = 0.5 * (rf_across_x(ic, 2u * jc) + rf_across_x(ic, 2u * jc + 1u));
    if (ic < nxc) {
        rf_ky_coarse[ic * nyc + jc] = 0.5 * (rf_across_y(2u * ic, jc) + rf_across_y(2u * ic + 1u, jc));
    }
}

// ---------------------------------------------------------------------------------------------
// restrict_full_weighting(fine, coarse)

@group(0) @binding(0) var<storage, read> fw_fine: array<f32>;
@group(0) @binding(1) var<storage, read_write> fw_coarse: array<f32>;
@group(0) @binding(2) var<uniform> fw_level: Level;

// coarse = ¼ Σ of the 4 children (the level uniform is the fine level's).
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn restrict_full_weighting(@builtin(global_invocation_id) id: vec3<u32>) {
    let jc = id.x;
    let ic = id.y;
    let nyf = fw_level.ny;
    if (jc >= fw_level.ny_coarse || ic >= fw_level.nx_coarse) {
        return;
    }
    let f0 = 2u * ic * nyf + 2u * jc;
    let f1 = f0 + nyf;
    fw_coarse[ic * fw_level.ny_coarse + jc] =
        0.25 * (fw_fine[f0] + fw_fine[f0 + 1u] + fw_fine[f1] + fw_fine[f1 + 1u]);
}

// ---------------------------------------------------------------------------------------------
// prolong_bilinear(coarse, fine, bcs)

@group(0) @binding(0) var<storage, read> pb_coarse: array<f32>;
@group(0) @binding(1) var<storage, read_write> pb_fine: array<f32>;
@group(0) @binding(2) var<uniform> pb_walls: Walls;
@group(0) @binding(3) var<uniform> pb_level: Level;

// fine += (9 e_own + 3 e_x + 3 e_y + e_diag)/16, ghost beyond an x wall −e₀ (Dirichlet) or +e₀
// (Neumann), periodic in y. The level uniform is the fine level's.
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn prolong_bilinear(@builtin(global_invocation_id) id: vec3<u32>) {
    let j = id.x;
    let i = id.y;
    let ny = pb_level.ny;
    if (j >= ny || i >= pb_level.nx) {
        return;
    }
    let nxc = pb_level.nx_coarse;
    let nyc = pb_level.ny_coarse;
    let ic = i / 2u;
    var inb = ic + 1u;
    var sign = 1.0;
    if (i % 2u == 0u) {
        if (ic == 0u) {
            inb = 0u;
            sign = ghost_sign(pb_walls.factor_lo);
        } else {
            inb = ic - 1u;
        }
    } else if (ic + 1u == nxc) {
        inb = ic;
        sign = ghost_sign(pb_walls.factor_hi);
    }
    let jc = j / 2u;
    let jn = select((jc + 1u) % nyc, (jc + nyc - 1u) % nyc, j % 2u == 0u);
    let own = ic * nyc;
    let nb = inb * nyc;
    let e = 9.0 * pb_coarse[own + jc] + 3.0 * pb_coarse[own + jn]
        + sign * (3.0 * pb_coarse[nb + jc] + pb_coarse[nb + jn]);
    pb_fine[i * ny + j] += e * (1.0 / 16.0);
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

// One colour of red-black Gauss–Seidel for a u − Σ_f k_f (u_nb − u)/Δx² = f on the cells with
// (i + j) mod 2 = colour: u += (f − a u + Σ w (u_nb − u)) / (a + Σ w).
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn smooth_red_black(@builtin(global_invocation_id) id: vec3<u32>) {
    let j = id.x;
    let i = id.y;
    if (j >= level.ny || i >= level.nx || (i + j) % 2u != level.colour) {
        return;
    }
    let c = i * level.ny + j;
    let b = balance(i, j);
    let ac = a[c];
    u[c] += (f[c] - ac * u[c] + b.flux) / (ac + b.diag);
}

@group(0) @binding(7) var<storage, read_write> r: array<f32>;

// r = f − a u + Σ_f k_f (u_nb − u)/Δx², i.e. b − A u with the wall values in b.
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn residual(@builtin(global_invocation_id) id: vec3<u32>) {
    let j = id.x;
    let i = id.y;
    if (j >= level.ny || i >= level.nx) {
        return;
    }
    let c = i * level.ny + j;
    r[c] = f[c] - a[c] * u[c] + balance(i, j).flux;
}

// ---------------------------------------------------------------------------------------------
// residual_statistics(u, f, a, kx_faces, ky_faces, bcs, dx) → per-workgroup partial sums, then
// residual_statistics_finish → STATISTICS values: Σ r², Σ b², Σ r, Σ |b|, Σ ((a + Σ w)|u|)²
// with r = b − A u and b = f + the wall terms factor k_wall g/Δx² (ResidualStatistics). With a
// reference offset s (the concentration stored as u = c/c0 − 1, s = 1) Σ b² and Σ |b| are those of
// v = u + s's right-hand side, f + s a plus factor k_wall (g + s)/Δx² (the CPU's
// right_hand_side_norms); r, and so Σ r² and Σ r, are the same for u and v. Σ r sums the f32
// residuals, interior fluxes included (the CPU sums f − a u and the wall fluxes in f64 instead).

@group(0) @binding(7) var<storage, read_write> partials: array<f32>;

const GROUP_CELLS: u32 = WORKGROUP_X * WORKGROUP_Y;
var<workgroup> sums: array<array<f32, GROUP_CELLS>, STATISTICS>;

// Tree sum of sums[q][0..GROUP_CELLS] into sums[q][0] for the first `rows` q (GROUP_CELLS a
// power of two); called in uniform control flow, after the barrier that follows the writes.
fn reduce_workgroup(t: u32, rows: u32) {
    for (var half = GROUP_CELLS / 2u; half > 0u; half = half / 2u) {
        if (t < half) {
            for (var q = 0u; q < rows; q++) {
                sums[q][t] += sums[q][t + half];
            }
        }
        workgroupBarrier();
    }
}

// The workgroup's sum of one value per invocation (every invocation gets it); called in uniform
// control flow.
fn workgroup_sum(t: u32, value: f32) -> f32 {
    sums[0][t] = value;
    workgroupBarrier();
    reduce_workgroup(t, 1u);
    return sums[0][0];
}

// The workgroup's sum of `value` into partials[workgroup]; called in uniform control flow.
fn sum_into_partials(t: u32, value: f32, group: vec3<u32>, groups: vec3<u32>) {
    let total = workgroup_sum(t, value);
    if (t == 0u) {
        partials[group.y * groups.x + group.x] = total;
    }
}

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn residual_statistics(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let j = id.x;
    let i = id.y;
    var values = array<f32, STATISTICS>(0.0, 0.0, 0.0, 0.0, 0.0);
    // No early return: every invocation reaches the barriers.
    if (j < level.ny && i < level.nx) {
        let c = i * level.ny + j;
        let bal = balance(i, j);
        let uc = u[c];
        let ac = a[c];
        let res = f[c] - ac * uc + bal.flux;
        let offset = level.reference_offset;
        var b = f[c] + offset * ac;
        if (i == 0u) {
            b += walls.factor_lo * kx_faces[c] * level.inv_dx2
                * (wall_value(walls, level, false) + offset);
        }
        if (i + 1u == level.nx) {
            b += walls.factor_hi * kx_faces[c + level.ny] * level.inv_dx2
                * (wall_value(walls, level, true) + offset);
        }
        let scale = (ac + bal.diag) * abs(uc);
        values = array<f32, STATISTICS>(res * res, b * b, res, abs(b), scale * scale);
    }
    for (var q = 0u; q < STATISTICS; q++) {
        sums[q][t] = values[q];
    }
    workgroupBarrier();
    reduce_workgroup(t, STATISTICS);
    if (t < STATISTICS) {
        let g = group.y * groups.x + group.x;
        partials[g * STATISTICS + t] = sums[t][0];
    }
}

@group(0) @binding(0) var<storage, read> rs_partials: array<f32>;
@group(0) @binding(1) var<storage, read_write> rs_statistics: array<f32>;
@group(0) @binding(2) var<uniform> rs_level: Level;

// Σ of the `count` workgroup partials of residual_statistics, by one workgroup.
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn residual_statistics_finish(@builtin(local_invocation_index) t: u32) {
    var values = array<f32, STATISTICS>(0.0, 0.0, 0.0, 0.0, 0.0);
    for (var g = t; g < rs_level.count; g += GROUP_CELLS) {
        for (var q = 0u; q < STATISTICS; q++) {
            values[q] += rs_partials[g * STATISTICS + q];
        }
    }
    for (var q = 0u; q < STATISTICS; q++) {
        sums[q][t] = values[q];
    }
    workgroupBarrier();
    reduce_workgroup(t, STATISTICS);
    if (t < STATISTICS) {
        rs_statistics[t] = sums[t][0];
    }
}

// ---------------------------------------------------------------------------------------------
// coarsest_solve(u, f, a, kx_faces, ky_faces, bcs, dx): the coarsest level, on the device.
//
// The CPU factorises the coarsest level (banded Cholesky in f64). Here one workgroup keeps u in
// workgroup memory and runs `level.count` red-black SOR sweeps (red then black, factor
// `level.omega`) with a barrier per colour: no host round trip and one dispatch, however many
// sweeps. The operator is symmetric positive definite, so SOR converges for any 0 < ω < 2. Each invocation
// holds the stencil weights of its cells in registers; the level has at most COARSEST_MAX_CELLS
// cells (multigrid.rs falls back to global sweeps beyond that).

const CELLS_PER_INVOCATION: u32 = COARSEST_MAX_CELLS / WORKGROUP_1D;
var<workgroup> coarse_u: array<f32, COARSEST_MAX_CELLS>;

@compute @workgroup_size(WORKGROUP_1D)
fn coarsest_solve(@builtin(local_invocation_index) t: u32) {
    let nx = level.nx;
    let ny = level.ny;
    let n = nx * ny;
    let inv_dx2 = level.inv_dx2;
    // Per owned cell: weights south, north, west, east, a, f + wall terms.
    var w_s: array<f32, CELLS_PER_INVOCATION>;
    var w_n: array<f32, CELLS_PER_INVOCATION>;
    var w_w: array<f32, CELLS_PER_INVOCATION>;
    var w_e: array<f32, CELLS_PER_INVOCATION>;
    var diag: array<f32, CELLS_PER_INVOCATION>;
    var rhs: array<f32, CELLS_PER_INVOCATION>;
    for (var m = 0u; m < CELLS_PER_INVOCATION; m++) {
        let c = t + m * WORKGROUP_1D;
        if (c < n) {
            let i = c / ny;
            let j = c % ny;
            let jp = select(j + 1u, 0u, j + 1u == ny);
            w_s[m] = ky_faces[c] * inv_dx2;
            w_n[m] = ky_faces[i * ny + jp] * inv_dx2;
            var west = kx_faces[c] * inv_dx2;
            var east = kx_faces[c + ny] * inv_dx2;
            rhs[m] = f[c];
            diag[m] = a[c] + w_s[m] + w_n[m];
            if (i == 0u) {
                west = walls.factor_lo * west;
                rhs[m] += west * wall_value(walls, level, false);
                diag[m] += west;
                west = 0.0;
            }
            if (i + 1u == nx) {
                east = walls.factor_hi * east;
                rhs[m] += east * wall_value(walls, level, true);
                diag[m] += east;
                east = 0.0;
            }
            diag[m] += west + east;
            w_w[m] = west;
            w_e[m] = east;
            coarse_u[c] = u[c];
        }
    }
    workgroupBarrier();
    // With ny odd the periodic wrap joins two cells of one colour: the last column then gets
    // colours 2 and 3 (by i), so no cell is updated while a neighbour is.
    let odd = ny % 2u == 1u;
    let colours = select(2u, 4u, odd);
    for (var sweep = 0u; sweep < level.count; sweep++) {
        for (var colour = 0u; colour < colours; colour++) {
            for (var m = 0u; m < CELLS_PER_INVOCATION; m++) {
                let c = t + m * WORKGROUP_1D;
                if (c < n) {
                    let i = c / ny;
                    let j = c % ny;
                    let own = select((i + j) % 2u, 2u + i % 2u, odd && j + 1u == ny);
                    if (own == colour) {
                        let jm = select(j - 1u, ny - 1u, j == 0u);
                        let jp = select(j + 1u, 0u, j + 1u == ny);
                        // Wall sides have zero weight; clamp their index into the grid.
                        let west = coarse_u[select(c - ny, c, i == 0u)];
                        let east = coarse_u[select(c + ny, c, i + 1u == nx)];
                        let sum = w_s[m] * coarse_u[i * ny + jm] + w_n[m] * coarse_u[i * ny + jp]
                            + w_w[m] * west + w_e[m] * east;
                        let gauss_seidel = (rhs[m] + sum) / diag[m];
                        coarse_u[c] += level.omega * (gauss_seidel - coarse_u[c]);
                    }
                }
            }
            workgroupBarrier();
        }
    }
    for (var m = 0u; m < CELLS_PER_INVOCATION; m++) {
        let c = t + m * WORKGROUP_1D;
        if (c < n) {
            u[c] = coarse_u[c];
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Flexible conjugate gradients preconditioned by one V-cycle (Multigrid::solve_pcg), with every
// scalar kept on the device in `scalars`: [0] r·z, [1] r·z_old, [2] r·z new, [3] p·q, [4] α,
// [5] β, [6] stopped (1 after a breakdown: α stays 0).

const RZ: u32 = 0u;
const RZ_OLD: u32 = 1u;
const RZ_NEW: u32 = 2u;
const PQ: u32 = 3u;
const ALPHA: u32 = 4u;
const BETA: u32 = 5u;
const STOPPED: u32 = 6u;

// apply_operator(p, a, kx_faces, ky_faces, bcs, dx, q): q = A p = a p − Σ_f k_f (p_nb − p)/Δx²
// with homogeneous wall conditions (the walls uniform holds them: the solve is for the error).
@group(0) @binding(7) var<storage, read_write> q: array<f32>;

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn apply_operator(@builtin(global_invocation_id) id: vec3<u32>) {
    let j = id.x;
    let i = id.y;
    if (j >= level.ny || i >= level.nx) {
        return;
    }
    let c = i * level.ny + j;
    q[c] = a[c] * u[c] - balance(i, j).flux;
}

// dot(x, y) → per-workgroup partial sums (binding 7, as every reduction), then dot_finish →
// scalars[slot].
@group(0) @binding(0) var<storage, read> dot_x: array<f32>;
@group(0) @binding(1) var<storage, read> dot_y: array<f32>;
@group(0) @binding(3) var<uniform> dot_level: Level;

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn dot(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let j = id.x;
    let i = id.y;
    var value = 0.0;
    if (j < dot_level.ny && i < dot_level.nx) {
        let c = i * dot_level.ny + j;
        value = dot_x[c] * dot_y[c];
    }
    sum_into_partials(t, value, group, groups);
}

struct Slot {
    index: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<storage, read> df_partials: array<f32>;
@group(0) @binding(1) var<storage, read_write> scalars: array<f32>;
@group(0) @binding(2) var<uniform> df_level: Level;
@group(0) @binding(3) var<uniform> df_slot: Slot;

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn dot_finish(@builtin(local_invocation_index) t: u32) {
    var value = 0.0;
    for (var g = t; g < df_level.count; g += GROUP_CELLS) {
        value += df_partials[g];
    }
    let total = workgroup_sum(t, value);
    if (t == 0u) {
        scalars[df_slot.index] = total;
    }
}

@group(0) @binding(0) var<storage, read_write> pcg_scalars: array<f32>;
@group(0) @binding(1) var<uniform> pcg_restart: Slot;

// β = (r·z − r·z_old)/(r_old·z_old) (flexible CG; 0 on the first iteration, and once stopped,
// so that a zero r·z cannot turn p into NaN), then r·z ← r·z new.
@compute @workgroup_size(1)
fn pcg_beta() {
    var beta = 0.0;
    if (pcg_restart.index == 0u && pcg_scalars[STOPPED] == 0.0 && pcg_scalars[RZ] > 0.0) {
        beta = (pcg_scalars[RZ_NEW] - pcg_scalars[RZ_OLD]) / pcg_scalars[RZ];
    }
    pcg_scalars[BETA] = beta;
    pcg_scalars[RZ] = pcg_scalars[RZ_NEW];
}

// α = r·z / p·q, or 0 from the first breakdown on (p·q ≤ 0 or r·z ≤ 0: the CPU loop stops).
@compute @workgroup_size(1)
fn pcg_alpha() {
    let rz = pcg_scalars[RZ];
    let pq = pcg_scalars[PQ];
    if (pcg_scalars[STOPPED] != 0.0 || !(pq > 0.0 && rz > 0.0)) {
        pcg_scalars[STOPPED] = 1.0;
        pcg_scalars[ALPHA] = 0.0;
    } else {
        pcg_scalars[ALPHA] = rz / pq;
    }
}

@group(0) @binding(0) var<storage, read_write> sa_p: array<f32>;
@group(0) @binding(1) var<storage, read> sa_z: array<f32>;
@group(0) @binding(2) var<storage, read> sa_scalars: array<f32>;
@group(0) @binding(3) var<uniform> sa_level: Level;

// scale_and_add(p, β, z): p = z + β p (the conjugate-gradient direction update).
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn scale_and_add(@builtin(global_invocation_id) id: vec3<u32>) {
    let j = id.x;
    let i = id.y;
    if (j >= sa_level.ny || i >= sa_level.nx) {
        return;
    }
    let c = i * sa_level.ny + j;
    sa_p[c] = sa_z[c] + sa_scalars[BETA] * sa_p[c];
}

@group(0) @binding(0) var<storage, read_write> pu_u: array<f32>;
@group(0) @binding(1) var<storage, read_write> pu_r: array<f32>;
@group(0) @binding(2) var<storage, read> pu_p: array<f32>;
@group(0) @binding(3) var<storage, read> pu_q: array<f32>;
@group(0) @binding(4) var<storage, read> pu_scalars: array<f32>;
@group(0) @binding(5) var<uniform> pu_level: Level;

// add_scaled twice: u += α p, r −= α q.
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn pcg_update(@builtin(global_invocation_id) id: vec3<u32>) {
    let j = id.x;
    let i = id.y;
    if (j >= pu_level.ny || i >= pu_level.nx) {
        return;
    }
    let c = i * pu_level.ny + j;
    let alpha = pu_scalars[ALPHA];
    if (alpha == 0.0) {
        // Stopped: leave u and r as they are (0 × a non-finite p would not be 0).
        return;
    }
    pu_u[c] += alpha * pu_p[c];
    pu_r[c] += -alpha * pu_q[c];
}

// ---------------------------------------------------------------------------------------------
// The mass projection that ends a conserving solve (Multigrid::conserve_mass): u += κ z with
// z ≈ A⁻¹1 and κ = Σ r / Σ (A z), every scalar on the device. Both sums leave the interior
// fluxes out (they cancel pairwise), as the CPU's do: residual_sum and operator_sum write
// per-workgroup partials (binding 7, as residual_statistics), dot_finish adds them into the
// projection's scalars, mass_projection_scale takes their quotient and add_scaled applies it.

// Weight factor·k_wall/Δx² of the x walls at cell (i, c): (west, east), 0 off the wall rows.
fn wall_weights(i: u32, c: u32) -> vec2<f32> {
    var w = vec2<f32>(0.0, 0.0);
    if (i == 0u) {
        w.x = walls.factor_lo * kx_faces[c] * level.inv_dx2;
    }
    if (i + 1u == level.nx) {
        w.y = walls.factor_hi * kx_faces[c + level.ny] * level.inv_dx2;
    }
    return w;
}

// residual_sum(u, f, a, kx_faces, bcs, dx): Σ r = Σ (f − a u) + Σ_walls w (g − u_wall row)
// (ResidualStatistics::r_sum; the CPU sums in f64, here an f32 tree).
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn residual_sum(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let j = id.x;
    let i = id.y;
    var value = 0.0;
    // No early return: every invocation reaches the barriers.
    if (j < level.ny && i < level.nx) {
        let c = i * level.ny + j;
        let uc = u[c];
        let w = wall_weights(i, c);
        value = f[c] - a[c] * uc + w.x * (wall_value(walls, level, false) - uc)
            + w.y * (wall_value(walls, level, true) - uc);
    }
    sum_into_partials(t, value, group, groups);
}

// operator_sum(z, a, kx_faces, bcs, dx): Σ (A z) = Σ (a + Σ_walls w) z with homogeneous walls.
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn operator_sum(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let j = id.x;
    let i = id.y;
    var value = 0.0;
    if (j < level.ny && i < level.nx) {
        let c = i * level.ny + j;
        let w = wall_weights(i, c);
        value = (a[c] + w.x + w.y) * u[c];
    }
    sum_into_partials(t, value, group, groups);
}

// Slots of the projection's scalars: Σ r, Σ (A z), κ.
const MASS_RESIDUAL: u32 = 0u;
const MASS_OPERATOR: u32 = 1u;
const MASS_KAPPA: u32 = 2u;

@group(0) @binding(0) var<storage, read_write> mp_scalars: array<f32>;

// κ = Σ r / Σ (A z), 0 unless Σ (A z) > 0 (Multigrid::mass_projection).
@compute @workgroup_size(1)
fn mass_projection_scale() {
    let mass = mp_scalars[MASS_OPERATOR];
    mp_scalars[MASS_KAPPA] = select(0.0, mp_scalars[MASS_RESIDUAL] / mass, mass > 0.0);
}

@group(0) @binding(0) var<storage, read_write> as_y: array<f32>;
@group(0) @binding(1) var<storage, read> as_x: array<f32>;
@group(0) @binding(2) var<storage, read> as_scalars: array<f32>;
@group(0) @binding(3) var<uniform> as_level: Level;

// add_scaled(y, κ, x): y += κ x, κ read from the projection's scalars.
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn add_scaled(@builtin(global_invocation_id) id: vec3<u32>) {
    let j = id.x;
    let i = id.y;
    if (j >= as_level.ny || i >= as_level.nx) {
        return;
    }
    let c = i * as_level.ny + j;
    as_y[c] += as_scalars[MASS_KAPPA] * as_x[c];
}
