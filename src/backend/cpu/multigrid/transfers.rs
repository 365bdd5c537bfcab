//! The transfers between multigrid levels and the face coefficients they carry: harmonic faces
//! from the cell conductivity, the 2^d-child average of a field, the (bi/tri)linear
//! prolongation of a correction, and the coarse face conductivities. A coarse level halves
//! every axis the level plan coarsens ([`multigrid_levels`](crate::numerics::multigrid_levels):
//! x, y, and z in 3D), so coarse cell (I, J, K) has the fine children (2I + a, 2J + b, 2K + c).

use super::kernels::for_each_layer;
use super::operator::Operator;
use super::stencil::Lines;
use crate::grid::{Grid, Real};
use crate::numerics::Bcs;

/// Harmonic face conductivities k_f = 2 k_L k_R/(k_L + k_R) of every axis; the wall faces take
/// the cell's k.
pub fn face_coefficients(k: &[Real], op: &mut Operator) {
    let grid = op.grid;
    let (nx, layer) = (grid.nx, grid.layer_cells());
    assert_eq!(k.len(), grid.cells(), "k has the wrong length");
    let harmonic = |l: Real, r: Real| 2.0 * l * r / (l + r);
    for_each_layer(&mut op.kx, layer, |i, out| {
        if i == 0 || i == nx {
            let i = i.min(nx - 1);
            out.copy_from_slice(&k[i * layer..(i + 1) * layer]);
        } else {
            let (l, r) = (&k[(i - 1) * layer..], &k[i * layer..]);
            out.iter_mut()
                .enumerate()
                .for_each(|(c, o)| *o = harmonic(l[c], r[c]));
        }
    });
    // The −side face of each cell along a periodic lateral axis of `extent` cells at `stride`:
    // the layer is made of runs of stride·extent cells that the axis wraps around; in each, a
    // cell's face pairs it with the cell `stride` behind, the first `stride` cells with the run's
    // last (shifted slices, no division per cell).
    let lateral = |out: &mut [Real], stride: usize, extent: usize| {
        let run = stride * extent;
        for_each_layer(out, layer, |i, out| {
            let cells = &k[i * layer..(i + 1) * layer];
            for (out, cells) in out.chunks_exact_mut(run).zip(cells.chunks_exact(run)) {
                let (head, tail) = out.split_at_mut(stride);
                let wrapped = &cells[run - stride..];
                for ((o, &b), &c) in head.iter_mut().zip(wrapped).zip(&cells[..stride]) {
                    *o = harmonic(b, c);
                }
                let (behind, ahead) = (&cells[..run - stride], &cells[stride..]);
                for ((o, &b), &c) in tail.iter_mut().zip(behind).zip(ahead) {
                    *o = harmonic(b, c);
                }
            }
        });
    };
    lateral(&mut op.ky, grid.nz, grid.ny);
    if grid.nz > 1 {
        lateral(&mut op.kz, 1, grid.nz);
    }
}

/// Coarse face conductivities matching the energy Σ k_f |∇(P e)|² of a linearly prolonged
/// correction: across the face K = ¼ k_behind + ½ k_on + ¼ k_ahead (the fine faces inside the
/// coarse cell behind, on, and inside the cell ahead), along it the mean of the 2^(d−1) fine
/// faces it covers; a wall face K = ½ (k_wall + k_first).
pub fn restrict_face_coefficients(fine: &Operator, coarse: &mut Operator) {
    let (fg, cg) = (fine.grid, coarse.grid);
    let (nxf, nxc, layer_f) = (fg.nx, cg.nx, fg.layer_cells());
    // The fine lateral children of coarse lateral cell c, relative to the first (lexicographic
    // order), and that first one.
    let lateral_children: Vec<usize> = if fg.nz > 1 {
        vec![0, 1, fg.nz, fg.nz + 1]
    } else {
        vec![0, 1]
    };
    // The first fine child of coarse lateral cell (jc, kc).
    let first_child = |jc: usize, kc: usize| 2 * jc * fg.nz + if fg.nz > 1 { 2 * kc } else { 0 };
    let mean = 1.0 / lateral_children.len() as Real;
    let kx = &fine.kx;
    for_each_layer(&mut coarse.kx, cg.layer_cells(), |ic, out| {
        let across = |cf: usize| {
            let k = |i: usize| kx[i * layer_f + cf];
            match ic {
                0 => 0.5 * (k(0) + k(1)),
                _ if ic == nxc => 0.5 * (k(nxf) + k(nxf - 1)),
                _ => 0.25 * k(2 * ic - 1) + 0.5 * k(2 * ic) + 0.25 * k(2 * ic + 1),
            }
        };
        // Line by line (no division per cell).
        for (jc, line) in out.chunks_exact_mut(cg.nz).enumerate() {
            for (kc, o) in line.iter_mut().enumerate() {
                let first = first_child(jc, kc);
                let sum = lateral_children[1..]
                    .iter()
                    .fold(across(first), |s, &d| s + across(first + d));
                *o = mean * sum;
            }
        }
    });
    restrict_lateral_faces(&fine.ky, fg, &mut coarse.ky, cg, 1);
    if fg.nz > 1 {
        restrict_lateral_faces(&fine.kz, fg, &mut coarse.kz, cg, 2);
    }
}

/// [`restrict_face_coefficients`] of the −side faces along the periodic lateral `axis` (1: y,
/// 2: z): ¼, ½, ¼ of the fine faces across, the mean over the fine children along the other
/// coarsened axes (x first, then the other lateral axis).
fn restrict_lateral_faces(fine: &[Real], fg: Grid, coarse: &mut [Real], cg: Grid, axis: usize) {
    let strides = fg.strides();
    let (stride, extent) = (strides[axis], fg.shape()[axis]);
    // Offsets of the children along the other coarsened axes, in lexicographic order.
    let others: Vec<usize> = (0..3)
        .filter(|&d| d != axis && fg.shape()[d] > 1)
        .map(|d| strides[d])
        .collect();
    let children: Vec<usize> = match others[..] {
        [s] => vec![0, s],
        [s, t] => vec![0, t, s, s + t],
        _ => unreachable!("a coarsened level has 2 or 3 coarsened axes"),
    };
    let mean = 1.0 / children.len() as Real;
    // The fine faces across coarse face n: the one behind (wrapping past the axis's start,
    // where every child of a coarse cell at coordinate 0 sits), on, and ahead.
    let across = |n: usize, at_start: bool| {
        let behind = if at_start {
            n + (extent - 1) * stride
        } else {
            n - stride
        };
        0.25 * fine[behind] + 0.5 * fine[n] + 0.25 * fine[n + stride]
    };
    let layer_c = cg.layer_cells();
    // Line by line (no division per cell).
    for_each_layer(coarse, layer_c, |ic, out| {
        for (jc, line) in out.chunks_exact_mut(cg.nz).enumerate() {
            for (kc, o) in line.iter_mut().enumerate() {
                let first = fg.index(2 * ic, 2 * jc, if fg.nz > 1 { 2 * kc } else { 0 });
                let at_start = if axis == 1 { jc == 0 } else { kc == 0 };
                let sum = children[1..].iter().fold(across(first, at_start), |s, &d| {
                    s + across(first + d, at_start)
                });
                *o = mean * sum;
            }
        }
    });
}

/// Cell-centred full weighting: coarse = 2^−d Σ of the 2^d children, summed line by line of
/// the fine grid (x, then y in 3D), each line's pair along it in order.
pub fn restrict_full_weighting(fg: Grid, fine: &[Real], cg: Grid, coarse: &mut [Real]) {
    let (lf, lc) = (Lines::of(fg), Lines::of(cg));
    // The fine lines of coarse line jc, relative to the first fine layer's start.
    let offsets: Vec<usize> = if fg.nz > 1 {
        vec![0, lf.len, lf.layer, lf.layer + lf.len]
    } else {
        vec![0, lf.layer]
    };
    let scale = 1.0 / (2 * offsets.len()) as Real;
    for_each_layer(coarse, lc.layer, |ic, out| {
        let mut pairs: Vec<&[Real]> = Vec::with_capacity(offsets.len());
        for jc in 0..lc.lines {
            let first = 2 * ic * lf.layer + if fg.nz > 1 { 2 * jc * lf.len } else { 0 };
            pairs.clear();
            pairs.extend(
                offsets
                    .iter()
                    .map(|&d| &fine[first + d..first + d + lf.len]),
            );
            out[lc.range(jc)].iter_mut().enumerate().for_each(|(t, o)| {
                let j = 2 * t;
                let sum = pairs[1..]
                    .iter()
                    .fold(pairs[0][j] + pairs[0][j + 1], |s, l| s + l[j] + l[j + 1]);
                *o = scale * sum;
            });
        }
    });
}

/// Adds the cell-centred (bi/tri)linear interpolant of the coarse correction to `fine`: weights
/// ¾ and ¼ per axis from the coarse cell and its neighbour on the fine cell's side (in 2D
/// e_f = (9 e_own + 3 e_x + 3 e_y + e_diag)/16, in 3D 27, 9, 3, 1 over 64), the ghost beyond an
/// x wall −e₀ (Dirichlet) or +e₀ (Neumann), periodic laterally. In 3D the two coarse lines
/// feeding a fine line are first blended across y (¾, ¼), then treated as the 2D rows are.
/// Named as its WGSL twin.
pub fn prolong_bilinear(cg: Grid, coarse: &[Real], fg: Grid, fine: &mut [Real], bcs: Bcs) {
    let (lf, lc) = (Lines::of(fg), Lines::of(cg));
    let three_d = fg.nz > 1;
    let scale: Real = if three_d { 1.0 / 64.0 } else { 1.0 / 16.0 };
    for_each_layer(fine, lf.layer, |i, out| {
        let ic = i / 2;
        let (inb, sign) = match (i % 2, ic) {
            (0, 0) => (0, bcs.x_lo.ghost_sign()),
            (0, _) => (ic - 1, 1.0),
            (_, _) if ic + 1 == cg.nx => (ic, bcs.x_hi.ghost_sign()),
            _ => (ic + 1, 1.0),
        };
        let layer = |ic: usize| &coarse[ic * lc.layer..(ic + 1) * lc.layer];
        let (own, nb) = (layer(ic), layer(inb));
        if !three_d {
            prolong_line(own, nb, sign, scale, out);
            return;
        }
        let (mut own_y, mut nb_y) = (vec![0.0; lc.len], vec![0.0; lc.len]);
        for j in 0..lf.lines {
            let jc = j / 2;
            let jn = match (j % 2, jc) {
                (0, 0) => lc.lines - 1,
                (0, _) => jc - 1,
                _ if jc + 1 == lc.lines => 0,
                _ => jc + 1,
            };
            for (blend, from) in [(&mut own_y, own), (&mut nb_y, nb)] {
                let (on, beside) = (&from[lc.range(jc)], &from[lc.range(jn)]);
                for ((b, &o), &s) in blend.iter_mut().zip(on).zip(beside) {
                    *b = 3.0 * o + s;
                }
            }
            prolong_line(&own_y, &nb_y, sign, scale, &mut out[lf.range(j)]);
        }
    });
}

/// One fine line of [`prolong_bilinear`]: the fine pair (2 jc, 2 jc + 1) gets
/// scale·(9 own[jc] + 3 own[jc ∓ 1] + sign·(3 nb[jc] + nb[jc ∓ 1])), periodic along the line.
fn prolong_line(own: &[Real], nb: &[Real], sign: Real, scale: Real, out: &mut [Real]) {
    let n = own.len();
    let value = |jc: usize, jn: usize| {
        (9.0 * own[jc] + 3.0 * own[jn] + sign * (3.0 * nb[jc] + nb[jn])) * scale
    };
    let last = n - 1;
    let (prev, next) = (
        |jc: usize| if jc == 0 { last } else { jc - 1 },
        |jc: usize| if jc == last { 0 } else { jc + 1 },
    );
    let ends: &[usize] = if last == 0 { &[0] } else { &[0, last] };
    for &jc in ends {
        out[2 * jc] += value(jc, prev(jc));
        out[2 * jc + 1] += value(jc, next(jc));
    }
    if n > 2 {
        // The interior pairs from shifted slices: no index arithmetic per cell, so the loop
        // vectorises (it was 15 % of a 2048² step with a modulo per cell).
        let interior = out[2..2 * last].chunks_exact_mut(2);
        let coarse_cells = own[1..last]
            .iter()
            .zip(&own[..last - 1])
            .zip(&own[2..])
            .zip(nb[1..last].iter().zip(&nb[..last - 1]).zip(&nb[2..]));
        for (pair, (((&o, &ol), &or), ((&n, &nl), &nr))) in interior.zip(coarse_cells) {
            pair[0] += (9.0 * o + 3.0 * ol + sign * (3.0 * n + nl)) * scale;
            pair[1] += (9.0 * o + 3.0 * or + sign * (3.0 * n + nr)) * scale;
        }
    }
}
