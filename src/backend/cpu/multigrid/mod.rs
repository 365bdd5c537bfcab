//! Geometric multigrid for the cell-centred, variable-coefficient problem
//!
//! ```text
//!     a(x) u − ∇·( k(x) ∇u ) = f
//! ```
//!
//! on the uniform grid (Δx = Δy = Δz), 2D (nz = 1) or 3D by one code path: periodic in y and z,
//! with a Dirichlet or Neumann condition on each x wall. `a = 1/Δt` gives implicit diffusion,
//! `a = 0` the potential. At cell (i, j, k): `a u − (1/Δx²) Σ_faces k_f (u_nb − u) = f`, with
//! harmonic face conductivities `k_f = 2 k_L k_R/(k_L + k_R)` (one array per axis, see
//! [`kernels::Operator`]) and a Dirichlet wall coupled over half a cell with the cell's k.
//! Fields are flat slices in the grid's row-major order (z fastest).
//!
//! The cycle is V(2,2): red-black Gauss–Seidel (colour: the parity of i + j + k; red, black;
//! then black, red after the correction), the 2^d-child average of the residual, (bi/tri)linear
//! prolongation of the correction with the wall rule of its boundary condition, and coarse
//! levels halving every axis of the dimension while each is even and at least 4
//! ([`multigrid_levels`](crate::numerics::multigrid_levels); the GPU backend's 2D levels are the same).
//! Coarse levels solve for the error with homogeneous conditions of the same kind; the coarsest
//! is solved exactly (banded Cholesky in f64) unless it is too large (`coarsest.rs`).
//!
//! Coarse coefficients: `a` is the mean of the 2^d children; the face conductivities are the
//! weighted arithmetic mean of the fine faces that a linearly prolonged correction crosses
//! (¼, ½, ¼ across the face, the mean along it, see [`restrict_face_coefficients`]), so the coarse
//! operator approximates the Galerkin product of the cycle's own transfers (docs/model.md,
//! "Solves", compares it with the rules tried). A band thinner than a coarse cell converges
//! slowly whatever the rule; [`Multigrid::solve`] hands it to V-cycle-preconditioned CG.
//!
//! In f32 the residual of a source-driven problem has a floor ~ε‖|A||u|‖/‖b‖ (1e-4–2e-3 for the
//! potential at 256²–2048²), and for a floating conductor (k = 1e4 under a no-flux wall) the
//! residual is rounding noise from the first cycle. [`Multigrid::refined`] keeps the
//! iterate and its residual in f64 (the cycles stay f32), which removes that floor; the CPU
//! backend solves the potential with it.
//!
//! All buffers are allocated once: in [`Multigrid::new`], and the refinement's on the first
//! [`Multigrid::refined`]; the kernels live in
//! [`kernels`].

mod coarsest;
mod hierarchy;
pub mod kernels;
mod operator;
mod solve;
mod statistics;
mod stencil;
mod transfers;

pub use crate::numerics::solve_plan::PCG_SWITCH_FACTOR;

use crate::grid::{Grid, Real};
use crate::numerics::{multigrid_levels, Bcs, ResidualStatistics};
use coarsest::CoarsestSolver;
use hierarchy::{Hierarchy, Level};
use kernels::{
    face_coefficients, residual_norms_squared, residual_statistics, restrict_face_coefficients,
    restrict_full_weighting,
};
use solve::check_lengths;

/// V-cycles of [`Multigrid::measure_contraction`]'s power iteration.
const CONTRACTION_CYCLES: usize = 12;
/// A V-cycle contracting slower than this makes [`Multigrid::refined`]'s corrections
/// preconditioned CG from the first (a resolved band: ~0.9; the bare deposit 0.5–0.6).
const SLOW_CONTRACTION: f64 = 0.8;

/// Fine-level vectors of the preconditioned conjugate-gradient solve.
struct Krylov {
    r: Vec<Real>,
    z: Vec<Real>,
    p: Vec<Real>,
    q: Vec<Real>,
}

/// The direction z ≈ A⁻¹1 of [`Multigrid::conserve_mass`]'s projection, and its right-hand side.
struct MassProjection {
    z: Vec<Real>,
    ones: Vec<Real>,
}

/// Fine-level buffers of the mixed-precision refinement ([`Multigrid::refined`]): the f64
/// iterate, its residual and the correction (f32); allocated by the first refined solve.
#[derive(Default)]
struct Refinement {
    u: Vec<f64>,
    r: Vec<Real>,
    e: Vec<Real>,
}

impl Refinement {
    /// Allocates the buffers on first use (a concentration solver never needs them).
    fn allocate(&mut self, cells: usize) {
        if self.u.len() != cells {
            *self = Refinement {
                u: vec![0.0; cells],
                r: vec![0.0; cells],
                e: vec![0.0; cells],
            };
        }
    }
}

/// Geometric multigrid solver; see the module documentation.
pub struct Multigrid {
    hierarchy: Hierarchy,
    krylov: Krylov,
    refinement: Refinement,
    /// a > 0 somewhere: Σ r is mass a solve creates or destroys.
    has_mass_term: bool,
    /// [`Multigrid::solve`] ends by projecting Σ r out (see [`Multigrid::conserve_mass`]).
    conserve_mass: Option<MassProjection>,
    /// See [`Multigrid::set_reference_offset`].
    reference_offset: Real,
    /// See [`Multigrid::set_error_weights`].
    error_weights: Option<Vec<Real>>,
    /// The uniform a every level holds, when set by
    /// [`Multigrid::set_coefficients_with_uniform_a`].
    uniform_a: Option<Real>,
    /// The V-cycle's asymptotic contraction (see [`Multigrid::measure_contraction`]).
    contraction: Option<f64>,
}

impl Multigrid {
    /// Builds the level hierarchy for `grid` (2D when nz = 1). Coefficients start at a = 0,
    /// k = 1 until [`Multigrid::set_coefficients`] is called.
    pub fn new(grid: Grid) -> Multigrid {
        assert!(grid.cells() >= 1, "multigrid needs at least one cell");
        let plan = multigrid_levels(grid);
        let levels: Vec<Level> = plan
            .iter()
            .enumerate()
            .map(|(l, &g)| Level::new(g, l == 0))
            .collect();
        let coarsest = CoarsestSolver::new(&levels[levels.len() - 1].op);
        let fine = || vec![0.0; grid.cells()];
        let mut mg = Multigrid {
            has_mass_term: false,
            conserve_mass: None,
            reference_offset: 0.0,
            error_weights: None,
            uniform_a: None,
            contraction: None,
            hierarchy: Hierarchy { levels, coarsest },
            krylov: Krylov {
                r: fine(),
                z: fine(),
                p: fine(),
                q: fine(),
            },
            refinement: Refinement::default(),
        };
        let (a, k) = (fine(), vec![1.0; grid.cells()]);
        mg.set_coefficients(&a, &k);
        mg
    }

    /// Number of levels, the finest included.
    pub fn levels(&self) -> usize {
        self.hierarchy.levels.len()
    }

    /// The finest level's grid.
    pub fn grid(&self) -> Grid {
        self.hierarchy.levels[0].op.grid
    }

    /// Sets a (≥ 0) and k (> 0) per cell on the finest level and rebuilds the coarse levels.
    pub fn set_coefficients(&mut self, a: &[Real], k: &[Real]) {
        let levels = &mut self.hierarchy.levels;
        let fine = &mut levels[0].op;
        assert_eq!(a.len(), fine.a.len(), "a has the wrong length");
        fine.a.copy_from_slice(a);
        self.has_mass_term = a.iter().any(|&v| v > 0.0);
        self.uniform_a = None;
        face_coefficients(k, fine);
        for l in 1..levels.len() {
            let (head, tail) = levels.split_at_mut(l);
            let (f, c) = (&head[l - 1].op, &mut tail[0].op);
            restrict_full_weighting(f.grid, &f.a, c.grid, &mut c.a);
            restrict_face_coefficients(f, c);
        }
        self.hierarchy.coarsest.built_for = None;
    }

    /// [`Multigrid::set_coefficients`] with a = `a` in every cell (0: the potential, 1/Δt: an
    /// implicit step): every level's a is filled (a uniform a restricts to itself), where a
    /// field would cost a copy, a scan for a > 0 and a restriction per level (~8 ms a solve at
    /// 2048²); the potential's zero a is written only when it changes.
    pub fn set_coefficients_with_uniform_a(&mut self, a: Real, k: &[Real]) {
        let levels = &mut self.hierarchy.levels;
        if self.uniform_a != Some(a) {
            for level in levels.iter_mut() {
                level.op.a.fill(a);
            }
            self.uniform_a = Some(a);
        }
        self.has_mass_term = a > 0.0;
        face_coefficients(k, &mut levels[0].op);
        for l in 1..levels.len() {
            let (head, tail) = levels.split_at_mut(l);
            restrict_face_coefficients(&head[l - 1].op, &mut tail[0].op);
        }
        self.hierarchy.coarsest.built_for = None;
    }

    /// Makes later [`Multigrid::solve`]s conservative. An implicit conservative step
    /// (a u − ∇·k∇u = f, a > 0) conserves mass exactly only if Σ r = 0, but a residual norm of
    /// 1e-6 ‖b‖ leaves |Σ r| up to ~1e-6 Σ|b| (the smooth error a cycle leaves has one sign);
    /// for the concentration, whose ‖b‖ the bulk face's term dominates, that was ~5e-4 of the
    /// ions crossing that face each step.
    ///
    /// So each solve ends with u += κ z, z ≈ A⁻¹1 and κ = Σ r / Σ(A z): that zeroes Σ r
    /// whatever z is, because [`ResidualStatistics::r_sum`] and Σ(A z) are both exact for f32
    /// fields (interior fluxes telescope out of both). With z exact, r changes by −(Σr/N)·1,
    /// its projection off the constant, which lowers ‖r‖. z is recomputed from zero each solve
    /// (so a solve depends on its inputs only) on the coarse levels, then prolonged: its error
    /// in A z only perturbs the projection, by ~|Σ r|/N per cell where A z ≠ 1.
    /// (A uniform shift instead of z fails: a Dirichlet wall absorbs it, and the κ that zeroes
    /// Σ r is below one ulp of u.)
    pub fn conserve_mass(&mut self) {
        let cells = self.grid().cells();
        self.conserve_mass = Some(MassProjection {
            z: vec![0.0; cells],
            ones: vec![1.0; cells],
        });
    }

    /// Weights w ∈ [0, 1] of the error [`Criterion::EstimatedError`] measures, ‖w δ‖∞: how much
    /// the caller's model reads each cell (the potential's: 1 in the electrolyte, h'(ξ)/max h'
    /// in the metal, see `CpuBackend::solve_potential`).
    pub fn set_error_weights(&mut self, weights: &[Real]) {
        assert_eq!(
            weights.len(),
            self.grid().cells(),
            "weights have the wrong length"
        );
        match &mut self.error_weights {
            Some(w) => w.copy_from_slice(weights),
            None => self.error_weights = Some(weights.to_vec()),
        }
    }

    /// The V-cycle's asymptotic contraction ρ of this operator in the weighted norm of
    /// [`Multigrid::set_error_weights`], by power iteration on its error propagation: e from a
    /// fixed pseudo-random start, [`CONTRACTION_CYCLES`] V-cycles of A e = 0 with homogeneous
    /// `bcs`, ρ the largest ratio ‖w e_k‖∞/‖w e_{k−1}‖∞ of the last three. The slowest mode
    /// decides what a stopped solve leaves behind, and the first corrections of a solve do not
    /// show it (their ratio is that of faster modes: 0.27–0.48 against 0.5 at 128², preset
    /// none; ~0.02 against ~0.9 across a resolved band). The caller refreshes it as the
    /// coefficients change (the CPU backend: every `CONTRACTION_REFRESH_STEPS` steps); its
    /// value is part of a checkpoint ([`Multigrid::contraction`]).
    pub fn measure_contraction(&mut self, bcs: Bcs) -> f64 {
        let hom = bcs.homogeneous();
        let layer = self.grid().layer_cells();
        // In the refinement's buffers (no allocation past the first solve): e and a zero f.
        let mut rf = std::mem::take(&mut self.refinement);
        rf.allocate(self.grid().cells());
        let (e, zero) = (&mut rf.e, &mut rf.r);
        zero.fill(0.0);
        // Keyed by (layer, cell within the layer): in 2D the (i, j) of the cell.
        e.iter_mut().enumerate().for_each(|(n, v)| {
            let (i, c) = ((n / layer) as u32, (n % layer) as u32);
            *v = crate::model::noise::uniform_signed(0x5eed, i, c);
        });
        let norm = |mg: &Multigrid, e: &[Real]| -> f64 {
            match &mg.error_weights {
                Some(w) => e
                    .iter()
                    .zip(w)
                    .fold(0.0f64, |m, (&x, &w)| m.max(f64::from(w * x).abs())),
                None => e.iter().fold(0.0f64, |m, &x| m.max(f64::from(x).abs())),
            }
        };
        let mut before = norm(self, e);
        let mut rho = 0.0f64;
        for cycle in 0..CONTRACTION_CYCLES {
            self.hierarchy.v_cycle(e, zero, hom);
            let after = norm(self, e);
            if cycle + 3 >= CONTRACTION_CYCLES && before > 0.0 {
                rho = rho.max(after / before);
            }
            before = after;
        }
        self.refinement = rf;
        self.contraction = Some(rho);
        rho
    }

    /// The last [`Multigrid::measure_contraction`] (None before the first).
    pub fn contraction(&self) -> Option<f64> {
        self.contraction
    }

    pub fn set_contraction(&mut self, rho: Option<f64>) {
        self.contraction = rho;
    }

    /// For a u that stores v − `offset` (the concentration as c/c0 − 1, whose u ≈ 0 on the
    /// bulk face carries c0 − c unrounded): [`Multigrid::solve`] measures ‖r‖ and Σ r (the same
    /// for u and v) against v's right-hand side f + a·offset, walls at g + offset, so that its
    /// tolerance means what it means for v's equation.
    pub fn set_reference_offset(&mut self, offset: Real) {
        self.reference_offset = offset;
    }

    /// ||b − A u||₂ and ||b||₂, with b = f plus the wall terms (f64 accumulation). The
    /// reference offset ([`Multigrid::set_reference_offset`]) is not applied here: for the b of
    /// v = u + offset use [`kernels::right_hand_side_norms`].
    pub fn residual_norms(&self, u: &[Real], f: &[Real], bcs: Bcs) -> (f64, f64) {
        check_lengths(self, u, f);
        let (r2, b2) = residual_norms_squared(&self.hierarchy.levels[0].op, u, f, bcs);
        (r2.sqrt(), b2.sqrt())
    }

    /// All the residual checks of a solve at this u, from one pass (b2 and b_abs_sum without the
    /// reference offset, as in [`Multigrid::residual_norms`]).
    pub fn residual_statistics(&self, u: &[Real], f: &[Real], bcs: Bcs) -> ResidualStatistics {
        check_lengths(self, u, f);
        residual_statistics(&self.hierarchy.levels[0].op, u, f, bcs)
    }

    /// One V(2,2) cycle on the finest level.
    pub fn v_cycle(&mut self, u: &mut [Real], f: &[Real], bcs: Bcs) {
        check_lengths(self, u, f);
        self.hierarchy.v_cycle(u, f, bcs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numerics::Boundary;

    #[test]
    fn single_level_direct_solve_is_exact() {
        for grid in [
            Grid::new(3, 5, 0.1),
            Grid {
                nx: 3,
                ny: 5,
                nz: 3,
                dx: 0.1,
            },
        ] {
            let mut mg = Multigrid::new(grid);
            assert_eq!(mg.levels(), 1);
            let cells = grid.cells();
            let k: Vec<Real> = (0..cells).map(|n| 1.0 + ((n * 7) % 5) as Real).collect();
            let a = vec![0.5; cells];
            mg.set_coefficients(&a, &k);
            let f: Vec<Real> = (0..cells).map(|n| (n % 4) as Real - 1.5).collect();
            let bcs = Bcs {
                x_lo: Boundary::Dirichlet(1.0),
                x_hi: Boundary::Neumann,
            };
            let mut u = vec![0.0; cells];
            mg.v_cycle(&mut u, &f, bcs);
            let (r, b) = mg.residual_norms(&u, &f, bcs);
            println!(
                "{:?} direct solve: expected relative residual < 1e-6, got {:.2e}",
                grid.shape(),
                r / b
            );
            assert!(r / b < 1e-6);
        }
    }
}
