//! The solve vocabulary both backends share: boundary conditions of the solved fields, the
//! multigrid's level plan and what a solve reports.

mod boundary;
mod levels;
pub mod solve_plan;
mod solve_stats;

pub use boundary::{Bcs, Boundary};
pub use levels::multigrid_levels;
pub use solve_plan::{Criterion, DeviceSolve, SolvePlan, StepSolves};
pub use solve_stats::{backward_error, relative, ResidualStatistics, SolveStats};
