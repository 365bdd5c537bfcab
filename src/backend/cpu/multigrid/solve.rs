//! The CPU multigrid's solves: V-cycles to a relative residual, the mixed-precision refined
//! solve to an estimated error, and V-cycle-preconditioned CG.

use rayon::prelude::*;

use super::kernels::*;
use super::{Multigrid, Refinement, SLOW_CONTRACTION};
use crate::grid::Real;
use crate::numerics::solve_plan::{PCG_STALL_ITERATIONS, PCG_SWITCH_FACTOR, STALL_FACTOR};
use crate::numerics::{
    backward_error, relative, Bcs, Criterion, ResidualStatistics, SolvePlan, SolveStats,
};

/// [`Multigrid::refined`] starts with a full-multigrid cycle when the warm start's
/// residual is at least this fraction of ‖b‖ (no better than zero: the interface noise renews
/// the potential's source every step, and its warm start's residual is 1.3–1.4 ‖b‖).
const FULL_MULTIGRID_START: f64 = 0.5;
/// Relative residual to which [`Multigrid::refined`] solves for a correction with CG.
const INNER_TOLERANCE: f64 = 0.05;

impl Multigrid {
    /// Solves A u = f, warm-started from `u`, as `plan` says ([`SolvePlan`]): V-cycles
    /// ([`Multigrid::v_cycles`]), the mixed-precision refinement ([`Multigrid::refined`]) or
    /// preconditioned CG ([`Multigrid::pcg`]).
    pub fn solve(&mut self, u: &mut [Real], f: &[Real], bcs: Bcs, plan: SolvePlan) -> SolveStats {
        match plan {
            SolvePlan::VCycles {
                tolerance,
                max_cycles,
            } => self.v_cycles(u, f, bcs, tolerance, max_cycles),
            SolvePlan::Refined {
                criterion,
                max_cycles,
            } => self.refined(u, f, bcs, criterion, max_cycles),
            SolvePlan::Pcg {
                tolerance,
                max_cycles,
            } => self.pcg(u, f, bcs, tolerance, max_cycles),
        }
    }

    /// Solves to `||b − A u|| ≤ tol ||b||`, warm-started from `u`, in at least one and at most
    /// `max_cycles` cycles: plain V-cycles while each reduces the residual at least 1/[`PCG_SWITCH_FACTOR`]
    /// = 5-fold, then, after a slower one, [`Multigrid::pcg`] from the current `u`. Stops
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
    fn v_cycles(
        &mut self,
        u: &mut [Real],
        f: &[Real],
        bcs: Bcs,
        tol: f64,
        max_cycles: u32,
    ) -> SolveStats {
        check_lengths(self, u, f);
        let layer = self.grid().layer_cells();
        // The residual at u, measured against the right-hand side of v = u + offset.
        let offset_b = (self.reference_offset != 0.0).then(|| {
            let op = &self.hierarchy.levels[0].op;
            right_hand_side_norms(op, f, bcs, self.reference_offset)
        });
        let statistics = |mg: &Multigrid, u: &[Real]| {
            let mut s = mg.residual_statistics(u, f, bcs);
            if let Some((b2, b_abs_sum)) = offset_b {
                (s.b2, s.b_abs_sum) = (b2, b_abs_sum);
            }
            s
        };
        let start = statistics(self, u);
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
            self.hierarchy.v_cycle(u, f, bcs);
            last = statistics(self, u);
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
            self.pcg_iterations(u, f, bcs, tol, max_cycles, reference, &mut stats);
            last = statistics(self, u);
        }
        if self.has_mass_term && self.conserve_mass.is_some() && last.r_sum != 0.0 {
            let kappa = self.mass_projection(bcs, last.r_sum);
            let z = &self.conserve_mass.as_ref().expect("conserving").z;
            add_scaled(u, kappa, z, layer);
            last = statistics(self, u);
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
        self.hierarchy.inverse_of_ones(&mut mp.z, &mp.ones, hom);
        let mass = operator_sum(&self.hierarchy.levels[0].op, &mp.z, hom);
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
    /// δ_k = e_{k−1} − e_k and e_k = δ_k ρ/(1 − ρ)); [`Criterion::EstimatedError`] stops on it.
    /// `u` is warm start and result, rounded to f32 at the end: that rounding (≤ ε/2 relative per cell) is the
    /// solution's only f32 error. `cycles` counts V-cycles (the full-multigrid cycle as one),
    /// one per refinement plus one per inner CG iteration.
    fn refined(
        &mut self,
        u: &mut [Real],
        f: &[Real],
        bcs: Bcs,
        criterion: Criterion,
        max_cycles: u32,
    ) -> SolveStats {
        check_lengths(self, u, f);
        let mut rf = std::mem::take(&mut self.refinement);
        rf.allocate(u.len());
        rf.u.par_iter_mut()
            .zip(&*u)
            .for_each(|(d, &s)| *d = f64::from(s));
        let fine_residual = |mg: &Multigrid, rf: &mut Refinement| {
            let op = &mg.hierarchy.levels[0].op;
            residual_with_statistics(op, &rf.u, f, bcs, &mut rf.r)
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
                self.hierarchy.full_multigrid(&mut rf.e, &rf.r, hom);
            } else if krylov {
                let inner = self.pcg(
                    &mut rf.e,
                    &rf.r,
                    hom,
                    INNER_TOLERANCE,
                    max_cycles - stats.cycles,
                );
                cycles = inner.cycles.max(1);
            } else {
                self.hierarchy.v_cycle(&mut rf.e, &rf.r, hom);
            }
            let weights = self.error_weights.as_deref();
            let correction = add_correction(&mut rf.u, &rf.e, weights);
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
        u.par_iter_mut()
            .zip(&rf.u)
            .for_each(|(d, &s)| *d = s as Real);
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
    fn pcg(
        &mut self,
        u: &mut [Real],
        f: &[Real],
        bcs: Bcs,
        tol: f64,
        max_cycles: u32,
    ) -> SolveStats {
        check_lengths(self, u, f);
        let (mut stats, reference) = self.start_from(&self.residual_statistics(u, f, bcs));
        self.pcg_iterations(u, f, bcs, tol, max_cycles, reference, &mut stats);
        stats.backward_error = backward_error(&self.residual_statistics(u, f, bcs));
        stats.converged = stats.residual_rel <= tol;
        stats
    }

    /// Initial statistics and the norm the residual is measured against, from the statistics
    /// `rs` of the starting guess: the normwise backward error scale ||b|| + || |D| |u| || (D
    /// the diagonal of A, u the starting guess), so that a warm start's tolerance means the
    /// same as a cold one's and stays above the f32 rounding
    /// floor ε || |D| |u| || (a source-driven potential, where ||b|| ≪ ||A u||, would otherwise
    /// never reach 1e-6 in f32). From u = 0 it is the plain ||b||; when both vanish, the initial
    /// residual (then the answer is u = 0 and any u ≠ 0 is reduced relative to itself).
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
        u: &mut [Real],
        f: &[Real],
        bcs: Bcs,
        tol: f64,
        max_cycles: u32,
        reference: f64,
        stats: &mut SolveStats,
    ) {
        let hom = bcs.homogeneous();
        let layer = self.grid().layer_cells();
        let (mut restart, mut rz) = (true, 0.0);
        let (mut best, mut since_best) = (stats.residual_rel, 0);
        while stats.residual_rel > tol
            && stats.cycles < max_cycles
            && since_best < PCG_STALL_ITERATIONS
        {
            let kr = &mut self.krylov;
            let fine = &self.hierarchy.levels[0].op;
            if restart {
                residual(fine, u, f, bcs, &mut kr.r);
            }
            let r_dot_z_old = if restart {
                0.0
            } else {
                dot(&kr.r, &kr.z, layer)
            };
            kr.z.fill(0.0);
            self.hierarchy.v_cycle(&mut kr.z, &kr.r, hom);
            let rz_new = dot(&kr.r, &kr.z, layer);
            if restart {
                kr.p.copy_from_slice(&kr.z);
            } else {
                let beta = ((rz_new - r_dot_z_old) / rz) as Real;
                scale_and_add(&mut kr.p, beta, &kr.z, layer);
            }
            rz = rz_new;
            apply_operator(&self.hierarchy.levels[0].op, &kr.p, hom, &mut kr.q);
            let pq = dot(&kr.p, &kr.q, layer);
            if !(pq > 0.0 && rz > 0.0) {
                break;
            }
            let alpha = (rz / pq) as Real;
            add_scaled(u, alpha, &kr.p, layer);
            add_scaled(&mut kr.r, -alpha, &kr.q, layer);
            let mut now = relative(dot(&kr.r, &kr.r, layer).sqrt(), reference);
            restart = now <= tol;
            if restart {
                // The recursive residual drifts from the true one in f32: check it, and go on
                // from the true residual if that is not yet below tol.
                now = relative(self.residual_norms(u, f, bcs).0, reference);
            }
            record(stats, now);
            if now < STALL_FACTOR * best {
                (best, since_best) = (now, 0);
            } else {
                since_best += 1;
            }
        }
        stats.residual_rel = relative(self.residual_norms(u, f, bcs).0, reference);
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

/// Checks that `u` and `f` hold one value per cell of the finest level.
pub(super) fn check_lengths(mg: &Multigrid, u: &[Real], f: &[Real]) {
    let cells = mg.grid().cells();
    assert_eq!(u.len(), cells, "u has the wrong length");
    assert_eq!(f.len(), cells, "f has the wrong length");
}
