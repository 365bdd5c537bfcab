//! Dead metal (physics.md decision 16, issue 19): metal (ξ > ½) that is no longer connected to
//! the current collector through metal has no electronic path, so it carries no current; it stays
//! metal and is counted as dead. Connected means joined to a metal cell of the collector's layer
//! (x layer 0) by a chain of metal cells that share faces: 4-connectivity in 2D, 6 in 3D (cells
//! touching only at an edge or a corner are not joined), across the periodic y and z sides as
//! inside the domain. A dead piece that touches live metal again is live again: the labelling
//! is recomputed from the field each time, with no memory.

use crate::grid::{Field, Real};

/// What a cell is, for the reaction: electrolyte (ξ ≤ ½), metal joined to the collector, or
/// metal cut off from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    Electrolyte,
    Live,
    Dead,
}

/// The labels of every cell (the grid rule's flat order: x slowest, z fastest) and their counts.
#[derive(Debug, Clone, PartialEq)]
pub struct MetalConnectivity {
    pub labels: Vec<Connection>,
    pub live_cells: usize,
    pub dead_cells: usize,
}

impl MetalConnectivity {
    /// Whether cell `n` (flat index) is dead metal.
    pub fn is_dead(&self, n: usize) -> bool {
        self.labels[n] == Connection::Dead
    }
}

/// Whether an order parameter value is metal: ξ > ½ (ξ = ½ itself is not).
pub fn is_metal(xi: Real) -> bool {
    xi > 0.5
}

/// Labels the metal of `xi` (shape nx × ny × nz; 2D is nz = 1) as live or dead by a breadth-first
/// search from the metal cells of the collector's layer: O(cells).
pub fn label_metal(xi: &Field) -> MetalConnectivity {
    let (nx, ny, nz) = xi.dim();
    let layer = ny * nz;
    let cells = nx * layer;
    let values: Vec<Real> = xi.iter().copied().collect();
    let mut labels: Vec<Connection> = values
        .iter()
        .map(|&v| {
            if is_metal(v) {
                Connection::Dead
            } else {
                Connection::Electrolyte
            }
        })
        .collect();
    let mut queue: Vec<usize> = (0..layer.min(cells))
        .filter(|&m| labels[m] == Connection::Dead)
        .collect();
    for &m in &queue {
        labels[m] = Connection::Live;
    }
    let mut next = 0;
    while next < queue.len() {
        let n = queue[next];
        next += 1;
        let (i, m) = (n / layer, n % layer);
        let (j, k) = (m / nz, m % nz);
        let mut neighbours = [usize::MAX; 6];
        if i > 0 {
            neighbours[0] = n - layer;
        }
        if i + 1 < nx {
            neighbours[1] = n + layer;
        }
        if ny > 1 {
            neighbours[2] = i * layer + ((j + ny - 1) % ny) * nz + k;
            neighbours[3] = i * layer + ((j + 1) % ny) * nz + k;
        }
        if nz > 1 {
            neighbours[4] = i * layer + j * nz + (k + nz - 1) % nz;
            neighbours[5] = i * layer + j * nz + (k + 1) % nz;
        }
        for nb in neighbours {
            if nb != usize::MAX && labels[nb] == Connection::Dead {
                labels[nb] = Connection::Live;
                queue.push(nb);
            }
        }
    }
    let live_cells = queue.len();
    let dead_cells = labels.iter().filter(|&&l| l == Connection::Dead).count();
    MetalConnectivity {
        labels,
        live_cells,
        dead_cells,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2D field: a planar deposit of `height` layers, plus the metal cells `extra` (i, j).
    fn deposit_2d(nx: usize, ny: usize, height: usize, extra: &[(usize, usize)]) -> Field {
        let mut xi = Field::zeros((nx, ny, 1));
        for i in 0..height {
            for j in 0..ny {
                xi[[i, j, 0]] = 1.0;
            }
        }
        for &(i, j) in extra {
            xi[[i, j, 0]] = 1.0;
        }
        xi
    }

    #[test]
    fn an_island_apart_from_the_deposit_is_dead_and_one_touching_it_is_live() {
        let (nx, ny) = (16, 12);
        // A 2 × 2 island at x layers 8–9, three layers above a deposit of 5.
        let island = [(8, 4), (8, 5), (9, 4), (9, 5)];
        let c = label_metal(&deposit_2d(nx, ny, 5, &island));
        assert_eq!(c.dead_cells, 4);
        assert_eq!(c.live_cells, 5 * ny);
        for (i, j) in island {
            assert!(c.is_dead(i * ny + j), "island cell ({i}, {j})");
        }
        // A column joins it to the deposit (layers 5–7 at j = 4): all live.
        let bridge = [(5, 4), (6, 4), (7, 4)];
        let joined: Vec<(usize, usize)> = island.iter().chain(&bridge).copied().collect();
        let c = label_metal(&deposit_2d(nx, ny, 5, &joined));
        assert_eq!(c.dead_cells, 0);
        assert_eq!(c.live_cells, 5 * ny + 7);
    }

    #[test]
    fn the_periodic_side_joins_metal_and_a_corner_does_not() {
        let (nx, ny) = (10, 8);
        // A filament at j = 0 rising to layer 6, and a piece at j = ny − 1, layer 6: neighbours
        // across the periodic side.
        let filament = [(3, 0), (4, 0), (5, 0), (6, 0)];
        let across: Vec<(usize, usize)> = filament.iter().copied().chain([(6, ny - 1)]).collect();
        let c = label_metal(&deposit_2d(nx, ny, 3, &across));
        assert_eq!(c.dead_cells, 0, "joined across the periodic side");
        // The same piece one layer higher touches the filament's top only at a corner: dead.
        let corner: Vec<(usize, usize)> = filament.iter().copied().chain([(7, ny - 1)]).collect();
        let c = label_metal(&deposit_2d(nx, ny, 3, &corner));
        assert_eq!(c.dead_cells, 1, "4-connectivity: a corner does not join");
        assert!(c.is_dead(7 * ny + ny - 1));
    }

    #[test]
    fn in_3d_faces_join_and_edges_do_not() {
        let (nx, ny, nz) = (8, 6, 6);
        let mut xi = Field::zeros((nx, ny, nz));
        for j in 0..ny {
            for k in 0..nz {
                xi[[0, j, k]] = 1.0;
                xi[[1, j, k]] = 1.0;
            }
        }
        // A post at (j, k) = (2, 2) up to layer 4; a cell beside its top across a face along z
        // (live), and one beside it only across an edge (dead).
        for i in 2..5 {
            xi[[i, 2, 2]] = 1.0;
        }
        xi[[4, 2, 3]] = 1.0;
        xi[[4, 3, 1]] = 1.0;
        let c = label_metal(&xi);
        let at = |i: usize, j: usize, k: usize| (i * ny + j) * nz + k;
        assert_eq!(c.labels[at(4, 2, 3)], Connection::Live);
        assert_eq!(c.labels[at(4, 3, 1)], Connection::Dead);
        assert_eq!(c.dead_cells, 1);
        assert_eq!(c.live_cells, 2 * ny * nz + 3 + 1);
    }

    #[test]
    fn half_is_not_metal_and_no_collector_metal_leaves_all_metal_dead() {
        let mut xi = Field::from_elem((6, 4, 1), 0.5);
        assert_eq!(label_metal(&xi).live_cells + label_metal(&xi).dead_cells, 0);
        // Metal only above the collector's layer: nothing joins it to the collector.
        for j in 0..4 {
            xi[[3, j, 0]] = 0.9;
        }
        let c = label_metal(&xi);
        assert_eq!((c.live_cells, c.dead_cells), (0, 4));
    }
}
