//! Field guards shared by the backends (issue 4): the bounds outside which a field means the run
//! has blown up, and the error that names the first offending cell.
//!
//! xi may overshoot [0, 1] a little between steps; c may dip below 0 only by round-off on the
//! electrolyte side. Inside the metal (xi ≥ ½) c is the ion content of a phase that holds almost
//! none, and the relaxation of xi towards 1 there draws it a little below zero (seen: −1.1e-4 on
//! the first step); only NaN/Inf count there. φ must be finite.
//!
//! `CpuBackend::check_fields` applies [`healthy`]; the GPU's `check_fields` kernel
//! (shaders/guards.wgsl) gets the same bounds from here.

use crate::error::{Error, Result};
use crate::grid::{Grid, Real};
use crate::model::params::Params;
use crate::model::timestep::BLOW_UP_CAUSES;
use crate::numerics::SolveStats;

/// xi outside [−0.1, 1.1] ends the run.
pub const ORDER_PARAMETER_RANGE: (Real, Real) = (-0.1, 1.1);
/// c below −1e-4 where xi < ½ ends the run.
pub const CONCENTRATION_FLOOR: Real = -1.0e-4;

/// The guarded fields in the order they are checked (the first field with a bad cell is named).
pub const GUARDED_FIELDS: [&str; 3] = ["order_parameter", "concentration", "potential"];

/// Whether a cell of guarded field `field` (an index into [`GUARDED_FIELDS`]) with value `v`
/// and order parameter `xi` is healthy.
pub fn healthy(field: usize, v: Real, xi: Real) -> bool {
    v.is_finite()
        && match field {
            0 => (ORDER_PARAMETER_RANGE.0..=ORDER_PARAMETER_RANGE.1).contains(&v),
            1 => v >= CONCENTRATION_FLOOR || xi >= 0.5,
            _ => true,
        }
}

/// The error of a run that blew up at `step`: `field` = `value` at cell `n` (flat index), named
/// by its (i, j) and position in 2D, (i, j, k) in 3D.
pub fn blown_up(grid: Grid, step: u64, field: &str, value: Real, n: usize) -> Error {
    let [i, j, k] = grid.cell(n);
    let at = |c: usize| (c as f64 + 0.5) * grid.dx;
    let cell = if grid.dimension() == 2 {
        format!(
            "(i = {i}, j = {j}) (x = {:.2} µm, y = {:.2} µm)",
            at(i),
            at(j)
        )
    } else {
        format!(
            "(i = {i}, j = {j}, k = {k}) (x = {:.2} µm, y = {:.2} µm, z = {:.2} µm)",
            at(i),
            at(j),
            at(k)
        )
    };
    Error::Solver {
        step,
        message: format!("{field} = {value} at cell {cell}: {BLOW_UP_CAUSES}"),
    }
}

/// Backward error above which a solve has failed (f32's floor is ~1e-7).
pub const SOLVE_FAILURE: f64 = 1.0e-3;

/// A multigrid solve whose backward error ||r||/(||b|| + |||D||u|||) ended far above the f32
/// floor (above max(1e-3, 1e3 · numerics.concentration_tolerance)), or is NaN, ends the run. A solve
/// that stops above its tolerance on ||r||/||b|| without failing (at the cycle cap, the
/// concentration at its f32 floor, the device's fixed counts) is recorded in metrics.csv and the
/// run goes on.
pub fn check_solves(
    p: &Params,
    step: u64,
    potential: &SolveStats,
    concentration: &SolveStats,
) -> Result<()> {
    for (name, s) in [("potential", potential), ("concentration", concentration)] {
        let failed = !s.residual_rel.is_finite()
            || !s.backward_error.is_finite()
            || s.backward_error > SOLVE_FAILURE.max(1e3 * p.concentration_tolerance);
        if failed {
            return Err(Error::Solver {
                step,
                message: format!(
                    "the {name} solve failed: backward error {:.3e} (relative residual {:.3e}) after {} cycles, far above the f32 floor (numerics.potential_tolerance_v = {:.1e} V, numerics.concentration_tolerance = {:.1e}, cap numerics.solver_max_cycles = {})",
                    s.backward_error, s.residual_rel, s.cycles, p.potential_tolerance_v, p.concentration_tolerance, p.solver_max_cycles
                ),
            });
        }
    }
    Ok(())
}
