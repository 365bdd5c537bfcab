//! A step's report from the scalars the device wrote, or the error that ends the run there, in
//! the CPU backend's order of checks.

use super::GpuBackend;
use crate::backend::gpu::context::step_scalar;
use crate::backend::gpu::multigrid::SolveStatistics;
use crate::backend::StepReport;
use crate::error::{Error, Result};
use crate::model::control::{control_failure, SearchStatus, ShiftSearch};
use crate::model::params::Params;
use crate::model::timestep::Bound;
use crate::numerics::SolveStats;

/// A backward error at most this is the f32 floor (measured 6–7e-8 for the potential).
const F32_FLOOR: f64 = 1e-6;

impl GpuBackend {
    /// The report of step `step` from its scalars (the batch's last solve statistics), or the
    /// error that ends the run there: the CPU backend's checks in its order (a fixed dt above
    /// the stable one, then `blown_up`, the field guard's error if this step failed it), then
    /// non-finite step scalars.
    pub(super) fn report(
        &self,
        point: u32,
        step: u64,
        s: &[f32],
        blown_up: Option<Error>,
        potential_solve: SolveStats,
        concentration_solve: SolveStats,
    ) -> Result<StepReport> {
        let p = &self.run(point).p;
        let slot = |n: u32| s[n as usize] as f64;
        let bits = |n: u32| s[n as usize].to_bits();
        let dt = slot(step_scalar::DT);
        if let Some(fixed) = p.fixed_dt {
            let stable = slot(step_scalar::STABLE_DT);
            if fixed > stable * (1.0 + 1e-6) {
                return Err(Error::Solver {
                    step,
                    message: format!(
                        "numerics.dt_s = {fixed} s is above the stable time step {stable:.4e} s"
                    ),
                });
            }
        }
        // The galvanostatic search: a failure on finite currents first (a blow-up later in
        // the step may be its consequence), a non-finite current after the field guard (which
        // names the blown-up cell), as the CPU backend orders them.
        let control_failure = control_failure_of(p, step, s);
        if let Some((SearchStatus::BeyondLimit | SearchStatus::NotConverged, e)) = control_failure {
            return Err(e);
        }
        if let Some(e) = blown_up {
            return Err(e);
        }
        for (name, value) in [
            ("dt", dt),
            (
                "electrode potential",
                slot(step_scalar::ELECTRODE_POTENTIAL),
            ),
            ("Σ Δxi", slot(step_scalar::DXI_SUM)),
        ] {
            if !value.is_finite() {
                return Err(Error::Solver {
                    step,
                    message: format!(
                        "{name} = {value} on the device: {}",
                        crate::model::timestep::BLOW_UP_CAUSES
                    ),
                });
            }
        }
        if let Some((_, e)) = control_failure {
            return Err(e);
        }
        let velocity = p.velocity_of_change(slot(step_scalar::DXI_SUM), dt);
        Ok(StepReport {
            parasitic_current_a_m2: 0.0,
            at_cutoff: false,
            dt,
            bound: bound_of(bits(step_scalar::TIME_STEP_BOUND)),
            applied_potential_v: slot(step_scalar::ELECTRODE_POTENTIAL),
            current_density_a_m2: p.current_of_velocity(velocity),
            boundary_inflow: slot(step_scalar::BOUNDARY_INFLOW),
            control_iterations: if self.kernels.shift_solve.is_some() {
                bits(step_scalar::CONTROL_EVALUATIONS).saturating_sub(1)
            } else {
                0
            },
            potential_solve,
            concentration_solve,
            lambda_max: p.stiffness_lambda(slot(step_scalar::REACTION_FACTOR_MAX)),
        })
    }
}

/// The galvanostatic search's error of a step of a run of `p` from its scalars `s`, if it did
/// not converge.
fn control_failure_of(p: &Params, step: u64, s: &[f32]) -> Option<(SearchStatus, Error)> {
    {
        let target = p.target_rate_sum()?;
        let slot = |n: u32| s[n as usize] as f64;
        let search = ShiftSearch {
            base: slot(step_scalar::ELECTRODE_BASE),
            shift: slot(step_scalar::CONTROL_SHIFT),
            lo: slot(step_scalar::CONTROL_LO),
            hi: slot(step_scalar::CONTROL_HI),
            reach: slot(step_scalar::CONTROL_REACH),
            step_last: slot(step_scalar::CONTROL_STEP_LAST),
            step_before: slot(step_scalar::CONTROL_STEP_BEFORE),
            evaluations: s[step_scalar::CONTROL_EVALUATIONS as usize].to_bits(),
            residual: slot(step_scalar::CONTROL_RESIDUAL),
            status: SearchStatus::from_code(s[step_scalar::CONTROL_STATUS as usize].to_bits()),
            limit: p.max_overpotential_v,
        };
        if search.status == SearchStatus::Converged {
            return None;
        }
        let e = control_failure(
            step,
            &search,
            target,
            slot(step_scalar::AC_RATE_SUM),
            p.current_of_rate_sum(target),
            |r| p.current_of_rate_sum(r),
        );
        Some((search.status, e))
    }
}

/// The statistics of a device solve of `cycles` cycles; `converged` says whether the relative
/// residual met `tolerance` (the concentration's criterion) or, without one (the potential,
/// whose criterion is an error the device does not estimate), whether the backward error
/// reached the f32 floor.
pub(super) fn solve_stats(s: SolveStatistics, cycles: u32, tolerance: Option<f64>) -> SolveStats {
    let residual_rel = s.residual_rel();
    SolveStats {
        cycles,
        residual_rel,
        converged: match tolerance {
            Some(tol) => residual_rel <= tol,
            None => s.backward_error() <= F32_FLOOR,
        },
        history_first_factor: 0.0,
        mass_defect_rel: s.mass_defect_rel(),
        backward_error: s.backward_error(),
        // The device runs a fixed count and estimates nothing (tests/solves.rs measures it).
        error_estimate: None,
    }
}

fn bound_of(index: u32) -> Bound {
    match index {
        0 => Bound::Gradient,
        1 => Bound::Reaction,
        2 => Bound::Migration,
        3 => Bound::Motion,
        4 => Bound::Cap,
        _ => Bound::Fixed,
    }
}
