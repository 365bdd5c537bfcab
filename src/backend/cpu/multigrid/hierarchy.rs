//! The level hierarchy of the CPU multigrid and its cycles: each level's operator, the V(2,2)
//! and full-multigrid cycles, the exact coarsest solve and the mass projection's direction.

use ndarray::{Array2, ArrayView2, ArrayViewMut2};

use super::kernels::*;
use super::Field;
use crate::grid::Real;
use crate::numerics::{Bcs, Boundary};

/// Cells of the finest level on which [`Multigrid::conserve_mass`]'s direction z ≈ A⁻¹1 is
/// V-cycled before being prolonged up: any z makes the projection exact, z's accuracy only
/// decides how much it perturbs the residual elsewhere (~|Σ r|/N per cell where A z ≠ 1).
const MASS_DIRECTION_CELLS: usize = 64 * 64;

/// Gauss–Seidel sweeps (each red then black) before and after the coarse-grid correction.
const PRE_SWEEPS: usize = 2;
const POST_SWEEPS: usize = 2;
/// Largest banded-Cholesky work (n · bandwidth²) accepted for the coarsest level.
const DIRECT_MAX_WORK: usize = 20_000_000;
/// Sweeps on the coarsest level when it is too large for the direct solve.
const COARSEST_SWEEPS: usize = 64;

/// The discrete operator of one level.
pub(super) struct Operator {
    pub(super) dx: f64,
    pub(super) a: Field,
    pub(super) kx: Field,
    pub(super) ky: Field,
}

impl Operator {
    pub(super) fn new(nx: usize, ny: usize, dx: f64) -> Self {
        Operator {
            dx,
            a: Array2::zeros((nx, ny)),
            kx: Array2::zeros((nx + 1, ny)),
            ky: Array2::zeros((nx, ny)),
        }
    }

    /// (a, kx_faces, ky_faces), in kernel argument order.
    pub(super) fn views(&self) -> [ArrayView2<'_, Real>; 3] {
        [self.a.view(), self.kx.view(), self.ky.view()]
    }

    /// One Gauss–Seidel sweep, colours in the given order (one pass over memory).
    pub(super) fn sweep(
        &self,
        u: ArrayViewMut2<Real>,
        f: ArrayView2<Real>,
        bcs: Bcs,
        order: [usize; 2],
    ) {
        let [a, kx, ky] = self.views();
        smooth_red_black_sweep(u, f, a, kx, ky, bcs, self.dx, order[0]);
    }

    pub(super) fn residual(
        &self,
        u: ArrayView2<Real>,
        f: ArrayView2<Real>,
        bcs: Bcs,
        r: ArrayViewMut2<Real>,
    ) {
        let [a, kx, ky] = self.views();
        residual(u, f, a, kx, ky, bcs, self.dx, r);
    }
}

/// One level: its operator and the error/right-hand-side/residual buffers of the cycle.
/// On the finest level `u` and `f` belong to the caller and the local ones stay empty.
pub(super) struct Level {
    pub(super) op: Operator,
    pub(super) u: Field,
    pub(super) f: Field,
    pub(super) r: Field,
}

/// Exact solve of the coarsest level: banded Cholesky (bandwidth ny, from the periodic wrap)
/// of the f64 operator, refactored when the kinds of wall condition change.
pub(super) struct CoarsestSolver {
    /// Lower band, row p holds L[p][p − bw ..= p].
    pub(super) factor: Vec<f64>,
    /// Which walls (lo, hi) were Dirichlet when `factor` was built; None: not built.
    pub(super) built_for: Option<[bool; 2]>,
    pub(super) work: Vec<f64>,
    pub(super) direct: bool,
}

impl CoarsestSolver {
    pub(super) fn new(nx: usize, ny: usize) -> Self {
        let n = nx * ny;
        let direct = n.saturating_mul(ny * ny) <= DIRECT_MAX_WORK;
        CoarsestSolver {
            factor: vec![0.0; if direct { n * (ny + 1) } else { 0 }],
            built_for: None,
            work: vec![0.0; if direct { n } else { 0 }],
            direct,
        }
    }

    pub(super) fn factorise(&mut self, op: &Operator, bcs: Bcs) {
        let (nx, ny) = op.a.dim();
        let bw = ny;
        let idx = |p: usize, q: usize| p * (bw + 1) + bw - (p - q);
        let inv_dx2 = 1.0 / (op.dx * op.dx);
        let wall = |b: Boundary, k: f64, at_wall: bool| {
            if at_wall {
                f64::from(b.wall().1) * k * inv_dx2
            } else {
                0.0
            }
        };
        let l = &mut self.factor;
        l.iter_mut().for_each(|v| *v = 0.0);
        let mut diag = vec![0.0; nx * ny];
        for i in 0..nx {
            for j in 0..ny {
                let p = i * ny + j;
                let (jm, jp) = ((j + ny - 1) % ny, (j + 1) % ny);
                let (k_lo, k_hi) = (f64::from(op.kx[[i, j]]), f64::from(op.kx[[i + 1, j]]));
                diag[p] = f64::from(op.a[[i, j]])
                    + wall(bcs.x_lo, k_lo, i == 0)
                    + wall(bcs.x_hi, k_hi, i + 1 == nx);
                // (neighbour, conductivity): a wall side couples to nothing (k = 0); the periodic
                // neighbours of a row of 1 or 2 cells may coincide, or be the cell itself.
                let neighbours = [
                    (i * ny + jm, f64::from(op.ky[[i, j]])),
                    (i * ny + jp, f64::from(op.ky[[i, jp]])),
                    (p.wrapping_sub(ny), if i > 0 { k_lo } else { 0.0 }),
                    (p + ny, if i + 1 < nx { k_hi } else { 0.0 }),
                ];
                for (q, k) in neighbours {
                    diag[p] += k * inv_dx2;
                    if q <= p {
                        l[idx(p, q)] -= k * inv_dx2;
                    }
                }
                l[idx(p, p)] += diag[p];
            }
        }
        for p in 0..nx * ny {
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
        r: &mut Field,
        mut u: ArrayViewMut2<Real>,
        f: ArrayView2<Real>,
        bcs: Bcs,
    ) {
        if !self.direct {
            for _ in 0..COARSEST_SWEEPS {
                op.sweep(u.view_mut(), f, bcs, [0, 1]);
            }
            return;
        }
        if self.built_for != Some(kinds(bcs)) {
            self.factorise(op, bcs);
        }
        op.residual(u.view(), f, bcs, r.view_mut());
        let (n, bw) = (self.work.len(), r.ncols());
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

pub(super) fn kinds(bcs: Bcs) -> [bool; 2] {
    [bcs.x_lo, bcs.x_hi].map(|b| matches!(b, Boundary::Dirichlet(_)))
}

/// The levels, finest first, and the exact solver of the last.
pub(super) struct Hierarchy {
    pub(super) levels: Vec<Level>,
    pub(super) coarsest: CoarsestSolver,
}

impl Hierarchy {
    /// V(2,2) cycle: down the levels smoothing and restricting residuals, solve the coarsest
    /// exactly, back up adding bilinear corrections and smoothing. Written as two loops (no
    /// recursion) so the GPU backend can issue the same sequence of kernel dispatches.
    pub(super) fn v_cycle(&mut self, u0: ArrayViewMut2<Real>, f0: ArrayView2<Real>, bcs: Bcs) {
        self.cycle_from(0, u0, f0, bcs);
    }

    /// The V-cycle of levels `first`.. (u0, f0: the finest level's u and f, used only when
    /// `first` = 0; coarser levels cycle on their own `u` and `f`).
    pub(super) fn cycle_from(
        &mut self,
        first: usize,
        mut u0: ArrayViewMut2<Real>,
        f0: ArrayView2<Real>,
        bcs: Bcs,
    ) {
        let (levels, coarsest) = (&mut self.levels, &mut self.coarsest);
        let n = levels.len();
        let hom = bcs.homogeneous();
        let bc_of = |l: usize| if l == 0 { bcs } else { hom };
        for l in first..n - 1 {
            let (head, tail) = levels.split_at_mut(l + 1);
            let (fine, coarse) = (&mut head[l], &mut tail[0]);
            let (mut u, f) = if l == 0 {
                (u0.view_mut(), f0.view())
            } else {
                (fine.u.view_mut(), fine.f.view())
            };
            for _ in 0..PRE_SWEEPS {
                fine.op.sweep(u.view_mut(), f, bc_of(l), [0, 1]);
            }
            fine.op.residual(u.view(), f, bc_of(l), fine.r.view_mut());
            restrict_full_weighting(fine.r.view(), coarse.f.view_mut());
            coarse.u.fill(0.0);
        }
        let last = &mut levels[n - 1];
        if n == 1 {
            coarsest.solve(&last.op, &mut last.r, u0.view_mut(), f0, bcs);
        } else {
            coarsest.solve(&last.op, &mut last.r, last.u.view_mut(), last.f.view(), hom);
        }
        for l in (first..n - 1).rev() {
            let (head, tail) = levels.split_at_mut(l + 1);
            let (fine, coarse) = (&mut head[l], &tail[0]);
            let (mut u, f) = if l == 0 {
                (u0.view_mut(), f0.view())
            } else {
                (fine.u.view_mut(), fine.f.view())
            };
            prolong_bilinear(coarse.u.view(), u.view_mut(), hom);
            for _ in 0..POST_SWEEPS {
                fine.op.sweep(u.view_mut(), f, bc_of(l), [1, 0]);
            }
        }
    }

    /// One full-multigrid cycle for u0 from zero: f0 restricted to every level, the coarsest
    /// solved exactly, then on each finer level the bilinear prolongation of the coarser
    /// solution followed by one V-cycle of that level. It leaves the error near the
    /// discretisation's own (a V-cycle from zero leaves ρ of the whole solution) at about 4/3 of
    /// a V-cycle's work. `bcs`: the finest level's walls (homogeneous for a correction).
    pub(super) fn full_multigrid(
        &mut self,
        mut u0: ArrayViewMut2<Real>,
        f0: ArrayView2<Real>,
        bcs: Bcs,
    ) {
        let n = self.levels.len();
        u0.fill(0.0);
        if n == 1 {
            self.v_cycle(u0, f0, bcs);
            return;
        }
        let hom = bcs.homogeneous();
        restrict_full_weighting(f0, self.levels[1].f.view_mut());
        for l in 1..n - 1 {
            let (head, tail) = self.levels.split_at_mut(l + 1);
            restrict_full_weighting(head[l].f.view(), tail[0].f.view_mut());
        }
        let last = &mut self.levels[n - 1];
        last.u.fill(0.0);
        self.coarsest
            .solve(&last.op, &mut last.r, last.u.view_mut(), last.f.view(), hom);
        for l in (0..n - 1).rev() {
            let (head, tail) = self.levels.split_at_mut(l + 1);
            if l == 0 {
                prolong_bilinear(tail[0].u.view(), u0.view_mut(), hom);
            } else {
                head[l].u.fill(0.0);
                prolong_bilinear(tail[0].u.view(), head[l].u.view_mut(), hom);
            }
            self.cycle_from(l, u0.view_mut(), f0, bcs);
        }
    }

    /// z ≈ A⁻¹1 on the finest level with homogeneous walls `hom`, at a fraction of a V-cycle's
    /// cost: one V-cycle of the levels from the first with at most [`MASS_DIRECTION_CELLS`]
    /// cells, on f = 1 from u = 0, prolonged up to the finest level without smoothing.
    /// `ones` is the finest level's f = 1, used when that level is itself that small.
    pub(super) fn inverse_of_ones(
        &mut self,
        mut z: ArrayViewMut2<Real>,
        ones: ArrayView2<Real>,
        hom: Bcs,
    ) {
        z.fill(0.0);
        let n = self.levels.len();
        let first = (0..n)
            .find(|&l| self.levels[l].op.a.len() <= MASS_DIRECTION_CELLS)
            .unwrap_or(n - 1);
        if first == 0 {
            self.v_cycle(z, ones, hom);
            return;
        }
        let level = &mut self.levels[first];
        level.u.fill(0.0);
        level.f.fill(1.0);
        self.cycle_from(first, z.view_mut(), ones, hom);
        for l in (0..first).rev() {
            let (head, tail) = self.levels.split_at_mut(l + 1);
            if l == 0 {
                prolong_bilinear(tail[0].u.view(), z.view_mut(), hom);
            } else {
                head[l].u.fill(0.0);
                prolong_bilinear(tail[0].u.view(), head[l].u.view_mut(), hom);
            }
        }
    }
}
