//! CPU kernels of ion transport (E2) and the coefficients of both implicit solves; each has a
//! WGSL twin of the same name.
//!
//! ∂c/∂t = ∇·(D∇c) [implicit] + ∇·(D f c ∇φ) [explicit, upwind] − (C_s/c0) ∂xi/∂t
//!
//! Boundaries: zero flux at the collector, c = 1 (c0) and φ = 0 on the bulk face, periodic in y.

use super::order_parameter::lateral_neighbours;
use crate::grid::Real;
use crate::model::coefficients::TransportConstants;
use crate::model::interphase::interpolation;
use rayon::prelude::*;

/// D = h D_s + (1−h) D_l [(1−s) + s r_D] and the ionic conductivity
/// σ/σ_l = h D_s/D_l + (1−h) [(1−s) + s r_σ]: the t+ = 1 identity σ = n²F²D c0/(RT) holds in the
/// metal too, where ions barely move (the metal's own potential is the electrode potential E).
pub fn transport_coefficients(
    k: &TransportConstants,
    xi: &[Real],
    layer: &[Real],
    layer_diffusivity_ratio: &[Real],
    layer_conductivity_ratio: &[Real],
    diffusivity: &mut [Real],
    conductivity: &mut [Real],
) {
    const CHUNK: usize = 4096;
    diffusivity
        .par_chunks_mut(CHUNK)
        .zip(conductivity.par_chunks_mut(CHUNK))
        .zip(xi.par_chunks(CHUNK))
        .zip(layer.par_chunks(CHUNK))
        .zip(layer_diffusivity_ratio.par_chunks(CHUNK))
        .zip(layer_conductivity_ratio.par_chunks(CHUNK))
        .for_each(|(((((d, s), xi), layer), d_ratio), s_ratio)| {
            for (((((d, s), &x), &sl), &dr), &sr) in d
                .iter_mut()
                .zip(s)
                .zip(xi)
                .zip(layer)
                .zip(d_ratio)
                .zip(s_ratio)
            {
                let h = interpolation(x);
                *d = h * k.d_solid + (1.0 - h) * k.d_liquid * ((1.0 - sl) + sl * dr);
                *s = h * (k.d_solid / k.d_liquid) + (1.0 - h) * ((1.0 - sl) + sl * sr);
            }
        });
}

/// [`transport_coefficients`]' D where no resolved band exists (s = 0 everywhere, the sub-grid
/// representation), from xi alone, the same values bit for bit. There σ/σ_l = D/D_l exactly (the
/// t+ = 1 identity with s = 0), so the potential solve weighs its faces by D itself, its source
/// scaled by D_l, and σ is not stored: two streams instead of six.
pub fn transport_coefficients_without_band(
    k: &TransportConstants,
    xi: &[Real],
    diffusivity: &mut [Real],
) {
    const CHUNK: usize = 4096;
    diffusivity
        .par_chunks_mut(CHUNK)
        .zip(xi.par_chunks(CHUNK))
        .for_each(|(d, xi)| {
            for (d, &x) in d.iter_mut().zip(xi) {
                let h = interpolation(x);
                // (1 − s) + s r with s = 0 is exactly 1.
                *d = h * k.d_solid + (1.0 - h) * k.d_liquid * 1.0;
            }
        });
}

#[inline]
fn harmonic(a: Real, b: Real) -> Real {
    2.0 * a * b / (a + b)
}

/// Upwind migration flux from cell `from` to cell `to` (positive from → to):
/// J = u c_up, u = −D_f f (φ_to − φ_from)/Δx, D_f the harmonic face value; branch-free upwinding.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn face_flux(
    d_from: Real,
    d_to: Real,
    f: Real,
    inv_dx: Real,
    p_from: Real,
    p_to: Real,
    c_from: Real,
    c_to: Real,
) -> Real {
    let u = -harmonic(d_from, d_to) * f * (p_to - p_from) * inv_dx;
    u.max(0.0) * c_from + u.min(0.0) * c_to
}

/// Rows per task of [`concentration_rhs`].
const RHS_BLOCK_ROWS: usize = 16;

/// Right-hand side of the implicit concentration step for the excess u = c/c0 − 1,
/// (1/dt − ∇·D∇) u^{n+1} = rhs with u = 0 on the bulk face:
/// rhs = u/dt − ∇·J_mig(c) − (C_s/c0) Δxi/dt. At the collector the clamped neighbour row carries
/// no flux (equal φ); past the last row a ghost with φ = −φ and c = 1 puts φ = 0, c = c0 on the
/// bulk face at distance Δx/2. The migration flux reads c/c0 = 1 + u.
///
/// Why u and not c: the bulk face couples the last row with weight 2D dt/Δx² (~10⁴), so an f32
/// c ≈ 1 there, quantised to ~6e-8, makes the inflow it implies uncertain by ~1e-3 of a step's
/// ions; u ≈ 0 there carries the difference c0 − c at full relative precision.
///
/// Each face flux is computed once and used by both its cells (the WGSL twin, one thread per
/// cell, computes it from each side): the same call with the same arguments, so the same bits.
/// Rows go in blocks; a block recomputes only the face below its first row.
#[allow(clippy::too_many_arguments)]
pub fn concentration_rhs(
    k: &TransportConstants,
    excess: &[Real],
    phi: &[Real],
    diffusivity: &[Real],
    dxi: &[Real],
    dt: Real,
    rhs: &mut [Real],
) {
    let (nx, ny) = (k.grid.nx, k.grid.ny);
    let inv_dt = 1.0 / dt;
    let row = |r: usize| r * ny..(r + 1) * ny;
    // Ghost row above the last one: φ_g = −φ (φ = 0 on the face), u_g = 0 (c = 1), D_g = D.
    let top = row(nx - 1);
    let ghost_phi: Vec<Real> = phi[top.clone()].iter().map(|&p| -p).collect();
    let ghost_u = vec![0.0 as Real; ny];
    // The upwind flux with c/c0 = 1 + u on both sides.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn flux(
        k: &TransportConstants,
        d0: Real,
        d1: Real,
        p0: Real,
        p1: Real,
        u0: Real,
        u1: Real,
    ) -> Real {
        face_flux(d0, d1, k.f, k.inv_dx, p0, p1, 1.0 + u0, 1.0 + u1)
    }
    // Flux from row `i` to the row above it (the ghost past the last row).
    let x_faces = |i: usize, out: &mut [Real]| {
        let rc = row(i);
        let (u_a, p_a, d_a) = if i + 1 < nx {
            let ra = row(i + 1);
            (&excess[ra.clone()], &phi[ra.clone()], &diffusivity[ra])
        } else {
            (&ghost_u[..], &ghost_phi[..], &diffusivity[top.clone()])
        };
        let (u_c, p_c, d_c) = (&excess[rc.clone()], &phi[rc.clone()], &diffusivity[rc]);
        let (u_a, p_a, d_a, out) = (&u_a[..ny], &p_a[..ny], &d_a[..ny], &mut out[..ny]);
        for (j, o) in out.iter_mut().enumerate() {
            *o = flux(k, d_c[j], d_a[j], p_c[j], p_a[j], u_c[j], u_a[j]);
        }
    };
    rhs.par_chunks_mut(RHS_BLOCK_ROWS * ny)
        .enumerate()
        .for_each(|(b, block)| {
            let r0 = b * RHS_BLOCK_ROWS;
            let (mut below, mut above) = (vec![0.0 as Real; ny], vec![0.0 as Real; ny]);
            // y faces: entry j is the flux from cell j − 1 (periodic) to cell j; entry ny = entry 0.
            let mut lateral = vec![0.0 as Real; ny + 1];
            if r0 == 0 {
                // The collector: the clamped row, φ equal on both sides.
                let (u0, p0, d0) = (&excess[..ny], &phi[..ny], &diffusivity[..ny]);
                for (j, o) in below.iter_mut().enumerate() {
                    *o = flux(k, d0[j], d0[j], p0[j], p0[j], u0[j], u0[j]);
                }
            } else {
                x_faces(r0 - 1, &mut below);
            }
            for (t, out) in block.chunks_mut(ny).enumerate() {
                let i = r0 + t;
                let rc = row(i);
                x_faces(i, &mut above);
                let (u_c, p_c, d_c, s_c) = (
                    &excess[rc.clone()],
                    &phi[rc.clone()],
                    &diffusivity[rc.clone()],
                    &dxi[rc],
                );
                let last = ny - 1;
                lateral[0] = flux(k, d_c[last], d_c[0], p_c[last], p_c[0], u_c[last], u_c[0]);
                let n = ny - 1;
                let (dl, dr) = (&d_c[..n], &d_c[1..]);
                let (pl, pr) = (&p_c[..n], &p_c[1..]);
                let (ul, ur) = (&u_c[..n], &u_c[1..]);
                for (t, o) in lateral[1..ny].iter_mut().enumerate() {
                    *o = flux(k, dl[t], dr[t], pl[t], pr[t], ul[t], ur[t]);
                }
                lateral[ny] = lateral[0];
                let (l, r) = (&lateral[..ny], &lateral[1..]);
                let (up, down, out) = (&above[..ny], &below[..ny], &mut out[..ny]);
                let (u_c, s_c) = (&u_c[..ny], &s_c[..ny]);
                for j in 0..ny {
                    let divergence = (up[j] - down[j] + r[j] - l[j]) * k.inv_dx;
                    out[j] = u_c[j] * inv_dt - divergence - k.cs_over_c0 * s_c[j] * inv_dt;
                }
                std::mem::swap(&mut below, &mut above);
            }
        });
}

/// Largest migration face speed D_f f |∂φ/∂n| (µm/s), for the explicit-migration bound.
pub fn max_migration_speed(k: &TransportConstants, phi: &[Real], diffusivity: &[Real]) -> f64 {
    let (nx, ny) = (k.grid.nx, k.grid.ny);
    (0..nx)
        .into_par_iter()
        .map(|i| {
            let mut m: Real = 0.0;
            for j in 0..ny {
                let n = i * ny + j;
                let r = i * ny + lateral_neighbours(j, ny).1;
                m = m.max(harmonic(diffusivity[n], diffusivity[r]) * (phi[r] - phi[n]).abs());
                let up = if i + 1 < nx {
                    harmonic(diffusivity[n], diffusivity[n + ny]) * (phi[n + ny] - phi[n]).abs()
                } else {
                    diffusivity[n] * 2.0 * phi[n].abs()
                };
                m = m.max(up);
            }
            (m * k.f * k.inv_dx) as f64
        })
        .reduce(|| 0.0, f64::max)
}

/// Ions entering through the bulk face in a step of length dt (c/c0 · µm² per unit depth):
/// implicit diffusion with the new excess u = c/c0 − 1 (the face's c0 − c is −u, unrounded) plus
/// the explicit migration flux with the old c = 1 + u.
pub fn boundary_inflow(
    k: &TransportConstants,
    excess_old: &[Real],
    excess_new: &[Real],
    phi: &[Real],
    diffusivity: &[Real],
    dt: f64,
) -> f64 {
    let (nx, ny) = (k.grid.nx, k.grid.ny);
    let dx = 1.0 / k.inv_dx as f64;
    let top = (nx - 1) * ny;
    (0..ny)
        .map(|j| {
            let n = top + j;
            let d = diffusivity[n] as f64;
            let diffusive_in = d * -(excess_new[n] as f64) * 2.0 / dx;
            // The same face flux as the right-hand side: ghost φ = −φ, c = 1 past the face.
            let migration_out = face_flux(
                diffusivity[n],
                diffusivity[n],
                k.f,
                k.inv_dx,
                phi[n],
                -phi[n],
                1.0 + excess_old[n],
                1.0,
            ) as f64;
            (diffusive_in - migration_out) * dx * dt
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::Grid;

    /// The face-sharing kernel against the per-cell form its WGSL twin uses (four face fluxes
    /// per cell, the collector row clamped, a ghost row past the bulk face): the same bits, on a
    /// grid whose last row block is partial (37 rows, blocks of 16).
    #[test]
    fn concentration_rhs_equals_the_per_cell_flux_balance_bit_for_bit() {
        let (nx, ny) = (37, 24);
        let k = TransportConstants {
            grid: Grid::new(nx, ny, 0.5),
            inv_dx: 2.0,
            d_liquid: 300.0,
            d_solid: 0.3,
            f: 77.9,
            cs_over_c0: 72.0,
        };
        let v = |n: usize, s: f64| ((n as f64 * 0.61 + s).sin()) as Real;
        let u: Vec<Real> = (0..nx * ny).map(|n| 0.3 * v(n, 0.0)).collect();
        let c: Vec<Real> = u.iter().map(|&u| 1.0 + u).collect();
        let phi: Vec<Real> = (0..nx * ny).map(|n| -0.01 * (1.0 + v(n, 1.0))).collect();
        let d: Vec<Real> = (0..nx * ny).map(|n| 150.0 + 149.0 * v(n, 2.0)).collect();
        let dxi: Vec<Real> = (0..nx * ny).map(|n| 1e-3 * v(n, 3.0)).collect();
        let dt = 0.37;
        let mut fast = vec![0.0; nx * ny];
        concentration_rhs(&k, &u, &phi, &d, &dxi, dt, &mut fast);
        let inv_dt = 1.0 / dt;
        let differing = (0..nx)
            .flat_map(|i| (0..ny).map(move |j| (i, j)))
            .filter(|&(i, j)| {
                let n = i * ny + j;
                let (jm, jp) = lateral_neighbours(j, ny);
                let (l, r) = (i * ny + jm, i * ny + jp);
                let b = if i == 0 { n } else { n - ny };
                let (ca, pa, da) = if i + 1 < nx {
                    (c[n + ny], phi[n + ny], d[n + ny])
                } else {
                    (1.0, -phi[n], d[n])
                };
                let flux = |a: usize, b: usize| {
                    face_flux(d[a], d[b], k.f, k.inv_dx, phi[a], phi[b], c[a], c[b])
                };
                let up = face_flux(d[n], da, k.f, k.inv_dx, phi[n], pa, c[n], ca);
                let divergence = (up - flux(b, n) + flux(n, r) - flux(l, n)) * k.inv_dx;
                let want = u[n] * inv_dt - divergence - k.cs_over_c0 * dxi[n] * inv_dt;
                want.to_bits() != fast[n].to_bits()
            })
            .count();
        println!("{differing} of {} cells differ (expected 0)", nx * ny);
        assert_eq!(differing, 0);
    }

    #[test]
    fn coefficients_without_band_equal_the_general_kernel_with_s_zero() {
        let n = 5000;
        let k = TransportConstants {
            grid: Grid::new(50, 100, 0.5),
            inv_dx: 2.0,
            d_liquid: 300.0,
            d_solid: 0.3,
            f: 77.9,
            cs_over_c0: 72.0,
        };
        let xi: Vec<Real> = (0..n).map(|i| (i as Real / n as Real).powi(3)).collect();
        let zeros = vec![0.0; n];
        let ratios = vec![0.37; n];
        let (mut d1, mut s1, mut d2) = (vec![0.0; n], vec![0.0; n], vec![1.0; n]);
        transport_coefficients(&k, &xi, &zeros, &ratios, &ratios, &mut d1, &mut s1);
        transport_coefficients_without_band(&k, &xi, &mut d2);
        let same = d1.iter().zip(&d2).all(|(x, y)| x.to_bits() == y.to_bits());
        // σ/σ_l = D/D_l, to f32 rounding: the potential may weigh its faces by D.
        let worst = s1
            .iter()
            .zip(&d2)
            .map(|(&s, &d)| ((s * k.d_liquid - d) / d).abs())
            .fold(0.0, Real::max);
        println!("D identical: {same}; max |σ D_l − D|/D = {worst:.1e} (expected ≤ 1e-6)");
        assert!(same && worst <= 1e-6);
    }
}
