// Per-step scalar control on the device, twins of src/model/timestep.rs (time_step) and
// src/model/control.rs (ShiftSearch, one evaluation per solve_shift_iteration): kernels that read
// the reductions in step_scalars and write dt, the noise amplitude and the electrode potential
// back into it, so a run needs no host round trip per step. The search's constants
// (CONTROL_*) are generated from the Rust ones.
//
// step_scalars is bound as u32 (some slots hold integers); f32 slots go through bitcast.
// Assembled per kernel as order_parameter.wgsl is (no common.wgsl).

struct StepControl {
    // Δx² / (2d L_σ κ (1+δ6)² (1 + 36 δ6)), constant over a run.
    gradient_bound: f32,
    // 2 L_σ W and L_η max|h''| of the reaction bound 1/(2 L_σ W + L_η max|h''| max|R|).
    reaction_base: f32,
    reaction_coefficient: f32,
    dx: f32,
    // numerics.max_dt_s / S.
    cap_bound: f32,
    // S.
    safety: f32,
    // numerics.dt_s, or 0 for the adaptive step.
    fixed_dt: f32,
    noise_amplitude: f32,
    noise_dt_ref: f32,
    // Σ ∂xi/∂t the galvanostatic current asks for, and |E| ≤ max_overpotential (V).
    target_rate_sum: f32,
    max_overpotential: f32,
    // Workgroups of reaction_field (its indirect dispatch while the search runs) and their count
    // (the partial sums solve_shift_iteration finishes).
    reaction_workgroups_x: u32,
    reaction_workgroups_y: u32,
    reaction_partial_count: u32,
    _pad0: u32,
    _pad1: u32,
}

// The control of the invocation's point (enter_control): one workgroup per point.
var<private> control: StepControl;

// ±∞ of the bracket.
const UNBOUNDED: f32 = 1.0e30;

// ---- kernel: time_step
// dt = S · min(gradient, reaction, migration, motion, cap bounds) (or the fixed dt), and the noise
// amplitude A sqrt(dt_ref/dt) of the step.
@group(0) @binding(0) var<uniform> step_control: array<StepControl, MAX_POINTS>;
@group(0) @binding(1) var<storage, read_write> step_scalars: array<u32>;

fn read_scalar(slot: u32) -> f32 {
    return bitcast<f32>(step_scalars[point_scalar(slot)]);
}

fn write_scalar(slot: u32, v: f32) {
    step_scalars[point_scalar(slot)] = bitcast<u32>(v);
}

@compute @workgroup_size(1)
fn time_step(@builtin(workgroup_id) wid: vec3<u32>) {
    select_point(wid.z);
    control = step_control[point];
    var which = 0u;
    var limit = control.gradient_bound;
    let reaction = 1.0 / (control.reaction_base + control.reaction_coefficient * read_scalar(REACTION_FACTOR_MAX));
    if (reaction < limit) { which = 1u; limit = reaction; }
    let migration_speed = read_scalar(MIGRATION_SPEED_MAX);
    if (migration_speed > 0.0) {
        let migration = control.dx / migration_speed;
        if (migration < limit) { which = 2u; limit = migration; }
    }
    let front_speed = read_scalar(FRONT_SPEED_MAX);
    if (front_speed > 0.0) {
        let motion = 0.1 * control.dx / front_speed;
        if (motion < limit) { which = 3u; limit = motion; }
    }
    if (control.cap_bound < limit) { which = 4u; limit = control.cap_bound; }
    let stable = control.safety * limit;
    var dt = stable;
    if (control.fixed_dt > 0.0) {
        dt = control.fixed_dt;
        which = 5u;
    }
    write_scalar(DT, dt);
    write_scalar(STABLE_DT, stable);
    step_scalars[point_scalar(TIME_STEP_BOUND)] = which;
    write_scalar(NOISE_AMPLITUDE, control.noise_amplitude * sqrt(control.noise_dt_ref / dt));
}

// ---- kernel: solve_shift_start
// model::control::ShiftSearch::new: E_base = E (the last step's potential), Δ = 0, bracket
// (−∞, ∞), the first reach, and the indirect dispatch of reaction_field armed for the first
// evaluation.
@group(0) @binding(0) var<uniform> step_control: array<StepControl, MAX_POINTS>;
@group(0) @binding(1) var<storage, read_write> step_scalars: array<u32>;
@group(0) @binding(2) var<storage, read_write> reaction_dispatch: array<u32>;

fn write_scalar(slot: u32, v: f32) {
    step_scalars[point_scalar(slot)] = bitcast<u32>(v);
}

@compute @workgroup_size(1)
fn solve_shift_start(@builtin(workgroup_id) wid: vec3<u32>) {
    select_point(wid.z);
    control = step_control[point];
    step_scalars[point_scalar(ELECTRODE_BASE)] = step_scalars[point_scalar(ELECTRODE_POTENTIAL)];
    write_scalar(CONTROL_SHIFT, 0.0);
    write_scalar(CONTROL_LO, -UNBOUNDED);
    write_scalar(CONTROL_HI, UNBOUNDED);
    write_scalar(CONTROL_REACH, CONTROL_FIRST_REACH_V);
    write_scalar(CONTROL_RESIDUAL, 0.0);
    write_scalar(CONTROL_STEP_LAST, UNBOUNDED);
    write_scalar(CONTROL_STEP_BEFORE, UNBOUNDED);
    step_scalars[point_scalar(CONTROL_EVALUATIONS)] = 0u;
    step_scalars[point_scalar(CONTROL_STATUS)] = CONTROL_SEARCHING;
    // Every live point searches: the evaluations run all of them (one z layer each).
    if (wid.z == 0u) {
        reaction_dispatch[0] = control.reaction_workgroups_x;
        reaction_dispatch[1] = control.reaction_workgroups_y;
        reaction_dispatch[2] = point_table.live;
    }
}

// ---- kernel: solve_shift_iteration
// model::control::ShiftSearch::advance after one evaluation: F = Σ AC + Σ BV(E_base + Δ) − target
// (F decreasing in Δ), from reaction_field's partial sums (finished here in a fixed order), then
// one safeguarded Newton step whose reach doubles until F changes sign, or the end of the search:
// converged (|F| ≤ tol |target|, or a bracket at the resolution of E), not converged
// (CONTROL_MAX_EVALUATIONS spent) or beyond the limit (|E| = max_overpotential with F still on
// the wrong side). E = E_base + Δ afterwards; once the search has ended the indirect dispatch of
// reaction_field is emptied (0 workgroups), so the rest of the step's budget costs nothing.
@group(0) @binding(0) var<uniform> step_control: array<StepControl, MAX_POINTS>;
@group(0) @binding(1) var<storage, read_write> step_scalars: array<u32>;
@group(0) @binding(2) var<storage, read> reaction_partials: array<vec2<f32>>;

var<workgroup> partial_sums: array<vec2<f32>, WORKGROUP_1D>;
var<workgroup> search_status: u32;

fn read_scalar(slot: u32) -> f32 {
    return bitcast<f32>(step_scalars[point_scalar(slot)]);
}

fn write_scalar(slot: u32, v: f32) {
    step_scalars[point_scalar(slot)] = bitcast<u32>(v);
}

fn finite(v: f32) -> bool {
    return abs(v) < UNBOUNDED;
}

// NaN and ±Inf by their exponent bits (WGSL lets a compiler assume finite floats, so x != x may
// fold to false).
fn is_finite(v: f32) -> bool {
    return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

// Ends the point's search with `status` (solve_shift_dispatch empties the dispatch of the
// remaining evaluations once no point searches).
fn end_search(status: u32) {
    step_scalars[point_scalar(CONTROL_STATUS)] = status;
}

// model::control::newton_step: the Newton step on asinh(F/s), s = |target|.
fn newton_step(f: f32, df: f32, s: f32) -> f32 {
    let u = f / s;
    let w = abs(u);
    var root = sqrt(1.0 + w * w);
    if (w > 1.0) {
        root = w * sqrt(1.0 + 1.0 / (w * w));
    }
    return -asinh(u) * root * s / df;
}

// One step of the search from F and dF/dΔ at the current Δ (thread 0 only).
fn advance(f: f32, df: f32) {
    let x = read_scalar(CONTROL_SHIFT);
    let base = read_scalar(ELECTRODE_BASE);
    var lo = read_scalar(CONTROL_LO);
    var hi = read_scalar(CONTROL_HI);
    var reach = read_scalar(CONTROL_REACH);
    let f_before = read_scalar(CONTROL_RESIDUAL);
    let step_last = read_scalar(CONTROL_STEP_LAST);
    let step_before = read_scalar(CONTROL_STEP_BEFORE);
    let evaluations = step_scalars[point_scalar(CONTROL_EVALUATIONS)] + 1u;
    step_scalars[point_scalar(CONTROL_EVALUATIONS)] = evaluations;
    write_scalar(CONTROL_RESIDUAL, f);
    if (!(is_finite(f) && is_finite(df))) {
        // Blown-up fields: the step goes on at the last step's E (the host reports the field
        // guard's cell first). The rates are evaluated there once more.
        write_scalar(CONTROL_SHIFT, 0.0);
        write_scalar(ELECTRODE_POTENTIAL, base);
        step_scalars[point_scalar(CONTROL_STATUS)] = CONTROL_NOT_FINITE;
        return;
    }
    let scale = max(abs(control.target_rate_sum), 1e-30);
    if (abs(f / scale) <= CONTROL_TOLERANCE) {
        end_search(CONTROL_CONVERGED);
        return;
    }
    let min_shift = -control.max_overpotential - base;
    let max_shift = control.max_overpotential - base;
    // F > 0: too much plating, the root lies at larger Δ.
    if (f > 0.0) {
        if (x >= max_shift) {
            end_search(CONTROL_BEYOND_LIMIT);
            return;
        }
        lo = max(lo, x);
    } else {
        if (x <= min_shift) {
            end_search(CONTROL_BEYOND_LIMIT);
            return;
        }
        hi = min(hi, x);
    }
    write_scalar(CONTROL_LO, lo);
    write_scalar(CONTROL_HI, hi);
    let bracketed = finite(lo) && finite(hi);
    let resolution = max(CONTROL_BRACKET_FLOOR_V, CONTROL_RELATIVE_RESOLUTION * abs(base + x));
    if (bracketed && hi - lo <= resolution) {
        end_search(CONTROL_CONVERGED);
        return;
    }
    if (evaluations >= CONTROL_MAX_EVALUATIONS) {
        end_search(CONTROL_NOT_CONVERGED);
        return;
    }
    let newton = x + newton_step(f, df, scale);
    let newton_valid = df < 0.0 && finite(df) && finite(newton);
    var next: f32;
    if (bracketed) {
        // Newton while it stays inside and shrinks fast enough, else bisection.
        if (newton_valid && newton > lo && newton < hi && abs(newton - x) <= 0.5 * step_before) {
            next = newton;
        } else {
            next = 0.5 * (lo + hi);
        }
    } else {
        let direction = select(-1.0, 1.0, f > 0.0);
        var length = reach;
        if (newton_valid) {
            length = abs(newton - x);
        }
        // The last move did not halve |F|: at least twice as far this time.
        if (evaluations > 1u && abs(f) > 0.5 * abs(f_before)) {
            length = max(length, 2.0 * step_last);
        }
        next = x + direction * min(length, reach);
        write_scalar(CONTROL_REACH, 2.0 * reach);
    }
    next = clamp(next, min_shift, max_shift);
    write_scalar(CONTROL_STEP_BEFORE, step_last);
    write_scalar(CONTROL_STEP_LAST, abs(next - x));
    write_scalar(CONTROL_SHIFT, next);
    write_scalar(ELECTRODE_POTENTIAL, base + next);
}

@compute @workgroup_size(WORKGROUP_1D)
fn solve_shift_iteration(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    select_point(wid.z);
    control = step_control[point];
    if (lid.x == 0u) {
        search_status = step_scalars[point_scalar(CONTROL_STATUS)];
    }
    if (workgroupUniformLoad(&search_status) != CONTROL_SEARCHING) {
        return;
    }
    var acc = vec2<f32>(0.0, 0.0);
    let first = point * control.reaction_partial_count;
    for (var t = lid.x; t < control.reaction_partial_count; t += WORKGROUP_1D) {
        acc += reaction_partials[first + t];
    }
    partial_sums[lid.x] = acc;
    for (var s = WORKGROUP_1D / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (lid.x < s) {
            partial_sums[lid.x] += partial_sums[lid.x + s];
        }
    }
    workgroupBarrier();
    if (lid.x == 0u) {
        let sums = partial_sums[0];
        write_scalar(REACTION_SUM, sums.x);
        write_scalar(REACTION_SUM_DERIVATIVE, sums.y);
        advance(read_scalar(AC_RATE_SUM) + sums.x - control.target_rate_sum, sums.y);
    }
}

// ---- kernel: solve_shift_dispatch
// After each evaluation (one invocation for all points): the indirect dispatch of reaction_field
// armed for the live points while any of them searches (or has sums that were not finite),
// emptied (0 workgroups) once none does, so the rest of the step's budget costs nothing.
@group(0) @binding(0) var<uniform> step_control: array<StepControl, MAX_POINTS>;
@group(0) @binding(1) var<storage, read> step_scalars: array<u32>;
@group(0) @binding(2) var<storage, read_write> reaction_dispatch: array<u32>;

@compute @workgroup_size(1)
fn solve_shift_dispatch() {
    var searching = false;
    for (var z = 0u; z < point_table.live; z++) {
        select_point(z);
        // A point whose sums were not finite is evaluated again (at its last step's E).
        let status = step_scalars[point_scalar(CONTROL_STATUS)];
        searching = searching || status == CONTROL_SEARCHING || status == CONTROL_NOT_FINITE;
    }
    select_point(0u);
    let c = step_control[point];
    reaction_dispatch[0] = select(0u, c.reaction_workgroups_x, searching);
    reaction_dispatch[1] = select(0u, c.reaction_workgroups_y, searching);
    reaction_dispatch[2] = select(0u, point_table.live, searching);
}

// ---- kernel: advance_step
// step ← step + 1 (the noise counter of the next step).
@group(0) @binding(0) var<storage, read_write> step_scalars: array<u32>;

@compute @workgroup_size(1)
fn advance_step(@builtin(workgroup_id) wid: vec3<u32>) {
    select_point(wid.z);
    step_scalars[point_scalar(STEP)] += 1u;
}
