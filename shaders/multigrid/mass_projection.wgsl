// The mass projection that ends a conserving solve (Multigrid::conserve_mass): u += κ z with
// z ≈ A⁻¹1 and κ = Σ r / Σ (A z), every scalar on the device. Both sums leave the interior
// fluxes out (they cancel pairwise), as the CPU's do: residual_sum and operator_sum write
// per-workgroup partials (binding 8, as residual_statistics), dot_finish adds them into the
// projection's scalars, mass_projection_scale takes their quotient and add_scaled applies it.

// Weight factor·k_wall/Δx² of the x walls at cell (i, m) of the point: (west, east), 0 off the
// wall layers.
fn wall_weights(i: u32, m: u32) -> vec2<f32> {
    let face = x_face_base(level) + i * layer_cells(level) + m;
    var w = vec2<f32>(0.0, 0.0);
    if (i == 0u) {
        w.x = walls.factor_lo * kx_faces[face] * level.inv_dx2;
    }
    if (i + 1u == level.nx) {
        w.y = walls.factor_hi * kx_faces[face + layer_cells(level)] * level.inv_dx2;
    }
    return w;
}

// residual_sum(u, f, a, kx_faces, bcs, dx): Σ r = Σ (f − a u) + Σ_walls w (g − u_wall row)
// (ResidualStatistics::r_sum; the CPU sums in f64, here an f32 tree).
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn residual_sum(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    select_point(id.z);
    let m = id.x;
    let i = id.y;
    let layer = layer_cells(level);
    var value = 0.0;
    // No early return: every invocation reaches the barriers.
    if (m < layer && i < level.nx) {
        let c = cell_base(level) + i * layer + m;
        let uc = u[c];
        let w = wall_weights(i, m);
        value = f[c] - a[c] * uc + w.x * (wall_value(walls, level, false) - uc)
            + w.y * (wall_value(walls, level, true) - uc);
    }
    sum_into_partials(t, value, group, groups);
}

// operator_sum(z, a, kx_faces, bcs, dx): Σ (A z) = Σ (a + Σ_walls w) z with homogeneous walls.
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn operator_sum(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    select_point(id.z);
    let m = id.x;
    let i = id.y;
    let layer = layer_cells(level);
    var value = 0.0;
    if (m < layer && i < level.nx) {
        let c = cell_base(level) + i * layer + m;
        let w = wall_weights(i, m);
        value = (a[c] + w.x + w.y) * u[c];
    }
    sum_into_partials(t, value, group, groups);
}

// Slots of the projection's scalars: Σ r, Σ (A z), κ (MASS_SCALARS per point, point p's from
// p·MASS_SCALARS).
const MASS_RESIDUAL: u32 = 0u;
const MASS_OPERATOR: u32 = 1u;
const MASS_KAPPA: u32 = 2u;

@group(0) @binding(0) var<storage, read_write> mp_scalars: array<f32>;

// The point's projection scalar `slot`.
fn mass_slot(slot: u32) -> u32 {
    return point * MASS_SCALARS + slot;
}

// κ = Σ r / Σ (A z), 0 unless Σ (A z) > 0 (Multigrid::mass_projection). One invocation per point.
@compute @workgroup_size(1)
fn mass_projection_scale(@builtin(workgroup_id) group: vec3<u32>) {
    select_point(group.z);
    let mass = mp_scalars[mass_slot(MASS_OPERATOR)];
    mp_scalars[mass_slot(MASS_KAPPA)] =
        select(0.0, mp_scalars[mass_slot(MASS_RESIDUAL)] / mass, mass > 0.0);
}

@group(0) @binding(0) var<storage, read_write> as_y: array<f32>;
@group(0) @binding(1) var<storage, read> as_x: array<f32>;
@group(0) @binding(2) var<storage, read> as_scalars: array<f32>;
@group(0) @binding(3) var<uniform> as_level: Level;

// add_scaled(y, κ, x): y += κ x, κ read from the projection's scalars.
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn add_scaled(@builtin(global_invocation_id) id: vec3<u32>) {
    select_point(id.z);
    let m = id.x;
    let i = id.y;
    let layer = layer_cells(as_level);
    if (m >= layer || i >= as_level.nx) {
        return;
    }
    let c = cell_base(as_level) + i * layer + m;
    as_y[c] += as_scalars[mass_slot(MASS_KAPPA)] * as_x[c];
}
