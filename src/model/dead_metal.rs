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
    let mut labels: Vec<Connection> = xi
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
        for nb in face_neighbours(n, (nx, ny, nz)) {
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

/// The cells a dead piece holds still, and its metal.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadMetal {
    /// Per cell (flat order): dead metal, or electrolyte whose nearest metal cell is dead.
    pub frozen: Vec<bool>,
    /// Cells of dead metal (ξ > ½).
    pub dead_cells: usize,
    /// Σ ξ over the frozen cells: the dead pieces' metal with their diffuse interfaces.
    pub xi_sum: f64,
}

impl DeadMetal {
    /// The dead metal of a frozen region known already (a checkpoint's), counted on `xi`.
    pub fn from_frozen(xi: &Field, frozen: Vec<bool>) -> DeadMetal {
        let (mut dead_cells, mut xi_sum) = (0, 0.0);
        for (&v, _) in xi.iter().zip(&frozen).filter(|(_, &f)| f) {
            dead_cells += is_metal(v) as usize;
            xi_sum += v as f64;
        }
        DeadMetal {
            frozen,
            dead_cells,
            xi_sum,
        }
    }
}

/// The dead metal of `xi` and the region it holds still, None where all metal is live. A dead
/// piece is inert (no electronic path: no reaction; and it neither grows nor shrinks), so its
/// diffuse interface is held with it: every electrolyte cell takes the label of its nearest
/// metal cell (counted in face steps, a tie going to live metal), so the electrolyte side of a
/// dead piece's profile is frozen and the rest of the electrolyte is not.
pub fn dead_metal(xi: &Field) -> Option<DeadMetal> {
    let connectivity = label_metal(xi);
    if connectivity.dead_cells == 0 {
        return None;
    }
    Some(DeadMetal::from_frozen(
        xi,
        frozen_region(xi.dim(), &connectivity),
    ))
}

/// The face neighbours of cell `n` on an nx × ny × nz grid, periodic in y and z
/// (`usize::MAX` where there is none).
fn face_neighbours(n: usize, (nx, ny, nz): (usize, usize, usize)) -> [usize; 6] {
    let layer = ny * nz;
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
    neighbours
}

/// A breadth-first search from every metal cell at once, live ones first, each electrolyte cell
/// taking the label of the first search to reach it: of its nearest metal, live on a tie.
fn frozen_region(shape: (usize, usize, usize), c: &MetalConnectivity) -> Vec<bool> {
    let mut labels = c.labels.clone();
    let sources = |l: Connection| (0..labels.len()).filter(move |&n| c.labels[n] == l);
    let mut queue: Vec<usize> = sources(Connection::Live)
        .chain(sources(Connection::Dead))
        .collect();
    let mut next = 0;
    while next < queue.len() {
        let n = queue[next];
        next += 1;
        for nb in face_neighbours(n, shape) {
            if nb != usize::MAX && labels[nb] == Connection::Electrolyte {
                labels[nb] = labels[n];
                queue.push(nb);
            }
        }
    }
    labels.iter().map(|&l| l == Connection::Dead).collect()
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
    fn the_frozen_region_is_the_dead_piece_and_the_electrolyte_nearer_it_than_live_metal() {
        let (nx, ny) = (16, 12);
        // Deposit of 5 layers (0–4); a dead 2 × 2 island at layers 10–11: in the island's
        // columns (j = 4, 5) the electrolyte at layers 5–6 is nearer the deposit, layer 7 is a
        // tie (3 steps from each: live), 8–9 and above the island are nearer the island; at
        // j = 0 layer 8 is nearer the deposit (4 steps against 6), layer 12 the island (8
        // against 5).
        let island = [(10, 4), (10, 5), (11, 4), (11, 5)];
        let mut xi = deposit_2d(nx, ny, 5, &island);
        xi[[10, 4, 0]] = 0.8;
        let d = dead_metal(&xi).expect("an island");
        assert_eq!(d.dead_cells, 4);
        let frozen = |i: usize, j: usize| d.frozen[i * ny + j];
        for (i, j) in island {
            assert!(frozen(i, j));
        }
        assert!(!frozen(6, 4) && !frozen(7, 4) && frozen(8, 4) && frozen(9, 5));
        assert!(frozen(12, 5) && !frozen(8, 0) && frozen(12, 0));
        assert!(!frozen(4, 4) && !frozen(2, 0), "live metal is never frozen");
        // The frozen sum: the island's 0.8 + 3 × 1, the electrolyte's 0.
        assert!((d.xi_sum - 3.8).abs() < 1e-6, "{}", d.xi_sum);
        assert!(dead_metal(&deposit_2d(nx, ny, 5, &[])).is_none());
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
