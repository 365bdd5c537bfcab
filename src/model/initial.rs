//! Initial conditions (docs/model.md): a planar deposit with optional nuclei (discs in 2D,
//! hemispheres in 3D), the equilibrium tanh profile, c = c0 (1 − h(xi)).

use crate::config::InitialConfig;
use crate::grid::{periodic_distance, Field, Grid, Real};
use crate::model::interphase::interpolation;

/// xi from the signed distance to the deposit surface: ½[1 − tanh(d/(2δ))].
pub fn order_parameter(grid: Grid, delta: f64, init: &InitialConfig) -> Field {
    let ly = grid.ly();
    let centres = nucleus_positions(grid, init);
    let h0 = init.deposit_height_um;
    let r = init.nucleus_radius_um;
    // Nuclei sit at z = Lz/2 (in 2D the one layer's centre): discs in 2D, hemispheres in 3D.
    let (lz, zc) = (grid.lz(), 0.5 * grid.lz());
    grid.field_from_fn(|(i, j, k)| {
        let x = (i as f64 + 0.5) * grid.dx;
        let y = (j as f64 + 0.5) * grid.dx;
        let z = (k as f64 + 0.5) * grid.dx;
        let mut d = x - h0;
        if r > 0.0 {
            // Periodic lateral distance to the nucleus centre on the deposit surface.
            let dz = periodic_distance(z - zc, lz);
            for &yc in &centres {
                let dy = periodic_distance(y - yc, ly);
                let dc = ((x - h0).powi(2) + dy * dy + dz * dz).sqrt() - r;
                d = d.min(dc);
            }
        }
        (0.5 * (1.0 - (d / (2.0 * delta)).tanh())) as Real
    })
}

/// The lateral (y) centres of the nuclei (µm): `initial.nucleus_positions_um`, or one in the
/// middle when it is empty and the radius is positive; none without a radius. In 3D every
/// nucleus is centred at z = Lz/2.
pub fn nucleus_positions(grid: Grid, init: &InitialConfig) -> Vec<f64> {
    if init.nucleus_radius_um <= 0.0 {
        return Vec::new();
    }
    let mut centres = init.nucleus_positions_um.clone();
    if centres.is_empty() {
        centres.push(0.5 * grid.ly());
    }
    centres
}

/// c/c0 = 1 − h(xi).
pub fn concentration(xi: &Field) -> Field {
    xi.mapv(|x| 1.0 - interpolation(x))
}

/// The same as the excess u = c/c0 − 1 = −h(xi), unrounded by the 1 (the CPU backend's state).
pub fn concentration_excess(xi: &Field) -> Field {
    xi.mapv(|x| -interpolation(x))
}
