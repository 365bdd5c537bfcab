//! What a solve is asked to do, the same words for both backends: how it iterates, when it
//! stops and at most how many cycles it may take.

use super::SolveStats;

/// When a refined solve stops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Criterion {
    /// ‖b − A u‖/‖b‖ ≤ tol.
    RelativeResidual(f64),
    /// The estimated error ‖δ‖∞ ρ/(1 − ρ) ≤ tol, in u's unit (the potential: volts).
    EstimatedError(f64),
}

impl Criterion {
    pub fn met(self, stats: &SolveStats) -> bool {
        match self {
            Criterion::RelativeResidual(tol) => stats.residual_rel <= tol,
            Criterion::EstimatedError(tol) => stats.error_estimate.is_some_and(|e| e <= tol),
        }
    }
}

/// A solve of a u − ∇·(k ∇u) = f, warm-started from u.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SolvePlan {
    /// f32 V-cycles to ‖r‖/‖b‖ ≤ `tolerance`, handing over to V-cycle-preconditioned CG after a
    /// slow cycle, ending with the mass projection where one is set (the concentration's).
    VCycles { tolerance: f64, max_cycles: u32 },
    /// Mixed-precision refinement (f64 iterate and residual, f32 corrections) to `criterion`:
    /// past the f32 floor, and the only plan that estimates its error (the potential's).
    Refined {
        criterion: Criterion,
        max_cycles: u32,
    },
    /// V-cycle-preconditioned CG from the start to ‖r‖/‖b‖ ≤ `tolerance`.
    Pcg { tolerance: f64, max_cycles: u32 },
}

impl SolvePlan {
    /// [`SolvePlan::VCycles`].
    pub fn v_cycles(tolerance: f64, max_cycles: u32) -> SolvePlan {
        SolvePlan::VCycles {
            tolerance,
            max_cycles,
        }
    }

    /// [`SolvePlan::Refined`].
    pub fn refined(criterion: Criterion, max_cycles: u32) -> SolvePlan {
        SolvePlan::Refined {
            criterion,
            max_cycles,
        }
    }

    /// [`SolvePlan::Pcg`].
    pub fn pcg(tolerance: f64, max_cycles: u32) -> SolvePlan {
        SolvePlan::Pcg {
            tolerance,
            max_cycles,
        }
    }
}
