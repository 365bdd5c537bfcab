// Multigrid transfers between levels: full weighting down (residuals and a), bilinear
// prolongation of the correction up.

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
