//! The discrete operator of one multigrid level, `a u − ∇·(k ∇u)` on its grid, as the kernels
//! read it: `a` per cell and one face-conductivity array per axis, all flat in the grid's
//! row-major order (z fastest, [`Grid::strides`]).

use crate::grid::{Grid, Real};

/// The operator of one level.
///
/// - `kx` holds the nx + 1 x-face layers of ny·nz faces: layer i is the face between cell
///   layers i − 1 and i; layers 0 and nx are the two walls and hold the conductance of the half
///   cell between the wall and the first centre (on the finest level, the cell's own k).
/// - `ky` holds one face per cell, the one on its −y side (between j − 1 and j, periodic, so
///   j = 0 joins ny − 1 and 0).
/// - `kz` likewise on the −z side, and is empty when nz = 1 (a 2D grid has no z faces).
pub struct Operator {
    pub grid: Grid,
    pub a: Vec<Real>,
    pub kx: Vec<Real>,
    pub ky: Vec<Real>,
    pub kz: Vec<Real>,
}

impl Operator {
    /// a = 0 and zero faces on `grid`.
    pub fn new(grid: Grid) -> Self {
        let cells = grid.cells();
        Operator {
            grid,
            a: vec![0.0; cells],
            kx: vec![0.0; (grid.nx + 1) * grid.layer_cells()],
            ky: vec![0.0; cells],
            kz: vec![0.0; if grid.nz > 1 { cells } else { 0 }],
        }
    }

    /// 1/Δx² of the level.
    pub fn inv_dx2(&self) -> f64 {
        1.0 / (self.grid.dx * self.grid.dx)
    }
}
