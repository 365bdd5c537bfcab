//! The boundary condition of a solved field on the two x walls (the collector at x = 0 and the
//! bulk face at x = L); the lateral axes are periodic. Both backends' solves take it.

use crate::grid::Real;

/// Condition on one x wall. `Dirichlet(g)` fixes u = g on the wall face (half a cell from the
/// first centre); `Neumann` is zero flux.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Boundary {
    Dirichlet(Real),
    Neumann,
}

/// Conditions on the two x walls (y is periodic).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bcs {
    pub x_lo: Boundary,
    pub x_hi: Boundary,
}

impl Boundary {
    /// The same kind of condition with a zero value (what the error obeys on coarse levels).
    pub fn homogeneous(self) -> Boundary {
        match self {
            Boundary::Dirichlet(_) => Boundary::Dirichlet(0.0),
            Boundary::Neumann => Boundary::Neumann,
        }
    }

    /// Wall value and conductance factor: Dirichlet couples over half a cell (factor 2).
    pub(crate) fn wall(self) -> (Real, Real) {
        match self {
            Boundary::Dirichlet(g) => (g, 2.0),
            Boundary::Neumann => (0.0, 0.0),
        }
    }

    /// The value on the wall face seen from a cell holding `inside`: g (Dirichlet) or `inside`
    /// (zero flux: the face takes the cell's value). What an upwind flux takes from beyond the wall.
    pub fn face_value(self, inside: Real) -> Real {
        match self {
            Boundary::Dirichlet(g) => g,
            Boundary::Neumann => inside,
        }
    }

    /// Sign of the ghost value beyond this wall of a field that is 0 there (a correction, or a
    /// field whose wall value is 0): −e₀ (Dirichlet, antisymmetric about the face) or +e₀ (zero
    /// flux, the mirror).
    pub fn ghost_sign(self) -> Real {
        match self {
            Boundary::Dirichlet(_) => -1.0,
            Boundary::Neumann => 1.0,
        }
    }
}

impl Bcs {
    pub fn homogeneous(self) -> Bcs {
        Bcs {
            x_lo: self.x_lo.homogeneous(),
            x_hi: self.x_hi.homogeneous(),
        }
    }
}
