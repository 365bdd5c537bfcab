// Multigrid reductions: workgroup tree sums, the residual statistics of the finest level and
// the dot products (every field-to-scalar sum goes through workgroup_sum). Segmented by point:
// a kernel over the level writes the partials of point p at p·G + g (G the workgroups of one
// point, g the workgroup in the point's layer; × STATISTICS for residual_statistics), and the
// finishing kernels run one workgroup per point (workgroup_id.z), reading the point's G partials
// (`count` of their Level uniform) and writing its scalars.

// ---------------------------------------------------------------------------------------------
// residual_statistics(u, f, a, kx_faces, ky_faces, kz_faces, bcs, dx) → per-workgroup partial
// sums, then residual_statistics_finish → STATISTICS values: Σ r², Σ b², Σ r, Σ |b|, Σ ((a + Σ w)|u|)²
// with r = b − A u and b = f + the wall terms factor k_wall g/Δx² (ResidualStatistics). With a
// reference offset s (the concentration stored as u = c/c0 − 1, s = 1) Σ b² and Σ |b| are those of
// v = u + s's right-hand side, f + s a plus factor k_wall (g + s)/Δx² (the CPU's
// right_hand_side_norms); r, and so Σ r² and Σ r, are the same for u and v. Σ r sums the f32
// residuals, interior fluxes included (the CPU sums f − a u and the wall fluxes in f64 instead).

@group(0) @binding(8) var<storage, read_write> partials: array<f32>;

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

// The workgroups of one point's layer of the dispatch, and the index of `group` among them.
fn point_groups(groups: vec3<u32>) -> u32 {
    return groups.x * groups.y;
}

fn group_in_layer(group: vec3<u32>, groups: vec3<u32>) -> u32 {
    return group.y * groups.x + group.x;
}

// The workgroup's sum of `value` into the point's partials[workgroup]; called in uniform control
// flow.
fn sum_into_partials(t: u32, value: f32, group: vec3<u32>, groups: vec3<u32>) {
    let total = workgroup_sum(t, value);
    if (t == 0u) {
        partials[point * point_groups(groups) + group_in_layer(group, groups)] = total;
    }
}

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn residual_statistics(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    select_point(id.z);
    let m = id.x;
    let i = id.y;
    let layer = layer_cells(level);
    var values = array<f32, STATISTICS>(0.0, 0.0, 0.0, 0.0, 0.0);
    // No early return: every invocation reaches the barriers.
    if (m < layer && i < level.nx) {
        let c = cell_base(level) + i * layer + m;
        let face = x_face_base(level) + i * layer + m;
        let bal = balance(i, m);
        let uc = u[c];
        let ac = a[c];
        let res = f[c] - ac * uc + bal.flux;
        let offset = level.reference_offset;
        var b = f[c] + offset * ac;
        if (i == 0u) {
            b += walls.factor_lo * kx_faces[face] * level.inv_dx2
                * (wall_value(walls, level, false) + offset);
        }
        if (i + 1u == level.nx) {
            b += walls.factor_hi * kx_faces[face + layer] * level.inv_dx2
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
        let g = point * point_groups(groups) + group_in_layer(group, groups);
        partials[g * STATISTICS + t] = sums[t][0];
    }
}

@group(0) @binding(0) var<storage, read> rs_partials: array<f32>;
@group(0) @binding(1) var<storage, read_write> rs_statistics: array<f32>;
@group(0) @binding(2) var<uniform> rs_level: Level;

// Σ of the `count` workgroup partials of residual_statistics, by one workgroup per point, into
// the point's STATISTICS values (at point·STATISTICS).
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn residual_statistics_finish(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    select_point(group.z);
    let first = point * rs_level.count;
    var values = array<f32, STATISTICS>(0.0, 0.0, 0.0, 0.0, 0.0);
    for (var g = t; g < rs_level.count; g += GROUP_CELLS) {
        for (var q = 0u; q < STATISTICS; q++) {
            values[q] += rs_partials[(first + g) * STATISTICS + q];
        }
    }
    for (var q = 0u; q < STATISTICS; q++) {
        sums[q][t] = values[q];
    }
    workgroupBarrier();
    reduce_workgroup(t, STATISTICS);
    if (t < STATISTICS) {
        rs_statistics[point * STATISTICS + t] = sums[t][0];
    }
}

// ---------------------------------------------------------------------------------------------
// dot(x, y) → per-workgroup partial sums (binding 8, as every reduction), then dot_finish →
// the point's scalars[slot] (at point·stride + slot).
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
    select_point(id.z);
    let m = id.x;
    let i = id.y;
    let layer = layer_cells(dot_level);
    var value = 0.0;
    if (m < layer && i < dot_level.nx) {
        let c = cell_base(dot_level) + i * layer + m;
        value = dot_x[c] * dot_y[c];
    }
    sum_into_partials(t, value, group, groups);
}

// A slot of a scalars buffer holding `stride` scalars per point (dot_finish), or pcg_beta's
// restart flag (`index`).
struct Slot {
    index: u32,
    stride: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<storage, read> df_partials: array<f32>;
@group(0) @binding(1) var<storage, read_write> scalars: array<f32>;
@group(0) @binding(2) var<uniform> df_level: Level;
@group(0) @binding(3) var<uniform> df_slot: Slot;

// Σ of the point's `count` partials into its slot, by one workgroup per point.
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn dot_finish(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    select_point(group.z);
    let first = point * df_level.count;
    var value = 0.0;
    for (var g = t; g < df_level.count; g += GROUP_CELLS) {
        value += df_partials[first + g];
    }
    let total = workgroup_sum(t, value);
    if (t == 0u) {
        scalars[point * df_slot.stride + df_slot.index] = total;
    }
}
