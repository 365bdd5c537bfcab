//! The level hierarchy of the CPU multigrid and its cycles: each level's operator and buffers,
//! the V(2,2) and full-multigrid cycles and the mass projection's direction.

use super::coarsest::CoarsestSolver;
use super::kernels::*;
use crate::grid::{Grid, Real};
use crate::numerics::Bcs;

/// Cells of the finest level on which [`Multigrid::conserve_mass`]'s direction z ≈ A⁻¹1 is
/// V-cycled before being prolonged up: any z makes the projection exact, z's accuracy only
/// decides how much it perturbs the residual elsewhere (~|Σ r|/N per cell where A z ≠ 1).
///
/// [`Multigrid::conserve_mass`]: super::Multigrid::conserve_mass
const MASS_DIRECTION_CELLS: usize = 64 * 64;

use crate::numerics::solve_plan::{POST_SWEEPS, PRE_SWEEPS};

/// One level: its operator and the error/right-hand-side/residual buffers of the cycle.
/// On the finest level `u` and `f` belong to the caller and the local ones stay empty.
pub(super) struct Level {
    pub(super) op: Operator,
    pub(super) u: Vec<Real>,
    pub(super) f: Vec<Real>,
    pub(super) r: Vec<Real>,
}

impl Level {
    /// A level on `grid`; `finest`: the caller holds its u and f.
    pub(super) fn new(grid: Grid, finest: bool) -> Self {
        let own = if finest { 0 } else { grid.cells() };
        Level {
            op: Operator::new(grid),
            u: vec![0.0; own],
            f: vec![0.0; own],
            r: vec![0.0; grid.cells()],
        }
    }

    fn grid(&self) -> Grid {
        self.op.grid
    }
}

/// The levels, finest first, and the exact solver of the last.
pub(super) struct Hierarchy {
    pub(super) levels: Vec<Level>,
    pub(super) coarsest: CoarsestSolver,
}

/// Adds the prolonged correction of level `l + 1` to `fine` (level l's u).
fn prolong_from(levels: &[Level], l: usize, fine: &mut [Real], hom: Bcs) {
    let coarse = &levels[l + 1];
    prolong_bilinear(coarse.grid(), &coarse.u, levels[l].grid(), fine, hom);
}

impl Hierarchy {
    /// V(2,2) cycle: down the levels smoothing and restricting residuals, solve the coarsest
    /// exactly, back up adding (bi/tri)linear corrections and smoothing. Written as two loops
    /// (no recursion) so the GPU backend can issue the same sequence of kernel dispatches.
    pub(super) fn v_cycle(&mut self, u0: &mut [Real], f0: &[Real], bcs: Bcs) {
        self.cycle_from(0, u0, f0, bcs);
    }

    /// The V-cycle of levels `first`.. (u0, f0: the finest level's u and f, used only when
    /// `first` = 0; coarser levels cycle on their own `u` and `f`).
    pub(super) fn cycle_from(&mut self, first: usize, u0: &mut [Real], f0: &[Real], bcs: Bcs) {
        let (levels, coarsest) = (&mut self.levels, &mut self.coarsest);
        let n = levels.len();
        let hom = bcs.homogeneous();
        let bc_of = |l: usize| if l == 0 { bcs } else { hom };
        for l in first..n - 1 {
            let (head, tail) = levels.split_at_mut(l + 1);
            let (fine, coarse) = (&mut head[l], &mut tail[0]);
            let Level { op, u, f, r } = fine;
            let (u, f): (&mut [Real], &[Real]) = if l == 0 { (&mut *u0, f0) } else { (u, f) };
            for _ in 0..PRE_SWEEPS {
                smooth_red_black_sweep(op, u, f, bc_of(l), 0);
            }
            residual(op, u, f, bc_of(l), r);
            restrict_full_weighting(op.grid, r, coarse.op.grid, &mut coarse.f);
            coarse.u.fill(0.0);
        }
        let last = &mut levels[n - 1];
        if n == 1 {
            coarsest.solve(&last.op, &mut last.r, u0, f0, bcs);
        } else {
            coarsest.solve(&last.op, &mut last.r, &mut last.u, &last.f, hom);
        }
        for l in (first..n - 1).rev() {
            let (head, tail) = levels.split_at_mut(l + 1);
            let fine = &mut head[l];
            let coarse = &tail[0];
            let Level { op, u, f, .. } = fine;
            let (u, f): (&mut [Real], &[Real]) = if l == 0 { (&mut *u0, f0) } else { (u, f) };
            prolong_bilinear(coarse.grid(), &coarse.u, op.grid, u, hom);
            for _ in 0..POST_SWEEPS {
                smooth_red_black_sweep(op, u, f, bc_of(l), 1);
            }
        }
    }

    /// One full-multigrid cycle for u0 from zero: f0 restricted to every level, the coarsest
    /// solved exactly, then on each finer level the prolongation of the coarser solution
    /// followed by one V-cycle of that level. It leaves the error near the discretisation's own
    /// (a V-cycle from zero leaves ρ of the whole solution) at about 4/3 of a V-cycle's work.
    /// `bcs`: the finest level's walls (homogeneous for a correction).
    pub(super) fn full_multigrid(&mut self, u0: &mut [Real], f0: &[Real], bcs: Bcs) {
        let n = self.levels.len();
        u0.fill(0.0);
        if n == 1 {
            self.v_cycle(u0, f0, bcs);
            return;
        }
        let hom = bcs.homogeneous();
        let fine = self.levels[0].grid();
        let coarse = &mut self.levels[1];
        restrict_full_weighting(fine, f0, coarse.op.grid, &mut coarse.f);
        for l in 1..n - 1 {
            let (head, tail) = self.levels.split_at_mut(l + 1);
            restrict_full_weighting(head[l].grid(), &head[l].f, tail[0].grid(), &mut tail[0].f);
        }
        let last = &mut self.levels[n - 1];
        last.u.fill(0.0);
        self.coarsest
            .solve(&last.op, &mut last.r, &mut last.u, &last.f, hom);
        for l in (0..n - 1).rev() {
            if l == 0 {
                prolong_from(&self.levels, 0, u0, hom);
            } else {
                let mut u = std::mem::take(&mut self.levels[l].u);
                u.fill(0.0);
                prolong_from(&self.levels, l, &mut u, hom);
                self.levels[l].u = u;
            }
            self.cycle_from(l, u0, f0, bcs);
        }
    }

    /// z ≈ A⁻¹1 on the finest level with homogeneous walls `hom`, at a fraction of a V-cycle's
    /// cost: one V-cycle of the levels from the first with at most [`MASS_DIRECTION_CELLS`]
    /// cells, on f = 1 from u = 0, prolonged up to the finest level without smoothing.
    /// `ones` is the finest level's f = 1, used when that level is itself that small.
    pub(super) fn inverse_of_ones(&mut self, z: &mut [Real], ones: &[Real], hom: Bcs) {
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
        self.cycle_from(first, z, ones, hom);
        for l in (0..first).rev() {
            if l == 0 {
                prolong_from(&self.levels, 0, z, hom);
            } else {
                let mut u = std::mem::take(&mut self.levels[l].u);
                u.fill(0.0);
                prolong_from(&self.levels, l, &mut u, hom);
                self.levels[l].u = u;
            }
        }
    }
}
