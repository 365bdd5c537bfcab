//! What a solve is asked to do, the same words for both backends: how it iterates, when it
//! stops and at most how many cycles it may take; the rules its iterations follow (the switch to
//! PCG, the stall tests); and the two solves of a step ([`StepSolves`]), from which the CPU runs
//! its plans and the device takes its fixed counts ([`SolvePlan::device`]).

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

/// Red-black Gauss–Seidel sweeps of a V(2,2) cycle before and after the coarse-grid correction
/// (red then black down, black then red up), on both backends.
pub const PRE_SWEEPS: usize = 2;
pub const POST_SWEEPS: usize = 2;
/// A V-cycle that reduces the residual less than 5-fold (but not stalled) hands over to PCG.
pub const PCG_SWITCH_FACTOR: f64 = 0.2;
/// A cycle that reduces the residual by less than this counts as stalled (the f32 floor).
pub const STALL_FACTOR: f64 = 0.9;
/// PCG stops after this many iterations without a new best residual (its 2-norm is not
/// monotone).
pub const PCG_STALL_ITERATIONS: u32 = 4;

/// The device's potential solve: preconditioned CG iterations per step. The device reads
/// nothing back inside a step, so it cannot test a stopping rule; and WGSL has no portable f64,
/// so the CPU's refinement past the f32 floor becomes PCG to that floor: six iterations reach
/// it from a warm start (README, GPU backend; tests/solves.rs).
pub const DEVICE_POTENTIAL_PCG_ITERATIONS: u32 = 6;
/// The device's concentration solve: V-cycles per step (at least the CPU's one; its ‖r‖/‖b‖
/// is 1.3e-7–1.7e-6 after the first steps). Four, not three: the zeolite demo's first step
/// (Δt = 13.5 s, the largest of the run) left c/c0 3.6e-3 from the CPU's after three cycles and
/// moved η at the second step by 1.2e-3 of its scale; four leave 7.3e-4 and 2.4e-4 (64²).
pub const DEVICE_CONCENTRATION_CYCLES: u32 = 4;

/// What the device runs for a plan: a fixed count, no stopping rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceSolve {
    /// V-cycles, then the mass projection where one is set.
    VCycles { cycles: u32 },
    /// V-cycle-preconditioned CG iterations.
    Pcg { iterations: u32 },
}

impl DeviceSolve {
    /// The cycles or iterations it runs (metrics.csv's cycle count).
    pub fn count(self) -> u32 {
        match self {
            DeviceSolve::VCycles { cycles } => cycles,
            DeviceSolve::Pcg { iterations } => iterations,
        }
    }
}

/// The two solves of a step, for both backends: the potential (refined to an estimated error
/// in volts) and the concentration (V-cycles to a relative residual, mass-projected).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepSolves {
    pub potential: SolvePlan,
    pub concentration: SolvePlan,
}

impl StepSolves {
    /// The solves of a run with these tolerances and cycle cap (`numerics` in the config).
    pub fn new(potential_tolerance_v: f64, concentration_tolerance: f64, max_cycles: u32) -> Self {
        StepSolves {
            potential: SolvePlan::refined(
                Criterion::EstimatedError(potential_tolerance_v),
                max_cycles,
            ),
            concentration: SolvePlan::v_cycles(concentration_tolerance, max_cycles),
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

    /// The fixed count the device runs for this plan: a refined or PCG plan as PCG to the f32
    /// floor ([`DEVICE_POTENTIAL_PCG_ITERATIONS`]), V-cycles as
    /// [`DEVICE_CONCENTRATION_CYCLES`] V-cycles; never more than the plan's cap.
    pub fn device(&self) -> DeviceSolve {
        match *self {
            SolvePlan::VCycles { max_cycles, .. } => DeviceSolve::VCycles {
                cycles: DEVICE_CONCENTRATION_CYCLES.min(max_cycles.max(1)),
            },
            SolvePlan::Refined { max_cycles, .. } | SolvePlan::Pcg { max_cycles, .. } => {
                DeviceSolve::Pcg {
                    iterations: DEVICE_POTENTIAL_PCG_ITERATIONS.min(max_cycles.max(1)),
                }
            }
        }
    }
}
