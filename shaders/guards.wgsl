// Per-step field guards, twin of CpuBackend::check_fields (src/backend/cpu/mod.rs; the bounds
// come from src/backend/guards.rs): NaN/Inf anywhere, xi outside [−0.1, 1.1], or c below −1e-4
// where xi < ½ ends the run, naming the first offending cell (row-major) of the first failing
// field in the order xi, c, φ. The concentration is stored as its excess u = c/c0 − 1: the guard
// checks and records c = 1 + u, as the CPU does.
//
// The guard buffer (u32 words, GUARD_WORDS per point of the batch; layout
// kernels::guards::field_guard, generated as GUARD_*; cells are indices within the point):
//   FIRST_STEP     the step of the first failure, GUARD_NONE until one happens;
//   CANDIDATE + f  this step's first bad cell of field f (0 xi, 1 c, 2 φ), lowered by atomicMin;
//   CELL + f       the first failing step's bad cells, and VALUE + f their values (f32 bits).
// check_fields runs over the grid; check_fields_finish (one invocation) records a failure and
// clears the candidates for the next step. Later steps leave a recorded failure alone; the host
// reads the buffer once per batch, with the step reports.
//
// WGSL lets a compiler assume finite floats (x != x may fold to false): finiteness is read from
// the exponent bits.
//
// Assembled per kernel as the other families are, with common.wgsl (the grid size of
// RunConstants at binding 0).

fn is_finite(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

// ---- kernel: check_fields
// CANDIDATE + f = min n over cells failing: xi ∉ [−0.1, 1.1]; c = 1 + u < −1e-4 with xi < ½; any
// non-finite.
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read> excess: array<f32>;
@group(0) @binding(3) var<storage, read> phi: array<f32>;
@group(0) @binding(4) var<storage, read_write> guard: array<atomic<u32>>;

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn check_fields(@builtin(global_invocation_id) id: vec3<u32>) {
    enter_point(id.z);
    let m = id.x;
    let i = id.y;
    if (i >= k.nx || m >= layer_cells()) { return; }
    // FIRST_STEP is written only by check_fields_finish, a later dispatch: set means an earlier
    // step failed, and that step is the one reported.
    let g = point * GUARD_WORDS;
    if (atomicLoad(&guard[g + GUARD_FIRST_STEP]) != GUARD_NONE) { return; }
    let n = cell_of(i, m);
    let local = local_cell(n);
    let x = xi[n];
    if (!(is_finite(x) && x >= ORDER_PARAMETER_MIN && x <= ORDER_PARAMETER_MAX)) {
        atomicMin(&guard[g + GUARD_CANDIDATE], local);
    }
    let cn = 1.0 + excess[n];
    if (!(is_finite(cn) && (cn >= CONCENTRATION_FLOOR || x >= 0.5))) {
        atomicMin(&guard[g + GUARD_CANDIDATE + 1u], local);
    }
    if (!is_finite(phi[n])) {
        atomicMin(&guard[g + GUARD_CANDIDATE + 2u], local);
    }
}

// ---- kernel: check_fields_finish
// On the first step with a candidate: FIRST_STEP = STEP, CELL + f = CANDIDATE + f, VALUE + f =
// the field there (c = 1 + u); then CANDIDATE + f = NONE.
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read> excess: array<f32>;
@group(0) @binding(3) var<storage, read> phi: array<f32>;
@group(0) @binding(4) var<storage, read> step_scalars: array<u32>;
@group(0) @binding(5) var<storage, read_write> guard: array<u32>;

// Field `field` at the point's cell `local`.
fn value_at(field: u32, local: u32) -> f32 {
    let n = point * point_cells() + local;
    switch field {
        case 0u: { return xi[n]; }
        case 1u: { return 1.0 + excess[n]; }
        default: { return phi[n]; }
    }
}

@compute @workgroup_size(1)
fn check_fields_finish(@builtin(workgroup_id) wid: vec3<u32>) {
    enter_point(wid.z);
    let g = point * GUARD_WORDS;
    var failed = false;
    for (var f = 0u; f < GUARDED_FIELDS; f++) {
        failed = failed || guard[g + GUARD_CANDIDATE + f] != GUARD_NONE;
    }
    if (failed && guard[g + GUARD_FIRST_STEP] == GUARD_NONE) {
        guard[g + GUARD_FIRST_STEP] = step_scalars[point_scalar(STEP)];
        for (var f = 0u; f < GUARDED_FIELDS; f++) {
            let n = guard[g + GUARD_CANDIDATE + f];
            guard[g + GUARD_CELL + f] = n;
            if (n != GUARD_NONE) {
                guard[g + GUARD_VALUE + f] = bitcast<u32>(value_at(f, n));
            }
        }
    }
    for (var f = 0u; f < GUARDED_FIELDS; f++) {
        guard[g + GUARD_CANDIDATE + f] = GUARD_NONE;
    }
}
