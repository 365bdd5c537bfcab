//! CPU kernels of ion transport (E2) and the coefficients of both implicit solves; each has a
//! WGSL twin of the same name.
//!
//! ∂c/∂t = ∇·(D∇c) [implicit] + ∇·(D f c ∇φ) [explicit, upwind] − (C_s/c0) ∂xi/∂t
//!
//! Boundaries: zero flux at the collector, c = 1 (c0) and φ = 0 on the bulk face, periodic in y.

use crate::grid::{periodic_neighbours, Real};
use crate::model::boundary;
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

/// x layers per task of [`concentration_rhs`].
const RHS_BLOCK_ROWS: usize = 16;

/// The upwind flux with c/c0 = 1 + u on both sides.
#[inline(always)]
fn excess_flux(
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

/// The fluxes through the lateral faces of one x layer (ny·nz cells, z fastest), into `y` and
/// `z`: `y[m]` for cell m = j·nz + k is the flux from (j − 1, k) to (j, k), periodic in y, and
/// `y[ny·nz + k]` repeats `y[k]` (so cell m's far face is `y[m + nz]`); likewise `z[j·(nz + 1) + k]`
/// from (j, k − 1) to (j, k), periodic in z, with `z[j·(nz + 1) + nz]` = `z[j·(nz + 1)]`. In 2D
/// (nz = 1) there are no z faces and `z` is left alone. The slices `u`, `p`, `d` are the layer's.
#[inline(always)]
fn lateral_fluxes(
    k: &TransportConstants,
    (u, p, d): (&[Real], &[Real], &[Real]),
    y: &mut [Real],
    z: &mut [Real],
) {
    let (ny, nz) = (k.grid.ny, k.grid.nz);
    periodic_fluxes(k, (u, p, d), nz, y);
    if nz > 1 {
        for j in 0..ny {
            let cells = j * nz..(j + 1) * nz;
            let line = (&u[cells.clone()], &p[cells.clone()], &d[cells]);
            periodic_fluxes(k, line, 1, &mut z[j * (nz + 1)..(j + 1) * (nz + 1)]);
        }
    }
}

/// The fluxes along one periodic axis of a run of cells (a layer along y, a line along z)
/// whose neighbours along it are `stride` apart: `out[m]` from cell m − stride (wrapping past
/// the run's start) to cell m, and `out[run..]` repeating `out[..stride]`, so cell m's far face
/// is `out[m + stride]`. The interior from equal-length shifted slices (no index arithmetic
/// per cell, no bounds checks).
#[inline(always)]
fn periodic_fluxes(
    k: &TransportConstants,
    (u, p, d): (&[Real], &[Real], &[Real]),
    stride: usize,
    out: &mut [Real],
) {
    let run = u.len();
    let wrapped = run - stride;
    for c in 0..stride {
        let from = wrapped + c;
        out[c] = excess_flux(k, d[from], d[c], p[from], p[c], u[from], u[c]);
    }
    let (dl, dr) = (&d[..wrapped], &d[stride..]);
    let (pl, pr) = (&p[..wrapped], &p[stride..]);
    let (ul, ur) = (&u[..wrapped], &u[stride..]);
    for (t, o) in out[stride..run].iter_mut().enumerate() {
        *o = excess_flux(k, dl[t], dr[t], pl[t], pr[t], ul[t], ur[t]);
    }
    out.copy_within(..stride, run);
}

/// Right-hand side of the implicit concentration step for the excess u = c/c0 − 1,
/// (1/dt − ∇·D∇) u^{n+1} = rhs with u = 0 on the bulk face:
/// rhs = u/dt − ∇·J_mig(c) − (C_s/c0) Δxi/dt. The walls follow [`boundary`]: at the collector
/// the mirrored layer carries no flux (equal φ); past the last layer the potential's ghost
/// (φ → −φ: φ = 0 on the bulk face at distance Δx/2) and the excess's face value (u = 0, c = c0)
/// from beyond. The migration flux reads c/c0 = 1 + u.
///
/// Why u and not c: the bulk face couples the last layer with weight 2D dt/Δx² (~10⁴), so an f32
/// c ≈ 1 there, quantised to ~6e-8, makes the inflow it implies uncertain by ~1e-3 of a step's
/// ions; u ≈ 0 there carries the difference c0 − c at full relative precision.
///
/// Each face flux is computed once and used by both its cells (the WGSL twin, one thread per
/// cell, computes it from each side): the same call with the same arguments, so the same bits.
/// x layers go in blocks; a block recomputes only the face below its first layer. The fluxes
/// loop over the axes: x faces between layers, y and z faces within one ([`lateral_fluxes`]);
/// in 2D there are no z faces.
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
    let (nx, ny, nz) = (k.grid.nx, k.grid.ny, k.grid.nz);
    let layer = ny * nz;
    let inv_dt = 1.0 / dt;
    let row = |r: usize| r * layer..(r + 1) * layer;
    let (lo, hi) = (boundary::POTENTIAL.x_lo, boundary::POTENTIAL.x_hi);
    let excess_hi = boundary::CONCENTRATION_EXCESS.x_hi;
    // The layer past the last one: the potential's ghost, the excess's face value, D the same.
    let top = row(nx - 1);
    let ghost_phi: Vec<Real> = phi[top.clone()]
        .iter()
        .map(|&p| hi.ghost_sign() * p)
        .collect();
    let ghost_u: Vec<Real> = excess[top.clone()]
        .iter()
        .map(|&u| excess_hi.face_value(u))
        .collect();
    // Flux from layer `i` to the layer above it (the ghost past the last layer).
    let x_faces = |i: usize, out: &mut [Real]| {
        let rc = row(i);
        let (u_a, p_a, d_a) = if i + 1 < nx {
            let ra = row(i + 1);
            (&excess[ra.clone()], &phi[ra.clone()], &diffusivity[ra])
        } else {
            (&ghost_u[..], &ghost_phi[..], &diffusivity[top.clone()])
        };
        let (u_c, p_c, d_c) = (&excess[rc.clone()], &phi[rc.clone()], &diffusivity[rc]);
        let (u_a, p_a, d_a, out) = (
            &u_a[..layer],
            &p_a[..layer],
            &d_a[..layer],
            &mut out[..layer],
        );
        for (m, o) in out.iter_mut().enumerate() {
            *o = excess_flux(k, d_c[m], d_a[m], p_c[m], p_a[m], u_c[m], u_a[m]);
        }
    };
    rhs.par_chunks_mut(RHS_BLOCK_ROWS * layer)
        .enumerate()
        .for_each(|(b, block)| {
            let r0 = b * RHS_BLOCK_ROWS;
            let (mut below, mut above) = (vec![0.0 as Real; layer], vec![0.0 as Real; layer]);
            let mut y_faces = vec![0.0 as Real; layer + nz];
            let mut z_faces = vec![0.0 as Real; if nz > 1 { ny * (nz + 1) } else { 0 }];
            if r0 == 0 {
                // The collector: the mirrored layer, φ equal on both sides.
                let (u0, p0, d0) = (&excess[..layer], &phi[..layer], &diffusivity[..layer]);
                for (m, o) in below.iter_mut().enumerate() {
                    let p_ghost = lo.ghost_sign() * p0[m];
                    *o = excess_flux(k, d0[m], d0[m], p0[m], p_ghost, u0[m], u0[m]);
                }
            } else {
                x_faces(r0 - 1, &mut below);
            }
            for (t, out) in block.chunks_mut(layer).enumerate() {
                let i = r0 + t;
                let rc = row(i);
                x_faces(i, &mut above);
                let (u_c, p_c, d_c, s_c) = (
                    &excess[rc.clone()],
                    &phi[rc.clone()],
                    &diffusivity[rc.clone()],
                    &dxi[rc],
                );
                lateral_fluxes(k, (u_c, p_c, d_c), &mut y_faces, &mut z_faces);
                let (l, r) = (&y_faces[..layer], &y_faces[nz..]);
                let (up, down, out) = (&above[..layer], &below[..layer], &mut out[..layer]);
                let (u_c, s_c) = (&u_c[..layer], &s_c[..layer]);
                if nz == 1 {
                    for j in 0..layer {
                        let divergence = (up[j] - down[j] + r[j] - l[j]) * k.inv_dx;
                        out[j] = u_c[j] * inv_dt - divergence - k.cs_over_c0 * s_c[j] * inv_dt;
                    }
                } else {
                    // Line by line: the z faces of line j are z_faces[j (nz + 1)..].
                    for j in 0..ny {
                        let cells = j * nz..(j + 1) * nz;
                        let zf = &z_faces[j * (nz + 1)..(j + 1) * (nz + 1)];
                        let (zl, zr) = (&zf[..nz], &zf[1..]);
                        let (up, down) = (&up[cells.clone()], &down[cells.clone()]);
                        let (r, l) = (&r[cells.clone()], &l[cells.clone()]);
                        let (u_c, s_c) = (&u_c[cells.clone()], &s_c[cells.clone()]);
                        let out = &mut out[cells];
                        for c in 0..nz {
                            let z_balance = zr[c] - zl[c];
                            let balance = up[c] - down[c] + r[c] - l[c] + z_balance;
                            let divergence = balance * k.inv_dx;
                            out[c] = u_c[c] * inv_dt - divergence - k.cs_over_c0 * s_c[c] * inv_dt;
                        }
                    }
                }
                std::mem::swap(&mut below, &mut above);
            }
        });
}

/// The fastest total outflow of migration from one cell, Σ over its faces of the outward face
/// speed D_f f max(φ_n − φ_m, 0)/Δx (µm/s), for the explicit-migration bound dt ≤ Δx / this: the
/// upwind update c_n − dt/Δx Σ_out u_f c_n + inflows stays non-negative (the scheme is monotone)
/// exactly when dt Σ_out u_f ≤ Δx in every cell. A flat front's field leaves each cell through
/// one face, so this is the face speed there. The collector face carries no flux; past the bulk
/// face the potential's ghost ([`boundary::POTENTIAL`]) with the cell's own D.
pub fn max_migration_speed(k: &TransportConstants, phi: &[Real], diffusivity: &[Real]) -> f64 {
    let g = k.grid;
    let (nx, ny, nz) = (g.nx, g.ny, g.nz);
    let layer = g.layer_cells();
    let hi = boundary::POTENTIAL.x_hi;
    (0..nx)
        .into_par_iter()
        .map(|i| {
            let mut m: Real = 0.0;
            // D_f (φ_n − φ_m)⁺: what leaves n towards m (cations drift down the potential).
            let out = |n: usize, m: usize| {
                harmonic(diffusivity[n], diffusivity[m]) * (phi[n] - phi[m]).max(0.0)
            };
            for j in 0..ny {
                let (jm, jp) = periodic_neighbours(j, ny);
                for c in 0..nz {
                    let n = i * layer + j * nz + c;
                    let mut sum = out(n, i * layer + jm * nz + c) + out(n, i * layer + jp * nz + c);
                    if nz > 1 {
                        let (cm, cp) = periodic_neighbours(c, nz);
                        sum += out(n, i * layer + j * nz + cm) + out(n, i * layer + j * nz + cp);
                    }
                    if i > 0 {
                        sum += out(n, n - layer);
                    }
                    sum += if i + 1 < nx {
                        out(n, n + layer)
                    } else {
                        diffusivity[n] * (phi[n] - hi.ghost_sign() * phi[n]).max(0.0)
                    };
                    m = m.max(sum);
                }
            }
            (m * k.f * k.inv_dx) as f64
        })
        .reduce(|| 0.0, f64::max)
}

/// Ions entering through the bulk face in a step of length dt (c/c0 · µm² per unit depth in 2D,
/// c/c0 · µm³ in 3D): implicit diffusion with the new excess u = c/c0 − 1 (the face's c0 − c is
/// −u, unrounded) plus the explicit migration flux with the old c = 1 + u, the potential's ghost
/// and the excess's face value beyond the face as in [`concentration_rhs`].
pub fn boundary_inflow(
    k: &TransportConstants,
    excess_old: &[Real],
    excess_new: &[Real],
    phi: &[Real],
    diffusivity: &[Real],
    dt: f64,
) -> f64 {
    let g = k.grid;
    let dx = 1.0 / k.inv_dx as f64;
    let layer = g.layer_cells();
    let top = (g.nx - 1) * layer;
    let (hi, excess_hi) = (
        boundary::POTENTIAL.x_hi,
        boundary::CONCENTRATION_EXCESS.x_hi,
    );
    // The face's length (2D, per unit depth) or area (3D).
    let face = if g.dimension() == 2 { dx } else { dx * dx };
    (0..layer)
        .map(|m| {
            let n = top + m;
            let d = diffusivity[n] as f64;
            let diffusive_in = d * -(excess_new[n] as f64) * 2.0 / dx;
            let migration_out = excess_flux(
                k,
                diffusivity[n],
                diffusivity[n],
                phi[n],
                hi.ghost_sign() * phi[n],
                excess_old[n],
                excess_hi.face_value(excess_old[n]),
            ) as f64;
            (diffusive_in - migration_out) * face * dt
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
                let (jm, jp) = periodic_neighbours(j, ny);
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

    fn constants(grid: Grid) -> TransportConstants {
        TransportConstants {
            grid,
            inv_dx: 2.0,
            d_liquid: 300.0,
            d_solid: 0.3,
            f: 77.9,
            cs_over_c0: 72.0,
        }
    }

    /// Fields varying in every cell: (u, φ, D, Δxi).
    fn varied(n: usize) -> [Vec<Real>; 4] {
        let v = |m: usize, s: f64| ((m as f64 * 0.61 + s).sin()) as Real;
        [
            (0..n).map(|m| 0.3 * v(m, 0.0)).collect(),
            (0..n).map(|m| -0.01 * (1.0 + v(m, 1.0))).collect(),
            (0..n).map(|m| 150.0 + 149.0 * v(m, 2.0)).collect(),
            (0..n).map(|m| 1e-3 * v(m, 3.0)).collect(),
        ]
    }

    /// In 3D the kernel is the seven-point flux balance cell by cell (six face fluxes, the
    /// collector mirrored, the bulk face's ghost, y and z periodic): the same bits, on an
    /// odd-shaped grid whose last block of x layers is partial.
    #[test]
    fn concentration_rhs_in_3d_equals_the_per_cell_seven_point_balance() {
        let g = Grid {
            nx: 19,
            ny: 5,
            nz: 6,
            dx: 0.5,
        };
        let k = constants(g);
        let [u, phi, d, dxi] = varied(g.cells());
        let c: Vec<Real> = u.iter().map(|&u| 1.0 + u).collect();
        let dt = 0.37;
        let mut fast = vec![0.0; g.cells()];
        concentration_rhs(&k, &u, &phi, &d, &dxi, dt, &mut fast);
        let inv_dt = 1.0 / dt;
        let flux =
            |a: usize, b: usize| face_flux(d[a], d[b], k.f, k.inv_dx, phi[a], phi[b], c[a], c[b]);
        let mut differing = 0;
        for n in 0..g.cells() {
            let [i, j, kk] = g.cell(n);
            let (jm, _) = periodic_neighbours(j, g.ny);
            let (km, kp) = periodic_neighbours(kk, g.nz);
            let jp = periodic_neighbours(j, g.ny).1;
            let b = if i == 0 { n } else { n - g.layer_cells() };
            let up = if i + 1 < g.nx {
                flux(n, n + g.layer_cells())
            } else {
                face_flux(d[n], d[n], k.f, k.inv_dx, phi[n], -phi[n], c[n], 1.0)
            };
            let balance = up - flux(b, n) + flux(n, g.index(i, jp, kk))
                - flux(g.index(i, jm, kk), n)
                + (flux(n, g.index(i, j, kp)) - flux(g.index(i, j, km), n));
            let want = u[n] * inv_dt - balance * k.inv_dx - k.cs_over_c0 * dxi[n] * inv_dt;
            differing += usize::from(want.to_bits() != fast[n].to_bits());
        }
        println!("{differing} of {} cells differ (expected 0)", g.cells());
        assert_eq!(differing, 0);
    }

    /// The migration bound's speed is a cell's total outflow: a uniform field (φ falling
    /// towards the collector) leaves each cell through its lower face only, at D f E; a cell on
    /// a potential peak sheds through all six faces, six times that. Either way dt = Δx / speed
    /// keeps the explicit upwind update c_n (1 − dt Σ_out u/Δx) non-negative, and no larger dt
    /// does.
    #[test]
    fn the_migration_speed_is_a_cells_total_outflow() {
        let g = Grid {
            nx: 10,
            ny: 8,
            nz: 8,
            dx: 0.5,
        };
        let k = constants(g);
        let d = vec![300.0; g.cells()];
        let e = 0.002; // φ rises by e per cell away from the collector.
        let mut phi: Vec<Real> = (0..g.cells())
            .map(|n| -e * (g.nx - n / g.layer_cells()) as Real)
            .collect();
        let face = (300.0 * k.f * e * k.inv_dx) as f64;
        let flat = max_migration_speed(&k, &phi, &d);
        println!("uniform field: {flat} µm/s, one face {face} µm/s");
        assert!((flat - face).abs() <= 1e-5 * face, "{flat} vs {face}");
        // A peak of height e above its six (equal) neighbours in the middle of the box.
        let n = 5 * g.layer_cells() + 3 * g.nz + 4;
        for m in [
            n - g.layer_cells(),
            n + g.layer_cells(),
            n - g.nz,
            n + g.nz,
            n - 1,
            n + 1,
        ] {
            phi[m] = phi[n];
        }
        phi[n] += e;
        let peak = max_migration_speed(&k, &phi, &d);
        println!("peak: {peak} µm/s, six faces {} µm/s", 6.0 * face);
        assert!((peak - 6.0 * face).abs() <= 1e-4 * face, "{peak}");
    }

    /// A z-invariant 3D state is the 2D state in every z column: the same right-hand side, the
    /// same fastest migration, and Lz times the 2D inflow through the bulk face.
    #[test]
    fn a_z_invariant_3d_state_reduces_to_2d() {
        let (g2, g3) = (
            Grid::new(21, 6, 0.5),
            Grid {
                nx: 21,
                ny: 6,
                nz: 8,
                dx: 0.5,
            },
        );
        let (k2, k3) = (constants(g2), constants(g3));
        let [u, phi, d, dxi] = varied(g2.cells());
        let spread = |f: &[Real]| -> Vec<Real> { (0..g3.cells()).map(|n| f[n / g3.nz]).collect() };
        let (u3, phi3, d3, dxi3) = (spread(&u), spread(&phi), spread(&d), spread(&dxi));
        let (mut r2, mut r3) = (vec![0.0; g2.cells()], vec![0.0; g3.cells()]);
        concentration_rhs(&k2, &u, &phi, &d, &dxi, 0.37, &mut r2);
        concentration_rhs(&k3, &u3, &phi3, &d3, &dxi3, 0.37, &mut r3);
        let differing = (0..g3.cells()).filter(|&n| r3[n] != r2[n / g3.nz]).count();
        println!(
            "{differing} of {} 3D cells differ from their 2D cell (expected 0)",
            g3.cells()
        );
        assert_eq!(differing, 0);
        let (s2, s3) = (
            max_migration_speed(&k2, &phi, &d),
            max_migration_speed(&k3, &phi3, &d3),
        );
        println!("fastest migration 2D {s2}, 3D {s3} µm/s");
        assert_eq!(s2, s3);
        let u_new: Vec<Real> = u.iter().map(|&v| 0.9 * v).collect();
        let i2 = boundary_inflow(&k2, &u, &u_new, &phi, &d, 0.37);
        let i3 = boundary_inflow(&k3, &u3, &spread(&u_new), &phi3, &d3, 0.37);
        let lz = g3.lz();
        println!(
            "inflow 2D {i2} µm² per µm depth, 3D {i3} µm³ (expect Lz × 2D = {})",
            lz * i2
        );
        assert!((i3 - lz * i2).abs() <= 1e-12 * (lz * i2).abs());
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
