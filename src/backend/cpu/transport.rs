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
    diffusivity
        .par_iter_mut()
        .zip(conductivity.par_iter_mut())
        .enumerate()
        .for_each(|(n, (d, s))| {
            let h = interpolation(xi[n]);
            let sl = layer[n];
            *d = h * k.d_solid
                + (1.0 - h) * k.d_liquid * ((1.0 - sl) + sl * layer_diffusivity_ratio[n]);
            *s = h * (k.d_solid / k.d_liquid)
                + (1.0 - h) * ((1.0 - sl) + sl * layer_conductivity_ratio[n]);
        });
}

#[inline]
fn harmonic(a: Real, b: Real) -> Real {
    2.0 * a * b / (a + b)
}

/// Upwind migration flux through a face, J = u c_up with u = −D_f f ∂φ/∂n (positive along +x/+y).
#[inline]
fn migration_flux(d_face: Real, f: Real, grad_phi: Real, c_from: Real, c_to: Real) -> Real {
    let u = -d_face * f * grad_phi;
    if u > 0.0 {
        u * c_from
    } else {
        u * c_to
    }
}

/// Right-hand side of the implicit concentration step (1/dt − ∇·D∇) c^{n+1} = rhs:
/// rhs = c/dt − ∇·J_mig − (C_s/c0) Δxi/dt.
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
    rhs.par_chunks_mut(ny).enumerate().for_each(|(i, out)| {
        for (j, out_j) in out.iter_mut().enumerate() {
            let n = i * ny + j;
            let (cc, pc, dc) = (c[n], phi[n], diffusivity[n]);
            // Face i+½.
            let flux_above = if i + 1 < nx {
                let m = n + ny;
                migration_flux(
                    harmonic(dc, diffusivity[m]),
                    k.f,
                    (phi[m] - pc) * k.inv_dx,
                    cc,
                    c[m],
                )
            } else {
                // Bulk face: φ = 0 and c = 1 at distance dx/2.
                migration_flux(dc, k.f, (0.0 - pc) * 2.0 * k.inv_dx, cc, 1.0)
            };
            let flux_below = if i > 0 {
                let m = n - ny;
                migration_flux(
                    harmonic(diffusivity[m], dc),
                    k.f,
                    (pc - phi[m]) * k.inv_dx,
                    c[m],
                    cc,
                )
            } else {
                0.0
            };
            let (jm, jp) = lateral_neighbours(j, ny);
            let (l, r) = (i * ny + jm, i * ny + jp);
            let flux_right = migration_flux(
                harmonic(dc, diffusivity[r]),
                k.f,
                (phi[r] - pc) * k.inv_dx,
                cc,
                c[r],
            );
            let flux_left = migration_flux(
                harmonic(diffusivity[l], dc),
                k.f,
                (pc - phi[l]) * k.inv_dx,
                c[l],
                cc,
            );
            let divergence = (flux_above - flux_below + flux_right - flux_left) * k.inv_dx;
            *out_j = cc * inv_dt - divergence - k.cs_over_c0 * dxi[n] * inv_dt;
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
            let migration_out =
                migration_flux(diffusivity[n], k.f, -phi[n] * 2.0 * k.inv_dx, c_old[n], 1.0) as f64;
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
