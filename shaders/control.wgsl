// Per-step scalar control on the device, twins of src/model/timestep.rs (time_step) and
// src/model/control.rs (solve_shift, one iteration per dispatch): single invocations that read
// the reductions in step_scalars and write dt, the noise amplitude and the electrode potential
// back into it, so a run needs no host round trip per step.
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
    // Σ ∂xi/∂t the galvanostatic current asks for, and the relative tolerance on it.
    target_rate_sum: f32,
    control_tolerance: f32,
    _pad: u32,
}

// Mirrors the private constants of src/model/control.rs.
const MAX_STEP_V: f32 = 0.25;
const BRACKET_FLOOR_V: f32 = 1.0e-9;
// ±∞ of the bracket.
const UNBOUNDED: f32 = 1.0e30;

// ---- kernel: time_step
// dt = S · min(gradient, reaction, migration, motion, cap bounds) (or the fixed dt), and the noise
// amplitude A sqrt(dt_ref/dt) of the step.
@group(0) @binding(0) var<uniform> control: StepControl;
@group(0) @binding(1) var<storage, read_write> step_scalars: array<u32>;

fn read_scalar(slot: u32) -> f32 {
    return bitcast<f32>(step_scalars[slot]);
}

fn write_scalar(slot: u32, v: f32) {
    step_scalars[slot] = bitcast<u32>(v);
}

@compute @workgroup_size(1)
fn time_step() {
    let d = 2.0;
    var which = 0u;
    var limit = control.gradient_bound;
    let reaction = 1.0 / (control.reaction_base + control.reaction_coefficient * read_scalar(REACTION_FACTOR_MAX));
    if (reaction < limit) { which = 1u; limit = reaction; }
    let migration_speed = read_scalar(MIGRATION_SPEED_MAX);
    if (migration_speed > 0.0) {
        let migration = control.dx / (d * migration_speed);
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
    step_scalars[TIME_STEP_BOUND] = which;
    write_scalar(NOISE_AMPLITUDE, control.noise_amplitude * sqrt(control.noise_dt_ref / dt));
}

// ---- kernel: solve_shift_start
// E_base = E (the last step's potential), Δ = 0, bracket (−∞, ∞): the state before the first
// evaluation.
@group(0) @binding(0) var<storage, read_write> step_scalars: array<u32>;

fn write_scalar(slot: u32, v: f32) {
    step_scalars[slot] = bitcast<u32>(v);
}

@compute @workgroup_size(1)
fn solve_shift_start() {
    step_scalars[ELECTRODE_BASE] = step_scalars[ELECTRODE_POTENTIAL];
    write_scalar(CONTROL_SHIFT, 0.0);
    write_scalar(CONTROL_LO, -UNBOUNDED);
    write_scalar(CONTROL_HI, UNBOUNDED);
    step_scalars[CONTROL_ITERATIONS] = 0u;
    step_scalars[CONTROL_DONE] = 0u;
}

// ---- kernel: solve_shift_iteration
// One safeguarded Newton step on F(Δ) = Σ AC + Σ BV(E_base + Δ) − target (F decreasing in Δ),
// from the sums at the current Δ; stops (done = 1) at |F| ≤ tol |target|, a bracket narrower than
// 1e-9 V or MAX_ITERATIONS, as solve_shift's loop does. E = E_base + Δ afterwards.
@group(0) @binding(0) var<uniform> control: StepControl;
@group(0) @binding(1) var<storage, read_write> step_scalars: array<u32>;

fn read_scalar(slot: u32) -> f32 {
    return bitcast<f32>(step_scalars[slot]);
}

fn write_scalar(slot: u32, v: f32) {
    step_scalars[slot] = bitcast<u32>(v);
}

fn finite(v: f32) -> bool {
    return abs(v) < UNBOUNDED;
}

@compute @workgroup_size(1)
fn solve_shift_iteration() {
    if (step_scalars[CONTROL_DONE] != 0u) { return; }
    let scale = max(abs(control.target_rate_sum), 1e-30);
    let f = read_scalar(AC_RATE_SUM) + read_scalar(REACTION_SUM) - control.target_rate_sum;
    let df = read_scalar(REACTION_SUM_DERIVATIVE);
    let x = read_scalar(CONTROL_SHIFT);
    var lo = read_scalar(CONTROL_LO);
    var hi = read_scalar(CONTROL_HI);
    let iterations = step_scalars[CONTROL_ITERATIONS];
    if (abs(f / scale) <= control.control_tolerance || hi - lo <= BRACKET_FLOOR_V || iterations >= CONTROL_MAX_ITERATIONS) {
        step_scalars[CONTROL_DONE] = 1u;
        return;
    }
    // F > 0: too much plating, the root lies at larger Δ.
    if (f > 0.0) {
        lo = max(lo, x);
    } else {
        hi = min(hi, x);
    }
    var next: f32;
    let newton = x - f / df;
    if (df < 0.0 && finite(df) && finite(newton)) {
        next = x + clamp(newton - x, -MAX_STEP_V, MAX_STEP_V);
    } else if (f > 0.0) {
        next = x + MAX_STEP_V;
    } else {
        next = x - MAX_STEP_V;
    }
    if (finite(lo) && finite(hi) && !(next > lo && next < hi)) {
        next = 0.5 * (lo + hi);
    }
    write_scalar(CONTROL_LO, lo);
    write_scalar(CONTROL_HI, hi);
    write_scalar(CONTROL_SHIFT, next);
    step_scalars[CONTROL_ITERATIONS] = iterations + 1u;
    write_scalar(ELECTRODE_POTENTIAL, read_scalar(ELECTRODE_BASE) + next);
}

// ---- kernel: advance_step
// step ← step + 1 (the noise counter of the next step).
@group(0) @binding(0) var<storage, read_write> step_scalars: array<u32>;

@compute @workgroup_size(1)
fn advance_step() {
    step_scalars[STEP] += 1u;
}
