//! What a picture shows of the interphase: the model's fields turned into the frames' and
//! final.vti's `interphase` and `blocked` layers.

use crate::config::Representation;
use crate::grid::{Field, Real};
use crate::model::interphase::interpolation_prime;
use crate::model::params::{Params, MAX_H_PRIME};
use ndarray::{ArrayView3, ArrayViewMut3};

/// The interphase as pictures show it: the resolved band s (R2), or, for a sub-grid layer
/// (R1) with a resistance or blocked patches, a marker h'(xi)/max h' along the metal surface
/// (nothing without either); and the blocked fraction drawn on that marker.
pub fn interphase_picture(
    p: &Params,
    xi: &Field,
    layer: &Field,
    blocked: &Field,
) -> (Field, Field) {
    let blocked = &surface_marker(xi.view()) * blocked;
    let mut interphase = layer.clone();
    layer_to_interphase(p, xi.view(), interphase.view_mut());
    (interphase, blocked)
}

/// Turns a snapshot's `layer` into the first of [`interphase_picture`]'s pair (final.vti's
/// `interphase`) where it lies: the band stays, a sub-grid layer's marker or nothing replaces it.
pub fn layer_to_interphase(p: &Params, xi: ArrayView3<Real>, mut layer: ArrayViewMut3<Real>) {
    let ip = &p.interphase;
    match ip.representation {
        Representation::Resolved => {}
        Representation::Subgrid if ip.asr_ohm_m2 > 0.0 || ip.blocked_fraction > 0.0 => {
            ndarray::Zip::from(&mut layer)
                .and(&xi)
                .for_each(|l, &x| *l = marker(x))
        }
        Representation::Subgrid => layer.fill(0.0),
    }
}

/// h'(xi)/max h': 1 on the metal surface's middle, 0 away from it.
fn surface_marker(xi: ArrayView3<Real>) -> Field {
    xi.mapv(marker)
}

fn marker(x: Real) -> Real {
    (interpolation_prime(x) / MAX_H_PRIME as Real).min(1.0)
}
