//! The condition each field obeys on the two x faces, in one place: every kernel takes its
//! ghost values from here and every solve its [`Bcs`], on both backends. The lateral axes (y, z)
//! are periodic for every field.
//!
//! | field | collector (x = 0) | bulk face (x = L) |
//! |---|---|---|
//! | order parameter ξ | zero flux | ξ = 0 (electrolyte) |
//! | concentration excess u = c/c0 − 1 | zero flux | u = 0 (c = c0) |
//! | potential φ | zero flux (no ionic current into the collector) | φ = 0 (the bulk reference) |
//!
//! Each bulk-face value is 0 in the stored variable, so the centred ghost past the face is the
//! mirror image with the sign of [`Boundary::ghost_sign`] (−1: antisymmetric about the face),
//! and the value an upwind flux takes from beyond the face is [`Boundary::face_value`].

use crate::numerics::{Bcs, Boundary};

pub const ORDER_PARAMETER: Bcs = Bcs {
    x_lo: Boundary::Neumann,
    x_hi: Boundary::Dirichlet(0.0),
};

pub const CONCENTRATION_EXCESS: Bcs = Bcs {
    x_lo: Boundary::Neumann,
    x_hi: Boundary::Dirichlet(0.0),
};

pub const POTENTIAL: Bcs = Bcs {
    x_lo: Boundary::Neumann,
    x_hi: Boundary::Dirichlet(0.0),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bulk_face_ghosts_put_each_field_at_its_face_value() {
        for bcs in [ORDER_PARAMETER, CONCENTRATION_EXCESS, POTENTIAL] {
            let inside = 0.37;
            // The face sits halfway between the last cell and its ghost.
            let on_face = 0.5 * (inside + bcs.x_hi.ghost_sign() * inside);
            assert_eq!(on_face, bcs.x_hi.face_value(inside));
            assert_eq!(bcs.x_lo.ghost_sign(), 1.0, "zero flux mirrors");
            assert_eq!(bcs.x_lo.face_value(inside), inside);
        }
    }
}
