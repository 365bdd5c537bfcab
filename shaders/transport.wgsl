// Kernels of ion transport (E2) and the coefficients of both implicit solves, twins of
// src/backend/cpu/transport.rs:
//
// ∂c/∂t = ∇·(D∇c) [implicit] + ∇·(D f c ∇φ) [explicit, upwind] − (C_s/c0) ∂xi/∂t
//
// The state is the excess u = c/c0 − 1 (the `excess` buffer): the bulk face couples the last row
// with weight 2D dt/Δx² (~10⁴), where an f32 c ≈ 1 would carry c0 − c only to ~6e-8; u ≈ 0 there
// carries it at full relative precision. The migration fluxes read c/c0 = 1 + u.
//
// Boundaries: zero flux at the collector, c = 1 (u = 0) and φ = 0 on the bulk face, periodic in y
// and z.
// Assembled per kernel as order_parameter.wgsl is (common.wgsl + the part above the first
// "// ---- kernel:" line + one section).

fn harmonic(a: f32, b: f32) -> f32 {
    return 2.0 * a * b / (a + b);
}

// Upwind migration flux from `from` to `to`: J = u c_up, u = −D_f f (φ_to − φ_from)/Δx.
fn face_flux(d_from: f32, d_to: f32, p_from: f32, p_to: f32, c_from: f32, c_to: f32) -> f32 {
    let u = -harmonic(d_from, d_to) * k.transport_f * (p_to - p_from) * k.inv_dx;
    return max(u, 0.0) * c_from + min(u, 0.0) * c_to;
}

// ---- kernel: transport_coefficients
// D = h D_s + (1−h) D_l [(1−s) + s r_D];  σ/σ_l = h D_s/D_l + (1−h) [(1−s) + s r_σ].
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read> layer: array<f32>;
@group(0) @binding(3) var<storage, read> layer_diffusivity_ratio: array<f32>;
@group(0) @binding(4) var<storage, read> layer_conductivity_ratio: array<f32>;
@group(0) @binding(5) var<storage, read_write> diffusivity: array<f32>;
@group(0) @binding(6) var<storage, read_write> conductivity: array<f32>;

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn transport_coefficients(@builtin(global_invocation_id) id: vec3<u32>) {
    enter_point(id.z);
    let m = id.x;
    let i = id.y;
    if (i >= k.nx || m >= layer_cells()) { return; }
    let n = cell_of(i, m);
    let h = interpolation(xi[n]);
    let sl = layer[n];
    diffusivity[n] = h * k.d_solid + (1.0 - h) * k.d_liquid * ((1.0 - sl) + sl * layer_diffusivity_ratio[n]);
    conductivity[n] = h * (k.d_solid / k.d_liquid) + (1.0 - h) * ((1.0 - sl) + sl * layer_conductivity_ratio[n]);
}

// ---- kernel: concentration_rhs
// rhs = u/dt − ∇·J_mig(c) − (C_s/c0) Δxi/dt with c = 1 + u; ghost past the last row: φ = −φ, c = 1, D = D.
@group(0) @binding(1) var<storage, read> excess: array<f32>;
@group(0) @binding(2) var<storage, read> phi: array<f32>;
@group(0) @binding(3) var<storage, read> diffusivity: array<f32>;
@group(0) @binding(4) var<storage, read> dxi: array<f32>;
@group(0) @binding(5) var<storage, read> step_scalars: array<f32>;
@group(0) @binding(6) var<storage, read_write> rhs: array<f32>;

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn concentration_rhs(@builtin(global_invocation_id) id: vec3<u32>) {
    enter_point(id.z);
    let m = id.x;
    let i = id.y;
    let nx = k.nx;
    let layer = layer_cells();
    if (i >= nx || m >= layer) { return; }
    let inv_dt = 1.0 / step_scalars[point_scalar(DT)];
    let n = cell_of(i, m);
    let lat = lateral_neighbours(m, k.ny, k.nz);
    let l = cell_of(i, lat.y_minus);
    let r = cell_of(i, lat.y_plus);
    // The collector: the layer itself with the potential's collector ghost (equal φ: no flux).
    let b = select(n - layer, n, i == 0u);
    let uc = excess[n];
    let cc = 1.0 + uc;
    let pc = phi[n];
    let dc = diffusivity[n];
    var c_a = 1.0 + excess_bulk_face(uc);
    var p_a = potential_bulk_ghost(pc);
    var d_a = dc;
    if (i + 1u < nx) {
        c_a = 1.0 + excess[n + layer];
        p_a = phi[n + layer];
        d_a = diffusivity[n + layer];
    }
    let up = face_flux(dc, d_a, pc, p_a, cc, c_a);
    var p_b = phi[b];
    if (i == 0u) {
        p_b = potential_collector_ghost(pc);
    }
    let down = face_flux(diffusivity[b], dc, p_b, pc, 1.0 + excess[b], cc);
    let right = face_flux(dc, diffusivity[r], pc, phi[r], cc, 1.0 + excess[r]);
    let left = face_flux(diffusivity[l], dc, phi[l], pc, 1.0 + excess[l], cc);
    var balance = up - down + right - left;
    if (k.nz > 1u) {
        // The z faces (3D), summed as the CPU sums them: (front − back) added last.
        let f = cell_of(i, lat.z_plus);
        let bk = cell_of(i, lat.z_minus);
        let front = face_flux(dc, diffusivity[f], pc, phi[f], cc, 1.0 + excess[f]);
        let back = face_flux(diffusivity[bk], dc, phi[bk], pc, 1.0 + excess[bk], cc);
        balance = balance + (front - back);
    }
    let divergence = balance * k.inv_dx;
    rhs[n] = uc * inv_dt - divergence - k.cs_over_c0 * dxi[n] * inv_dt;
}

// ---- kernel: max_migration_speed
// Per cell the total migration outflow, Σ over its faces of D_f f (φ_n − φ_m)⁺/Δx (the collector
// face carries none; past the bulk face φ's ghost with the cell's own D); Reductions::max
// finishes it. dt ≤ Δx / max keeps the explicit upwind update monotone.
@group(0) @binding(1) var<storage, read> phi: array<f32>;
@group(0) @binding(2) var<storage, read> diffusivity: array<f32>;
@group(0) @binding(3) var<storage, read_write> migration_speed: array<f32>;

// D_f (φ_n − φ_m)⁺: what leaves n towards m (cations drift down the potential).
fn migration_out(n: u32, m: u32) -> f32 {
    return harmonic(diffusivity[n], diffusivity[m]) * max(phi[n] - phi[m], 0.0);
}

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn max_migration_speed(@builtin(global_invocation_id) id: vec3<u32>) {
    enter_point(id.z);
    let m = id.x;
    let i = id.y;
    let nx = k.nx;
    let layer = layer_cells();
    if (i >= nx || m >= layer) { return; }
    let n = cell_of(i, m);
    let lat = lateral_neighbours(m, k.ny, k.nz);
    var sum = migration_out(n, cell_of(i, lat.y_minus)) + migration_out(n, cell_of(i, lat.y_plus));
    if (k.nz > 1u) {
        sum += migration_out(n, cell_of(i, lat.z_minus)) + migration_out(n, cell_of(i, lat.z_plus));
    }
    if (i > 0u) {
        sum += migration_out(n, n - layer);
    }
    if (i + 1u < nx) {
        sum += migration_out(n, n + layer);
    } else {
        sum += diffusivity[n] * max(phi[n] - potential_bulk_ghost(phi[n]), 0.0);
    }
    migration_speed[n] = sum * k.transport_f * k.inv_dx;
}

// ---- kernel: boundary_inflow
// Per bulk-face cell m (its index in the last x layer): [D (−u_new) 2/Δx − J_mig(c_old = 1 + u_old)] Δx dt, the ions entering in
// the step (the face's c0 − c is −u, unrounded); Reductions::sum over the ny·nz entries of each
// point finishes it. 1D over m.
@group(0) @binding(1) var<storage, read> excess_old: array<f32>;
@group(0) @binding(2) var<storage, read> excess_new: array<f32>;
@group(0) @binding(3) var<storage, read> phi: array<f32>;
@group(0) @binding(4) var<storage, read> diffusivity: array<f32>;
@group(0) @binding(5) var<storage, read> step_scalars: array<f32>;
@group(0) @binding(6) var<storage, read_write> inflow: array<f32>;

@compute @workgroup_size(WORKGROUP_1D)
fn boundary_inflow(@builtin(global_invocation_id) id: vec3<u32>) {
    enter_point(id.z);
    let m = id.x;
    if (m >= layer_cells()) { return; }
    let dx = 1.0 / k.inv_dx;
    let n = cell_of(k.nx - 1u, m);
    let d = diffusivity[n];
    let diffusive_in = d * -excess_new[n] * 2.0 / dx;
    let beyond = 1.0 + excess_bulk_face(excess_old[n]);
    let migration_out = face_flux(d, d, phi[n], potential_bulk_ghost(phi[n]), 1.0 + excess_old[n], beyond);
    // The face's length (2D, per unit depth) or area (3D).
    let face = select(dx, dx * dx, k.nz > 1u);
    inflow[point * layer_cells() + m] = (diffusive_in - migration_out) * face * step_scalars[point_scalar(DT)];
}
