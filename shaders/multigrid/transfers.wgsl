// Multigrid transfers between levels: full weighting down (residuals and a), (bi/tri)linear
// prolongation of the correction up. A coarse level halves x, y and, in 3D, z: coarse cell
// (I, J, K) has the fine children (2I + a, 2J + b, 2K + c) (in 2D K = k = 0). The level uniform
// of both kernels is the fine level's; the point's fine block starts at cell_base(level), its
// coarse block at coarse_cell_base(level).

// ---------------------------------------------------------------------------------------------
// restrict_full_weighting(fine, coarse)

@group(0) @binding(0) var<storage, read> fw_fine: array<f32>;
@group(0) @binding(1) var<storage, read_write> fw_coarse: array<f32>;
@group(0) @binding(2) var<uniform> fw_level: Level;

// coarse = 2^−d Σ of the 2^d children, summed as the CPU sums them (transfers.rs): the fine
// lines of the coarse cell in turn (x, then y in 3D), each line's pair along it (z in 3D, y in
// 2D) in order.
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn restrict_full_weighting(@builtin(global_invocation_id) id: vec3<u32>) {
    select_point(id.z);
    let mc = id.x;
    let ic = id.y;
    let nzc = fw_level.nz_coarse;
    let layer_c = fw_level.ny_coarse * nzc;
    if (mc >= layer_c || ic >= fw_level.nx_coarse) {
        return;
    }
    let nz = fw_level.nz;
    let layer = fw_level.ny * nz;
    let three_d = nz > 1u;
    let jc = mc / nzc;
    let kc = mc % nzc;
    let first = cell_base(fw_level) + 2u * ic * layer + 2u * jc * nz + 2u * kc;
    // The other fine lines: (2I, 2J + 1) in 3D, then (2I + 1, 2J) and (2I + 1, 2J + 1).
    var sum = fw_fine[first] + fw_fine[first + 1u];
    if (three_d) {
        sum = sum + fw_fine[first + nz] + fw_fine[first + nz + 1u];
    }
    sum = sum + fw_fine[first + layer] + fw_fine[first + layer + 1u];
    if (three_d) {
        sum = sum + fw_fine[first + layer + nz] + fw_fine[first + layer + nz + 1u];
    }
    fw_coarse[coarse_cell_base(fw_level) + ic * layer_c + mc] = select(0.25, 0.125, three_d) * sum;
}

// ---------------------------------------------------------------------------------------------
// prolong_bilinear(coarse, fine, bcs)

@group(0) @binding(0) var<storage, read> pb_coarse: array<f32>;
@group(0) @binding(1) var<storage, read_write> pb_fine: array<f32>;
@group(0) @binding(2) var<uniform> pb_walls: Walls;
@group(0) @binding(3) var<uniform> pb_level: Level;

// The coarse value on line `line` at position t of coarse x layer `base` (a cell index), blended
// in 3D with the line `beside` (the y neighbour on the fine cell's side) 3 : 1, as the CPU
// blends the two coarse lines that feed a fine line (transfers.rs, prolong_bilinear).
fn pb_blend(base: u32, line: u32, beside: u32, t: u32, len: u32, three_d: bool) -> f32 {
    if (three_d) {
        return 3.0 * pb_coarse[base + line * len + t] + pb_coarse[base + beside * len + t];
    }
    return pb_coarse[base + t];
}

// fine += the cell-centred (bi/tri)linear interpolant: weights ¾ and ¼ per axis from the coarse
// cell and its neighbour on the fine cell's side, in 2D (9 e_own + 3 e_x + 3 e_y + e_diag)/16,
// in 3D 27, 9, 3, 1 over 64; the ghost beyond an x wall −e₀ (Dirichlet) or +e₀ (Neumann),
// periodic laterally. As on the CPU, the line through the fine cell (z in 3D, y in 2D) is
// interpolated last, from the (y-blended in 3D) coarse lines.
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn prolong_bilinear(@builtin(global_invocation_id) id: vec3<u32>) {
    select_point(id.z);
    let m = id.x;
    let i = id.y;
    let ny = pb_level.ny;
    let nz = pb_level.nz;
    let layer = ny * nz;
    if (m >= layer || i >= pb_level.nx) {
        return;
    }
    let nxc = pb_level.nx_coarse;
    let nyc = pb_level.ny_coarse;
    let nzc = pb_level.nz_coarse;
    let layer_c = nyc * nzc;
    let three_d = nz > 1u;
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
    // The fine cell's line and its position on it: (j, k) in 3D, (0, j) in 2D; likewise coarse.
    let len = select(ny, nz, three_d);
    let len_c = select(nyc, nzc, three_d);
    let lines_c = layer_c / len_c;
    let line = m / len;
    let t = m % len;
    let tc = t / 2u;
    let tn = select((tc + 1u) % len_c, (tc + len_c - 1u) % len_c, t % 2u == 0u);
    let lc = line / 2u;
    let ln = select((lc + 1u) % lines_c, (lc + lines_c - 1u) % lines_c, line % 2u == 0u);
    let coarse = coarse_cell_base(pb_level);
    let own = coarse + ic * layer_c;
    let nb = coarse + inb * layer_c;
    let e = 9.0 * pb_blend(own, lc, ln, tc, len_c, three_d)
        + 3.0 * pb_blend(own, lc, ln, tn, len_c, three_d)
        + sign * (3.0 * pb_blend(nb, lc, ln, tc, len_c, three_d)
            + pb_blend(nb, lc, ln, tn, len_c, three_d));
    pb_fine[cell_base(pb_level) + i * layer + m] += e * select(1.0 / 16.0, 1.0 / 64.0, three_d);
}
