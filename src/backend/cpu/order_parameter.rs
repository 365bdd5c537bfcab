//! CPU kernels of the order-parameter equation (E1); each has a WGSL twin of the same name.
//!
//! ∂xi/∂t = −L_σ [g'(xi) − K_aniso(xi)] − L_η h'(xi) m (1−p_b) a_k B_eff + N
//!
//! Boundaries: zero flux at the collector (i = 0), xi = 0 on the bulk face (i = nx), periodic in y and z.

use crate::grid::Real;
use crate::model::anisotropy::{interface_orientation, SurfaceEnergy};
use crate::model::boundary;
use crate::model::coefficients::{OrderParameterConstants, INTERFACE_THRESHOLD};
use crate::model::grains::Grains;
use crate::model::interphase::interpolation_prime;
use rayon::prelude::*;

mod allen_cahn;
mod reaction;
mod update;
pub use allen_cahn::{allen_cahn_rate_streaming, allen_cahn_rate_streaming_with, gradient_at};
pub use reaction::{clear_cells, reaction_field, reaction_maxima, reaction_rate, CollectorFloor};
pub use update::{
    interface_noise, interface_noise_sums, update_order_parameter, update_order_parameter_drawing,
    LaneSums, NoiseDraw, LANES,
};

/// The rows around row i of a field: (below, centre, above), clamped at the x boundaries (the
/// caller applies the ghost rule of its field).
#[inline(always)]
fn rows(f: &[Real], nx: usize, ny: usize, i: usize) -> (&[Real], &[Real], &[Real]) {
    let row = |r: usize| &f[r * ny..(r + 1) * ny];
    let below = if i == 0 { row(i) } else { row(i - 1) };
    let above = if i + 1 == nx { row(i) } else { row(i + 1) };
    (below, row(i), above)
}

/// Sign of xi's ghost above row i ([`boundary::ORDER_PARAMETER`]): past the last row the bulk
/// face's ghost (xi = 0 there: antisymmetric); the collector's mirror (zero flux) is what `rows`
/// gives below row 0.
#[inline(always)]
fn above_sign(nx: usize, i: usize) -> Real {
    if i + 1 == nx {
        boundary::ORDER_PARAMETER.x_hi.ghost_sign()
    } else {
        1.0
    }
}

/// Per cell: ε², ε ε', a_k and |∇xi| from the central gradient (orientation of the interface), in
/// 2D: the twin of the device's two-pass kernel of the same name, and the reference the one-pass
/// [`allen_cahn_rate_streaming`] is tested against.
pub fn interface_orientation_field(
    k: &OrderParameterConstants,
    xi: &[Real],
    eps_sq: &mut [Real],
    eps_deriv: &mut [Real],
    kinetic_factor: &mut [Real],
    grad_norm: &mut [Real],
) {
    let ny = k.grid.ny;
    eps_sq
        .par_chunks_mut(ny)
        .zip(eps_deriv.par_chunks_mut(ny))
        .zip(kinetic_factor.par_chunks_mut(ny))
        .zip(grad_norm.par_chunks_mut(ny))
        .enumerate()
        .for_each(|(i, (((e2, ed), ak), gn))| {
            orientation_row(k, xi, i, e2, ed, |t, a_k, g| {
                ak[t] = a_k;
                gn[t] = g;
            });
        });
}

/// Row i of [`interface_orientation_field`]: ε² and εε' into `e2`, `ed`; a_k and |∇xi| of cell
/// j handed to `rest(j, a_k, |∇xi|)` (the Allen–Cahn pass drops them).
#[inline(always)]
fn orientation_row(
    k: &OrderParameterConstants,
    xi: &[Real],
    i: usize,
    e2: &mut [Real],
    ed: &mut [Real],
    mut rest: impl FnMut(usize, Real, Real),
) {
    let (nx, ny) = (k.grid.nx, k.grid.ny);
    let half_inv_dx = 0.5 * k.inv_dx;
    let (below, centre, above) = rows(xi, nx, ny, i);
    let sign = above_sign(nx, i);
    let at = |above: Real, below: Real, right: Real, left: Real| {
        let gx = (sign * above - below) * half_inv_dx;
        let gy = (right - left) * half_inv_dx;
        interface_orientation(&k.aniso, gx, gy)
    };
    for (j, jm, jp) in [(0, ny - 1, 1), (ny - 1, ny - 2, 0)] {
        let (a, b, c, g) = at(above[j], below[j], centre[jp], centre[jm]);
        (e2[j], ed[j]) = (a, b);
        rest(j, c, g);
    }
    // Interior: equal-length shifted slices, so the loop has no bounds checks and vectorises.
    let n = ny - 2;
    let mid = 1..n + 1;
    let (ab, be) = (&above[mid.clone()], &below[mid.clone()]);
    let (right, left) = (&centre[2..], &centre[..n]);
    let (e2, ed) = (&mut e2[mid.clone()], &mut ed[mid]);
    for t in 0..n {
        let (a, b, c, g) = at(ab[t], be[t], right[t], left[t]);
        (e2[t], ed[t]) = (a, b);
        rest(t + 1, c, g);
    }
}

/// a_k and |∇xi| at the interface cells only (the reaction needs them nowhere else), in any
/// dimension, from the surface energy of the grid's dimension; other cells are left as they
/// are. In 2D the values [`interface_orientation_field`] gives there.
pub fn interface_orientation_cells(
    k: &OrderParameterConstants,
    cells: &[u32],
    xi: &[Real],
    kinetic_factor: &mut [Real],
    grad_norm: &mut [Real],
) {
    interface_orientation_cells_with(k, None, cells, xi, kinetic_factor, grad_norm)
}

/// [`interface_orientation_cells`] with the run's grains (3D, nuclei with their own c-axes).
pub fn interface_orientation_cells_with(
    k: &OrderParameterConstants,
    grains: Option<&Grains>,
    cells: &[u32],
    xi: &[Real],
    kinetic_factor: &mut [Real],
    grad_norm: &mut [Real],
) {
    match grains {
        Some(grains) if k.grid.nz > 1 => {
            orientation_cells(k, grains, cells, xi, kinetic_factor, grad_norm)
        }
        _ if k.grid.nz > 1 => orientation_cells(k, &k.hcp, cells, xi, kinetic_factor, grad_norm),
        _ => orientation_cells(k, &k.aniso, cells, xi, kinetic_factor, grad_norm),
    }
}

fn orientation_cells<E: SurfaceEnergy>(
    k: &OrderParameterConstants,
    energy: &E,
    cells: &[u32],
    xi: &[Real],
    kinetic_factor: &mut [Real],
    grad_norm: &mut [Real],
) {
    let layer = k.grid.layer_cells();
    kinetic_factor
        .par_chunks_mut(layer)
        .zip(grad_norm.par_chunks_mut(layer))
        .enumerate()
        .for_each(|(i, (ak, gn))| {
            for &cell in layer_cells(cells, i, layer) {
                let m = cell as usize - i * layer;
                let o = energy.orientation_in_column(m, gradient_at(k, xi, cell as usize));
                (ak[m], gn[m]) = (o.kinetic_factor, o.grad_norm);
            }
        });
}

/// The cells of x layer i (`layer` cells each) in an ascending interface-cell list (a slice
/// of it).
pub(crate) fn layer_cells(cells: &[u32], i: usize, layer: usize) -> &[u32] {
    let (first, last) = ((i * layer) as u32, ((i + 1) * layer) as u32);
    let from = &cells[cells.partition_point(|&c| c < first)..];
    &from[..from.partition_point(|&c| c < last)]
}

/// −L_σ [g'(xi) − ∇·(ε²∇xi) + ∂x(εε' ∂y xi) − ∂y(εε' ∂x xi)]: the Allen–Cahn part of ∂xi/∂t,
/// isotropic part on the compact 5-point stencil with face-averaged ε², cross terms central
/// (their neighbour gradients from the 3×3 stencil, copied at the x boundaries, where xi is flat).
pub fn allen_cahn_rate(
    k: &OrderParameterConstants,
    xi: &[Real],
    eps_sq: &[Real],
    eps_deriv: &[Real],
    rate: &mut [Real],
) {
    let (nx, ny) = (k.grid.nx, k.grid.ny);
    rate.par_chunks_mut(ny).enumerate().for_each(|(i, out)| {
        allen_cahn_row(
            k,
            xi,
            i,
            rows(eps_sq, nx, ny, i),
            rows(eps_deriv, nx, ny, i),
            out,
        );
    });
}

/// Row i of [`allen_cahn_rate`], given the (below, centre, above) rows of ε² and εε'.
#[inline(always)]
fn allen_cahn_row(
    k: &OrderParameterConstants,
    xi: &[Real],
    i: usize,
    (e_below, e, e_above): (&[Real], &[Real], &[Real]),
    (d_below, d, d_above): (&[Real], &[Real], &[Real]),
    out: &mut [Real],
) {
    let (nx, ny) = (k.grid.nx, k.grid.ny);
    let inv_dx2 = k.inv_dx * k.inv_dx;
    let half_inv_dx = 0.5 * k.inv_dx;
    let (x_below, x, x_above) = rows(xi, nx, ny, i);
    let sign = above_sign(nx, i);
    let l_sigma = k.l_sigma;
    let w = k.w;
    let at = |j: usize, jm: usize, jp: usize| {
        allen_cahn_at(
            [x_below[jm], x_below[j], x_below[jp]],
            [x[jm], x[j], x[jp]],
            [sign * x_above[jm], sign * x_above[j], sign * x_above[jp]],
            e_below[j],
            [e[jm], e[j], e[jp]],
            e_above[j],
            d_below[j],
            [d[jm], d[j], d[jp]],
            d_above[j],
            inv_dx2,
            half_inv_dx,
            l_sigma,
            w,
            sign,
        )
    };
    out[0] = at(0, ny - 1, 1);
    out[ny - 1] = at(ny - 1, ny - 2, 0);
    // Interior: equal-length shifted slices, so the loop carries no bounds checks.
    let n = ny - 2;
    let (xb_l, xb_c, xb_r) = (&x_below[..n], &x_below[1..n + 1], &x_below[2..]);
    let (xc_l, xc_c, xc_r) = (&x[..n], &x[1..n + 1], &x[2..]);
    let (xa_l, xa_c, xa_r) = (&x_above[..n], &x_above[1..n + 1], &x_above[2..]);
    let (e_l, e_c, e_r) = (&e[..n], &e[1..n + 1], &e[2..]);
    let (e_b, e_a) = (&e_below[1..n + 1], &e_above[1..n + 1]);
    let (d_l, d_c, d_r) = (&d[..n], &d[1..n + 1], &d[2..]);
    let (d_b, d_a) = (&d_below[1..n + 1], &d_above[1..n + 1]);
    let inner = &mut out[1..n + 1];
    for t in 0..n {
        inner[t] = allen_cahn_at(
            [xb_l[t], xb_c[t], xb_r[t]],
            [xc_l[t], xc_c[t], xc_r[t]],
            [sign * xa_l[t], sign * xa_c[t], sign * xa_r[t]],
            e_b[t],
            [e_l[t], e_c[t], e_r[t]],
            e_a[t],
            d_b[t],
            [d_l[t], d_c[t], d_r[t]],
            d_a[t],
            inv_dx2,
            half_inv_dx,
            l_sigma,
            w,
            sign,
        );
    }
}

/// One cell of the Allen–Cahn rate from its 3×3 neighbourhood: (below, centre, above) rows at
/// (left, mid, right).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn allen_cahn_at(
    xb: [Real; 3],
    xc: [Real; 3],
    xa: [Real; 3],
    e_b: Real,
    e: [Real; 3],
    e_a: Real,
    d_b: Real,
    d: [Real; 3],
    d_a: Real,
    inv_dx2: Real,
    half_inv_dx: Real,
    l_sigma: Real,
    w: Real,
    sign: Real,
) -> Real {
    let x0 = xc[1];
    let e_c = e[1];
    let isotropic = (0.5 * (e_c + e_a) * (xa[1] - x0) - 0.5 * (e_c + e_b) * (x0 - xb[1])
        + 0.5 * (e_c + e[2]) * (xc[2] - x0)
        - 0.5 * (e_c + e[0]) * (x0 - xc[0]))
        * inv_dx2;
    // ∂y xi in the row above comes from the clamped row itself, not its ghost (`xa` carries the
    // ghost sign for the x differences): the cross terms copy the boundary row.
    let gy_above = sign * (xa[2] - xa[0]) * half_inv_dx;
    let gy_below = (xb[2] - xb[0]) * half_inv_dx;
    let gx_right = (xa[2] - xb[2]) * half_inv_dx;
    let gx_left = (xa[0] - xb[0]) * half_inv_dx;
    let cross =
        (-(d_a * gy_above - d_b * gy_below) + (d[2] * gx_right - d[0] * gx_left)) * half_inv_dx;
    let double_well = 2.0 * w * x0 * (1.0 - x0) * (1.0 - 2.0 * x0);
    -l_sigma * (double_well - isotropic - cross)
}

/// Indices of the cells where h'(xi) ≥ [`INTERFACE_THRESHOLD`] (the only ones with a reaction).
pub fn interface_cells(xi: &[Real]) -> Vec<u32> {
    let mut cells = Vec::new();
    interface_cells_into(xi, &mut cells);
    cells
}

/// Cells per task of [`interface_cells_into`].
const INTERFACE_SCAN_CHUNK: usize = 1 << 14;

/// [`interface_cells`] into a buffer the caller keeps (no allocation once it has grown), in
/// ascending order: each task counts its chunk's interface cells, then writes them into its
/// own slice of the list; only chunks with interface cells are read twice (rayon's filtered
/// `par_extend` took 11 ms at 2048²).
pub fn interface_cells_into(xi: &[Real], cells: &mut Vec<u32>) {
    let is_interface = |x: Real| interpolation_prime(x) >= INTERFACE_THRESHOLD;
    let counts: Vec<usize> = xi
        .par_chunks(INTERFACE_SCAN_CHUNK)
        .map(|chunk| chunk.iter().filter(|&&x| is_interface(x)).count())
        .collect();
    cells.clear();
    cells.resize(counts.iter().sum(), 0);
    let mut outputs = Vec::with_capacity(counts.len());
    let mut rest = cells.as_mut_slice();
    for &n in &counts {
        let (own, tail) = rest.split_at_mut(n);
        outputs.push(own);
        rest = tail;
    }
    xi.par_chunks(INTERFACE_SCAN_CHUNK)
        .zip(outputs)
        .enumerate()
        // Only the chunks the front crosses have anything to write (a few % of them).
        .filter(|(_, (_, out))| !out.is_empty())
        .for_each(|(k, (chunk, out))| {
            let first = k * INTERFACE_SCAN_CHUNK;
            let mut next = out.iter_mut();
            for (c, &x) in chunk.iter().enumerate() {
                if is_interface(x) {
                    *next.next().expect("counted") = (first + c) as u32;
                }
            }
        });
}

#[cfg(test)]
mod streaming_tests {
    use super::*;
    use crate::config::Config;
    use crate::model::noise::uniform_signed;

    /// A rough deposit surface (several blocks of rows, a ny that is no multiple of anything).
    fn state(nx: usize, ny: usize) -> (OrderParameterConstants, Vec<Real>) {
        let mut cfg = Config::default_demo();
        cfg.grid.nx = nx;
        cfg.grid.ny = ny;
        cfg.noise.amplitude_per_s = 0.0;
        let p = crate::model::Params::from_config(&cfg).unwrap();
        let k = OrderParameterConstants::from_params(&p);
        let xi = (0..nx * ny)
            .map(|n| {
                let (i, j) = ((n / ny) as f32, (n % ny) as f32);
                let height = 0.4 * nx as f32 + 3.0 * (0.3 * j).sin();
                let x = 0.5 * (1.0 - ((i - height) / 2.0).tanh());
                (x + 0.01 * uniform_signed(7, 1, n as u32)).clamp(0.0, 1.0)
            })
            .collect();
        (k, xi)
    }

    /// A front with exact bulk on both sides: xi = 1 below and 0 above ±15 rows of a wavy
    /// tanh profile (what the update's flush and the double well leave in a run).
    fn sharp_front(nx: usize, ny: usize, centre: f32) -> Vec<Real> {
        (0..nx * ny)
            .map(|c| {
                let (i, j) = ((c / ny) as f32, (c % ny) as f32);
                let d = i - centre - 4.0 * (0.05 * j).sin();
                match d {
                    d if d < -15.0 => 1.0,
                    d if d > 15.0 => 0.0,
                    d => 0.5 * (1.0 - (d / 2.0).tanh()),
                }
            })
            .collect()
    }

    #[test]
    fn streaming_allen_cahn_matches_the_two_pass_kernels_bit_for_bit() {
        // Rough everywhere, then with bulk rows (whose rate the streaming pass splats); the
        // last front sits 3 rows from the bulk face, so bulk rows meet the clamped ones.
        let sharp = [(150, 400, 75.0), (128, 64, 20.0), (64, 32, 55.0)];
        let cases = [(150, 37), (64, 16), (3, 5)]
            .map(|(nx, ny)| (nx, ny, None))
            .into_iter()
            .chain(sharp.map(|(nx, ny, c)| (nx, ny, Some(c))));
        for (nx, ny, front) in cases {
            let (k, rough) = state(nx, ny);
            let xi = front.map_or(rough, |c| sharp_front(nx, ny, c));
            let n = nx * ny;
            let (mut e2, mut ed, mut ak, mut gn) =
                (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            interface_orientation_field(&k, &xi, &mut e2, &mut ed, &mut ak, &mut gn);
            let mut two_pass = vec![0.0; n];
            allen_cahn_rate(&k, &xi, &e2, &ed, &mut two_pass);
            let mut streaming = vec![1.0; n];
            allen_cahn_rate_streaming(&k, &xi, &mut streaming);
            // Equal as numbers (a zero's sign may differ: the cross terms are now the
            // divergence of J = εε'(−∂yξ, ∂xξ), −(a − b) there is (−a) − (−b) here).
            let differing = two_pass
                .iter()
                .zip(&streaming)
                .filter(|(a, b)| a != b || a.is_nan() || b.is_nan())
                .count();
            let bulk = (0..nx)
                .filter(|&i| xi[i * ny..(i + 1) * ny].iter().all(|&x| x == xi[i * ny]))
                .count();
            println!(
                "{nx}×{ny}: {differing} of {n} cells differ (expected 0); {bulk} uniform rows"
            );
            assert_eq!(differing, 0);

            let cells = interface_cells(&xi);
            let (mut ak_cells, mut gn_cells) = (vec![-1.0; n], vec![-1.0; n]);
            interface_orientation_cells(&k, &cells, &xi, &mut ak_cells, &mut gn_cells);
            for &c in &cells {
                let c = c as usize;
                assert_eq!(ak_cells[c].to_bits(), ak[c].to_bits(), "a_k at {c}");
                assert_eq!(gn_cells[c].to_bits(), gn[c].to_bits(), "|∇xi| at {c}");
            }
            println!("{} interface cells: a_k and |∇xi| identical", cells.len());
        }
    }

    #[test]
    fn interface_cells_are_every_cell_with_h_prime_above_threshold_in_order() {
        // 150 × 400 = 60 000 cells: four scan chunks, the last partial.
        let (_, xi) = state(150, 400);
        let expected: Vec<u32> = (0..xi.len() as u32)
            .filter(|&c| interpolation_prime(xi[c as usize]) >= INTERFACE_THRESHOLD)
            .collect();
        let mut cells = vec![7; 3];
        interface_cells_into(&xi, &mut cells);
        println!("{} of {} cells at the interface", expected.len(), xi.len());
        assert!(expected.len() > 1000 && expected.len() < xi.len());
        assert_eq!(cells, expected);
    }
}
