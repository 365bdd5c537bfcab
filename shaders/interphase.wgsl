// The resolved band (R2) attached to the metal surface, twins of src/model/interphase.rs:
// the distance d from the metal (xi ≥ ½) into the electrolyte, then the band
// s = [1 − h(xi)] · ½[1 − tanh((d − L)/(2δ_s))].
//
// The CPU's `distance_from_metal` is an exact Euclidean distance transform of whole columns and
// rows (Felzenszwalb–Huttenlocher, sequential along each line). Here each cell scans a window of
// ±R cells (R = k.band_reach, derived in kernels::interphase::band_reach) in three separable
// passes, in integer arithmetic:
//   g(i, j, k)     = min |i − i'| over metal cells (i', j, k), |i − i'| ≤ R, else R + 1  (x, walls)
//   d²_xy(i, j, k) = min over |δ| ≤ min(R, ⌊ny/2⌋) of g(i, j + δ, k)² + δ²            (y, periodic)
//   d²(i, j, k)    = min over |δ| ≤ min(R, ⌊nz/2⌋) of d²_xy(i, j, k + δ) + δ²          (z, periodic)
// d² is the exact squared distance wherever the distance is ≤ R cells (the nearest metal cell
// lies in every window; a capped g counts (R + 1)² > R²), and exceeds R² elsewhere, where R makes
// the band smaller than BAND_FLOOR. The passes stop early: pass 1 at the first metal cell, passes
// 2 and 3 once δ² ≥ the best d² so far, so a cell near the surface costs a few reads.
//
// A refresh runs on the steps that are multiples of k.refresh_every (each point at its own
// step: step_scalars[STEP]); the passes of a point not due return at once. A run's initial band
// is the refresh at step 0.
//
// Assembled per kernel as the other families are (common.wgsl + the part above the first
// "// ---- kernel:" line + one section).

// Whether the invocation's point refreshes its band at this step (each kernel binds
// step_scalars after its fields).
fn refresh_due() -> bool {
    return step_scalars[point_scalar(STEP)] % k.refresh_every == 0u;
}

// ---- kernel: distance_from_metal_along_x
// g(i, j) = min{|i − i'| : xi(i', j) ≥ ½, |i − i'| ≤ R}, else R + 1 (cells; not periodic).
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read_write> column_distance: array<u32>;
@group(0) @binding(3) var<storage, read> step_scalars: array<u32>;

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn distance_from_metal_along_x(@builtin(global_invocation_id) id: vec3<u32>) {
    enter_point(id.z);
    let m = id.x;
    let i = id.y;
    let nx = k.nx;
    if (i >= nx || m >= layer_cells() || !refresh_due()) { return; }
    var g = k.band_reach + 1u;
    for (var r = 0u; r <= k.band_reach; r++) {
        let below = r <= i;
        let above = i + r < nx;
        if ((below && xi[cell_of(i - r, m)] >= 0.5) || (above && xi[cell_of(i + r, m)] >= 0.5)) {
            g = r;
            break;
        }
        if (!below && !above) { break; }
    }
    column_distance[cell_of(i, m)] = g;
}

// ---- kernel: distance_from_metal_along_y
// d²_xy(i, j, k) = min_{|δ| ≤ min(R, ⌊ny/2⌋)} g(i, j + δ, k)² + δ² (u32; cells²).
@group(0) @binding(1) var<storage, read> column_distance: array<u32>;
@group(0) @binding(2) var<storage, read_write> plane_distance_sq: array<u32>;
@group(0) @binding(3) var<storage, read> step_scalars: array<u32>;

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn distance_from_metal_along_y(@builtin(global_invocation_id) id: vec3<u32>) {
    enter_point(id.z);
    let m = id.x;
    let i = id.y;
    let ny = k.ny;
    let nz = k.nz;
    if (i >= k.nx || m >= layer_cells() || !refresh_due()) { return; }
    // The line of cells along y through (i, m): j = m / nz, stepping by nz.
    let j = m / nz;
    let line = cell_of(i, m - j * nz);
    let g = column_distance[line + j * nz];
    var best = g * g;
    // Offsets past ⌊ny/2⌋ reach the same cells the other way round, nearer.
    let reach = min(k.band_reach, ny / 2u);
    for (var s = 1u; s <= reach && s * s < best; s++) {
        let right = column_distance[line + ((j + s) % ny) * nz];
        let left = column_distance[line + ((j + ny - s) % ny) * nz];
        best = min(best, min(right * right, left * left) + s * s);
    }
    plane_distance_sq[cell_of(i, m)] = best;
}

// ---- kernel: distance_from_metal_along_z
// d = (√d² − ½) Δx ≥ 0 (µm; 0 in the metal), d² = min_{|δ| ≤ min(R, ⌊nz/2⌋)} d²_xy(i, j, k + δ) + δ²
// (in 2D, nz = 1, the window is empty and d² = d²_xy).
@group(0) @binding(1) var<storage, read> plane_distance_sq: array<u32>;
@group(0) @binding(2) var<storage, read_write> distance: array<f32>;
@group(0) @binding(3) var<storage, read> step_scalars: array<u32>;

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn distance_from_metal_along_z(@builtin(global_invocation_id) id: vec3<u32>) {
    enter_point(id.z);
    let m = id.x;
    let i = id.y;
    let nz = k.nz;
    if (i >= k.nx || m >= layer_cells() || !refresh_due()) { return; }
    let kk = m % nz;
    let line = cell_of(i, m - kk);
    var best = plane_distance_sq[line + kk];
    let reach = min(k.band_reach, nz / 2u);
    for (var s = 1u; s <= reach && s * s < best; s++) {
        let front = plane_distance_sq[line + (kk + s) % nz];
        let back = plane_distance_sq[line + (kk + nz - s) % nz];
        best = min(best, min(front, back) + s * s);
    }
    distance[line + kk] = select(max(sqrt(f32(best)) - 0.5, 0.0) * k.dx, 0.0, best == 0u);
}

// ---- kernel: layer_indicator
// s = [1 − h(xi)] · ½[1 − tanh((d − L)/(2δ_s))], evaluated as [1 − h(xi)] / (1 + e^{(d − L)/δ_s})
// (the same function, without f32 cancellation where the band is small; the exponent is capped
// at 80, where the band is ~1e-35).
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read> distance: array<f32>;
@group(0) @binding(3) var<storage, read_write> layer: array<f32>;
@group(0) @binding(4) var<storage, read> step_scalars: array<u32>;

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn layer_indicator(@builtin(global_invocation_id) id: vec3<u32>) {
    enter_point(id.z);
    let m = id.x;
    let i = id.y;
    if (i >= k.nx || m >= layer_cells() || !refresh_due()) { return; }
    let n = cell_of(i, m);
    let band = 1.0 / (1.0 + exp(min((distance[n] - k.layer_thickness) / k.layer_width, 80.0)));
    layer[n] = (1.0 - interpolation(xi[n])) * band;
}
