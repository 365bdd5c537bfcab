// Kernels of the order-parameter equation (E1), twins of src/backend/cpu/order_parameter.rs:
//
// ∂xi/∂t = −L_σ [g'(xi) − K_aniso(xi)] − L_η h'(xi) m (1−p_b) a_k B_eff + N
//
// Boundaries: zero flux at the collector (i = 0), xi = 0 on the bulk face (i = nx), periodic in y.
// Kernels over the grid follow the grid rule of the prelude: global_invocation_id.y → i, .x → m, the
// index within the x layer (j in 2D); cell n = cell_of(i, m).
//
// Assembled per kernel by kernels.rs: prelude + common.wgsl + noise.wgsl + kinetics.wgsl + the part
// of this file above the first "// ---- kernel:" line + that kernel's section (each section
// declares its own bindings, so the file as a whole is not one module). Every section binds `xi`,
// which the stencil functions of the head read.

// Sign of xi's ghost above row i: past the bulk face the generated wall rule (xi = 0 there).
fn above_sign(i: u32, nx: u32) -> f32 {
    return select(1.0, ORDER_PARAMETER_BULK_GHOST_SIGN, i + 1u == nx);
}

// ε²(θ), ε ε'(θ) of ε = ε0 [1 + δ6 cos 6(θ − θ0)] and a_k(θ) (src/model/anisotropy.rs).
fn interface_orientation(gx: f32, gy: f32) -> vec3<f32> {
    let g2 = gx * gx + gy * gy;
    if (g2 <= k.grad_sq_min) {
        return vec3<f32>(k.eps0 * k.eps0, 0.0, 1.0);
    }
    let inv = 1.0 / sqrt(gx * gx + gy * gy);
    let nx = gx * inv;
    let ny = gy * inv;
    let x2 = nx * nx;
    let y2 = ny * ny;
    let cos2 = x2 - y2;
    let sin2 = 2.0 * nx * ny;
    let cos6 = cos2 * (cos2 * cos2 - 3.0 * sin2 * sin2);
    let sin6 = sin2 * (3.0 * cos2 * cos2 - sin2 * sin2);
    let c6 = cos6 * k.cos6_t0 + sin6 * k.sin6_t0;
    let s6 = sin6 * k.cos6_t0 - cos6 * k.sin6_t0;
    let eps = k.eps0 * (1.0 + k.strength * c6);
    let eps_prime = -6.0 * k.eps0 * k.strength * s6;
    let ck2 = cos2 * k.cos2_tc + sin2 * k.sin2_tc;
    let ck6 = cos6 * k.cos6_tc + sin6 * k.sin6_tc;
    let a_k = max(1.0 - k.kinetic_2fold * ck2 + k.kinetic_6fold * ck6, KINETIC_FACTOR_MIN);
    return vec3<f32>(eps * eps, eps * eps_prime, a_k);
}

// The two-pass 2D kernels' (interface_orientation_field, allen_cahn_rate; twins of the CPU's
// two-pass 2D kernels): ε², εε', a_k and |∇xi| of cell (i, j) from the central gradient of xi there, with xi's ghosts:
// mirror at the collector, antisymmetric past the bulk face, periodic in y.
fn orientation_2d_at(i: u32, m: u32) -> vec4<f32> {
    let nx = k.nx;
    let half_inv_dx = 0.5 * k.inv_dx;
    let lat = lateral_neighbours(m, k.ny, k.nz);
    let gx = (above_sign(i, nx) * xi[cell_of(layer_above(i, nx), m)] - xi[cell_of(layer_below(i), m)]) * half_inv_dx;
    let gy = (xi[cell_of(i, lat.y_plus)] - xi[cell_of(i, lat.y_minus)]) * half_inv_dx;
    return vec4<f32>(interface_orientation(gx, gy), sqrt(gx * gx + gy * gy));
}

// The two-pass 2D kernels' Allen–Cahn rate (the Kobayashi form) of cell (i, j) from xi's 3×3 neighbourhood and ε² (e) and εε' (d) of its
// five stencil cells: below (_b), (left, centre, right) (vec3), above (_a), the rows past the x
// boundaries clamped.
fn allen_cahn_2d_at(i: u32, m: u32, e_b: f32, e: vec3<f32>, e_a: f32, d_b: f32, d: vec3<f32>, d_a: f32) -> f32 {
    let nx = k.nx;
    let inv_dx2 = k.inv_dx * k.inv_dx;
    let half_inv_dx = 0.5 * k.inv_dx;
    let sign = above_sign(i, nx);
    let lat = lateral_neighbours(m, k.ny, k.nz);
    let jm = lat.y_minus;
    let jp = lat.y_plus;
    let j = m;
    let b = cell_of(layer_below(i), 0u);
    let c = cell_of(i, 0u);
    let a = cell_of(layer_above(i, nx), 0u);
    // 3×3 neighbourhood: (below, centre, above) rows at (left, mid, right); the above row carries
    // the ghost sign for the x differences.
    let xb = vec3<f32>(xi[b + jm], xi[b + j], xi[b + jp]);
    let xc = vec3<f32>(xi[c + jm], xi[c + j], xi[c + jp]);
    let xa = vec3<f32>(sign * xi[a + jm], sign * xi[a + j], sign * xi[a + jp]);

    let x0 = xc.y;
    let e_c = e.y;
    let isotropic = (0.5 * (e_c + e_a) * (xa.y - x0) - 0.5 * (e_c + e_b) * (x0 - xb.y)
        + 0.5 * (e_c + e.z) * (xc.z - x0)
        - 0.5 * (e_c + e.x) * (x0 - xc.x)) * inv_dx2;
    // ∂y xi in the row above comes from the clamped row itself, not its ghost.
    let gy_above = sign * (xa.z - xa.x) * half_inv_dx;
    let gy_below = (xb.z - xb.x) * half_inv_dx;
    let gx_right = (xa.z - xb.z) * half_inv_dx;
    let gx_left = (xa.x - xb.x) * half_inv_dx;
    let cross = (-(d_a * gy_above - d_b * gy_below) + (d.z * gx_right - d.x * gx_left)) * half_inv_dx;
    let double_well = 2.0 * k.w * x0 * (1.0 - x0) * (1.0 - 2.0 * x0);
    return -k.l_sigma * (double_well - isotropic - cross);
}


// ---------------------------------------------------------------------------------------------
// The Allen–Cahn rate in any dimension, in its vector form (twin of
// src/backend/cpu/order_parameter/allen_cahn.rs):
//
// −L_σ [g'(xi) − ∇·(∂f/∂p)],   ∂f/∂p = ε² p + J,   J = ε |p| (I − n̂n̂ᵀ) ∇_n ε,   p = ∇xi,
//
// the isotropic part on the compact 7-point stencil (5-point in 2D) with face-averaged ε², ∇·J
// by central differences of the cell-centred J, each cell's J from its central gradient: the
// in-plane forms in 2D, the hcp form about the c-axis in 3D (src/model/hcp.rs). J is copied at
// the x boundaries (the clamped layer's).

// What the kernels read of the interface's orientation at one cell (model::anisotropy::
// Orientation): ε², J along x, y, z, a_k and |∇xi|.
struct Orientation {
    eps_sq: f32,
    flux: vec3<f32>,
    kinetic_factor: f32,
    grad_norm: f32,
}

// The central gradient of xi at cell (i, m) with xi's ghosts (mirror at the collector,
// antisymmetric past the bulk face, periodic in y and z), lab frame; 0 along z in 2D.
fn gradient_at(i: u32, m: u32) -> vec3<f32> {
    let nx = k.nx;
    let half_inv_dx = 0.5 * k.inv_dx;
    let lat = lateral_neighbours(m, k.ny, k.nz);
    let gx = (above_sign(i, nx) * xi[cell_of(layer_above(i, nx), m)] - xi[cell_of(layer_below(i), m)]) * half_inv_dx;
    let gy = (xi[cell_of(i, lat.y_plus)] - xi[cell_of(i, lat.y_minus)]) * half_inv_dx;
    var gz = 0.0;
    if (k.nz > 1u) {
        gz = (xi[cell_of(i, lat.z_plus)] - xi[cell_of(i, lat.z_minus)]) * half_inv_dx;
    }
    return vec3<f32>(gx, gy, gz);
}

// The in-plane forms of 2D (AnisotropyConstants' SurfaceEnergy): J = εε'(θ) (−g_y, g_x).
fn in_plane_orientation(g: vec3<f32>) -> Orientation {
    let o = interface_orientation(g.x, g.y);
    let d = o.y;
    return Orientation(o.x, vec3<f32>(-(d * g.y), d * g.x, 0.0), o.z, sqrt(g.x * g.x + g.y * g.y));
}

// The hcp form of 3D about ĉ (HcpConstants' SurfaceEnergy, the same operations in the same
// order): ε = ε0 [1 + δ6 Re((n_a + i n_b)⁶) + δ_c n_c²], J = ε |g| (I − n̂n̂ᵀ) ∇_n ε,
// a_k = max(a_min, 1 − ε_k2 (2 n_c² − 1) + ε_k6 Re((n_a + i n_b)⁶)); isotropic below the floor.
fn hcp_orientation(g: vec3<f32>) -> Orientation {
    let g2 = g.x * g.x + g.y * g.y + g.z * g.z;
    let norm = sqrt(g2);
    if (g2 <= k.hcp_grad_sq_min) {
        return Orientation(k.hcp_eps0 * k.hcp_eps0, vec3<f32>(0.0, 0.0, 0.0), 1.0, norm);
    }
    let inv = 1.0 / norm;
    let n = vec3<f32>(g.x * inv, g.y * inv, g.z * inv);
    let a = vec3<f32>(k.hcp_a_x, k.hcp_a_y, k.hcp_a_z);
    let b = vec3<f32>(k.hcp_b_x, k.hcp_b_y, k.hcp_b_z);
    let c = vec3<f32>(k.hcp_c_x, k.hcp_c_y, k.hcp_c_z);
    let na = n.x * a.x + n.y * a.y + n.z * a.z;
    let nb = n.x * b.x + n.y * b.y + n.z * b.z;
    let nc = n.x * c.x + n.y * c.y + n.z * c.z;
    let p = na * na - nb * nb;
    let q = 2.0 * na * nb;
    let p4 = p * p - q * q;
    let q4 = 2.0 * p * q;
    let re5 = p4 * na - q4 * nb;
    let im5 = p4 * nb + q4 * na;
    let re6 = re5 * na - im5 * nb;
    let eps = k.hcp_eps0 * (1.0 + k.hcp_delta6 * re6 + k.hcp_delta_c * nc * nc);
    let sa = 6.0 * k.hcp_delta6 * re5;
    let sb = -6.0 * k.hcp_delta6 * im5;
    let sc = 2.0 * k.hcp_delta_c * nc;
    let grad = vec3<f32>(
        k.hcp_eps0 * (sa * a.x + sb * b.x + sc * c.x),
        k.hcp_eps0 * (sa * a.y + sb * b.y + sc * c.y),
        k.hcp_eps0 * (sa * a.z + sb * b.z + sc * c.z),
    );
    let along = n.x * grad.x + n.y * grad.y + n.z * grad.z;
    let scale = eps * norm;
    let flux = vec3<f32>(
        scale * (grad.x - along * n.x),
        scale * (grad.y - along * n.y),
        scale * (grad.z - along * n.z),
    );
    let a_k = max(1.0 - k.hcp_kinetic_2fold * (2.0 * nc * nc - 1.0) + k.hcp_kinetic_6fold * re6, KINETIC_FACTOR_MIN);
    return Orientation(eps * eps, flux, a_k, norm);
}

// The orientation of cell (i, m) with the surface energy of the grid's dimension.
fn orientation_at(i: u32, m: u32) -> Orientation {
    let g = gradient_at(i, m);
    if (k.nz > 1u) {
        return hcp_orientation(g);
    }
    return in_plane_orientation(g);
}

// The rate of one cell from its xi (x0) and ε² (e0) and, for the neighbours in the CPU's order
// (x below, x above, fast −, fast +, slow −, slow +; fast = z and slow = y in 3D, fast = y in
// 2D), xi with the ghost rule applied (x), ε² (e) and J along that neighbour's axis (j).
fn rate_at(x0: f32, e0: f32, x: array<f32, 6>, e: array<f32, 6>, j: array<f32, 6>, slow: bool) -> f32 {
    var isotropic = 0.5 * (e0 + e[1]) * (x[1] - x0) - 0.5 * (e0 + e[0]) * (x0 - x[0])
        + 0.5 * (e0 + e[3]) * (x[3] - x0)
        - 0.5 * (e0 + e[2]) * (x0 - x[2]);
    var divergence = (j[1] - j[0]) + (j[3] - j[2]);
    if (slow) {
        isotropic = isotropic + 0.5 * (e0 + e[5]) * (x[5] - x0) - 0.5 * (e0 + e[4]) * (x0 - x[4]);
        divergence += j[5] - j[4];
    }
    let double_well = 2.0 * k.w * x0 * (1.0 - x0) * (1.0 - 2.0 * x0);
    return -k.l_sigma * (double_well - isotropic * (k.inv_dx * k.inv_dx) - divergence * (0.5 * k.inv_dx));
}

// The fast-axis neighbours of layer index m (z in 3D, y in 2D) and the slow one's (y in 3D).
fn fast_neighbours(lat: LateralNeighbours) -> vec2<u32> {
    if (k.nz > 1u) {
        return vec2<u32>(lat.z_minus, lat.z_plus);
    }
    return vec2<u32>(lat.y_minus, lat.y_plus);
}

// J along the fast axis (z in 3D, y in 2D).
fn fast_flux(o: Orientation) -> f32 {
    return select(o.flux.y, o.flux.z, k.nz > 1u);
}

// −L_η h'(xi) m (1−p_b) a_k B_eff(E − φ, c) and its derivative with respect to E.
fn reaction_rate(xi: f32, c: f32, phi: f32, electrode: f32, kinetic_factor: f32, asr: f32, blocked: f32) -> vec2<f32> {
    let hp = interpolation_prime(xi);
    if (hp < INTERFACE_THRESHOLD || blocked >= 1.0) {
        return vec2<f32>(0.0, 0.0);
    }
    let scale = k.exchange_multiplier * kinetic_factor;
    let b = bv_through_resistance(k.bv_f, k.bv_alpha, electrode - phi, max(c, 0.0), asr / kinetic_factor, k.i0 * scale);
    let prefactor = -k.l_eta * hp * scale * (1.0 - blocked);
    return vec2<f32>(prefactor * b.x, prefactor * b.y);
}

// ---- kernel: interface_orientation_field
// ε², ε ε', a_k and |∇xi| from the central gradient of xi (orientation of the interface).
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read_write> eps_sq: array<f32>;
@group(0) @binding(3) var<storage, read_write> eps_deriv: array<f32>;
@group(0) @binding(4) var<storage, read_write> kinetic_factor: array<f32>;
@group(0) @binding(5) var<storage, read_write> grad_norm: array<f32>;

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn interface_orientation_field(@builtin(global_invocation_id) id: vec3<u32>) {
    enter_point(id.z);
    let m = id.x;
    let i = id.y;
    if (i >= k.nx || m >= layer_cells()) { return; }
    let n = cell_of(i, m);
    let o = orientation_2d_at(i, m);
    eps_sq[n] = o.x;
    eps_deriv[n] = o.y;
    kinetic_factor[n] = o.z;
    grad_norm[n] = o.w;
}

// ---- kernel: allen_cahn_rate
// −L_σ [g'(xi) − ∇·(ε²∇xi) + ∂x(εε' ∂y xi) − ∂y(εε' ∂x xi)]: compact 5-point isotropic part with
// face-averaged ε², central cross terms (neighbour gradients copied at the x boundaries).
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read> eps_sq: array<f32>;
@group(0) @binding(3) var<storage, read> eps_deriv: array<f32>;
@group(0) @binding(4) var<storage, read_write> rate: array<f32>;

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn allen_cahn_rate(@builtin(global_invocation_id) id: vec3<u32>) {
    enter_point(id.z);
    let m = id.x;
    let i = id.y;
    let nx = k.nx;
    if (i >= nx || m >= layer_cells()) { return; }
    let lat = lateral_neighbours(m, k.ny, k.nz);
    let b = cell_of(layer_below(i), m);
    let c = cell_of(i, 0u);
    let a = cell_of(layer_above(i, nx), m);
    rate[c + m] = allen_cahn_2d_at(
        i,
        m,
        eps_sq[b],
        vec3<f32>(eps_sq[c + lat.y_minus], eps_sq[c + m], eps_sq[c + lat.y_plus]),
        eps_sq[a],
        eps_deriv[b],
        vec3<f32>(eps_deriv[c + lat.y_minus], eps_deriv[c + m], eps_deriv[c + lat.y_plus]),
        eps_deriv[a],
    );
}

// ---- kernel: allen_cahn_rate_streaming
// −L_σ [g'(xi) − ∇·(ε²∇xi + J)] in any dimension, the orientation (ε², J) of the centre and its
// 2d neighbours recomputed from xi per cell (no orientation fields); a_k and |∇xi| of the centre
// cell. The reference for the tiled kernels.
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read_write> rate: array<f32>;
@group(0) @binding(3) var<storage, read_write> kinetic_factor: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad_norm: array<f32>;

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn allen_cahn_rate_streaming(@builtin(global_invocation_id) id: vec3<u32>) {
    enter_point(id.z);
    let m = id.x;
    let i = id.y;
    let nx = k.nx;
    if (i >= nx || m >= layer_cells()) { return; }
    let lat = lateral_neighbours(m, k.ny, k.nz);
    let fast = fast_neighbours(lat);
    let slow = k.nz > 1u;
    let below = layer_below(i);
    let above = layer_above(i, nx);
    let sign = above_sign(i, nx);
    // Each orientation from its own central gradient; the layers past the x boundaries clamped
    // (J copied there).
    let o_b = orientation_at(below, m);
    let o_a = orientation_at(above, m);
    let o_fm = orientation_at(i, fast.x);
    let o_fp = orientation_at(i, fast.y);
    let centre = orientation_at(i, m);
    var x = array<f32, 6>(xi[cell_of(below, m)], sign * xi[cell_of(above, m)], xi[cell_of(i, fast.x)], xi[cell_of(i, fast.y)], 0.0, 0.0);
    var e = array<f32, 6>(o_b.eps_sq, o_a.eps_sq, o_fm.eps_sq, o_fp.eps_sq, 0.0, 0.0);
    var j = array<f32, 6>(o_b.flux.x, o_a.flux.x, fast_flux(o_fm), fast_flux(o_fp), 0.0, 0.0);
    if (slow) {
        let o_sm = orientation_at(i, lat.y_minus);
        let o_sp = orientation_at(i, lat.y_plus);
        x[4] = xi[cell_of(i, lat.y_minus)];
        x[5] = xi[cell_of(i, lat.y_plus)];
        e[4] = o_sm.eps_sq;
        e[5] = o_sp.eps_sq;
        j[4] = o_sm.flux.y;
        j[5] = o_sp.flux.y;
    }
    let n = cell_of(i, m);
    rate[n] = rate_at(xi[n], centre.eps_sq, x, e, j, slow);
    kinetic_factor[n] = centre.kinetic_factor;
    grad_norm[n] = centre.grad_norm;
}

// ---- kernel: allen_cahn_rate_tiled
// 2D: the rate of allen_cahn_rate_streaming (the same expressions, bit for bit) with ε² and J
// computed once per cell of the workgroup's tile and its one-cell halo, in workgroup memory (1.27
// orientations per cell instead of 5); a_k and |∇xi| of the tile's cells.
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read_write> rate: array<f32>;
@group(0) @binding(3) var<storage, read_write> kinetic_factor: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad_norm: array<f32>;

// The tile with its halo: (WORKGROUP_Y + 2) rows i by (WORKGROUP_X + 2) columns j.
const TILE_X: u32 = WORKGROUP_X + 2u;
const TILE_CELLS: u32 = (WORKGROUP_Y + 2u) * TILE_X;
var<workgroup> tile_eps_sq: array<f32, TILE_CELLS>;
var<workgroup> tile_flux_x: array<f32, TILE_CELLS>;
var<workgroup> tile_flux_y: array<f32, TILE_CELLS>;

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn allen_cahn_rate_tiled(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    enter_point(group.z);
    let nx = k.nx;
    let ny = k.ny;
    let i0 = group.y * WORKGROUP_Y;
    let j0 = group.x * WORKGROUP_X;
    // Slot (r, q) holds the orientation of cell (i0 + r − 1, j0 + q − 1): rows clamped to the
    // grid (as the streaming kernel clamps them; past a tile's last grid row that is the clamped
    // row above), columns periodic. No early return: every invocation reaches the barrier.
    for (var s = t; s < TILE_CELLS; s += WORKGROUP_X * WORKGROUP_Y) {
        let r = s / TILE_X;
        let q = s % TILE_X;
        let i = min(select(i0 + r - 1u, 0u, i0 + r == 0u), nx - 1u);
        let j = (j0 + q + ny - 1u) % ny;
        let o = orientation_at(i, j);
        tile_eps_sq[s] = o.eps_sq;
        tile_flux_x[s] = o.flux.x;
        tile_flux_y[s] = o.flux.y;
        // A tile cell (not halo) inside the grid: its a_k and |∇xi| for the reaction kernels.
        let inside = r >= 1u && r <= WORKGROUP_Y && q >= 1u && q <= WORKGROUP_X;
        if (inside && i0 + r - 1u < nx && j0 + q - 1u < ny) {
            let n = cell_of(i, j);
            kinetic_factor[n] = o.kinetic_factor;
            grad_norm[n] = o.grad_norm;
        }
    }
    workgroupBarrier();
    let m = id.x;
    let i = id.y;
    if (i >= nx || m >= layer_cells()) { return; }
    let lat = lateral_neighbours(m, ny, 1u);
    let sign = above_sign(i, nx);
    let centre = (local.y + 1u) * TILE_X + local.x + 1u;
    let below = centre - TILE_X;
    let above = centre + TILE_X;
    let x = array<f32, 6>(
        xi[cell_of(layer_below(i), m)],
        sign * xi[cell_of(layer_above(i, nx), m)],
        xi[cell_of(i, lat.y_minus)],
        xi[cell_of(i, lat.y_plus)],
        0.0,
        0.0,
    );
    let e = array<f32, 6>(tile_eps_sq[below], tile_eps_sq[above], tile_eps_sq[centre - 1u], tile_eps_sq[centre + 1u], 0.0, 0.0);
    let j = array<f32, 6>(tile_flux_x[below], tile_flux_x[above], tile_flux_y[centre - 1u], tile_flux_y[centre + 1u], 0.0, 0.0);
    let n = cell_of(i, m);
    rate[n] = rate_at(xi[n], tile_eps_sq[centre], x, e, j, false);
}

// ---- kernel: allen_cahn_rate_tiled_3d
// 3D: the rate of allen_cahn_rate_streaming (the same expressions, bit for bit) with ε² and J
// computed once per cell of the workgroup's 4 × 8 × 8 tile (i, j, k) and its one-cell halo
// (6 × 10 × 10) in workgroup memory: 2.3 orientations per cell instead of 7; a_k and |∇xi| of
// the tile's cells. Dispatched over tiles (tile_workgroups_3d): workgroup_id.x → the (j, k) tile,
// k fastest, .y → the i tile.
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read_write> rate: array<f32>;
@group(0) @binding(3) var<storage, read_write> kinetic_factor: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad_norm: array<f32>;

const TILE3_I: u32 = 4u;
const TILE3_J: u32 = 8u;
const TILE3_K: u32 = 8u;
// The halo tile: (TILE3_I + 2) × (TILE3_J + 2) × (TILE3_K + 2), k fastest.
const HALO3_K: u32 = TILE3_K + 2u;
const HALO3_JK: u32 = (TILE3_J + 2u) * HALO3_K;
const HALO3_CELLS: u32 = (TILE3_I + 2u) * HALO3_JK;
var<workgroup> tile3_eps_sq: array<f32, HALO3_CELLS>;
var<workgroup> tile3_flux_x: array<f32, HALO3_CELLS>;
var<workgroup> tile3_flux_y: array<f32, HALO3_CELLS>;
var<workgroup> tile3_flux_z: array<f32, HALO3_CELLS>;

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn allen_cahn_rate_tiled_3d(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    enter_point(group.z);
    let nx = k.nx;
    let ny = k.ny;
    let nz = k.nz;
    let tiles_k = (nz + TILE3_K - 1u) / TILE3_K;
    let i0 = group.y * TILE3_I;
    let j0 = (group.x / tiles_k) * TILE3_J;
    let k0 = (group.x % tiles_k) * TILE3_K;
    // Slot (r, q, w) holds the orientation of cell (i0 + r − 1, j0 + q − 1, k0 + w − 1): layers
    // clamped to the grid (as the streaming kernel clamps them), y and z periodic. No early
    // return: every invocation reaches the barrier.
    for (var s = t; s < HALO3_CELLS; s += WORKGROUP_X * WORKGROUP_Y) {
        let r = s / HALO3_JK;
        let q = (s / HALO3_K) % (TILE3_J + 2u);
        let w = s % HALO3_K;
        let i = min(select(i0 + r - 1u, 0u, i0 + r == 0u), nx - 1u);
        let j = (j0 + q + ny - 1u) % ny;
        let kk = (k0 + w + nz - 1u) % nz;
        let o = orientation_at(i, j * nz + kk);
        tile3_eps_sq[s] = o.eps_sq;
        tile3_flux_x[s] = o.flux.x;
        tile3_flux_y[s] = o.flux.y;
        tile3_flux_z[s] = o.flux.z;
        // A tile cell (not halo) inside the grid: its a_k and |∇xi| for the reaction kernels.
        let inside = r >= 1u && r <= TILE3_I && q >= 1u && q <= TILE3_J && w >= 1u && w <= TILE3_K;
        if (inside && i0 + r - 1u < nx && j0 + q - 1u < ny && k0 + w - 1u < nz) {
            let n = cell_of(i, j * nz + kk);
            kinetic_factor[n] = o.kinetic_factor;
            grad_norm[n] = o.grad_norm;
        }
    }
    workgroupBarrier();
    let di = t / (TILE3_J * TILE3_K);
    let dj = (t / TILE3_K) % TILE3_J;
    let dk = t % TILE3_K;
    let i = i0 + di;
    let j = j0 + dj;
    let kk = k0 + dk;
    if (i >= nx || j >= ny || kk >= nz) { return; }
    let m = j * nz + kk;
    let lat = lateral_neighbours(m, ny, nz);
    let sign = above_sign(i, nx);
    let centre = (di + 1u) * HALO3_JK + (dj + 1u) * HALO3_K + dk + 1u;
    let below = centre - HALO3_JK;
    let above = centre + HALO3_JK;
    // The CPU's neighbour order: x below, x above, z −, z + (fast), y −, y + (slow).
    let x = array<f32, 6>(
        xi[cell_of(layer_below(i), m)],
        sign * xi[cell_of(layer_above(i, nx), m)],
        xi[cell_of(i, lat.z_minus)],
        xi[cell_of(i, lat.z_plus)],
        xi[cell_of(i, lat.y_minus)],
        xi[cell_of(i, lat.y_plus)],
    );
    let e = array<f32, 6>(
        tile3_eps_sq[below],
        tile3_eps_sq[above],
        tile3_eps_sq[centre - 1u],
        tile3_eps_sq[centre + 1u],
        tile3_eps_sq[centre - HALO3_K],
        tile3_eps_sq[centre + HALO3_K],
    );
    let jn = array<f32, 6>(
        tile3_flux_x[below],
        tile3_flux_x[above],
        tile3_flux_z[centre - 1u],
        tile3_flux_z[centre + 1u],
        tile3_flux_y[centre - HALO3_K],
        tile3_flux_y[centre + HALO3_K],
    );
    let n = cell_of(i, m);
    rate[n] = rate_at(xi[n], tile3_eps_sq[centre], x, e, jn, true);
}

// ---- kernel: reaction_field
// −L_η h' m (1−p_b) a_k B_eff at the electrode potential E (step_scalars), c/c0 = 1 + u, into
// bv_rate (0 off the interface), and per workgroup the partial sums (Σ rate, Σ ∂rate/∂E) of the
// galvanostatic search, which solve_shift_iteration finishes in a fixed order (the CPU twin
// returns the sums). One call per evaluation of the search; the last is at the controlled E.
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read> excess: array<f32>;
@group(0) @binding(3) var<storage, read> phi: array<f32>;
@group(0) @binding(4) var<storage, read> step_scalars: array<f32>;
@group(0) @binding(5) var<storage, read> kinetic_factor: array<f32>;
@group(0) @binding(6) var<storage, read> asr: array<f32>;
@group(0) @binding(7) var<storage, read> blocked: array<f32>;
@group(0) @binding(8) var<storage, read_write> bv_rate: array<f32>;
@group(0) @binding(9) var<storage, read_write> reaction_partials: array<vec2<f32>>;

var<workgroup> tile_sums: array<vec2<f32>, WORKGROUP_X * WORKGROUP_Y>;

// The body of both entry points; `active` is uniform over the workgroup (one point per
// workgroup), so the barriers are reached by all or none.
fn reaction_field_at(id: vec3<u32>, lid: u32, wid: vec3<u32>, groups: vec3<u32>) {
    let m = id.x;
    let i = id.y;
    var r = vec2<f32>(0.0, 0.0);
    // No early return: every invocation takes part in the tile's sum.
    if (i < k.nx && m < layer_cells()) {
        let n = cell_of(i, m);
        r = reaction_rate(xi[n], 1.0 + excess[n], phi[n], step_scalars[point_scalar(ELECTRODE_POTENTIAL)], kinetic_factor[n], asr[n], blocked[n]);
        bv_rate[n] = r.x;
    }
    tile_sums[lid] = r;
    for (var s = WORKGROUP_X * WORKGROUP_Y / 2u; s > 0u; s >>= 1u) {
        workgroupBarrier();
        if (lid < s) {
            tile_sums[lid] += tile_sums[lid + s];
        }
    }
    if (lid == 0u) {
        // The point's partials: groups.x · groups.y per point.
        reaction_partials[point * groups.x * groups.y + wid.y * groups.x + wid.x] = tile_sums[0];
    }
}

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn reaction_field(@builtin(global_invocation_id) id: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    enter_point(id.z);
    reaction_field_at(id, lid, wid, groups);
}

// The evaluations of the galvanostatic search (dispatched indirectly while any point searches):
// a point whose search has ended keeps the field of its last evaluation (one whose sums were
// not finite is evaluated again at its last step's E, as a lone run is).
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn reaction_field_searching(@builtin(global_invocation_id) id: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    enter_point(id.z);
    let status = bitcast<u32>(step_scalars[point_scalar(CONTROL_STATUS)]);
    if (status != CONTROL_SEARCHING && status != CONTROL_NOT_FINITE) {
        return;
    }
    reaction_field_at(id, lid, wid, groups);
}

// ---- kernel: reaction_maxima
// Per cell the operands of the dt bounds from the reaction field: |rate|/(L_η h') =
// |m (1−p_b) a_k B_eff| where h' > 1e-3, and the front speed |∂xi/∂t|/|∇xi| where |∇xi| >
// front_grad_min, on the interface cells (0 elsewhere; Reductions::max finishes them).
@group(0) @binding(1) var<storage, read> xi: array<f32>;
@group(0) @binding(2) var<storage, read> bv_rate: array<f32>;
@group(0) @binding(3) var<storage, read> ac_rate: array<f32>;
@group(0) @binding(4) var<storage, read> grad_norm: array<f32>;
@group(0) @binding(5) var<storage, read_write> reaction_factor: array<f32>;
@group(0) @binding(6) var<storage, read_write> front_speed: array<f32>;

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn reaction_maxima(@builtin(global_invocation_id) id: vec3<u32>) {
    enter_point(id.z);
    let m = id.x;
    let i = id.y;
    if (i >= k.nx || m >= layer_cells()) { return; }
    let n = cell_of(i, m);
    let hp = interpolation_prime(xi[n]);
    let r = bv_rate[n];
    var factor = 0.0;
    var speed = 0.0;
    if (hp >= INTERFACE_THRESHOLD) {
        if (hp > 1e-3) {
            factor = abs(r / (k.l_eta * hp));
        }
        if (grad_norm[n] > k.front_grad_min) {
            speed = abs((ac_rate[n] + r) / grad_norm[n]);
        }
    }
    reaction_factor[n] = factor;
    front_speed[n] = speed;
}

// ---- kernel: interface_noise
// N = A r h'(xi)/max h' with r = uniform_signed(key, step, cell); h' is written too, for Σ h'.
// step_scalars is bound as u32 here: the step counter is read as the integer it is (no float load
// that could flush its subnormal bit pattern), the amplitude through bitcast.
@group(0) @binding(1) var<storage, read> step_scalars: array<u32>;
@group(0) @binding(2) var<storage, read> xi: array<f32>;
@group(0) @binding(3) var<storage, read_write> noise: array<f32>;
@group(0) @binding(4) var<storage, read_write> h_prime: array<f32>;

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn interface_noise(@builtin(global_invocation_id) id: vec3<u32>) {
    enter_point(id.z);
    let m = id.x;
    let i = id.y;
    if (i >= k.nx || m >= layer_cells()) { return; }
    let n = cell_of(i, m);
    let amplitude = bitcast<f32>(step_scalars[point_scalar(NOISE_AMPLITUDE)]);
    if (amplitude == 0.0) {
        noise[n] = 0.0;
        h_prime[n] = 0.0;
        return;
    }
    let scale = amplitude * k.inv_max_h_prime;
    let hp = interpolation_prime(xi[n]);
    // Bulk cells (h' = 0) draw nothing: the noise is confined to the interface.
    var value = 0.0;
    if (hp > 0.0) {
        value = scale * uniform_signed(k.noise_key, step_scalars[point_scalar(STEP)], local_cell(n)) * hp;
    }
    noise[n] = value;
    h_prime[n] = hp;
}

// ---- kernel: update_order_parameter
// xi ← xi + dt (∂xi/∂t|_AC + ∂xi/∂t|_BV + N − n̄ h'(xi)); Δxi is the change stored after rounding.
@group(0) @binding(1) var<storage, read_write> xi: array<f32>;
@group(0) @binding(2) var<storage, read> ac_rate: array<f32>;
@group(0) @binding(3) var<storage, read> bv_rate: array<f32>;
@group(0) @binding(4) var<storage, read> noise: array<f32>;
@group(0) @binding(5) var<storage, read> step_scalars: array<f32>;
@group(0) @binding(6) var<storage, read_write> dxi: array<f32>;

@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn update_order_parameter(@builtin(global_invocation_id) id: vec3<u32>) {
    enter_point(id.z);
    let m = id.x;
    let i = id.y;
    if (i >= k.nx || m >= layer_cells()) { return; }
    let n = cell_of(i, m);
    let x = xi[n];
    let zero_sum_noise = noise[n] - step_scalars[point_scalar(NOISE_MEAN)] * interpolation_prime(x);
    var updated = x + step_scalars[point_scalar(DT)] * (ac_rate[n] + bv_rate[n] + zero_sum_noise);
    // Flush the geometrically decaying far field before it turns subnormal.
    if (abs(updated) < FLUSH_TO_ZERO) {
        updated = 0.0;
    }
    dxi[n] = updated - x;
    xi[n] = updated;
}
