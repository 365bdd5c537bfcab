// Device reductions in two levels, deterministic order, segmented by point (the batch axis):
// `*_partials` (a fixed number of workgroups per point, each thread striding over the point's
// input, then a tree in workgroup memory) writes one partial per workgroup; `*_finish` (one
// workgroup per point) reduces the point's partials into its step_scalars[slot].
// Sums accumulate in f32 (the CPU's are f64). Maxima start at 0 (every operand is ≥ 0).
//
// Assembled per kernel as order_parameter.wgsl is (no common.wgsl).

struct ReduceParams {
    // Elements of the input per point (partials: the field length; finish: the partial count).
    count: u32,
    // Slot of step_scalars the finish pass writes.
    slot: u32,
    _pad0: u32,
    _pad1: u32,
}

var<workgroup> shared_values: array<f32, WORKGROUP_1D>;

// Tree sum of shared_values into shared_values[0] (all invocations call it: it holds barriers).
fn tree_sum(lid: u32) {
    for (var s = WORKGROUP_1D / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (lid < s) {
            shared_values[lid] += shared_values[lid + s];
        }
    }
    workgroupBarrier();
}

fn tree_max(lid: u32) {
    for (var s = WORKGROUP_1D / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (lid < s) {
            shared_values[lid] = max(shared_values[lid], shared_values[lid + s]);
        }
    }
    workgroupBarrier();
}

// ---- kernel: sum_partials
// partial[g] = Σ input[t] over the elements t of the point visited by workgroup g.
@group(0) @binding(0) var<uniform> params: ReduceParams;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;

@compute @workgroup_size(WORKGROUP_1D)
fn sum_partials(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    select_point(wid.z);
    let stride = groups.x * WORKGROUP_1D;
    let first = point * params.count;
    var acc = 0.0;
    for (var t = gid.x; t < params.count; t += stride) {
        acc += input[first + t];
    }
    shared_values[lid.x] = acc;
    tree_sum(lid.x);
    if (lid.x == 0u) {
        partials[point * groups.x + wid.x] = shared_values[0];
    }
}

// ---- kernel: max_partials
// partial[g] = max input[t] over the elements t of the point visited by workgroup g.
@group(0) @binding(0) var<uniform> params: ReduceParams;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;

@compute @workgroup_size(WORKGROUP_1D)
fn max_partials(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    select_point(wid.z);
    let stride = groups.x * WORKGROUP_1D;
    let first = point * params.count;
    var acc = 0.0;
    for (var t = gid.x; t < params.count; t += stride) {
        acc = max(acc, input[first + t]);
    }
    shared_values[lid.x] = acc;
    tree_max(lid.x);
    if (lid.x == 0u) {
        partials[point * groups.x + wid.x] = shared_values[0];
    }
}

// ---- kernel: sum_finish
// step_scalars[slot] = Σ partials.
@group(0) @binding(0) var<uniform> params: ReduceParams;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> step_scalars: array<f32>;

@compute @workgroup_size(WORKGROUP_1D)
fn sum_finish(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    select_point(wid.z);
    let first = point * params.count;
    var acc = 0.0;
    for (var t = lid.x; t < params.count; t += WORKGROUP_1D) {
        acc += partials[first + t];
    }
    shared_values[lid.x] = acc;
    tree_sum(lid.x);
    if (lid.x == 0u) {
        step_scalars[point_scalar(params.slot)] = shared_values[0];
    }
}

// ---- kernel: max_finish
// step_scalars[slot] = max partials.
@group(0) @binding(0) var<uniform> params: ReduceParams;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> step_scalars: array<f32>;

@compute @workgroup_size(WORKGROUP_1D)
fn max_finish(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    select_point(wid.z);
    let first = point * params.count;
    var acc = 0.0;
    for (var t = lid.x; t < params.count; t += WORKGROUP_1D) {
        acc = max(acc, partials[first + t]);
    }
    shared_values[lid.x] = acc;
    tree_max(lid.x);
    if (lid.x == 0u) {
        step_scalars[point_scalar(params.slot)] = shared_values[0];
    }
}

// ---- kernel: noise_mean
// n̄ = Σ N / Σ h' (0 when Σ h' = 0), for the zero-sum noise of update_order_parameter.
@group(0) @binding(0) var<storage, read_write> step_scalars: array<f32>;

@compute @workgroup_size(1)
fn noise_mean(@builtin(workgroup_id) wid: vec3<u32>) {
    select_point(wid.z);
    let hp_sum = step_scalars[point_scalar(H_PRIME_SUM)];
    step_scalars[point_scalar(NOISE_MEAN)] = select(0.0, step_scalars[point_scalar(NOISE_SUM)] / hp_sum, hp_sum > 0.0);
}
