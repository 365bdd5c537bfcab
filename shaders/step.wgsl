// Glue of one step on the device, twins of the loops `CpuBackend::step` writes inline
// (src/backend/cpu/mod.rs): the potential equation's source and the concentration solve's 1/dt.
// Assembled per kernel as the other families are (head above the first "// ---- kernel:" line
// plus one section).

struct StepGlue {
    nx: u32,
    ny: u32,
    nz: u32,
    // q of −∇·(σ∇φ) = −q ∂xi/∂t (Params::potential_source).
    potential_source: f32,
}

@group(0) @binding(0) var<uniform> step_glue: array<StepGlue, MAX_POINTS>;

// The glue of the invocation's point (enter_point).
var<private> g: StepGlue;

fn enter_point(z: u32) {
    select_point(z);
    g = step_glue[point];
}

// The buffer index of cell (i, m) of the invocation's point.
fn glue_cell(i: u32, m: u32) -> u32 {
    let layer = g.ny * g.nz;
    return point * g.nx * layer + i * layer + m;
}

// ---- kernel: potential_source
// rhs = −(q / dt_last) Δxi: the last step's deposition rate as the source of the potential.
@group(0) @binding(1) var<storage, read> dxi: array<f32>;
@group(0) @binding(2) var<storage, read> step_scalars: array<f32>;
@group(0) @binding(3) var<storage, read_write> rhs: array<f32>;

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn potential_source(@builtin(global_invocation_id) id: vec3<u32>) {
    enter_point(id.z);
    let m = id.x;
    let i = id.y;
    if (i >= g.nx || m >= g.ny * g.nz) { return; }
    let n = glue_cell(i, m);
    let q = g.potential_source / step_scalars[point_scalar(DT)];
    rhs[n] = -q * dxi[n];
}

// ---- kernel: inverse_time_step_field
// a = 1/dt on every cell: the mass term of the implicit concentration step.
@group(0) @binding(1) var<storage, read> step_scalars: array<f32>;
@group(0) @binding(2) var<storage, read_write> a: array<f32>;

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn inverse_time_step_field(@builtin(global_invocation_id) id: vec3<u32>) {
    enter_point(id.z);
    let m = id.x;
    let i = id.y;
    if (i >= g.nx || m >= g.ny * g.nz) { return; }
    a[glue_cell(i, m)] = 1.0 / step_scalars[point_scalar(DT)];
}
