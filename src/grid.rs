//! The uniform cell-centred grid and the field type shared by every backend.
//!
//! Index convention: a field has shape `(nx, ny)` and is indexed `[i, j]`; `i` runs along x, the
//! growth axis normal to the current collector (x = 0 at the collector face), `j` runs along the
//! periodic lateral axis y and is the contiguous (fastest) index. Cell (i, j) is centred at
//! `((i + ½)Δx, (j + ½)Δx)`.

use ndarray::Array2;

/// Floating-point type of the fields (the GPU backend is f32 too). Reductions use f64.
pub type Real = f32;

/// A 2D field on the grid, shape `(nx, ny)`.
pub type Field = Array2<Real>;

/// Uniform grid in internal units (µm).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    pub nx: usize,
    pub ny: usize,
    /// Cell size Δx = Δy in µm.
    pub dx: f64,
}

impl Grid {
    pub fn new(nx: usize, ny: usize, dx: f64) -> Self {
        Self { nx, ny, dx }
    }

    pub fn cells(&self) -> usize {
        self.nx * self.ny
    }

    /// Domain length along x (µm).
    pub fn lx(&self) -> f64 {
        self.nx as f64 * self.dx
    }

    /// Domain width along y (µm).
    pub fn ly(&self) -> f64 {
        self.ny as f64 * self.dx
    }

    /// A field filled with `value`.
    pub fn field(&self, value: Real) -> Field {
        Array2::from_elem((self.nx, self.ny), value)
    }
}
