//! Grains: the crystal orientation per lateral column, where the initial condition's nuclei
//! carry their own c-axes (`initial.nucleus_c_axes`, 3D). Each nucleus seeds a columnar grain:
//! the lateral region nearer its centre (periodic in y and z) than any other nucleus's, through
//! the whole height, so the metal that grows from a nucleus keeps its orientation. A run
//! without per-nucleus axes has one grain, the run's `anisotropy.c_axis`.

use crate::config::InitialConfig;
use crate::grid::{periodic_distance, Grid, Real};
use crate::model::anisotropy::{Orientation, SurfaceEnergy};
use crate::model::coefficients::orientation_threshold_sq;
use crate::model::hcp::HcpConstants;
use crate::model::initial::nucleus_positions;
use crate::model::params::Params;

/// The frames of the grains and the grain of every lateral column (index j·nz + k, the cell's
/// index within its x layer).
#[derive(Debug, Clone, PartialEq)]
pub struct Grains {
    pub frames: Vec<HcpConstants>,
    pub column: Vec<u16>,
}

impl Grains {
    /// The grains of a run of `p` from `init`; None where the nuclei carry no axes of their own
    /// (one grain: the kernels use the run's frame directly).
    pub fn new(p: &Params, init: &InitialConfig) -> Option<Grains> {
        if p.nucleus_frames.is_empty() {
            return None;
        }
        let g = p.grid;
        let frames: Vec<HcpConstants> = p
            .nucleus_frames
            .iter()
            .map(|frame| HcpConstants::new(&p.hcp, frame, orientation_threshold_sq(p)))
            .collect();
        let centres = nucleus_positions(g, init);
        let column = lateral_voronoi(g, &centres);
        Some(Grains { frames, column })
    }
}

/// The nearest centre (y at `centres`, z at Lz/2, periodic distances) of every lateral column.
fn lateral_voronoi(g: Grid, centres: &[f64]) -> Vec<u16> {
    let (ly, lz) = (g.ly(), g.lz());
    (0..g.ny)
        .flat_map(|j| (0..g.nz).map(move |k| (j, k)))
        .map(|(j, k)| {
            let y = (j as f64 + 0.5) * g.dx;
            let z = (k as f64 + 0.5) * g.dx;
            let dz = periodic_distance(z - 0.5 * lz, lz);
            let distance = |yc: f64| {
                let dy = periodic_distance(y - yc, ly);
                dy * dy + dz * dz
            };
            (0..centres.len())
                .min_by(|&a, &b| distance(centres[a]).total_cmp(&distance(centres[b])))
                .expect("at least one nucleus") as u16
        })
        .collect()
}

impl SurfaceEnergy for Grains {
    /// Any grain's (a zero or sub-threshold gradient is isotropic in every frame).
    #[inline(always)]
    fn orientation(&self, g: [Real; 3]) -> Orientation {
        self.frames[0].orientation(g)
    }

    #[inline(always)]
    fn orientation_in_column(&self, column: usize, g: [Real; 3]) -> Orientation {
        self.frames[self.column[column] as usize].orientation(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two nuclei at y = 2 and 10 µm of a 16 µm periodic width: the columns nearer each (the
    /// periodic distance: y = 15 is nearer 2 than 10) are its grain, in every z.
    #[test]
    fn each_column_belongs_to_the_nearest_nucleus_periodically() {
        let g = Grid {
            nx: 8,
            ny: 16,
            nz: 8,
            dx: 1.0,
        };
        let column = lateral_voronoi(g, &[2.0, 10.0]);
        for j in 0..g.ny {
            let y = j as f64 + 0.5;
            let periodic = |d: f64| d.abs().min(16.0 - d.abs());
            let want = if periodic(y - 2.0) <= periodic(y - 10.0) {
                0
            } else {
                1
            };
            for k in 0..g.nz {
                assert_eq!(column[j * g.nz + k], want, "column (j, k) = ({j}, {k})");
            }
        }
        println!(
            "grains by j: {:?}",
            (0..g.ny).map(|j| column[j * g.nz]).collect::<Vec<_>>()
        );
    }
}
