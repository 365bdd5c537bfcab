// Flexible conjugate gradients preconditioned by one V-cycle (Multigrid::solve_pcg), with every
// scalar kept on the device in `scalars`: [0] r·z, [1] r·z_old, [2] r·z new, [3] p·q, [4] α,
// [5] β, [6] stopped (1 after a breakdown: α stays 0), PCG_SCALARS per point (point p's from
// p·PCG_SCALARS).

const RZ: u32 = 0u;
const RZ_OLD: u32 = 1u;
const RZ_NEW: u32 = 2u;
const PQ: u32 = 3u;
const ALPHA: u32 = 4u;
const BETA: u32 = 5u;
const STOPPED: u32 = 6u;

// apply_operator(p, a, kx_faces, ky_faces, kz_faces, bcs, dx, q): q = A p = a p − Σ_f k_f (p_nb − p)/Δx²
// with homogeneous wall conditions (the walls uniform holds them: the solve is for the error).
@group(0) @binding(8) var<storage, read_write> q: array<f32>;

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn apply_operator(@builtin(global_invocation_id) id: vec3<u32>) {
    select_point(id.z);
    let m = id.x;
    let i = id.y;
    let layer = layer_cells(level);
    if (m >= layer || i >= level.nx) {
        return;
    }
    let c = cell_base(level) + i * layer + m;
    q[c] = a[c] * u[c] - balance(i, m).flux;
}

@group(0) @binding(0) var<storage, read_write> pcg_scalars: array<f32>;
@group(0) @binding(1) var<uniform> pcg_restart: Slot;

// The point's PCG scalar `slot`.
fn pcg_slot(slot: u32) -> u32 {
    return point * PCG_SCALARS + slot;
}

// β = (r·z − r·z_old)/(r_old·z_old) (flexible CG; 0 on the first iteration, and once stopped,
// so that a zero r·z cannot turn p into NaN), then r·z ← r·z new. One invocation per point.
@compute @workgroup_size(1)
fn pcg_beta(@builtin(workgroup_id) group: vec3<u32>) {
    select_point(group.z);
    var beta = 0.0;
    let rz = pcg_scalars[pcg_slot(RZ)];
    if (pcg_restart.index == 0u && pcg_scalars[pcg_slot(STOPPED)] == 0.0 && rz > 0.0) {
        beta = (pcg_scalars[pcg_slot(RZ_NEW)] - pcg_scalars[pcg_slot(RZ_OLD)]) / rz;
    }
    pcg_scalars[pcg_slot(BETA)] = beta;
    pcg_scalars[pcg_slot(RZ)] = pcg_scalars[pcg_slot(RZ_NEW)];
}

// α = r·z / p·q, or 0 from the first breakdown on (p·q ≤ 0 or r·z ≤ 0: the CPU loop stops). One
// invocation per point.
@compute @workgroup_size(1)
fn pcg_alpha(@builtin(workgroup_id) group: vec3<u32>) {
    select_point(group.z);
    let rz = pcg_scalars[pcg_slot(RZ)];
    let pq = pcg_scalars[pcg_slot(PQ)];
    if (pcg_scalars[pcg_slot(STOPPED)] != 0.0 || !(pq > 0.0 && rz > 0.0)) {
        pcg_scalars[pcg_slot(STOPPED)] = 1.0;
        pcg_scalars[pcg_slot(ALPHA)] = 0.0;
    } else {
        pcg_scalars[pcg_slot(ALPHA)] = rz / pq;
    }
}

@group(0) @binding(0) var<storage, read_write> sa_p: array<f32>;
@group(0) @binding(1) var<storage, read> sa_z: array<f32>;
@group(0) @binding(2) var<storage, read> sa_scalars: array<f32>;
@group(0) @binding(3) var<uniform> sa_level: Level;

// scale_and_add(p, β, z): p = z + β p (the conjugate-gradient direction update).
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn scale_and_add(@builtin(global_invocation_id) id: vec3<u32>) {
    select_point(id.z);
    let m = id.x;
    let i = id.y;
    let layer = layer_cells(sa_level);
    if (m >= layer || i >= sa_level.nx) {
        return;
    }
    let c = cell_base(sa_level) + i * layer + m;
    sa_p[c] = sa_z[c] + sa_scalars[pcg_slot(BETA)] * sa_p[c];
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
    select_point(id.z);
    let m = id.x;
    let i = id.y;
    let layer = layer_cells(pu_level);
    if (m >= layer || i >= pu_level.nx) {
        return;
    }
    let c = cell_base(pu_level) + i * layer + m;
    let alpha = pu_scalars[pcg_slot(ALPHA)];
    if (alpha == 0.0) {
        // Stopped: leave u and r as they are (0 × a non-finite p would not be 0).
        return;
    }
    pu_u[c] += alpha * pu_p[c];
    pu_r[c] += -alpha * pu_q[c];
}
