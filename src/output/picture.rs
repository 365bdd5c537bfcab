//! What a picture shows of the interphase: the model's fields turned into the frames' and
//! final.vti's `interphase` and `blocked` layers.

use crate::config::Representation;
use crate::grid::{Field, Real};
use crate::model::interphase::interpolation_prime;
use crate::model::params::{Params, MAX_H_PRIME};

/// The interphase as pictures show it: the resolved band s (R2), or, for a sub-grid layer
/// (R1) with a resistance or blocked patches, a marker h'(xi)/max h' along the metal surface
/// (nothing without either); and the blocked fraction drawn on that marker.
pub fn interphase_picture(
    p: &Params,
    xi: &Field,
    layer: &Field,
    blocked: &Field,
) -> (Field, Field) {
    let marker = xi.mapv(|x| (interpolation_prime(x) / MAX_H_PRIME as Real).min(1.0));
    let blocked = &marker * blocked;
    let ip = &p.interphase;
    let interphase = match ip.representation {
        Representation::Resolved => layer.clone(),
        Representation::Subgrid if ip.asr_ohm_m2 > 0.0 || ip.blocked_fraction > 0.0 => marker,
        Representation::Subgrid => p.grid.field(0.0),
    };
    (interphase, blocked)
}
