//! Field guards shared by the backends (issue 4): the bounds outside which a field means the run
//! has blown up, and the error that names the first offending cell.
//!
//! xi may overshoot [0, 1] a little between steps; c may dip below 0 only by round-off on the
//! electrolyte side. Inside the metal (xi ≥ ½) c is the ion content of a phase that holds almost
//! none, and the relaxation of xi towards 1 there draws it a little below zero (seen: −1.1e-4 on
//! the first step); only NaN/Inf count there. φ must be finite.
//!
//! These are the values of `CpuBackend::check_fields` (src/backend/cpu/mod.rs, which holds its
//! own copies of the two constants for now); the GPU's `check_fields` kernel
//! (shaders/guards.wgsl) gets them from here.

use crate::error::Error;
use crate::grid::{Grid, Real};

/// xi outside [−0.1, 1.1] ends the run.
pub const ORDER_PARAMETER_RANGE: (Real, Real) = (-0.1, 1.1);
/// c below −1e-4 where xi < ½ ends the run.
pub const CONCENTRATION_FLOOR: Real = -1.0e-4;

/// The guarded fields in the order they are checked (the first field with a bad cell is named).
pub const GUARDED_FIELDS: [&str; 3] = ["order_parameter", "concentration", "potential"];

/// The error of a run that blew up at `step`: `field` = `value` at cell `n` (row-major index).
pub fn blown_up(grid: Grid, step: u64, field: &str, value: Real, n: usize) -> Error {
    let (i, j) = (n / grid.ny, n % grid.ny);
    Error::Solver {
        step,
        message: format!(
            "{field} = {value} at cell (i = {i}, j = {j}) (x = {:.2} µm, y = {:.2} µm): the run has blown up; lower numerics.time_step_safety or noise.amplitude_per_s",
            (i as f64 + 0.5) * grid.dx,
            (j as f64 + 0.5) * grid.dx
        ),
    }
}
