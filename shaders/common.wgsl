// Shared by the order-parameter, transport and interphase kernels: the run constants (a uniform
// array of blocks, one per point of the batch, mirrored by `RunConstants` in
// src/backend/gpu/kernels/mod.rs, field by field) and the pointwise functions of
// src/model/interphase.rs.

struct RunConstants {
    nx: u32,
    ny: u32,
    nz: u32,
    inv_dx: f32,
    l_sigma: f32,
    w: f32,
    l_eta: f32,
    i0: f32,
    exchange_multiplier: f32,
    eps0: f32,
    strength: f32,
    cos6_t0: f32,
    sin6_t0: f32,
    kinetic_2fold: f32,
    kinetic_6fold: f32,
    cos2_tc: f32,
    sin2_tc: f32,
    cos6_tc: f32,
    sin6_tc: f32,
    grad_sq_min: f32,
    bv_f: f32,
    bv_alpha: f32,
    front_grad_min: f32,
    d_liquid: f32,
    d_solid: f32,
    transport_f: f32,
    cs_over_c0: f32,
    inv_max_h_prime: f32,
    noise_key: u32,
    dx: f32,
    layer_thickness: f32,
    layer_width: f32,
    band_reach: u32,
    // The hcp form of 3D (src/model/hcp.rs, HcpConstants): ε0, δ6, δ_c, ε_k2, ε_k6, the |∇xi|²
    // floor and the crystal frame â, b̂, ĉ in the lab frame.
    hcp_eps0: f32,
    hcp_delta6: f32,
    hcp_delta_c: f32,
    hcp_kinetic_2fold: f32,
    hcp_kinetic_6fold: f32,
    hcp_grad_sq_min: f32,
    hcp_a_x: f32,
    hcp_a_y: f32,
    hcp_a_z: f32,
    hcp_b_x: f32,
    hcp_b_y: f32,
    hcp_b_z: f32,
    hcp_c_x: f32,
    hcp_c_y: f32,
    hcp_c_z: f32,
    // R2: the band is refreshed on the steps that are multiples of this (1 without a band).
    refresh_every: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> run_constants: array<RunConstants, MAX_POINTS>;

// The constants of the invocation's point (enter_point).
var<private> k: RunConstants;

// Every kernel starts here: the point of dispatch layer z (the prelude's select_point) and its
// constants.
fn enter_point(z: u32) {
    select_point(z);
    k = run_constants[point];
}

// h(xi) = xi³(6xi² − 15xi + 10).
fn interpolation(xi: f32) -> f32 {
    let x = clamp(xi, 0.0, 1.0);
    return x * x * x * (x * (6.0 * x - 15.0) + 10.0);
}

// h'(xi) = 30 xi²(1 − xi)².
fn interpolation_prime(xi: f32) -> f32 {
    let x = clamp(xi, 0.0, 1.0);
    return 30.0 * x * x * (1.0 - x) * (1.0 - x);
}

// Cells in one x layer (ny·nz) and the flat index of cell (i, m) (the grid rule of the prelude,
// in the invocation's point's block).
fn layer_cells() -> u32 {
    return k.ny * k.nz;
}

// Cells of one point (its block of every field buffer).
fn point_cells() -> u32 {
    return k.nx * layer_cells();
}

// The buffer index of cell (i, m) of the invocation's point.
fn cell_of(i: u32, m: u32) -> u32 {
    return point * point_cells() + i * layer_cells() + m;
}

// The index within its point of the buffer index n (the noise counter's cell).
fn local_cell(n: u32) -> u32 {
    return n - point * point_cells();
}
