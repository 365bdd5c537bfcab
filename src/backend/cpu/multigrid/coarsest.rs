//! The exact solve of the coarsest multigrid level: a banded Cholesky factor of its f64
//! operator.
//!
//! Cells are numbered in the grid's flat order, so a cell couples to cells at most one x layer
//! (ny·nz cells) away, the periodic wraps included: the bandwidth is ny·nz (ny in 2D) and the
//! work of a factorisation n·bw². In 2D the coarsest level has 2–3 cells a side and that is
//! tiny; in 3D a coarsest level of a few cells a side is too (2³: bw 4). A level whose work
//! passes [`DIRECT_MAX_WORK`] (a grid whose axes stop halving early, such as nz = 6) is smoothed
//! [`COARSEST_SWEEPS`] times instead, which leaves its smooth error to the outer iteration.

use super::kernels::smooth_red_black_sweep;
use super::operator::Operator;
use crate::grid::Real;
use crate::numerics::{Bcs, Boundary};

/// Largest banded-Cholesky work (n · bandwidth²) accepted for the coarsest level.
const DIRECT_MAX_WORK: usize = 20_000_000;
/// Sweeps on the coarsest level when it is too large for the direct solve.
const COARSEST_SWEEPS: usize = 64;

/// Banded Cholesky of the coarsest level, refactored when the kinds of wall condition change.
pub(super) struct CoarsestSolver {
    /// Lower band, row p holds L[p][p − bw ..= p].
    factor: Vec<f64>,
    /// Which walls (lo, hi) were Dirichlet when `factor` was built; None: not built.
    pub(super) built_for: Option<[bool; 2]>,
    work: Vec<f64>,
    bandwidth: usize,
    direct: bool,
}

impl CoarsestSolver {
    pub(super) fn new(op: &Operator) -> Self {
        let (n, bw) = (op.grid.cells(), op.grid.layer_cells());
        let direct = n.saturating_mul(bw * bw) <= DIRECT_MAX_WORK;
        CoarsestSolver {
            factor: vec![0.0; if direct { n * (bw + 1) } else { 0 }],
            built_for: None,
            work: vec![0.0; if direct { n } else { 0 }],
            bandwidth: bw,
            direct,
        }
    }

    fn factorise(&mut self, op: &Operator, bcs: Bcs) {
        let g = op.grid;
        let (nx, ny, nz, layer) = (g.nx, g.ny, g.nz, g.layer_cells());
        let bw = self.bandwidth;
        let idx = |p: usize, q: usize| p * (bw + 1) + bw - (p - q);
        let inv_dx2 = op.inv_dx2();
        let wall = |b: Boundary, k: f64, at_wall: bool| {
            if at_wall {
                f64::from(b.wall().1) * k * inv_dx2
            } else {
                0.0
            }
        };
        let l = &mut self.factor;
        l.iter_mut().for_each(|v| *v = 0.0);
        let mut diag = vec![0.0; g.cells()];
        for p in 0..g.cells() {
            let [i, j, k] = g.cell(p);
            let at = |i: usize, j: usize, k: usize| g.index(i, j, k);
            let (jm, jp) = ((j + ny - 1) % ny, (j + 1) % ny);
            let (k_lo, k_hi) = (f64::from(op.kx[p]), f64::from(op.kx[p + layer]));
            diag[p] = f64::from(op.a[p])
                + wall(bcs.x_lo, k_lo, i == 0)
                + wall(bcs.x_hi, k_hi, i + 1 == nx);
            // (neighbour, conductivity): a wall side couples to nothing (k = 0); the periodic
            // neighbours of a line of 1 or 2 cells may coincide, or be the cell itself.
            let mut neighbours = vec![
                (at(i, jm, k), f64::from(op.ky[p])),
                (at(i, jp, k), f64::from(op.ky[at(i, jp, k)])),
                (p.wrapping_sub(layer), if i > 0 { k_lo } else { 0.0 }),
                (p + layer, if i + 1 < nx { k_hi } else { 0.0 }),
            ];
            if nz > 1 {
                let (km, kp) = ((k + nz - 1) % nz, (k + 1) % nz);
                neighbours.push((at(i, j, km), f64::from(op.kz[p])));
                neighbours.push((at(i, j, kp), f64::from(op.kz[at(i, j, kp)])));
            }
            for (q, k) in neighbours {
                diag[p] += k * inv_dx2;
                if q <= p {
                    l[idx(p, q)] -= k * inv_dx2;
                }
            }
            l[idx(p, p)] += diag[p];
        }
        for p in 0..g.cells() {
            for q in p.saturating_sub(bw)..=p {
                let t0 = p.saturating_sub(bw).max(q.saturating_sub(bw));
                let s = l[idx(p, q)] - (t0..q).map(|t| l[idx(p, t)] * l[idx(q, t)]).sum::<f64>();
                l[idx(p, q)] = if q < p {
                    s / l[idx(q, q)]
                } else if s > 1e-12 * diag[p] {
                    s.sqrt()
                } else {
                    // Singular (pure Neumann, a = 0): pin this mode; the correction stays bounded.
                    diag[p].sqrt()
                };
            }
        }
        self.built_for = Some(kinds(bcs));
    }

    /// u += A⁻¹ (f − A u) on the coarsest level, with `r` as scratch for the residual.
    pub(super) fn solve(
        &mut self,
        op: &Operator,
        r: &mut [Real],
        u: &mut [Real],
        f: &[Real],
        bcs: Bcs,
    ) {
        if !self.direct {
            for _ in 0..COARSEST_SWEEPS {
                smooth_red_black_sweep(op, u, f, bcs, 0);
            }
            return;
        }
        if self.built_for != Some(kinds(bcs)) {
            self.factorise(op, bcs);
        }
        super::kernels::residual(op, u, f, bcs, r);
        let (n, bw) = (self.work.len(), self.bandwidth);
        let idx = |p: usize, q: usize| p * (bw + 1) + bw - (p - q);
        let (l, x) = (&self.factor, &mut self.work);
        for (xp, &rp) in x.iter_mut().zip(r.iter()) {
            *xp = f64::from(rp);
        }
        for p in 0..n {
            let s: f64 = (p.saturating_sub(bw)..p).map(|t| l[idx(p, t)] * x[t]).sum();
            x[p] = (x[p] - s) / l[idx(p, p)];
        }
        for p in (0..n).rev() {
            let s: f64 = (p + 1..n.min(p + bw + 1))
                .map(|t| l[idx(t, p)] * x[t])
                .sum();
            x[p] = (x[p] - s) / l[idx(p, p)];
        }
        u.iter_mut()
            .zip(x.iter())
            .for_each(|(uc, &e)| *uc += e as Real);
    }
}

fn kinds(bcs: Bcs) -> [bool; 2] {
    [bcs.x_lo, bcs.x_hi].map(|b| matches!(b, Boundary::Dirichlet(_)))
}
