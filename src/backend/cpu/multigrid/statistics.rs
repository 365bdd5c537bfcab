//! The residual's statistics of the CPU multigrid: ‖r‖, ‖b‖, Σ r, Σ |b| and the diagonal scale
//! of A u in one pass (f64 sums, vectorised in lanes), the right-hand side of an offset
//! unknown, and the exact Σ (A z) of the mass projection. By layers of cells, as
//! [`kernels`](super::kernels).

use rayon::prelude::*;

use super::kernels::{sum_layers, PARALLEL_MIN_CELLS};
use super::operator::Operator;
use super::stencil::{Faces, Value, CHUNK};
use crate::grid::Real;
use crate::numerics::{Bcs, Boundary, ResidualStatistics};

/// (Σ (b − A u)², Σ b²) in f64, with b = f + the wall terms 2 k_wall g/dx² of the edge cells.
pub fn residual_norms_squared(op: &Operator, u: &[Real], f: &[Real], bcs: Bcs) -> (f64, f64) {
    let s = residual_statistics(op, u, f, bcs);
    (s.r2, s.b2)
}

/// r = b − A u with its norms, sum and the diagonal scale of A u, in one pass over the grid.
pub fn residual_statistics<T: Value>(
    op: &Operator,
    u: &[T],
    f: &[Real],
    bcs: Bcs,
) -> ResidualStatistics {
    let layer_stats = |i: usize| layer_statistics(i, op, u, f, bcs, |_, _| {});
    sum_layers(op.grid.nx, u.len(), layer_stats, std::ops::Add::add)
}

/// [`residual_statistics`] of an f64 iterate, computed in f64 (no f32 rounding of u or of the
/// fluxes), also writing r = b − A u rounded to f32 (the right-hand side of the correction).
pub fn residual_with_statistics(
    op: &Operator,
    u: &[f64],
    f: &[Real],
    bcs: Bcs,
    r: &mut [Real],
) -> ResidualStatistics {
    let layer = op.grid.layer_cells();
    let layer_stats = |(i, r_layer): (usize, &mut [Real])| {
        layer_statistics(i, op, u, f, bcs, |c0, r| {
            for (o, &rc) in r_layer[c0..c0 + r.len()].iter_mut().zip(r) {
                *o = rc as Real;
            }
        })
    };
    if u.len() >= PARALLEL_MIN_CELLS {
        r.par_chunks_mut(layer)
            .enumerate()
            .map(layer_stats)
            .reduce(ResidualStatistics::default, std::ops::Add::add)
    } else {
        r.chunks_mut(layer)
            .enumerate()
            .map(layer_stats)
            .fold(ResidualStatistics::default(), std::ops::Add::add)
    }
}

/// Accumulators of [`ResidualStatistics`] in four interleaved lanes, so that the f64 sums
/// vectorise (one lane per cell mod 4 within a chunk); folded at the end of the line.
#[derive(Default)]
struct StatisticLanes {
    r2: [f64; 4],
    b2: [f64; 4],
    r_sum: [f64; 4],
    b_abs_sum: [f64; 4],
    scale2: [f64; 4],
}

impl StatisticLanes {
    #[inline(always)]
    fn add(&mut self, r: &[f64], m: &[f64], b: &[f64], scale: &[f64]) {
        let quads = r.len() / 4 * 4;
        for q in (0..quads).step_by(4) {
            for l in 0..4 {
                let (r, b, s) = (r[q + l], b[q + l], scale[q + l]);
                self.r2[l] += r * r;
                self.b2[l] += b * b;
                self.r_sum[l] += m[q + l];
                self.b_abs_sum[l] += b.abs();
                self.scale2[l] += s * s;
            }
        }
        for t in quads..r.len() {
            let (r, b, s) = (r[t], b[t], scale[t]);
            self.r2[0] += r * r;
            self.b2[0] += b * b;
            self.r_sum[0] += m[t];
            self.b_abs_sum[0] += b.abs();
            self.scale2[0] += s * s;
        }
    }

    fn fold(&self) -> ResidualStatistics {
        let sum = |v: &[f64; 4]| (v[0] + v[1]) + (v[2] + v[3]);
        ResidualStatistics {
            r2: sum(&self.r2),
            b2: sum(&self.b2),
            r_sum: sum(&self.r_sum),
            b_abs_sum: sum(&self.b_abs_sum),
            scale2: sum(&self.scale2),
        }
    }
}

/// The statistics of layer `i`, line by line (each line's lanes folded, the lines summed in
/// order), handing each chunk of residuals to `write(c0, r)` (c0: the chunk's first cell within
/// the layer).
#[inline(always)]
fn layer_statistics<T: Value>(
    i: usize,
    op: &Operator,
    u: &[T],
    f: &[Real],
    bcs: Bcs,
    mut write: impl FnMut(usize, &[f64]),
) -> ResidualStatistics {
    let nx = op.grid.nx;
    let inv_dx2 = op.inv_dx2();
    let faces = Faces::of(op);
    let lines = faces.lines;
    let layer = lines.layer;
    // A wall face's weight factor·k_wall/dx² and value g: b = f plus, on a wall layer, the known
    // term w g; the layer's mass balance gains the wall flux w (g − u).
    let wall = |b: Boundary, face_layer: usize| {
        let (g, factor) = b.wall();
        let k = &op.kx[face_layer * layer..(face_layer + 1) * layer];
        move |c: usize| (f64::from(factor) * f64::from(k[c]) * inv_dx2, f64::from(g))
    };
    let (lo, hi) = (wall(bcs.x_lo, 0), wall(bcs.x_hi, nx));
    let mut total = ResidualStatistics::default();
    for j in 0..lines.lines {
        let start = i * layer + j * lines.len;
        let st = faces.line_of(i, j, u, bcs);
        let cells = start..start + lines.len;
        let (u_line, f_line, a_line) = (&u[cells.clone()], &f[cells.clone()], &op.a[cells]);
        let mut lanes = StatisticLanes::default();
        let (mut r, mut m, mut b, mut scale) =
            ([0.0; CHUNK], [0.0; CHUNK], [0.0; CHUNK], [0.0; CHUNK]);
        st.for_each_chunk(u_line, |j0, flux, diag| {
            let n = flux.len();
            let (r, m, b, scale) = (&mut r[..n], &mut m[..n], &mut b[..n], &mut scale[..n]);
            let cells = j0..j0 + n;
            let (u, f, a) = (
                &u_line[cells.clone()],
                &f_line[cells.clone()],
                &a_line[cells],
            );
            for t in 0..n {
                let (uj, aj) = (u[t].to_f64(), f64::from(a[t]));
                // f32 × f32 is exact in f64: m is the cell's exact f − a u.
                m[t] = f64::from(f[t]) - aj * uj;
                r[t] = m[t] + flux[t].to_f64();
                b[t] = f64::from(f[t]);
                scale[t] = (aj + diag[t].to_f64()) * uj.abs();
            }
            let c0 = j * lines.len + j0;
            for (is_wall_layer, side) in [(i == 0, &lo), (i + 1 == nx, &hi)] {
                if is_wall_layer {
                    for t in 0..n {
                        let (w, g) = side(c0 + t);
                        b[t] += w * g;
                        m[t] += w * (g - u[t].to_f64());
                    }
                }
            }
            write(c0, r);
            lanes.add(r, m, b, scale);
        });
        total = if j == 0 {
            lanes.fold()
        } else {
            total + lanes.fold()
        };
    }
    total
}

/// (‖b‖₂², Σ |b|) of b = f + offset·a, plus on a wall layer the wall term w (g + offset): the
/// right-hand side of the equation for v = u + offset (f64 accumulation).
pub fn right_hand_side_norms(op: &Operator, f: &[Real], bcs: Bcs, offset: Real) -> (f64, f64) {
    let (nx, layer) = (op.grid.nx, op.grid.layer_cells());
    let (offset, inv_dx2) = (f64::from(offset), op.inv_dx2());
    let wall = |b: Boundary, face_layer: usize, c: usize| {
        let (g, factor) = b.wall();
        let w = f64::from(factor) * f64::from(op.kx[face_layer * layer + c]) * inv_dx2;
        w * (f64::from(g) + offset)
    };
    let layer_norms = |i: usize| {
        let cells = i * layer..(i + 1) * layer;
        let (f_layer, a_layer) = (&f[cells.clone()], &op.a[cells]);
        (0..layer).fold((0.0, 0.0), |(b2, b_abs), c| {
            let mut b = f64::from(f_layer[c]) + offset * f64::from(a_layer[c]);
            if i == 0 {
                b += wall(bcs.x_lo, 0, c);
            }
            if i + 1 == nx {
                b += wall(bcs.x_hi, nx, c);
            }
            (b2 + b * b, b_abs + b.abs())
        })
    };
    sum_layers(nx, f.len(), layer_norms, |p: (f64, f64), q: (f64, f64)| {
        (p.0 + q.0, p.1 + q.1)
    })
}

/// Σ (A z) with homogeneous walls, exactly (f64 of f32 products): Σ a z plus the wall
/// weights times the wall layers' z; the interior fluxes cancel pairwise.
pub fn operator_sum(op: &Operator, z: &[Real], bcs: Bcs) -> f64 {
    let (nx, layer) = (op.grid.nx, op.grid.layer_cells());
    let inv_dx2 = op.inv_dx2();
    let wall = |b: Boundary, face_layer: usize, c: usize| {
        f64::from(b.wall().1) * f64::from(op.kx[face_layer * layer + c]) * inv_dx2
    };
    let layer_sum = |i: usize| {
        let cells = i * layer..(i + 1) * layer;
        let (z_layer, a_layer) = (&z[cells.clone()], &op.a[cells]);
        (0..layer)
            .map(|c| {
                let mut w = f64::from(a_layer[c]);
                if i == 0 {
                    w += wall(bcs.x_lo, 0, c);
                }
                if i + 1 == nx {
                    w += wall(bcs.x_hi, nx, c);
                }
                w * f64::from(z_layer[c])
            })
            .sum()
    };
    sum_layers(nx, z.len(), layer_sum, |p: f64, q: f64| p + q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::multigrid::kernels::residual;
    use crate::grid::Grid;

    /// The lane-summed statistics against plain f64 sums over the residual and b (f plus the
    /// Dirichlet walls' 2 k g/dx²), on a grid with both walls and chunk edges: r2 against the
    /// f32 residual field, r_sum (summed without the interior fluxes) against the residual
    /// evaluated cell by cell in f64, fluxes included; and `right_hand_side_norms`, with and
    /// without an offset.
    #[test]
    fn residual_statistics_equal_plain_sums_of_the_residual_field() {
        let (nx, ny, dx) = (9, 300, 0.7);
        let v = |n: usize, s: f64| (n as f64 * 0.37 + s).sin() as Real;
        let mut op = Operator::new(Grid::new(nx, ny, dx));
        let fill = |out: &mut [Real], base: Real, scale: Real, s: f64| {
            out.iter_mut()
                .enumerate()
                .for_each(|(n, o)| *o = base + scale * v(n, s));
        };
        fill(&mut op.kx, 1.5, 1.0, 1.0);
        fill(&mut op.ky, 1.5, 1.0, 2.0);
        fill(&mut op.a, 0.5, 0.25, 4.0);
        let (mut u, mut f) = (vec![0.0; nx * ny], vec![0.0; nx * ny]);
        fill(&mut u, 0.0, 1.0, 0.0);
        fill(&mut f, 0.0, 1.0, 3.0);
        let (g_lo, g_hi) = (-0.2, 0.3);
        let bcs = Bcs {
            x_lo: Boundary::Dirichlet(g_lo),
            x_hi: Boundary::Dirichlet(g_hi),
        };
        let mut r = vec![0.0; nx * ny];
        residual(&op, &u, &f, bcs, &mut r);
        let at = |i: usize, j: usize| i * ny + j;
        let (kx, ky, a) = (&op.kx, &op.ky, &op.a);
        let w = |k: Real| f64::from(k) / (dx * dx);
        let wall = |i: usize, j: usize| match i {
            0 => 2.0 * w(kx[at(0, j)]) * f64::from(g_lo),
            _ if i + 1 == nx => 2.0 * w(kx[at(nx, j)]) * f64::from(g_hi),
            _ => 0.0,
        };
        let b = |i: usize, j: usize| f64::from(f[at(i, j)]) + wall(i, j);
        let r64 = |i: usize, j: usize| {
            let uc = f64::from(u[at(i, j)]);
            let (jm, jp) = ((j + ny - 1) % ny, (j + 1) % ny);
            let mut balance = w(ky[at(i, j)]) * (f64::from(u[at(i, jm)]) - uc)
                + w(ky[at(i, jp)]) * (f64::from(u[at(i, jp)]) - uc);
            balance += match i {
                0 => -2.0 * w(kx[at(0, j)]) * uc,
                _ => w(kx[at(i, j)]) * (f64::from(u[at(i - 1, j)]) - uc),
            };
            balance += if i + 1 == nx {
                -2.0 * w(kx[at(nx, j)]) * uc
            } else {
                w(kx[at(i + 1, j)]) * (f64::from(u[at(i + 1, j)]) - uc)
            };
            b(i, j) - f64::from(a[at(i, j)]) * uc + balance
        };
        let cells = || (0..nx).flat_map(|i| (0..ny).map(move |j| (i, j)));
        let r2: f64 = r.iter().map(|&x| f64::from(x).powi(2)).sum();
        let r_sum: f64 = cells().map(|(i, j)| r64(i, j)).sum();
        let b2: f64 = cells().map(|(i, j)| b(i, j).powi(2)).sum();
        let b_abs: f64 = cells().map(|(i, j)| b(i, j).abs()).sum();
        let s = residual_statistics(&op, &u, &f, bcs);
        // The right-hand side of v = u + offset: f + a·offset, walls at g + offset.
        let offset = 0.75;
        let b_offset = |i: usize, j: usize| {
            let w = |k: Real, g: Real| 2.0 * f64::from(k) / (dx * dx) * (f64::from(g) + offset);
            let wall = match i {
                0 => w(kx[at(0, j)], g_lo),
                _ if i + 1 == nx => w(kx[at(nx, j)], g_hi),
                _ => 0.0,
            };
            f64::from(f[at(i, j)]) + offset * f64::from(a[at(i, j)]) + wall
        };
        let (ob2, ob_abs) = right_hand_side_norms(&op, &f, bcs, offset as Real);
        let want_ob2: f64 = cells().map(|(i, j)| b_offset(i, j).powi(2)).sum();
        let want_ob_abs: f64 = cells().map(|(i, j)| b_offset(i, j).abs()).sum();
        let (zb2, zb_abs) = right_hand_side_norms(&op, &f, bcs, 0.0);
        for (what, got, want, tol) in [
            ("r2", s.r2, r2, 1e-6),
            ("r_sum", s.r_sum, r_sum, 1e-12),
            ("b2", s.b2, b2, 1e-12),
            ("b_abs_sum", s.b_abs_sum, b_abs, 1e-12),
            ("rhs norm², offset 0", zb2, b2, 1e-12),
            ("rhs Σ|b|, offset 0", zb_abs, b_abs, 1e-12),
            ("rhs norm², offset", ob2, want_ob2, 1e-12),
            ("rhs Σ|b|, offset", ob_abs, want_ob_abs, 1e-12),
        ] {
            let rel = (got - want).abs() / want.abs();
            println!("{what}: {got:.9e}, plain sum {want:.9e}, rel. diff {rel:.1e} (≤ {tol:.0e})");
            assert!(rel <= tol);
        }
    }
}
