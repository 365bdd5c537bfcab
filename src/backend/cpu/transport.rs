//! CPU kernels of ion transport (E2) and the coefficients of both implicit solves; each has a
//! WGSL twin of the same name.
//!
//! ∂c/∂t = ∇·(D∇c) [implicit] + ∇·(D f c ∇φ) [explicit, upwind] − (C_s/c0) ∂xi/∂t
//!
//! Boundaries: zero flux at the collector, c = 1 (c0) and φ = 0 on the bulk face, periodic in y.

use super::order_parameter::lateral_neighbours;
use crate::grid::Real;
use crate::model::interphase::interpolation;
use rayon::prelude::*;

/// Constants of the transport kernels (internal units).
#[derive(Debug, Clone, Copy)]
pub struct TransportConstants {
    pub nx: usize,
    pub ny: usize,
    pub inv_dx: Real,
    pub d_liquid: Real,
    pub d_solid: Real,
    /// f = nF/RT.
    pub f: Real,
    pub cs_over_c0: Real,
}

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

/// [`transport_coefficients`] where no resolved band exists (s = 0 everywhere, the sub-grid
/// representation): the same values bit for bit, from xi alone (three streams instead of six).
pub fn transport_coefficients_without_band(
    k: &TransportConstants,
    xi: &[Real],
    diffusivity: &mut [Real],
    conductivity: &mut [Real],
) {
    const CHUNK: usize = 4096;
    diffusivity
        .par_chunks_mut(CHUNK)
        .zip(conductivity.par_chunks_mut(CHUNK))
        .zip(xi.par_chunks(CHUNK))
        .for_each(|((d, s), xi)| {
            for ((d, s), &x) in d.iter_mut().zip(s).zip(xi) {
                let h = interpolation(x);
                // (1 − s) + s r with s = 0 is exactly 1.
                *d = h * k.d_solid + (1.0 - h) * k.d_liquid * 1.0;
                *s = h * (k.d_solid / k.d_liquid) + (1.0 - h) * 1.0;
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

/// Right-hand side of the implicit concentration step (1/dt − ∇·D∇) c^{n+1} = rhs:
/// rhs = c/dt − ∇·J_mig − (C_s/c0) Δxi/dt. At the collector the clamped neighbour row carries no
/// flux (equal φ); past the last row a ghost with φ = −φ and c = 1 puts φ = 0, c = c0 on the bulk
/// face at distance Δx/2.
#[allow(clippy::too_many_arguments)]
pub fn concentration_rhs(
    k: &TransportConstants,
    c: &[Real],
    phi: &[Real],
    diffusivity: &[Real],
    dxi: &[Real],
    dt: Real,
    rhs: &mut [Real],
) {
    let (nx, ny) = (k.nx, k.ny);
    let inv_dt = 1.0 / dt;
    let row = |r: usize| r * ny..(r + 1) * ny;
    // Ghost row above the last one: φ_g = −φ (φ = 0 on the face), c_g = 1, D_g = D.
    let top = row(nx - 1);
    let ghost_phi: Vec<Real> = phi[top].iter().map(|&p| -p).collect();
    let ghost_c = vec![1.0 as Real; ny];
    rhs.par_chunks_mut(ny).enumerate().for_each(|(i, out)| {
        let rb = row(if i == 0 { 0 } else { i - 1 });
        let rc = row(i);
        let (c_a, p_a, d_a) = if i + 1 < nx {
            let ra = row(i + 1);
            (&c[ra.clone()], &phi[ra.clone()], &diffusivity[ra])
        } else {
            (&ghost_c[..], &ghost_phi[..], &diffusivity[rc.clone()])
        };
        let (c_b, p_b, d_b) = (&c[rb.clone()], &phi[rb.clone()], &diffusivity[rb]);
        let (c_c, p_c, d_c, s_c) = (
            &c[rc.clone()],
            &phi[rc.clone()],
            &diffusivity[rc.clone()],
            &dxi[rc],
        );
        // One cell from (centre, left, right) of its row and the cells below and above.
        #[allow(clippy::too_many_arguments)]
        #[inline(always)]
        fn rhs_at(
            k: &TransportConstants,
            inv_dt: Real,
            cpd: [Real; 3],
            left: [Real; 3],
            right: [Real; 3],
            below: [Real; 3],
            above: [Real; 3],
            sink: Real,
        ) -> Real {
            let [cc, pc, dc] = cpd;
            let up = face_flux(dc, above[2], k.f, k.inv_dx, pc, above[1], cc, above[0]);
            let down = face_flux(below[2], dc, k.f, k.inv_dx, below[1], pc, below[0], cc);
            let r = face_flux(dc, right[2], k.f, k.inv_dx, pc, right[1], cc, right[0]);
            let l = face_flux(left[2], dc, k.f, k.inv_dx, left[1], pc, left[0], cc);
            let divergence = (up - down + r - l) * k.inv_dx;
            cc * inv_dt - divergence - k.cs_over_c0 * sink * inv_dt
        }
        let at = |j: usize, jm: usize, jp: usize| {
            rhs_at(
                k,
                inv_dt,
                [c_c[j], p_c[j], d_c[j]],
                [c_c[jm], p_c[jm], d_c[jm]],
                [c_c[jp], p_c[jp], d_c[jp]],
                [c_b[j], p_b[j], d_b[j]],
                [c_a[j], p_a[j], d_a[j]],
                s_c[j],
            )
        };
        out[0] = at(0, ny - 1, 1);
        out[ny - 1] = at(ny - 1, ny - 2, 0);
        // Interior: equal-length shifted slices, so the loop carries no bounds checks.
        let n = ny - 2;
        let mid = 1..n + 1;
        let (cl, cm, cr) = (&c_c[..n], &c_c[mid.clone()], &c_c[2..]);
        let (pl, pm, pr) = (&p_c[..n], &p_c[mid.clone()], &p_c[2..]);
        let (dl, dm, dr) = (&d_c[..n], &d_c[mid.clone()], &d_c[2..]);
        let (cb, pb, db) = (&c_b[mid.clone()], &p_b[mid.clone()], &d_b[mid.clone()]);
        let (ca, pa, da) = (&c_a[mid.clone()], &p_a[mid.clone()], &d_a[mid.clone()]);
        let sm = &s_c[mid];
        let inner = &mut out[1..n + 1];
        for t in 0..n {
            inner[t] = rhs_at(
                k,
                inv_dt,
                [cm[t], pm[t], dm[t]],
                [cl[t], pl[t], dl[t]],
                [cr[t], pr[t], dr[t]],
                [cb[t], pb[t], db[t]],
                [ca[t], pa[t], da[t]],
                sm[t],
            );
        }
    });
}

/// Largest migration face speed D_f f |∂φ/∂n| (µm/s), for the explicit-migration bound.
pub fn max_migration_speed(k: &TransportConstants, phi: &[Real], diffusivity: &[Real]) -> f64 {
    let (nx, ny) = (k.nx, k.ny);
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
/// implicit diffusion with the new c plus the explicit migration flux with the old c.
pub fn boundary_inflow(
    k: &TransportConstants,
    c_old: &[Real],
    c_new: &[Real],
    phi: &[Real],
    diffusivity: &[Real],
    dt: f64,
) -> f64 {
    let (nx, ny) = (k.nx, k.ny);
    let dx = 1.0 / k.inv_dx as f64;
    let top = (nx - 1) * ny;
    (0..ny)
        .map(|j| {
            let n = top + j;
            let d = diffusivity[n] as f64;
            let diffusive_in = d * (1.0 - c_new[n] as f64) * 2.0 / dx;
            // The same face flux as the right-hand side: ghost φ = −φ, c = 1 past the face.
            let migration_out = face_flux(
                diffusivity[n],
                diffusivity[n],
                k.f,
                k.inv_dx,
                phi[n],
                -phi[n],
                c_old[n],
                1.0,
            ) as f64;
            (diffusive_in - migration_out) * dx * dt
        })
        .sum()
}

impl TransportConstants {
    pub fn from_params(p: &crate::model::Params) -> Self {
        TransportConstants {
            nx: p.grid.nx,
            ny: p.grid.ny,
            inv_dx: (1.0 / p.grid.dx) as Real,
            d_liquid: p.d_liquid as Real,
            d_solid: p.d_solid as Real,
            f: p.f as Real,
            cs_over_c0: p.cs_over_c0 as Real,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coefficients_without_band_equal_the_general_kernel_with_s_zero() {
        let n = 5000;
        let k = TransportConstants {
            nx: 50,
            ny: 100,
            inv_dx: 2.0,
            d_liquid: 300.0,
            d_solid: 0.3,
            f: 77.9,
            cs_over_c0: 72.0,
        };
        let xi: Vec<Real> = (0..n).map(|i| (i as Real / n as Real).powi(3)).collect();
        let zeros = vec![0.0; n];
        let ratios = vec![0.37; n];
        let (mut d1, mut s1, mut d2, mut s2) =
            (vec![0.0; n], vec![0.0; n], vec![1.0; n], vec![1.0; n]);
        transport_coefficients(&k, &xi, &zeros, &ratios, &ratios, &mut d1, &mut s1);
        transport_coefficients_without_band(&k, &xi, &mut d2, &mut s2);
        let same =
            |a: &[Real], b: &[Real]| a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
        println!(
            "D identical: {}, σ identical: {}",
            same(&d1, &d2),
            same(&s1, &s2)
        );
        assert!(same(&d1, &d2) && same(&s1, &s2));
    }
}
