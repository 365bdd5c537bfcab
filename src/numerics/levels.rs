//! The multigrid level plan both backends follow: which coarse grids a hierarchy holds.

use crate::grid::Grid;

/// The level grids of a multigrid hierarchy on `grid`, finest first. Each level halves every
/// coarsened axis together, with twice the cell size (the cells stay cubes), while every such
/// axis is even and at least 4. The coarsened axes are those of the grid's dimension: x and y,
/// and z in 3D; the z of a 2D grid (nz = 1) stays 1, so a 2D plan is the one of the square
/// cells it always had (64² → 32² → … → 2²), and a 3D plan halves all three axes (64³ → … →
/// 2³). An axis too short or odd stops the coarsening of all: the transfers between two levels
/// always pair 2^d fine cells with one coarse cell.
pub fn multigrid_levels(grid: Grid) -> Vec<Grid> {
    let coarsened = |g: &Grid| {
        let mut axes = vec![g.nx, g.ny];
        if grid.nz > 1 {
            axes.push(g.nz);
        }
        axes
    };
    let mut levels = vec![grid];
    while let Some(&g) = levels.last() {
        if coarsened(&g).iter().any(|&n| n % 2 != 0 || n < 4) {
            break;
        }
        levels.push(Grid {
            nx: g.nx / 2,
            ny: g.ny / 2,
            nz: if grid.nz > 1 { g.nz / 2 } else { 1 },
            dx: 2.0 * g.dx,
        });
    }
    levels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_halve_every_axis_of_the_dimension_while_even_and_at_least_4() {
        let cube = |nx, ny, nz| Grid {
            nx,
            ny,
            nz,
            dx: 1.0,
        };
        for (grid, expected) in [
            (Grid::new(64, 64, 1.0), 6),
            (Grid::new(96, 64, 1.0), 6),
            (Grid::new(6, 8, 1.0), 2),
            (Grid::new(5, 8, 1.0), 1),
            (cube(64, 64, 64), 6),
            (cube(32, 32, 8), 3),
            (cube(16, 16, 6), 2),
        ] {
            let levels = multigrid_levels(grid);
            let shapes: Vec<[usize; 3]> = levels.iter().map(Grid::shape).collect();
            println!(
                "{:?}: expected {expected} levels, got {shapes:?}",
                grid.shape()
            );
            assert_eq!(levels.len(), expected);
            let last = levels[levels.len() - 1];
            assert_eq!(last.dx, grid.dx * (1 << (expected - 1)) as f64);
            assert!(levels.iter().all(|g| (g.nz == 1) == (grid.nz == 1)));
        }
    }
}
