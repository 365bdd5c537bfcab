//! The Allen–Cahn part of ∂ξ/∂t in any dimension, in its vector (variational) form:
//!
//! −L_σ [g'(ξ) − ∇·(∂f/∂p)],   ∂f/∂p = ε² p + J,   J = ε |p| (I − n̂n̂ᵀ) ∇_n ε,   p = ∇ξ.
//!
//! The isotropic part ∇·(ε²∇ξ) on the compact 7-point stencil (5-point in 2D) with face-averaged
//! ε²; ∇·J by central differences of the cell-centred J, each cell's J from its central gradient
//! (a [`SurfaceEnergy`]: the in-plane forms in 2D, the hcp form in 3D). In 2D, J = εε'(−∂yξ, ∂xξ)
//! and this is the Kobayashi form of the two-pass kernels ([`super::allen_cahn_rate`]), the same
//! numbers.
//!
//! Boundaries ([`boundary::ORDER_PARAMETER`]): zero flux at the collector (the mirror), ξ = 0 on
//! the bulk face (the antisymmetric ghost), periodic along y and z. J is copied at the x
//! boundaries (ξ is flat there).
//!
//! A layer (an x plane of ny·nz cells) is walked as lines of contiguous cells: along z in 3D
//! (ny lines of nz), along y in 2D (one line of ny); the other lateral axis of 3D, y, steps by
//! whole lines. The contiguous axis is the "fast" one below, y in 3D the "slow" one.

use super::above_sign;
use crate::grid::{periodic_neighbours, Grid, Real};
use crate::model::anisotropy::SurfaceEnergy;
use crate::model::coefficients::OrderParameterConstants;
use crate::model::grains::Grains;
use rayon::prelude::*;

/// Cells per parallel task of [`allen_cahn_rate_streaming`] (about): 64 rows of 2048 in 2D, 8
/// layers of 128² in 3D. Each task recomputes the orientation of the two layers around its
/// block; at least [`MIN_BLOCK_LAYERS`] layers keep that below 1/8 of the work.
const BLOCK_CELLS: usize = 1 << 17;
const MIN_BLOCK_LAYERS: usize = 16;
const MAX_BLOCK_LAYERS: usize = 64;

/// Lines per layer, cells per line, and whether there is a slow axis (3D).
#[derive(Clone, Copy)]
struct Lines {
    lines: usize,
    len: usize,
}

impl Lines {
    fn of(g: Grid) -> Lines {
        if g.nz > 1 {
            Lines {
                lines: g.ny,
                len: g.nz,
            }
        } else {
            Lines {
                lines: 1,
                len: g.ny,
            }
        }
    }
}

/// The orientation of one layer: ε², and J along x, the fast axis and the slow axis (empty in
/// 2D).
struct OrientationLayer {
    eps_sq: Vec<Real>,
    jx: Vec<Real>,
    jf: Vec<Real>,
    js: Vec<Real>,
}

impl OrientationLayer {
    fn new(layer: usize, slow: bool) -> Self {
        OrientationLayer {
            eps_sq: vec![0.0; layer],
            jx: vec![0.0; layer],
            jf: vec![0.0; layer],
            js: vec![0.0; if slow { layer } else { 0 }],
        }
    }

    fn fill_uniform(&mut self, eps_sq: Real, flux: [Real; 3], slow: bool) {
        self.eps_sq.fill(eps_sq);
        self.jx.fill(flux[0]);
        if slow {
            self.js.fill(flux[1]);
            self.jf.fill(flux[2]);
        } else {
            self.jf.fill(flux[1]);
        }
    }
}

/// The (below, centre, above) x layers around layer i of a field, clamped at the x boundaries
/// (the caller applies the ghost rule of its field).
#[inline(always)]
fn layers(f: &[Real], g: Grid, i: usize) -> (&[Real], &[Real], &[Real]) {
    let n = g.layer_cells();
    let at = |r: usize| &f[r * n..(r + 1) * n];
    let below = if i == 0 { at(i) } else { at(i - 1) };
    let above = if i + 1 == g.nx { at(i) } else { at(i + 1) };
    (below, at(i), above)
}

/// Line l of a layer (`len` cells).
#[inline(always)]
fn line_of(len: usize, f: &[Real], l: usize) -> &[Real] {
    &f[l * len..(l + 1) * len]
}

/// The lab-frame gradient from its x, fast and slow central differences.
#[inline(always)]
fn lab<const SLOW: bool>(gx: Real, gf: Real, gs: Real) -> [Real; 3] {
    if SLOW {
        [gx, gs, gf]
    } else {
        [gx, gf, 0.0]
    }
}

/// The central gradient of ξ at cell `n` with the neighbour rule of the kernels (the same bits
/// as the layer walks): a_k and |∇ξ| of the interface cells.
#[inline(always)]
pub fn gradient_at(k: &OrderParameterConstants, xi: &[Real], n: usize) -> [Real; 3] {
    let g = k.grid;
    let half_inv_dx = 0.5 * k.inv_dx;
    let layer = g.layer_cells();
    let i = n / layer;
    let sign = above_sign(g.nx, i);
    let above = if i + 1 == g.nx { xi[n] } else { xi[n + layer] };
    let below = if i == 0 { xi[n] } else { xi[n - layer] };
    let gx = (sign * above - below) * half_inv_dx;
    let Lines { len, .. } = Lines::of(g);
    let (line_start, t) = (n - n % len, n % len);
    let (tm, tp) = periodic_neighbours(t, len);
    let gf = (xi[line_start + tp] - xi[line_start + tm]) * half_inv_dx;
    if g.nz > 1 {
        let (l, lines) = ((n % layer) / len, g.ny);
        let (lm, lp) = periodic_neighbours(l, lines);
        let base = i * layer + t;
        let gs = (xi[base + lp * len] - xi[base + lm * len]) * half_inv_dx;
        lab::<true>(gx, gf, gs)
    } else {
        lab::<false>(gx, gf, 0.0)
    }
}

/// The orientation of layer r into `out`, from ξ's central gradients.
fn orientation_layer<E: SurfaceEnergy, const SLOW: bool>(
    k: &OrderParameterConstants,
    energy: &E,
    xi: &[Real],
    r: usize,
    out: &mut OrientationLayer,
) {
    let g = k.grid;
    let Lines { lines, len } = Lines::of(g);
    let half_inv_dx = 0.5 * k.inv_dx;
    let (below, centre, above) = layers(xi, g, r);
    let sign = above_sign(g.nx, r);
    for l in 0..lines {
        let (lm, lp) = periodic_neighbours(l, lines);
        let (b, c, a) = (
            line_of(len, below, l),
            line_of(len, centre, l),
            line_of(len, above, l),
        );
        let (cm, cp) = if SLOW {
            (line_of(len, centre, lm), line_of(len, centre, lp))
        } else {
            (c, c)
        };
        let span = l * len..(l + 1) * len;
        let (e2, jx, jf) = (
            &mut out.eps_sq[span.clone()],
            &mut out.jx[span.clone()],
            &mut out.jf[span.clone()],
        );
        let js: &mut [Real] = if SLOW { &mut out.js[span] } else { &mut [] };
        let mut put = |t: usize, o: crate::model::anisotropy::Orientation| {
            e2[t] = o.eps_sq;
            jx[t] = o.flux[0];
            if SLOW {
                js[t] = o.flux[1];
                jf[t] = o.flux[2];
            } else {
                jf[t] = o.flux[1];
            }
        };
        let first = l * len;
        let at = |t: usize, tm: usize, tp: usize| {
            let gx = (sign * a[t] - b[t]) * half_inv_dx;
            let gf = (c[tp] - c[tm]) * half_inv_dx;
            let gs = (cp[t] - cm[t]) * half_inv_dx;
            energy.orientation_in_column(first + t, lab::<SLOW>(gx, gf, gs))
        };
        put(0, at(0, len - 1, 1));
        put(len - 1, at(len - 1, len - 2, 0));
        // Interior: equal-length shifted slices, so the loop has no bounds checks.
        let n = len - 2;
        let mid = 1..n + 1;
        let (a, b) = (&a[mid.clone()], &b[mid.clone()]);
        let (right, left) = (&c[2..], &c[..n]);
        let (cp, cm) = (&cp[mid.clone()], &cm[mid]);
        for t in 0..n {
            let gx = (sign * a[t] - b[t]) * half_inv_dx;
            let gf = (right[t] - left[t]) * half_inv_dx;
            let gs = (cp[t] - cm[t]) * half_inv_dx;
            let g = lab::<SLOW>(gx, gf, gs);
            put(t + 1, energy.orientation_in_column(first + t + 1, g));
        }
    }
}

/// Per-run scalars of the rate.
#[derive(Clone, Copy)]
struct RateConstants {
    inv_dx2: Real,
    half_inv_dx: Real,
    l_sigma: Real,
    w: Real,
}

/// One cell's rate from its value x0 and ε² e0 and, for the neighbours in the order
/// (x below, x above, fast −, fast +, slow −, slow +), ξ (`x`, the ghost rule applied), ε² (`e`)
/// and the J component along that axis (`j`).
#[inline(always)]
fn rate_at<const SLOW: bool>(
    x0: Real,
    e0: Real,
    x: [Real; 6],
    e: [Real; 6],
    j: [Real; 6],
    c: RateConstants,
) -> Real {
    let mut isotropic = 0.5 * (e0 + e[1]) * (x[1] - x0) - 0.5 * (e0 + e[0]) * (x0 - x[0])
        + 0.5 * (e0 + e[3]) * (x[3] - x0)
        - 0.5 * (e0 + e[2]) * (x0 - x[2]);
    let mut divergence = (j[1] - j[0]) + (j[3] - j[2]);
    if SLOW {
        isotropic = isotropic + 0.5 * (e0 + e[5]) * (x[5] - x0) - 0.5 * (e0 + e[4]) * (x0 - x[4]);
        divergence += j[5] - j[4];
    }
    let double_well = 2.0 * c.w * x0 * (1.0 - x0) * (1.0 - 2.0 * x0);
    -c.l_sigma * (double_well - isotropic * c.inv_dx2 - divergence * c.half_inv_dx)
}

/// The rate of layer i into `out`, given the orientation of layers i − 1, i, i + 1 (clamped).
fn rate_layer<'a, const SLOW: bool>(
    k: &OrderParameterConstants,
    xi: &'a [Real],
    i: usize,
    [ob, oc, oa]: [&'a OrientationLayer; 3],
    out: &mut [Real],
) {
    let g = k.grid;
    let Lines { lines, len } = Lines::of(g);
    let c = RateConstants {
        inv_dx2: k.inv_dx * k.inv_dx,
        half_inv_dx: 0.5 * k.inv_dx,
        l_sigma: k.l_sigma,
        w: k.w,
    };
    let (xb_layer, xc_layer, xa_layer) = layers(xi, g, i);
    let sign = above_sign(g.nx, i);
    for l in 0..lines {
        let (lm, lp) = periodic_neighbours(l, lines);
        let (xb, xc, xa) = (
            line_of(len, xb_layer, l),
            line_of(len, xc_layer, l),
            line_of(len, xa_layer, l),
        );
        let (eb, ec, ea) = (
            line_of(len, &ob.eps_sq, l),
            line_of(len, &oc.eps_sq, l),
            line_of(len, &oa.eps_sq, l),
        );
        let (jxb, jxa, jf) = (
            line_of(len, &ob.jx, l),
            line_of(len, &oa.jx, l),
            line_of(len, &oc.jf, l),
        );
        // The slow neighbours (unused in 2D, where they alias the line itself).
        let pick = |f: &'a [Real], m: usize| -> &'a [Real] {
            if SLOW {
                line_of(len, f, m)
            } else {
                line_of(len, xc_layer, l)
            }
        };
        let (xm, xp) = (pick(xc_layer, lm), pick(xc_layer, lp));
        let (em, ep) = (pick(&oc.eps_sq, lm), pick(&oc.eps_sq, lp));
        let (jsm, jsp) = (pick(&oc.js, lm), pick(&oc.js, lp));
        let out = &mut out[l * len..(l + 1) * len];
        let at = |t: usize, tm: usize, tp: usize| {
            rate_at::<SLOW>(
                xc[t],
                ec[t],
                [xb[t], sign * xa[t], xc[tm], xc[tp], xm[t], xp[t]],
                [eb[t], ea[t], ec[tm], ec[tp], em[t], ep[t]],
                [jxb[t], jxa[t], jf[tm], jf[tp], jsm[t], jsp[t]],
                c,
            )
        };
        out[0] = at(0, len - 1, 1);
        out[len - 1] = at(len - 1, len - 2, 0);
        // Interior: equal-length shifted slices, so the loop has no bounds checks.
        let n = len - 2;
        let mid = 1..n + 1;
        let s = |f: &'a [Real]| -> &'a [Real] { &f[mid.clone()] };
        let (x0, xb, xa, xm, xp) = (s(xc), s(xb), s(xa), s(xm), s(xp));
        let (xl, xr) = (&xc[..n], &xc[2..]);
        let (e0, eb, ea, em, ep) = (s(ec), s(eb), s(ea), s(em), s(ep));
        let (el, er) = (&ec[..n], &ec[2..]);
        let (jxb, jxa, jsm, jsp) = (s(jxb), s(jxa), s(jsm), s(jsp));
        let (jl, jr) = (&jf[..n], &jf[2..]);
        let inner = &mut out[mid.clone()];
        for t in 0..n {
            inner[t] = rate_at::<SLOW>(
                x0[t],
                e0[t],
                [xb[t], sign * xa[t], xl[t], xr[t], xm[t], xp[t]],
                [eb[t], ea[t], el[t], er[t], em[t], ep[t]],
                [jxb[t], jxa[t], jl[t], jr[t], jsm[t], jsp[t]],
                c,
            );
        }
    }
}

/// The Allen–Cahn part of ∂ξ/∂t on the whole grid, into `rate`, with the surface energy of the
/// grid's dimension: the in-plane forms in 2D, the hcp form about the c-axis in 3D.
///
/// One pass: the orientation lives in a three-layer window per task instead of whole fields,
/// so memory sees one read of ξ and one write of the rate. Bulk layers are not computed cell by
/// cell: where every layer within reach of the stencil holds one and the same ξ (the deep metal,
/// the far electrolyte: exactly 1 or 0), every cell sees the same inputs, so one cell's value is
/// every cell's (the orientation of a zero gradient, the rate of a uniform stencil, from the
/// same functions).
pub fn allen_cahn_rate_streaming(k: &OrderParameterConstants, xi: &[Real], rate: &mut [Real]) {
    allen_cahn_rate_streaming_with(k, None, xi, rate)
}

/// [`allen_cahn_rate_streaming`] with the run's grains (3D, nuclei with their own c-axes).
pub fn allen_cahn_rate_streaming_with(
    k: &OrderParameterConstants,
    grains: Option<&Grains>,
    xi: &[Real],
    rate: &mut [Real],
) {
    match grains {
        Some(grains) if k.grid.nz > 1 => streaming::<_, true>(k, grains, xi, rate),
        _ if k.grid.nz > 1 => streaming::<_, true>(k, &k.hcp, xi, rate),
        _ => streaming::<_, false>(k, &k.aniso, xi, rate),
    }
}

fn streaming<E: SurfaceEnergy, const SLOW: bool>(
    k: &OrderParameterConstants,
    energy: &E,
    xi: &[Real],
    rate: &mut [Real],
) {
    let g = k.grid;
    let (nx, layer) = (g.nx, g.layer_cells());
    let block_layers = (BLOCK_CELLS / layer).clamp(MIN_BLOCK_LAYERS, MAX_BLOCK_LAYERS);
    // The bits all cells of layer r share, if they do (one branch-free pass per layer).
    let layer_bits = |r: usize| {
        let cells = &xi[r * layer..(r + 1) * layer];
        let v = cells[0].to_bits();
        let differ = cells.iter().fold(0, |acc, x| acc | (x.to_bits() ^ v));
        (differ == 0).then_some(v)
    };
    // ∇ξ = 0 exactly: (v − v)·Δx/2 is +0 for any finite v.
    let flat = energy.orientation([0.0; 3]);
    let flat_rate = |v: Real| {
        let c = RateConstants {
            inv_dx2: k.inv_dx * k.inv_dx,
            half_inv_dx: 0.5 * k.inv_dx,
            l_sigma: k.l_sigma,
            w: k.w,
        };
        let along = |d: usize| [flat.flux[0], flat.flux[0], flat.flux[d], flat.flux[d]];
        let (fast, slow) = if SLOW { (2, 1) } else { (1, 2) };
        let [a, b, f0, f1] = along(fast);
        let j = [a, b, f0, f1, flat.flux[slow], flat.flux[slow]];
        rate_at::<SLOW>(v, flat.eps_sq, [v; 6], [flat.eps_sq; 6], j, c)
    };
    rate.par_chunks_mut(block_layers * layer)
        .enumerate()
        .for_each(|(blk, block)| {
            let first = blk * block_layers;
            let layers_in_block = block.len() / layer;
            // Shared bits of the layers within reach of this block's stencils.
            let reach = first.saturating_sub(2)..(first + layers_in_block + 2).min(nx);
            let bits: Vec<Option<u32>> = reach.clone().map(layer_bits).collect();
            // The ξ of layers r0..=r1 when all their cells hold the same bits, for interior
            // layers only (1 ≤ r0, r1 ≤ nx − 2: no clamped or ghost neighbour within reach).
            let uniform = |r0: usize, r1: usize| -> Option<Real> {
                if r0 < 1 || r1 + 2 > nx {
                    return None;
                }
                let at = |r: usize| bits[r - reach.start];
                let v = at(r0)?;
                (r0..=r1)
                    .all(|r| at(r) == Some(v))
                    .then(|| Real::from_bits(v))
            };
            let mut window: [OrientationLayer; 3] =
                std::array::from_fn(|_| OrientationLayer::new(layer, SLOW));
            let fill = |r: usize, o: &mut OrientationLayer| {
                if r >= 1 && uniform(r - 1, r + 1).is_some() {
                    o.fill_uniform(flat.eps_sq, flat.flux, SLOW);
                } else {
                    orientation_layer::<E, SLOW>(k, energy, xi, r, o);
                }
            };
            fill(first.saturating_sub(1), &mut window[0]);
            fill(first, &mut window[1]);
            fill((first + 1).min(nx - 1), &mut window[2]);
            for (t, out) in block.chunks_mut(layer).enumerate() {
                let i = first + t;
                match uniform(i.saturating_sub(2), i + 2).filter(|_| i >= 2) {
                    Some(v) => out.fill(flat_rate(v)),
                    None => {
                        let [b, c, a] = &window;
                        rate_layer::<SLOW>(k, xi, i, [b, c, a], out)
                    }
                }
                if t + 1 < layers_in_block {
                    window.rotate_left(1);
                    fill((i + 2).min(nx - 1), &mut window[2]);
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CAxis, Config};
    use crate::model::noise::uniform_signed;
    use crate::model::Params;

    /// A rough 3D front (with exact bulk layers near both x ends) and its constants, ĉ tilted.
    fn case(nx: usize, ny: usize, nz: usize) -> (OrderParameterConstants, Vec<Real>) {
        let mut cfg = Config::default_demo();
        (cfg.grid.nx, cfg.grid.ny, cfg.grid.nz) = (nx, ny, nz);
        cfg.interface.kinetic_anisotropy_2fold = 0.3;
        cfg.anisotropy.c_axis = Some(CAxis::Angles {
            polar_deg: 30.0,
            azimuth_deg: 70.0,
        });
        cfg.anisotropy.c_axis_energy_strength = -0.1;
        let k = OrderParameterConstants::from_params(&Params::from_config(&cfg).unwrap());
        let g = k.grid;
        let xi = (0..g.cells())
            .map(|m| {
                let [i, j, kk] = g.cell(m);
                let front =
                    0.5 * nx as f32 + 2.0 * (0.7 * j as f32).sin() * (0.9 * kk as f32).cos();
                let d = i as f32 - front;
                if d.abs() > 0.3 * nx as f32 {
                    if d < 0.0 {
                        1.0
                    } else {
                        0.0
                    }
                } else {
                    0.5 * (1.0 - (d / 2.0).tanh()) + 0.01 * uniform_signed(9, 0, m as u32)
                }
            })
            .collect();
        (k, xi)
    }

    /// The one-pass kernel against the rate assembled cell by cell from the seven-point form
    /// (each neighbour's orientation from `gradient_at`, the ghost rules of the model), bit for
    /// bit, on an odd-shaped grid with bulk layers (splat) and rough ones.
    #[test]
    fn the_3d_kernel_is_the_seven_point_form_cell_by_cell() {
        let (k, xi) = case(40, 14, 10);
        let g = k.grid;
        let layer = g.layer_cells();
        let c = RateConstants {
            inv_dx2: k.inv_dx * k.inv_dx,
            half_inv_dx: 0.5 * k.inv_dx,
            l_sigma: k.l_sigma,
            w: k.w,
        };
        let at = |n: usize| k.hcp.orientation(gradient_at(&k, &xi, n));
        let reference: Vec<Real> = (0..g.cells())
            .map(|n| {
                let [i, j, kk] = g.cell(n);
                let below = if i == 0 { n } else { n - layer };
                let above = if i + 1 == g.nx { n } else { n + layer };
                let sign = above_sign(g.nx, i);
                let (km, kp) = periodic_neighbours(kk, g.nz);
                let (jm, jp) = periodic_neighbours(j, g.ny);
                let line = i * layer + j * g.nz;
                let (fm, fp) = (line + km, line + kp);
                let (sm, sp) = (i * layer + jm * g.nz + kk, i * layer + jp * g.nz + kk);
                let x = [xi[below], sign * xi[above], xi[fm], xi[fp], xi[sm], xi[sp]];
                let o = [at(below), at(above), at(fm), at(fp), at(sm), at(sp)];
                let e = o.map(|o| o.eps_sq);
                let jn = [
                    o[0].flux[0],
                    o[1].flux[0],
                    o[2].flux[2],
                    o[3].flux[2],
                    o[4].flux[1],
                    o[5].flux[1],
                ];
                rate_at::<true>(xi[n], at(n).eps_sq, x, e, jn, c)
            })
            .collect();
        let mut rate = vec![f32::NAN; g.cells()];
        allen_cahn_rate_streaming(&k, &xi, &mut rate);
        let differing = (0..g.cells())
            .filter(|&n| rate[n] != reference[n] || rate[n].is_nan())
            .count();
        println!(
            "{differing} of {} cells differ from the per-cell seven-point form (expected 0)",
            g.cells()
        );
        assert_eq!(differing, 0);
        assert!(reference.iter().any(|&r| r.abs() > 1e-3));
    }
}
