// Multigrid coefficients: the harmonic face conductivities of the finest level and their
// restriction to the coarse levels (the coarse a goes through restrict_full_weighting,
// transfers.wgsl).

// ---------------------------------------------------------------------------------------------
// face_coefficients(k, kx_faces, ky_faces, kz_faces)

@group(0) @binding(0) var<storage, read> fc_k: array<f32>;
@group(0) @binding(1) var<storage, read_write> fc_kx: array<f32>;
@group(0) @binding(2) var<storage, read_write> fc_ky: array<f32>;
@group(0) @binding(3) var<storage, read_write> fc_kz: array<f32>;
@group(0) @binding(4) var<uniform> fc_level: Level;

// k_f = 2 k_L k_R/(k_L + k_R) (L the cell behind, R the cell); the wall faces take the cell's k.
// One invocation per x face (nx + 1 layers), which also writes the −y face and, in 3D, the −z
// face of its cell.
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn face_coefficients(@builtin(global_invocation_id) id: vec3<u32>) {
    select_point(id.z);
    let m = id.x;
    let i = id.y;
    let nx = fc_level.nx;
    let ny = fc_level.ny;
    let nz = fc_level.nz;
    let layer = ny * nz;
    if (m >= layer || i > nx) {
        return;
    }
    // The point's blocks: k, ky, kz (cells) and kx (x faces).
    let base = cell_base(fc_level);
    let faces = x_face_base(fc_level);
    let row = i * layer;
    if (i == 0u || i == nx) {
        fc_kx[faces + row + m] = fc_k[base + min(i, nx - 1u) * layer + m];
    } else {
        fc_kx[faces + row + m] = harmonic(fc_k[base + (i - 1u) * layer + m], fc_k[base + row + m]);
    }
    if (i < nx) {
        let c = row + m;
        let nb = lateral_neighbours(m, ny, nz);
        fc_ky[base + c] = harmonic(fc_k[base + row + nb.y_minus], fc_k[base + c]);
        if (nz > 1u) {
            fc_kz[base + c] = harmonic(fc_k[base + row + nb.z_minus], fc_k[base + c]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// restrict_face_coefficients(kx_fine, ky_fine, kz_fine, kx_coarse, ky_coarse, kz_coarse)

@group(0) @binding(0) var<storage, read> rf_kx_fine: array<f32>;
@group(0) @binding(1) var<storage, read> rf_ky_fine: array<f32>;
@group(0) @binding(2) var<storage, read> rf_kz_fine: array<f32>;
@group(0) @binding(3) var<storage, read_write> rf_kx_coarse: array<f32>;
@group(0) @binding(4) var<storage, read_write> rf_ky_coarse: array<f32>;
@group(0) @binding(5) var<storage, read_write> rf_kz_coarse: array<f32>;
@group(0) @binding(6) var<uniform> rf_level: Level;

// The start of the point's block of the fine x faces and fine cells (set by
// restrict_face_coefficients before the helpers below read them).
var<private> rf_fine_faces: u32;
var<private> rf_fine_cells: u32;

// Fine x faces across the coarse x face ic at fine layer index mf: ¼ behind + ½ on + ¼ ahead; a
// wall face ½ (k_wall + k_first).
fn rf_across_x(ic: u32, mf: u32) -> f32 {
    let layer = rf_level.ny * rf_level.nz;
    let nxf = rf_level.nx;
    let at = rf_fine_faces + mf;
    if (ic == 0u) {
        return 0.5 * (rf_kx_fine[at] + rf_kx_fine[at + layer]);
    }
    if (ic == rf_level.nx_coarse) {
        return 0.5 * (rf_kx_fine[at + nxf * layer] + rf_kx_fine[at + (nxf - 1u) * layer]);
    }
    return 0.25 * rf_kx_fine[at + (2u * ic - 1u) * layer] + 0.5 * rf_kx_fine[at + 2u * ic * layer]
        + 0.25 * rf_kx_fine[at + (2u * ic + 1u) * layer];
}

// Fine −y faces across the coarse −y face at fine cell n (a child with j = 2J): ¼ behind (wrapping
// past j = 0 when J = 0) + ½ on + ¼ ahead.
fn rf_across_y(n: u32, at_start: bool) -> f32 {
    let stride = rf_level.nz;
    let behind = select(n - stride, n + (rf_level.ny - 1u) * stride, at_start);
    let b = rf_fine_cells;
    return 0.25 * rf_ky_fine[b + behind] + 0.5 * rf_ky_fine[b + n]
        + 0.25 * rf_ky_fine[b + n + stride];
}

// The same along z (3D), fine cell n with k = 2K.
fn rf_across_z(n: u32, at_start: bool) -> f32 {
    let behind = select(n - 1u, n + rf_level.nz - 1u, at_start);
    let b = rf_fine_cells;
    return 0.25 * rf_kz_fine[b + behind] + 0.5 * rf_kz_fine[b + n] + 0.25 * rf_kz_fine[b + n + 1u];
}

// Coarse K matching the energy Σ k_f |∇(P e)|² of a linearly prolonged correction: across the
// face ¼, ½, ¼ of the fine faces behind, on and ahead; along it the mean of the 2^(d−1) fine
// faces it covers, summed in the CPU's order (transfers.rs, restrict_face_coefficients). One
// invocation per coarse x face (nx_coarse + 1 layers), which also writes its cell's −y face and,
// in 3D, its −z face.
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn restrict_face_coefficients(@builtin(global_invocation_id) id: vec3<u32>) {
    select_point(id.z);
    rf_fine_faces = x_face_base(rf_level);
    rf_fine_cells = cell_base(rf_level);
    let mc = id.x;
    let ic = id.y;
    let nxc = rf_level.nx_coarse;
    let nzc = rf_level.nz_coarse;
    let layer_c = rf_level.ny_coarse * nzc;
    if (mc >= layer_c || ic > nxc) {
        return;
    }
    let nz = rf_level.nz;
    let layer = rf_level.ny * nz;
    let three_d = nz > 1u;
    let jc = mc / nzc;
    let kc = mc % nzc;
    // The first fine child's layer index; the x faces' children along y and z: (0, 1) in 2D,
    // (0, 1, nz, nz + 1) in 3D.
    let mf = 2u * jc * nz + 2u * kc;
    let c = ic * layer_c + mc;
    // The point's coarse blocks: x faces and cells.
    let faces_c = coarse_x_face_base(rf_level);
    let base_c = coarse_cell_base(rf_level);
    if (three_d) {
        let sum = rf_across_x(ic, mf) + rf_across_x(ic, mf + 1u) + rf_across_x(ic, mf + nz)
            + rf_across_x(ic, mf + nz + 1u);
        rf_kx_coarse[faces_c + c] = 0.25 * sum;
    } else {
        rf_kx_coarse[faces_c + c] = 0.5 * (rf_across_x(ic, mf) + rf_across_x(ic, mf + 1u));
    }
    if (ic < nxc) {
        let first = 2u * ic * layer + mf;
        // y faces: children along x (and z in 3D) in the CPU's order, (0, layer) in 2D,
        // (0, 1, layer, layer + 1) in 3D; z faces: (0, nz, layer, layer + nz).
        let y0 = jc == 0u;
        if (three_d) {
            let sum_y = rf_across_y(first, y0) + rf_across_y(first + 1u, y0)
                + rf_across_y(first + layer, y0) + rf_across_y(first + layer + 1u, y0);
            rf_ky_coarse[base_c + c] = 0.25 * sum_y;
            let z0 = kc == 0u;
            let sum_z = rf_across_z(first, z0) + rf_across_z(first + nz, z0)
                + rf_across_z(first + layer, z0) + rf_across_z(first + layer + nz, z0);
            rf_kz_coarse[base_c + c] = 0.25 * sum_z;
        } else {
            rf_ky_coarse[base_c + c] =
                0.5 * (rf_across_y(first, y0) + rf_across_y(first + layer, y0));
        }
    }
}
