//! The solve vocabulary both backends share: boundary conditions of the solved fields and what
//! a solve reports.

mod boundary;
mod solve_stats;

pub use boundary::{Bcs, Boundary};
pub use solve_stats::{backward_error, relative, ResidualStatistics, SolveStats};
