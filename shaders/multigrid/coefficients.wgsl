// Multigrid coefficients: the harmonic face conductivities of the finest level and their
// restriction to the coarse levels (the coarse a goes through restrict_full_weighting,
// transfers.wgsl).

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
