//! The uniform cell-centred grid and the field type shared by every backend.
//!
//! Three axes: x, the growth axis normal to the current collector (bounded: x = 0 at the
//! collector face, x = L at the bulk face), and y and z, the lateral axes (periodic). A 2D grid
//! is the nz = 1 case. Cells are stored row-major with z fastest, so the flat index of cell
//! (i, j, k) is `i·ny·nz + j·nz + k` ([`Grid::strides`]); with nz = 1 that is today's `i·ny + j`
//! and a field is indexed `[i, j]`. Cell (i, j, k) is centred at ((i + ½)Δx, (j + ½)Δx,
//! (k + ½)Δx).

use ndarray::{Array3, ArrayView2, Axis};

/// Floating-point type of the fields (the GPU backend is f32 too). Reductions use f64.
pub type Real = f32;

/// A field on the grid, shape `(nx, ny, nz)` (nz = 1 in 2D), row-major: its flat slice is in the
/// grid's order ([`Grid::strides`]).
pub type Field = Array3<Real>;

/// How an axis ends: the growth axis is bounded by the collector and the bulk face, the
/// lateral axes wrap around.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    Bounded,
    Periodic,
}

/// The periodic neighbours (m − 1, m + 1) of m in 0..n.
#[inline(always)]
pub fn periodic_neighbours(m: usize, n: usize) -> (usize, usize) {
    (
        if m == 0 { n - 1 } else { m - 1 },
        if m + 1 == n { 0 } else { m + 1 },
    )
}

/// The distance |d| along a periodic axis of length `l`: to the nearest image.
#[inline]
pub fn periodic_distance(d: f64, l: f64) -> f64 {
    let d = d.abs() % l;
    d.min(l - d)
}

/// Uniform grid in internal units (µm).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    pub nx: usize,
    pub ny: usize,
    /// Cells along the second lateral axis: 1 for a 2D run.
    pub nz: usize,
    /// Cell size Δx = Δy = Δz in µm.
    pub dx: f64,
}

impl Grid {
    /// The topology of the x, y and z axes.
    pub const TOPOLOGY: [Topology; 3] = [Topology::Bounded, Topology::Periodic, Topology::Periodic];

    /// A 2D grid (nz = 1).
    pub fn new(nx: usize, ny: usize, dx: f64) -> Self {
        Self { nx, ny, nz: 1, dx }
    }

    /// The cells along x, y and z.
    pub fn shape(&self) -> [usize; 3] {
        [self.nx, self.ny, self.nz]
    }

    /// Flat-index steps of one cell along x, y and z (z fastest).
    pub fn strides(&self) -> [usize; 3] {
        [self.ny * self.nz, self.nz, 1]
    }

    /// Cells in one x layer (a lateral plane): ny·nz.
    pub fn layer_cells(&self) -> usize {
        self.ny * self.nz
    }

    pub fn cells(&self) -> usize {
        self.nx * self.ny * self.nz
    }

    /// 2 for a 2D grid (nz = 1), else 3.
    pub fn dimension(&self) -> usize {
        if self.nz == 1 {
            2
        } else {
            3
        }
    }

    /// The flat index of cell (i, j, k).
    pub fn index(&self, i: usize, j: usize, k: usize) -> usize {
        let [sx, sy, sz] = self.strides();
        i * sx + j * sy + k * sz
    }

    /// The cell (i, j, k) of a flat index.
    pub fn cell(&self, n: usize) -> [usize; 3] {
        let layer = self.layer_cells();
        [n / layer, (n % layer) / self.nz, n % self.nz]
    }

    /// Domain length along x (µm).
    pub fn lx(&self) -> f64 {
        self.nx as f64 * self.dx
    }

    /// Domain width along y (µm).
    pub fn ly(&self) -> f64 {
        self.ny as f64 * self.dx
    }

    /// Domain width along z (µm).
    pub fn lz(&self) -> f64 {
        self.nz as f64 * self.dx
    }

    /// A cell's area (2D, per unit depth: Δx², µm²) or volume (3D: Δx³, µm³).
    pub fn cell_measure(&self) -> f64 {
        self.dx.powi(self.dimension() as i32)
    }

    /// The collector's length (2D, per unit depth: L_y, µm) or area (3D: L_y L_z, µm²).
    pub fn collector_measure(&self) -> f64 {
        if self.dimension() == 2 {
            self.ly()
        } else {
            self.ly() * self.lz()
        }
    }

    /// A field filled with `value`.
    pub fn field(&self, value: Real) -> Field {
        Array3::from_elem((self.nx, self.ny, self.nz), value)
    }

    /// A zero field on the grid where `needed`, else an empty one (a buffer only some runs use).
    pub fn field_if(&self, needed: bool) -> Field {
        if needed {
            self.field(0.0)
        } else {
            Array3::zeros((0, 0, 0))
        }
    }

    /// A field from its value at each cell (i, j, k).
    pub fn field_from_fn(&self, f: impl FnMut((usize, usize, usize)) -> Real) -> Field {
        Array3::from_shape_fn((self.nx, self.ny, self.nz), f)
    }

    /// The x–y section of `field` through the middle of z (the field itself in 2D): what the 2D
    /// pictures show of a 3D run.
    pub fn mid_section<'a>(&self, field: &'a Field) -> ArrayView2<'a, Real> {
        field.index_axis(Axis(2), self.nz / 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_2d_grid_indexes_as_nx_by_ny_rows() {
        let g = Grid::new(5, 7, 0.5);
        assert_eq!((g.nz, g.dimension(), g.cells()), (1, 2, 35));
        assert_eq!(g.strides(), [7, 1, 1]);
        assert_eq!(g.index(3, 4, 0), 3 * 7 + 4);
        assert_eq!(g.cell(3 * 7 + 4), [3, 4, 0]);
    }

    #[test]
    fn a_3d_grid_has_z_fastest_and_round_trips_every_cell() {
        let g = Grid {
            nx: 4,
            ny: 3,
            nz: 8,
            dx: 1.0,
        };
        assert_eq!((g.dimension(), g.layer_cells()), (3, 24));
        assert_eq!(g.strides(), [24, 8, 1]);
        for n in 0..g.cells() {
            let [i, j, k] = g.cell(n);
            assert!(i < g.nx && j < g.ny && k < g.nz);
            assert_eq!(g.index(i, j, k), n);
        }
    }
}
