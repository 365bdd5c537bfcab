//! The reaction part of ∂xi/∂t (E1's Butler–Volmer term) and what the step derives from it:
//! twins of the `reaction_field` and `reaction_maxima` kernels of shaders/order_parameter.wgsl.
//!
//! A step evaluates the reaction field once under potentiostatic control and once per
//! evaluation of the galvanostatic search (`model::control::ShiftSearch`): each evaluation writes
//! the field at its E and returns the sums the search needs, so the last one, at the controlled
//! E, is the field the update uses (no separate evaluation after the search).

use super::layer_cells;
use crate::grid::Real;
use crate::model::coefficients::{OrderParameterConstants, INTERFACE_THRESHOLD};
use crate::model::interphase::interpolation_prime;
use crate::model::kinetics::bv_through_resistance;
use rayon::prelude::*;

/// Butler–Volmer part of ∂xi/∂t at one cell, −L_η h'(xi) m (1−p_b) a_k B_eff(E − φ, c), and its
/// derivative with respect to the electrode potential E (η_a = E − φ: metal minus local electrolyte
/// potential; the equilibrium potential enters through the c term of B).
#[inline]
#[allow(clippy::too_many_arguments)]
pub fn reaction_rate(
    k: &OrderParameterConstants,
    xi: Real,
    c: Real,
    phi: Real,
    electrode: Real,
    kinetic_factor: Real,
    asr: Real,
    blocked: Real,
) -> (Real, Real) {
    let hp = interpolation_prime(xi);
    if hp < INTERFACE_THRESHOLD || blocked >= 1.0 {
        return (0.0, 0.0);
    }
    let scale = k.exchange_multiplier * kinetic_factor;
    // a_k scales the whole interfacial conductance, the layer's (1/ASR) with the exchange
    // current: orientation-dependent attachment through the interphase still shapes the deposit
    // when the layer's resistance, not the charge transfer, limits the current.
    let (b, db) = bv_through_resistance(
        k.bv,
        electrode - phi,
        c.max(0.0),
        asr / kinetic_factor,
        k.i0 * scale,
    );
    let prefactor = -k.l_eta * hp * scale * (1.0 - blocked);
    (prefactor * b, prefactor * db)
}

/// An inert collector under the field (`cycling.collector = "inert"`): metal plated on it strips,
/// the collector does not. Its own profile (the initial xi) is the floor, and a cell gives up at
/// most what it holds above the floor in the step to come (at most `1/inv_max_dt` long): a
/// dissolution rate is capped at −(ξ − ξ_floor)/dt_max. So the galvanostatic search raises E as
/// the plated metal thins, and once it is spent no E within the cut-off passes the current.
#[derive(Debug, Clone, Copy)]
pub struct CollectorFloor<'a> {
    pub profile: &'a [Real],
    pub inv_max_dt: Real,
}

impl CollectorFloor<'_> {
    /// The most negative ∂xi/∂t cell `n` (at `xi`) may take.
    #[inline]
    pub fn cap(&self, n: usize, xi: Real) -> Real {
        -(xi - self.profile[n]).max(0.0) * self.inv_max_dt
    }
}

/// The reaction part of ∂xi/∂t at electrode potential E (c/c0 = 1 + `excess`) on the interface
/// cells (`cells`, ascending, from `interface_cells`), written into `bv_rate`, and its sums
/// (Σ rate, Σ ∂rate/∂E) for the galvanostatic search. Every other cell of `bv_rate` must hold 0
/// ([`clear_cells`] with the last step's list). The sums are taken per row into `row_sums`
/// (scratch, one entry per x layer), then over the layers in order: the same bits for any thread count.
/// Over an inert collector ([`CollectorFloor`]; CPU only so far) a cell's dissolution is capped
/// by the metal it holds above it (where capped, the rate does not depend on E).
#[allow(clippy::too_many_arguments)]
pub fn reaction_field(
    k: &OrderParameterConstants,
    cells: &[u32],
    xi: &[Real],
    excess: &[Real],
    phi: &[Real],
    electrode: Real,
    kinetic_factor: &[Real],
    asr: &[Real],
    blocked: &[Real],
    floor: Option<CollectorFloor>,
    bv_rate: &mut [Real],
    row_sums: &mut Vec<(f64, f64)>,
) -> (f64, f64) {
    let layer = k.grid.layer_cells();
    bv_rate
        .par_chunks_mut(layer)
        .enumerate()
        .map(|(i, out)| {
            let (mut sum, mut derivative) = (0.0f64, 0.0f64);
            for &cell in layer_cells(cells, i, layer) {
                let n = cell as usize;
                let (r, dr) = reaction_rate(
                    k,
                    xi[n],
                    1.0 + excess[n],
                    phi[n],
                    electrode,
                    kinetic_factor[n],
                    asr[n],
                    blocked[n],
                );
                let (r, dr) = match floor {
                    Some(floor) if r < floor.cap(n, xi[n]) => (floor.cap(n, xi[n]), 0.0),
                    _ => (r, dr),
                };
                out[n - i * layer] = r;
                sum += r as f64;
                derivative += dr as f64;
            }
            (sum, derivative)
        })
        .collect_into_vec(row_sums);
    row_sums
        .iter()
        .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1))
}

/// Sets `field` to 0 on `cells` (ascending): the last step's interface cells, before the list is
/// renewed, leave the reaction field 0 off the interface.
pub fn clear_cells(cells: &[u32], layer: usize, field: &mut [Real]) {
    field
        .par_chunks_mut(layer)
        .enumerate()
        .for_each(|(i, out)| {
            for &cell in layer_cells(cells, i, layer) {
                out[cell as usize - i * layer] = 0.0;
            }
        });
}

/// The maxima of the reaction field that bound dt: (max |m (1−p_b) a_k B_eff| =
/// |rate|/(L_η h') where h' > 1e-3, fastest front speed |∂xi/∂t|/|∇xi| where |∇xi| >
/// `grad_min`), over the interface cells.
pub fn reaction_maxima(
    k: &OrderParameterConstants,
    cells: &[u32],
    xi: &[Real],
    bv_rate: &[Real],
    ac_rate: &[Real],
    grad_norm: &[Real],
    grad_min: Real,
) -> (f64, f64) {
    cells
        .par_iter()
        .map(|&cell| {
            let n = cell as usize;
            let (hp, r) = (interpolation_prime(xi[n]), bv_rate[n]);
            let reaction = if hp > 1e-3 {
                (r / (k.l_eta * hp)).abs() as f64
            } else {
                0.0
            };
            let speed = if grad_norm[n] > grad_min {
                ((ac_rate[n] + r) / grad_norm[n]).abs() as f64
            } else {
                0.0
            };
            (reaction, speed)
        })
        .reduce(|| (0.0, 0.0), |a, b| (a.0.max(b.0), a.1.max(b.1)))
}
