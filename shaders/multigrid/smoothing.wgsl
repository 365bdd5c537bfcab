// Multigrid smoothing and residual on one level (the five-point operator of common.wgsl), and
// the coarsest level's solve.

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
// coarsest_solve(u, f, a, kx_faces, ky_faces, bcs, dx): the coarsest level, on the device.
//
// The CPU factorises the coarsest level (banded Cholesky in f64). Here one workgroup keeps u in
// workgroup memory and runs `level.count` red-black SOR sweeps (red then black, factor
// `level.omega`) with a barrier per colour: no host round trip and one dispatch, however many
// sweeps. The operator is symmetric positive definite, so SOR converges for any 0 < ω < 2. Each invocation
// holds the stencil weights of its cells in registers; the level has at most COARSEST_MAX_CELLS
// cells (src/backend/gpu/multigrid/cycle.rs falls back to global sweeps beyond that).

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
