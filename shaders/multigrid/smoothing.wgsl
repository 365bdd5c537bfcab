// Multigrid smoothing and residual on one level (the operator of common.wgsl), and the coarsest
// level's solve.

// One colour of red-black Gauss–Seidel for a u − Σ_f k_f (u_nb − u)/Δx² = f on the cells of
// that smoothing colour (the parity (i + j + k) mod 2; more colours on a level with an odd
// periodic side, smoothing_colour): u += (f − a u + Σ w (u_nb − u)) / (a + Σ w).
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn smooth_red_black(@builtin(global_invocation_id) id: vec3<u32>) {
    select_point(id.z);
    let m = id.x;
    let i = id.y;
    let layer = layer_cells(level);
    if (m >= layer || i >= level.nx || smoothing_colour(i, m, level.ny, level.nz) != level.colour) {
        return;
    }
    let c = cell_base(level) + i * layer + m;
    let b = balance(i, m);
    let ac = a[c];
    u[c] += (f[c] - ac * u[c] + b.flux) / (ac + b.diag);
}

@group(0) @binding(8) var<storage, read_write> r: array<f32>;

// r = f − a u + Σ_f k_f (u_nb − u)/Δx², i.e. b − A u with the wall values in b.
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn residual(@builtin(global_invocation_id) id: vec3<u32>) {
    select_point(id.z);
    let m = id.x;
    let i = id.y;
    let layer = layer_cells(level);
    if (m >= layer || i >= level.nx) {
        return;
    }
    let c = cell_base(level) + i * layer + m;
    r[c] = f[c] - a[c] * u[c] + balance(i, m).flux;
}

// ---------------------------------------------------------------------------------------------
// coarsest_solve(u, f, a, kx_faces, ky_faces, kz_faces, bcs, dx): the coarsest level, on the
// device.
//
// The CPU factorises the coarsest level (banded Cholesky in f64). Here one workgroup per point
// (its workgroup_id.z) keeps u in workgroup memory and runs `level.count` SOR sweeps (each colour
// in turn, factor `level.omega`) with a barrier per colour: no host round trip and one dispatch,
// however many sweeps. The
// operator is symmetric positive definite, so SOR converges for any 0 < ω < 2 and any order of
// the colours. Each invocation holds the stencil weights of its cells in registers; the level has
// at most COARSEST_MAX_CELLS cells (src/backend/gpu/multigrid/cycle.rs falls back to global
// sweeps beyond that).
//
// Colours: smoothing_colour (common.wgsl), the red-black parity (i + j + k) mod 2, except that
// along a periodic axis of odd extent (coarse levels stop halving at one: 16 × 12 × 6 ends at
// 8 × 6 × 3) the last plane gets colours of its own: no cell is updated while a neighbour is
// (within a plane kind the wrapped axis is fixed, so neighbours differ by one step along a
// non-wrapping run). The global sweeps of a coarsest level too large for this kernel use the
// same colours.

const CELLS_PER_INVOCATION: u32 = COARSEST_MAX_CELLS / WORKGROUP_1D;
var<workgroup> coarse_u: array<f32, COARSEST_MAX_CELLS>;

@compute @workgroup_size(WORKGROUP_1D)
fn coarsest_solve(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    // One workgroup per point; `c` below indexes the point's block (from `base`, x faces from
    // `faces`) and its copy in coarse_u.
    select_point(group.z);
    let base = cell_base(level);
    let faces = x_face_base(level);
    let nx = level.nx;
    let ny = level.ny;
    let nz = level.nz;
    let layer = ny * nz;
    let n = nx * layer;
    let inv_dx2 = level.inv_dx2;
    let three_d = nz > 1u;
    let odd_y = ny % 2u == 1u;
    let odd_z = three_d && nz % 2u == 1u;
    let classes_y = select(1u, 2u, odd_y);
    let colours = 2u * classes_y * select(1u, 2u, odd_z);
    // Per owned cell: weights −y, +y, −z, +z, west, east, a + Σ w, f + wall terms, colour.
    var w_ym: array<f32, CELLS_PER_INVOCATION>;
    var w_yp: array<f32, CELLS_PER_INVOCATION>;
    var w_zm: array<f32, CELLS_PER_INVOCATION>;
    var w_zp: array<f32, CELLS_PER_INVOCATION>;
    var w_w: array<f32, CELLS_PER_INVOCATION>;
    var w_e: array<f32, CELLS_PER_INVOCATION>;
    var diag: array<f32, CELLS_PER_INVOCATION>;
    var rhs: array<f32, CELLS_PER_INVOCATION>;
    var colour_of: array<u32, CELLS_PER_INVOCATION>;
    for (var q = 0u; q < CELLS_PER_INVOCATION; q++) {
        let c = t + q * WORKGROUP_1D;
        if (c < n) {
            let i = c / layer;
            let m = c % layer;
            let row = i * layer;
            let nb = lateral_neighbours(m, ny, nz);
            // The y faces of a 3D level with ny = 1 join a cell to itself (no flux; the CPU
            // leaves them out), and a 2D level has no z faces.
            w_ym[q] = 0.0;
            w_yp[q] = 0.0;
            w_zm[q] = 0.0;
            w_zp[q] = 0.0;
            if (!three_d || ny > 1u) {
                w_ym[q] = ky_faces[base + c] * inv_dx2;
                w_yp[q] = ky_faces[base + row + nb.y_plus] * inv_dx2;
            }
            if (three_d) {
                w_zm[q] = kz_faces[base + c] * inv_dx2;
                w_zp[q] = kz_faces[base + row + nb.z_plus] * inv_dx2;
            }
            var west = kx_faces[faces + c] * inv_dx2;
            var east = kx_faces[faces + c + layer] * inv_dx2;
            rhs[q] = f[base + c];
            diag[q] = a[base + c] + w_ym[q] + w_yp[q] + w_zm[q] + w_zp[q];
            if (i == 0u) {
                west = walls.factor_lo * west;
                rhs[q] += west * wall_value(walls, level, false);
                diag[q] += west;
                west = 0.0;
            }
            if (i + 1u == nx) {
                east = walls.factor_hi * east;
                rhs[q] += east * wall_value(walls, level, true);
                diag[q] += east;
                east = 0.0;
            }
            diag[q] += west + east;
            w_w[q] = west;
            w_e[q] = east;
            colour_of[q] = smoothing_colour(i, m, ny, nz);
            coarse_u[c] = u[base + c];
        }
    }
    workgroupBarrier();
    for (var sweep = 0u; sweep < level.count; sweep++) {
        for (var colour = 0u; colour < colours; colour++) {
            for (var q = 0u; q < CELLS_PER_INVOCATION; q++) {
                let c = t + q * WORKGROUP_1D;
                if (c < n && colour_of[q] == colour) {
                    let i = c / layer;
                    let m = c % layer;
                    let row = i * layer;
                    let nb = lateral_neighbours(m, ny, nz);
                    // Wall sides have zero weight; layer_below/above clamp their index.
                    let west = coarse_u[layer_below(i) * layer + m];
                    let east = coarse_u[layer_above(i, nx) * layer + m];
                    let sum = w_ym[q] * coarse_u[row + nb.y_minus]
                        + w_yp[q] * coarse_u[row + nb.y_plus]
                        + w_zm[q] * coarse_u[row + nb.z_minus]
                        + w_zp[q] * coarse_u[row + nb.z_plus]
                        + w_w[q] * west + w_e[q] * east;
                    let gauss_seidel = (rhs[q] + sum) / diag[q];
                    coarse_u[c] += level.omega * (gauss_seidel - coarse_u[c]);
                }
            }
            workgroupBarrier();
        }
    }
    for (var q = 0u; q < CELLS_PER_INVOCATION; q++) {
        let c = t + q * WORKGROUP_1D;
        if (c < n) {
            u[base + c] = coarse_u[c];
        }
    }
}
