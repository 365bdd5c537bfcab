//! Geometric multigrid for the cell-centred, variable-coefficient problem
//!
//! ```text
//!     a(x) u − ∇·( k(x) ∇u ) = f
//! ```
//!
//! on the uniform grid (Δx = Δy), periodic in y, with a Dirichlet or Neumann condition on each x
//! wall. `a = 1/Δt` gives implicit diffusion, `a = 0` the potential. At cell (i, j):
//! `a u − (1/Δx²) Σ_faces k_f (u_nb − u) = f`, with harmonic face conductivities
//! `k_f = 2 k_L k_R/(k_L + k_R)` and a Dirichlet wall coupled over half a cell with the cell's k.
//!
//! The cycle is V(2,2): red-black Gauss–Seidel (red, black; then black, red after the
//! correction), the 4-child average of the residual, bilinear prolongation of the correction
//! with the wall rule of its boundary condition, and coarse levels halving both dimensions while
//! both are even and at least 4. Coarse levels solve for the error with homogeneous conditions of
//! the same kind; the coarsest is solved exactly (banded Cholesky in f64) unless it is too large.
//!
//! Coarse coefficients: `a` is the mean of the 4 children; the face conductivities are the
//! weighted arithmetic mean of the fine faces that a bilinearly prolonged correction crosses
//! (¼, ½, ¼ across the face, ½, ½ along it, see [`restrict_face_coefficients`]), so the coarse
//! operator approximates the Galerkin product of the cycle's own transfers. Mean V-cycle factor
//! from u = 0 to 1e-6 on the deposit geometry of `tests/multigrid.rs` at 64² / 256² / 1024²,
//! against the rules tried:
//!
//! | coarse face rule                         | k = 1e4 metal, 1 | plus a k = 1e-3 band |
//! |------------------------------------------|------------------|----------------------|
//! | this one (¼, ½, ¼)                       | 0.06, 0.06, 0.10 | 0.28, 0.06, 0.10     |
//! | coincident fine faces only               | 0.06, 0.06, 0.10 | 0.48, 0.60, –        |
//! | resistances in series across the spacing | diverges (×13)   | diverges             |
//!
//! Series (harmonic) coarsening makes a coarse cell straddling the metal front resistive, yet
//! the prolongation hands its correction to a metal child, where it fights a 1e4 conductance:
//! the cycle diverges. No rule lets the bilinear prolongation represent the potential jump
//! across a band thinner than a coarse cell: that mode converges at 0.89 per cycle at 64², and
//! [`Multigrid::solve`] hands it to V-cycle-preconditioned CG.
//!
//! In f32 the residual of a source-driven problem has a floor ~ε‖|A||u|‖/‖b‖ (1e-4–2e-3 for the
//! potential at 256²–2048²), and for a floating conductor (k = 1e4 under a no-flux wall) the
//! residual is rounding noise from the first cycle. [`Multigrid::solve_refined`] keeps the
//! iterate and its residual in f64 (the cycles stay f32), which removes that floor; the CPU
//! backend solves the potential with it.
//!
//! All buffers are allocated once: in [`Multigrid::new`], and the refinement's on the first
//! [`Multigrid::solve_refined`]; the kernels live in
//! [`super::multigrid_kernels`].

use ndarray::{Array2, ArrayView2, ArrayViewMut2, CowArray, Ix2};

use super::multigrid_kernels::{
    add_correction, add_scaled, apply_operator, dot, face_coefficients, operator_sum,
    prolong_bilinear, residual, residual_norms_squared, residual_statistics,
    residual_with_statistics, restrict_face_coefficients, restrict_full_weighting,
    right_hand_side_norms, scale_and_add, smooth_red_black_sweep,
};
use crate::grid::{Field, Real};
use crate::numerics::{backward_error, relative, Bcs, Boundary, ResidualStatistics, SolveStats};

/// When [`Multigrid::solve_refined`] stops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Criterion {
    /// ‖b − A u‖/‖b‖ ≤ tol.
    RelativeResidual(f64),
    /// The estimated error ‖δ‖∞ ρ/(1 − ρ) ≤ tol, in u's unit (the potential: volts).
    EstimatedError(f64),
}

impl Criterion {
    fn met(self, stats: &SolveStats) -> bool {
        match self {
            Criterion::RelativeResidual(tol) => stats.residual_rel <= tol,
            Criterion::EstimatedError(tol) => stats.error_estimate.is_some_and(|e| e <= tol),
        }
    }
}

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
/// A cycle that reduces the residual by less than this counts as stalled (f32 floor).
const STALL_FACTOR: f64 = 0.9;
/// [`Multigrid::solve_refined`] starts with a full-multigrid cycle when the warm start's
/// residual is at least this fraction of ‖b‖ (no better than zero: the interface noise renews
/// the potential's source every step, and its warm start's residual is 1.3–1.4 ‖b‖).
const FULL_MULTIGRID_START: f64 = 0.5;
/// In [`Multigrid::solve`], a V-cycle reducing the residual less than 5-fold (but not stalled)
/// hands over to PCG.
pub const PCG_SWITCH_FACTOR: f64 = 0.2;
/// V-cycles of [`Multigrid::measure_contraction`]'s power iteration.
const CONTRACTION_CYCLES: usize = 12;
/// A V-cycle contracting slower than this makes [`Multigrid::solve_refined`]'s corrections
/// preconditioned CG from the first (a resolved band: ~0.9; the bare deposit 0.5–0.6).
const SLOW_CONTRACTION: f64 = 0.8;
/// Relative residual to which [`Multigrid::solve_refined`] solves for a correction with CG.
const INNER_TOLERANCE: f64 = 0.05;
/// PCG stops after this many iterations without a new best residual (its 2-norm is not monotone).
const PCG_STALL_ITERATIONS: u32 = 4;

/// The discrete operator of one level.
struct Operator {
    dx: f64,
    a: Field,
    kx: Field,
    ky: Field,
}

impl Operator {
    fn new(nx: usize, ny: usize, dx: f64) -> Self {
        Operator {
            dx,
            a: Array2::zeros((nx, ny)),
            kx: Array2::zeros((nx + 1, ny)),
            ky: Array2::zeros((nx, ny)),
        }
    }

    /// (a, kx_faces, ky_faces), in kernel argument order.
    fn views(&self) -> [ArrayView2<'_, Real>; 3] {
        [self.a.view(), self.kx.view(), self.ky.view()]
    }

    /// One Gauss–Seidel sweep, colours in the given order (one pass over memory).
    fn sweep(&self, u: ArrayViewMut2<Real>, f: ArrayView2<Real>, bcs: Bcs, order: [usize; 2]) {
        let [a, kx, ky] = self.views();
        smooth_red_black_sweep(u, f, a, kx, ky, bcs, self.dx, order[0]);
    }

    fn residual(&self, u: ArrayView2<Real>, f: ArrayView2<Real>, bcs: Bcs, r: ArrayViewMut2<Real>) {
        let [a, kx, ky] = self.views();
        residual(u, f, a, kx, ky, bcs, self.dx, r);
    }
}

/// One level: its operator and the error/right-hand-side/residual buffers of the cycle.
/// On the finest level `u` and `f` belong to the caller and the local ones stay empty.
struct Level {
    op: Operator,
    u: Field,
    f: Field,
    r: Field,
}

/// Exact solve of the coarsest level: banded Cholesky (bandwidth ny, from the periodic wrap)
/// of the f64 operator, refactored when the kinds of wall condition change.
struct CoarsestSolver {
    /// Lower band, row p holds L[p][p − bw ..= p].
    factor: Vec<f64>,
    /// Which walls (lo, hi) were Dirichlet when `factor` was built; None: not built.
    built_for: Option<[bool; 2]>,
    work: Vec<f64>,
    direct: bool,
}

impl CoarsestSolver {
    fn new(nx: usize, ny: usize) -> Self {
        let n = nx * ny;
        let direct = n.saturating_mul(ny * ny) <= DIRECT_MAX_WORK;
        CoarsestSolver {
            factor: vec![0.0; if direct { n * (ny + 1) } else { 0 }],
            built_for: None,
            work: vec![0.0; if direct { n } else { 0 }],
            direct,
        }
    }

    fn factorise(&mut self, op: &Operator, bcs: Bcs) {
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
    fn solve(
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

fn kinds(bcs: Bcs) -> [bool; 2] {
    [bcs.x_lo, bcs.x_hi].map(|b| matches!(b, Boundary::Dirichlet(_)))
}

/// Fine-level vectors of the preconditioned conjugate-gradient solve.
struct Krylov {
    r: Field,
    z: Field,
    p: Field,
    q: Field,
}

/// The direction z ≈ A⁻¹1 of [`Multigrid::conserve_mass`]'s projection, and its right-hand side.
struct MassProjection {
    z: Field,
    ones: Field,
}

/// Fine-level buffers of the mixed-precision refinement ([`Multigrid::solve_refined`]): the f64
/// iterate, its residual and the correction (f32); allocated by the first refined solve.
#[derive(Default)]
struct Refinement {
    u: Array2<f64>,
    r: Field,
    e: Field,
}

impl Refinement {
    /// Allocates the buffers on first use (a concentration solver never needs them).
    fn allocate(&mut self, shape: (usize, usize)) {
        if self.u.dim() != shape {
            *self = Refinement {
                u: Array2::zeros(shape),
                r: Array2::zeros(shape),
                e: Array2::zeros(shape),
            };
        }
    }
}

/// The levels, finest first, and the exact solver of the last.
struct Hierarchy {
    levels: Vec<Level>,
    coarsest: CoarsestSolver,
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
    error_weights: Option<Field>,
    /// The uniform a every level holds, when set by
    /// [`Multigrid::set_coefficients_with_uniform_a`].
    uniform_a: Option<Real>,
    /// The V-cycle's asymptotic contraction (see [`Multigrid::measure_contraction`]).
    contraction: Option<f64>,
}

impl Multigrid {
    /// Builds the level hierarchy for an `nx × ny` grid of cell size `dx`. Coefficients start at
    /// a = 0, k = 1 until [`Multigrid::set_coefficients`] is called.
    pub fn new(nx: usize, ny: usize, dx: f64) -> Multigrid {
        assert!(nx >= 1 && ny >= 1, "multigrid needs at least one cell");
        let mut dims = vec![(nx, ny, dx)];
        while let Some(&(n, m, h)) = dims.last() {
            if n % 2 != 0 || m % 2 != 0 || n < 4 || m < 4 {
                break;
            }
            dims.push((n / 2, m / 2, 2.0 * h));
        }
        let last = dims.len() - 1;
        let levels = dims
            .iter()
            .enumerate()
            .map(|(l, &(n, m, h))| {
                let own = if l == 0 { (0, 0) } else { (n, m) };
                Level {
                    op: Operator::new(n, m, h),
                    u: Array2::zeros(own),
                    f: Array2::zeros(own),
                    r: Array2::zeros((n, m)),
                }
            })
            .collect();
        let (cn, cm, _) = dims[last];
        let fine = || Array2::zeros((nx, ny));
        let mut mg = Multigrid {
            has_mass_term: false,
            conserve_mass: None,
            reference_offset: 0.0,
            error_weights: None,
            uniform_a: None,
            contraction: None,
            hierarchy: Hierarchy {
                levels,
                coarsest: CoarsestSolver::new(cn, cm),
            },
            krylov: Krylov {
                r: fine(),
                z: fine(),
                p: fine(),
                q: fine(),
            },
            refinement: Refinement::default(),
        };
        let (a, k) = (Array2::zeros((nx, ny)), Array2::ones((nx, ny)));
        mg.set_coefficients(a.view(), k.view());
        mg
    }

    /// Number of levels, the finest included.
    pub fn levels(&self) -> usize {
        self.hierarchy.levels.len()
    }

    /// Sets a (≥ 0) and k (> 0) per cell on the finest level and rebuilds the coarse levels.
    pub fn set_coefficients(&mut self, a: ArrayView2<Real>, k: ArrayView2<Real>) {
        let levels = &mut self.hierarchy.levels;
        let fine = &mut levels[0].op;
        assert_eq!(a.dim(), fine.a.dim(), "a has the wrong shape");
        assert_eq!(k.dim(), fine.a.dim(), "k has the wrong shape");
        fine.a.assign(&a);
        self.has_mass_term = a.iter().any(|&v| v > 0.0);
        self.uniform_a = None;
        let k = k.as_standard_layout();
        face_coefficients(k.view(), fine.kx.view_mut(), fine.ky.view_mut());
        for l in 1..levels.len() {
            let (head, tail) = levels.split_at_mut(l);
            let (f, c) = (&head[l - 1].op, &mut tail[0].op);
            restrict_full_weighting(f.a.view(), c.a.view_mut());
            restrict_face_coefficients(f.kx.view(), f.ky.view(), c.kx.view_mut(), c.ky.view_mut());
        }
        self.hierarchy.coarsest.built_for = None;
    }

    /// [`Multigrid::set_coefficients`] with a = `a` in every cell (0: the potential, 1/Δt: an
    /// implicit step): every level's a is filled (a uniform a restricts to itself), where a
    /// field would cost a copy, a scan for a > 0 and a restriction per level (~8 ms a solve at
    /// 2048²); the potential's zero a is written only when it changes.
    pub fn set_coefficients_with_uniform_a(&mut self, a: Real, k: ArrayView2<Real>) {
        let levels = &mut self.hierarchy.levels;
        if self.uniform_a != Some(a) {
            for level in levels.iter_mut() {
                level.op.a.fill(a);
            }
            self.uniform_a = Some(a);
        }
        self.has_mass_term = a > 0.0;
        let fine = &mut levels[0].op;
        assert_eq!(k.dim(), fine.a.dim(), "k has the wrong shape");
        let k = k.as_standard_layout();
        face_coefficients(k.view(), fine.kx.view_mut(), fine.ky.view_mut());
        for l in 1..levels.len() {
            let (head, tail) = levels.split_at_mut(l);
            let (f, c) = (&head[l - 1].op, &mut tail[0].op);
            restrict_face_coefficients(f.kx.view(), f.ky.view(), c.kx.view_mut(), c.ky.view_mut());
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
        let shape = self.hierarchy.levels[0].op.a.dim();
        self.conserve_mass = Some(MassProjection {
            z: Array2::zeros(shape),
            ones: Array2::ones(shape),
        });
    }

    /// Weights w ∈ [0, 1] of the error [`Criterion::EstimatedError`] measures, ‖w δ‖∞: how much
    /// the caller's model reads each cell (the potential's: 1 in the electrolyte, h'(ξ)/max h'
    /// in the metal, see `CpuBackend::solve_potential`).
    pub fn set_error_weights(&mut self, weights: ArrayView2<Real>) {
        match &mut self.error_weights {
            Some(w) => w.assign(&weights),
            None => self.error_weights = Some(weights.to_owned()),
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
        // In the refinement's buffers (no allocation past the first solve): e and a zero f.
        let mut rf = std::mem::take(&mut self.refinement);
        rf.allocate(self.hierarchy.levels[0].op.a.dim());
        let (e, zero) = (&mut rf.e, &mut rf.r);
        zero.fill(0.0);
        e.indexed_iter_mut().for_each(|((i, j), v)| {
            *v = crate::model::noise::uniform_signed(0x5eed, i as u32, j as u32);
        });
        let norm = |mg: &Multigrid, e: &Field| -> f64 {
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
            self.hierarchy.v_cycle(e.view_mut(), zero.view(), hom);
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
    /// v = u + offset use [`super::multigrid_kernels::right_hand_side_norms`].
    pub fn residual_norms(&self, u: ArrayView2<Real>, f: ArrayView2<Real>, bcs: Bcs) -> (f64, f64) {
        let op = &self.hierarchy.levels[0].op;
        let (u, f) = (u.as_standard_layout(), f.as_standard_layout());
        let [a, kx, ky] = op.views();
        let (r2, b2) = residual_norms_squared(u.view(), f.view(), a, kx, ky, bcs, op.dx);
        (r2.sqrt(), b2.sqrt())
    }

    /// All the residual checks of a solve at this u, from one pass (b2 and b_abs_sum without the
    /// reference offset, as in [`Multigrid::residual_norms`]).
    pub fn residual_statistics(
        &self,
        u: ArrayView2<Real>,
        f: ArrayView2<Real>,
        bcs: Bcs,
    ) -> ResidualStatistics {
        let op = &self.hierarchy.levels[0].op;
        let (u, f) = (u.as_standard_layout(), f.as_standard_layout());
        let [a, kx, ky] = op.views();
        residual_statistics(u.view(), f.view(), a, kx, ky, bcs, op.dx)
    }

    /// One V(2,2) cycle on the finest level.
    pub fn v_cycle(&mut self, u: &mut Field, f: ArrayView2<Real>, bcs: Bcs) {
        let f = prepare(self, u, f);
        self.hierarchy.v_cycle(u.view_mut(), f.view(), bcs);
    }

    /// Solves to `||b − A u|| ≤ tol ||b||`, warm-started from `u`, in at least one and at most
    /// `max_cycles` cycles: plain V-cycles while each reduces the residual at least 1/[`PCG_SWITCH_FACTOR`]
    /// = 5-fold, then, after a slower one, [`Multigrid::solve_pcg`] from the current `u`. Stops
    /// early once the residual no longer falls (the f32 floor: ~ε λ_max/λ_min of the smooth
    /// part, 1e-5 to 1e-4 for k = 1 at 64²–256², below 1e-6 for the deposit cases);
    /// `converged` says whether `tol` was met. The residual is dominated by high-k cells and by
    /// the Dirichlet wall terms, so where the solution matters in low-k or low-a regions ask for
    /// a smaller `tol` (tests/multigrid.rs uses 1e-9 for implicit diffusion with dt = 1e3).
    ///
    /// Measured from u = 0 to 1e-6 (mean factor per cycle) on the deposit geometry: k = 1e4 |
    /// 1, V-cycles only, 0.061 / 0.061 / 0.096 at 64² / 256² / 1024² (5, 5, 6 cycles); with
    /// the k = 1e-3 band, 0.164 at 64² (5 V-cycles, 3 PCG; V-cycles alone 0.28, 11 cycles) and
    /// V-cycles only, 0.062 / 0.096, at 256² / 1024².
    pub fn solve(
        &mut self,
        u: &mut Field,
        f: ArrayView2<Real>,
        bcs: Bcs,
        tol: f64,
        max_cycles: u32,
    ) -> SolveStats {
        let f = prepare(self, u, f);
        // The residual at u, measured against the right-hand side of v = u + offset.
        let offset_b = (self.reference_offset != 0.0).then(|| {
            let op = &self.hierarchy.levels[0].op;
            let [a, kx, _] = op.views();
            right_hand_side_norms(f.view(), a, kx, bcs, op.dx, self.reference_offset)
        });
        let statistics = |mg: &Multigrid, u: ArrayView2<Real>| {
            let mut s = mg.residual_statistics(u, f.view(), bcs);
            if let Some((b2, b_abs_sum)) = offset_b {
                (s.b2, s.b_abs_sum) = (b2, b_abs_sum);
            }
            s
        };
        let start = statistics(self, u.view());
        let (mut stats, reference) = self.start_from(&start);
        let mut last = start;
        let (mut stalled, mut slow) = (0, false);
        // At least one cycle unless the residual is 0: a warm start that already meets `tol`
        // (the concentration's, whose ‖b‖ the c0/Δt term dominates) would otherwise leave the
        // step's change of u to the mass projection alone.
        while (stats.residual_rel > tol || (stats.cycles == 0 && start.r2 > 0.0))
            && stats.cycles < max_cycles
            && stalled < 2
            && !slow
        {
            self.hierarchy.v_cycle(u.view_mut(), f.view(), bcs);
            last = statistics(self, u.view());
            stats.backward_error = backward_error(&last);
            let factor = record(&mut stats, relative(last.r2.sqrt(), reference));
            stalled = if factor > STALL_FACTOR {
                stalled + 1
            } else {
                0
            };
            slow = factor > PCG_SWITCH_FACTOR && factor <= STALL_FACTOR;
        }
        if slow && stats.residual_rel > tol {
            self.pcg_iterations(u, f.view(), bcs, tol, max_cycles, reference, &mut stats);
            last = statistics(self, u.view());
        }
        if self.has_mass_term && self.conserve_mass.is_some() && last.r_sum != 0.0 {
            let kappa = self.mass_projection(bcs, last.r_sum);
            let z = &self.conserve_mass.as_ref().expect("conserving").z;
            add_scaled(u.view_mut(), kappa, z.view());
            last = statistics(self, u.view());
            stats.residual_rel = relative(last.r2.sqrt(), reference);
        }
        stats.mass_defect_rel = self.mass_defect(&last);
        stats.backward_error = backward_error(&last);
        stats.converged = stats.residual_rel <= tol;
        stats
    }

    /// Computes z ≈ A⁻¹1 and returns κ = r_sum / Σ(A z), the multiple of z that takes `r_sum`
    /// off the residual's sum ([`Multigrid::conserve_mass`]).
    fn mass_projection(&mut self, bcs: Bcs, r_sum: f64) -> Real {
        let hom = bcs.homogeneous();
        let mp = self.conserve_mass.as_mut().expect("conserving");
        // From zero every time: a solve depends on its inputs only (a resumed run repeats the
        // uninterrupted one bit for bit).
        self.hierarchy
            .inverse_of_ones(mp.z.view_mut(), mp.ones.view(), hom);
        let op = &self.hierarchy.levels[0].op;
        let [a, kx, _] = op.views();
        let mass = operator_sum(mp.z.view(), a, kx, hom, op.dx);
        if mass > 0.0 {
            (r_sum / mass) as Real
        } else {
            0.0
        }
    }

    /// Solves A u = f to `criterion` by mixed-precision iterative refinement: the iterate is
    /// kept in f64 and its residual b − A u computed in f64; each refinement solves A e = r for
    /// the correction in f32 and adds it in f64, so ‖r‖/‖b‖ falls by the cycle's factor every
    /// refinement down to f64 levels instead of stalling at the f32 floor ~ε·cond(A) (2e-4 at
    /// 512², 2e-3 at 2048² for the potential). The first correction is a full-multigrid cycle
    /// ([`Hierarchy::full_multigrid`]) when the warm start is no better than zero (its residual
    /// ≥ [`FULL_MULTIGRID_START`] ‖b‖), else a V-cycle; the later ones V-cycles from e = 0, or,
    /// once a cycle reduces the residual less than 1/[`PCG_SWITCH_FACTOR`]-fold, V-cycle-
    /// preconditioned CG to [`INNER_TOLERANCE`].
    ///
    /// After each correction δ but a full-multigrid one the solve records the contraction ρ, the
    /// ratio ‖δ_k‖/‖δ_{k−1}‖ of two successive corrections or at least the V-cycle's asymptotic
    /// one ([`Multigrid::measure_contraction`], which also sends a slowly contracting operator to
    /// CG from the first correction; ‖·‖ = ‖w ·‖∞ with [`Multigrid::set_error_weights`]) and
    /// the error estimate ‖δ_k‖∞ ρ/(1 − ρ) (for a contraction e_k = ρ e_{k−1},
    /// δ_k = e_{k−1} − e_k and e_k = δ_k ρ/(1 − ρ)); [`Criterion::EstimatedError`] stops on it. `u` is warm start and
    /// result, rounded to f32 at the end: that rounding (≤ ε/2 relative per cell) is the
    /// solution's only f32 error. `cycles` counts V-cycles (the full-multigrid cycle as one),
    /// one per refinement plus one per inner CG iteration.
    pub fn solve_refined(
        &mut self,
        u: &mut Field,
        f: ArrayView2<Real>,
        bcs: Bcs,
        criterion: Criterion,
        max_cycles: u32,
    ) -> SolveStats {
        let f = prepare(self, u, f);
        let mut rf = std::mem::take(&mut self.refinement);
        rf.allocate(u.dim());
        ndarray::Zip::from(&mut rf.u)
            .and(&*u)
            .par_for_each(|d, &s| *d = f64::from(s));
        let fine_residual = |mg: &Multigrid, rf: &mut Refinement| {
            let op = &mg.hierarchy.levels[0].op;
            let [a, kx, ky] = op.views();
            residual_with_statistics(
                rf.u.view(),
                f.view(),
                a,
                kx,
                ky,
                bcs,
                op.dx,
                rf.r.view_mut(),
            )
        };
        let start = fine_residual(self, &mut rf);
        let (mut stats, reference) = self.start_from(&start);
        let full_multigrid = start.r2.sqrt() >= FULL_MULTIGRID_START * start.b2.sqrt();
        // Nothing to correct (a zero source on a zero warm start): the error is 0.
        stats.error_estimate = (start.r2 == 0.0).then_some(0.0);
        let hom = bcs.homogeneous();
        let mut krylov = self.contraction.is_some_and(|rho| rho > SLOW_CONTRACTION);
        let (mut previous_correction, mut stalled) = (None, 0);
        // A non-finite residual (a blown-up field in f or the coefficients) ends the solve at
        // once: cycles would spread the NaN over the whole field (the coarsest level's direct
        // solve couples every cell), where the field guards should name the cell it came from.
        while !criterion.met(&stats)
            && stats.residual_rel.is_finite()
            && stats.cycles < max_cycles
            && stalled < 2
        {
            rf.e.fill(0.0);
            let mut cycles = 1;
            let of_full_multigrid = full_multigrid && stats.cycles == 0;
            if of_full_multigrid {
                self.hierarchy
                    .full_multigrid(rf.e.view_mut(), rf.r.view(), hom);
            } else if krylov {
                let inner = self.solve_pcg(
                    &mut rf.e,
                    rf.r.view(),
                    hom,
                    INNER_TOLERANCE,
                    max_cycles - stats.cycles,
                );
                cycles = inner.cycles.max(1);
            } else {
                self.hierarchy.v_cycle(rf.e.view_mut(), rf.r.view(), hom);
            }
            let weights = self.error_weights.as_ref().map(|w| w.view());
            let correction = add_correction(rf.u.view_mut(), rf.e.view(), weights);
            let rs = fine_residual(self, &mut rf);
            stats.mass_defect_rel = self.mass_defect(&rs);
            stats.backward_error = backward_error(&rs);
            let factor = record(&mut stats, relative(rs.r2.sqrt(), reference));
            stats.cycles += cycles - 1;
            // ρ: the ratio of two successive corrections of the iteration (the full-multigrid
            // one is no step of it), at least the V-cycle's asymptotic contraction when it is
            // known (the first corrections show faster modes than the slowest, which is what
            // a stopped solve leaves). The residual's ratio would not do: high-k cells and rough
            // modes dominate ‖r‖ (it fell 8× faster than the error left in φ, tests/solves.rs).
            let measured = previous_correction.map(|p: f64| correction / p);
            // (A CG correction contracts faster than a V-cycle: the V-cycle's ρ bounds it too.)
            let asymptotic = self.contraction;
            let contraction = match (of_full_multigrid, measured, asymptotic) {
                (true, _, _) => None,
                (false, Some(m), Some(a)) => Some(m.max(a)),
                (false, m, a) => m.or(a),
            };
            stats.error_estimate = match contraction {
                _ if rs.r2 == 0.0 => Some(0.0),
                Some(rho) if rho < 1.0 => Some(correction * rho / (1.0 - rho)),
                _ => None,
            };
            previous_correction = (!of_full_multigrid).then_some(correction);
            stalled = if factor > STALL_FACTOR {
                stalled + 1
            } else {
                0
            };
            krylov |= factor > PCG_SWITCH_FACTOR;
        }
        ndarray::Zip::from(&mut *u)
            .and(&rf.u)
            .par_for_each(|d, &s| *d = s as Real);
        self.refinement = rf;
        stats.converged = criterion.met(&stats);
        stats
    }

    /// |Σ (b − A u)| / Σ |b| when the operator has a mass term (a > 0 somewhere: an implicit
    /// conservative step, where Σ r is mass created per step), else 0.
    fn mass_defect(&self, rs: &ResidualStatistics) -> f64 {
        if self.has_mass_term && rs.b_abs_sum > 0.0 {
            rs.r_sum.abs() / rs.b_abs_sum
        } else {
            0.0
        }
    }

    /// Flexible conjugate gradients preconditioned by one V-cycle per iteration. The operator
    /// is symmetric positive definite; the cycle nearly so (its restriction is not the transpose
    /// of the prolongation and its coarse operators are not Galerkin), which the flexible
    /// β = r·(z − z_old)/(r_old·z_old) tolerates. Same contract as [`Multigrid::solve`];
    /// `cycles` counts iterations. CG minimises the energy norm of the error, so the residual
    /// 2-norm, which high-k cells dominate, falls unevenly (it can rise up to 4× in one
    /// iteration) and on average more slowly than with plain V-cycles: from u = 0 to 1e-6 on
    /// the deposit geometry, mean factors 0.086 / 0.126 / 0.175 (k = 1e4 | 1) and 0.166 /
    /// 0.241 / 0.280 (with the 1e-3 band) at 64² / 256² / 1024². Its gain is on the modes the
    /// V-cycle cannot reduce, which is how [`Multigrid::solve`] uses it.
    pub fn solve_pcg(
        &mut self,
        u: &mut Field,
        f: ArrayView2<Real>,
        bcs: Bcs,
        tol: f64,
        max_cycles: u32,
    ) -> SolveStats {
        let f = prepare(self, u, f);
        let (mut stats, reference) = self.start(u, f.view(), bcs);
        self.pcg_iterations(u, f.view(), bcs, tol, max_cycles, reference, &mut stats);
        stats.backward_error = backward_error(&self.residual_statistics(u.view(), f.view(), bcs));
        stats.converged = stats.residual_rel <= tol;
        stats
    }

    /// Initial statistics and the norm the residual is measured against: the normwise backward
    /// error scale ||b|| + || |D| |u| || (D the diagonal of A, u the starting guess), so that a
    /// warm start's tolerance means the same as a cold one's and stays above the f32 rounding
    /// floor ε || |D| |u| || (a source-driven potential, where ||b|| ≪ ||A u||, would otherwise
    /// never reach 1e-6 in f32). From u = 0 it is the plain ||b||; when both vanish, the initial
    /// residual (then the answer is u = 0 and any u ≠ 0 is reduced relative to itself).
    fn start(&self, u: &Field, f: ArrayView2<Real>, bcs: Bcs) -> (SolveStats, f64) {
        self.start_from(&self.residual_statistics(u.view(), f, bcs))
    }

    /// [`Multigrid::start`] from the statistics of the starting guess.
    fn start_from(&self, rs: &ResidualStatistics) -> (SolveStats, f64) {
        let (r0, b) = (rs.r2.sqrt(), rs.b2.sqrt());
        let reference = if b > 0.0 { b } else { r0 };
        (
            SolveStats {
                residual_rel: relative(r0, reference),
                mass_defect_rel: self.mass_defect(rs),
                backward_error: backward_error(rs),
                ..Default::default()
            },
            reference,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn pcg_iterations(
        &mut self,
        u: &mut Field,
        f: ArrayView2<Real>,
        bcs: Bcs,
        tol: f64,
        max_cycles: u32,
        reference: f64,
        stats: &mut SolveStats,
    ) {
        let hom = bcs.homogeneous();
        let (mut restart, mut rz) = (true, 0.0);
        let (mut best, mut since_best) = (stats.residual_rel, 0);
        while stats.residual_rel > tol
            && stats.cycles < max_cycles
            && since_best < PCG_STALL_ITERATIONS
        {
            let kr = &mut self.krylov;
            if restart {
                let fine = &self.hierarchy.levels[0].op;
                fine.residual(u.view(), f, bcs, kr.r.view_mut());
            }
            let r_dot_z_old = if restart {
                0.0
            } else {
                dot(kr.r.view(), kr.z.view())
            };
            kr.z.fill(0.0);
            self.hierarchy.v_cycle(kr.z.view_mut(), kr.r.view(), hom);
            let rz_new = dot(kr.r.view(), kr.z.view());
            if restart {
                kr.p.assign(&kr.z);
            } else {
                scale_and_add(
                    kr.p.view_mut(),
                    ((rz_new - r_dot_z_old) / rz) as Real,
                    kr.z.view(),
                );
            }
            rz = rz_new;
            let op = &self.hierarchy.levels[0].op;
            let [a, kx, ky] = op.views();
            apply_operator(kr.p.view(), a, kx, ky, hom, op.dx, kr.q.view_mut());
            let pq = dot(kr.p.view(), kr.q.view());
            if !(pq > 0.0 && rz > 0.0) {
                break;
            }
            let alpha = (rz / pq) as Real;
            add_scaled(u.view_mut(), alpha, kr.p.view());
            add_scaled(kr.r.view_mut(), -alpha, kr.q.view());
            let mut now = relative(dot(kr.r.view(), kr.r.view()).sqrt(), reference);
            restart = now <= tol;
            if restart {
                // The recursive residual drifts from the true one in f32: check it, and go on
                // from the true residual if that is not yet below tol.
                now = relative(self.residual_norms(u.view(), f, bcs).0, reference);
            }
            record(stats, now);
            if now < STALL_FACTOR * best {
                (best, since_best) = (now, 0);
            } else {
                since_best += 1;
            }
        }
        stats.residual_rel = relative(self.residual_norms(u.view(), f, bcs).0, reference);
    }
}

/// Counts a cycle that brought the relative residual to `now`; returns its reduction factor.
fn record(stats: &mut SolveStats, now: f64) -> f64 {
    let factor = if stats.residual_rel > 0.0 {
        now / stats.residual_rel
    } else {
        0.0
    };
    stats.cycles += 1;
    if stats.cycles == 1 {
        stats.history_first_factor = factor;
    }
    stats.residual_rel = now;
    factor
}

/// Checks the shapes and makes `u` and `f` row-major, as the kernels (and GPU buffers) need.
fn prepare<'a>(mg: &Multigrid, u: &mut Field, f: ArrayView2<'a, Real>) -> CowArray<'a, Real, Ix2> {
    let shape = mg.hierarchy.levels[0].op.a.dim();
    assert_eq!(u.dim(), shape, "u has the wrong shape");
    assert_eq!(f.dim(), shape, "f has the wrong shape");
    if !u.is_standard_layout() {
        *u = u.as_standard_layout().into_owned();
    }
    if f.is_standard_layout() {
        CowArray::from(f)
    } else {
        CowArray::from(f.as_standard_layout().into_owned())
    }
}

impl Hierarchy {
    /// V(2,2) cycle: down the levels smoothing and restricting residuals, solve the coarsest
    /// exactly, back up adding bilinear corrections and smoothing. Written as two loops (no
    /// recursion) so the GPU backend can issue the same sequence of kernel dispatches.
    fn v_cycle(&mut self, u0: ArrayViewMut2<Real>, f0: ArrayView2<Real>, bcs: Bcs) {
        self.cycle_from(0, u0, f0, bcs);
    }

    /// The V-cycle of levels `first`.. (u0, f0: the finest level's u and f, used only when
    /// `first` = 0; coarser levels cycle on their own `u` and `f`).
    fn cycle_from(
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
    fn full_multigrid(&mut self, mut u0: ArrayViewMut2<Real>, f0: ArrayView2<Real>, bcs: Bcs) {
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
    fn inverse_of_ones(&mut self, mut z: ArrayViewMut2<Real>, ones: ArrayView2<Real>, hom: Bcs) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_level_direct_solve_is_exact() {
        let (nx, ny) = (3, 5);
        let mut mg = Multigrid::new(nx, ny, 0.1);
        assert_eq!(mg.levels(), 1);
        let k = Array2::from_shape_fn((nx, ny), |(i, j)| 1.0 + ((i * 7 + j * 3) % 5) as Real);
        let a = Array2::from_elem((nx, ny), 0.5);
        mg.set_coefficients(a.view(), k.view());
        let f = Array2::from_shape_fn((nx, ny), |(i, j)| i as Real - j as Real);
        let bcs = Bcs {
            x_lo: Boundary::Dirichlet(1.0),
            x_hi: Boundary::Neumann,
        };
        let mut u = Array2::zeros((nx, ny));
        mg.v_cycle(&mut u, f.view(), bcs);
        let (r, b) = mg.residual_norms(u.view(), f.view(), bcs);
        println!(
            "direct solve: expected relative residual < 1e-6, got {:.2e}",
            r / b
        );
        assert!(r / b < 1e-6);
    }

    #[test]
    fn levels_halve_while_even() {
        for ((nx, ny), expected) in [((64, 64), 6), ((96, 64), 6), ((6, 8), 2), ((5, 8), 1)] {
            let got = Multigrid::new(nx, ny, 1.0).levels();
            println!("{nx}×{ny}: expected {expected} levels, got {got}");
            assert_eq!(got, expected);
        }
    }
}
