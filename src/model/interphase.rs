//! Interphase fields (physics.md §3.2): per-cell ASR, blocked patches and layer transport ratios,
//! built once from the seeded heterogeneity, and the resolved band (R2) attached to the metal
//! surface through the distance from the xi = ½ contour.

use crate::config::{Attachment, Representation};
use crate::grid::{Field, Grid, Real, Topology};
use crate::model::heterogeneity::{gaussian_random_field, normal_upper_quantile, SampleAxis};
use crate::model::params::Params;
use ndarray::{Array3, Axis, Zip};

/// Static interphase properties per cell.
#[derive(Debug, Clone)]
pub struct InterphaseFields {
    /// Area-specific resistance (Ω m²) in the Butler–Volmer term (R1; zero otherwise).
    pub asr: Field,
    /// 1 on blocked (insulating) patches, 0 elsewhere.
    pub blocked: Field,
    /// R2: D_SEI/D_l and σ_SEI/σ_l per cell (1 where there is no layer).
    pub diffusivity_ratio: Field,
    pub conductivity_ratio: Field,
}

impl InterphaseFields {
    pub fn new(p: &Params) -> InterphaseFields {
        let g = p.grid;
        let ip = &p.interphase;
        let heterogeneity = heterogeneity_field(p);
        let lognormal = |mean: f64| -> Field {
            heterogeneity.mapv(|v| {
                (mean * (ip.sigma_ln * v - 0.5 * ip.sigma_ln * ip.sigma_ln).exp()) as Real
            })
        };
        let blocked = if ip.blocked_fraction > 0.0 {
            let t = normal_upper_quantile(ip.blocked_fraction);
            heterogeneity.mapv(|v| if v > t { 1.0 } else { 0.0 })
        } else {
            g.field(0.0)
        };
        match ip.representation {
            Representation::Subgrid => InterphaseFields {
                asr: lognormal(ip.asr_ohm_m2),
                blocked,
                diffusivity_ratio: g.field(1.0),
                conductivity_ratio: g.field(1.0),
            },
            Representation::Resolved => InterphaseFields {
                asr: g.field(0.0),
                blocked,
                diffusivity_ratio: lognormal(ip.diffusivity_ratio).mapv(|v| v.min(1.0)),
                conductivity_ratio: lognormal(ip.conductivity_ratio).mapv(|v| v.min(1.0)),
            },
        }
    }
}

/// G(x, y, z) (lab frame) or G(y, z) the same at every x (lateral), unit variance, sampled at
/// the cell centres (in 2D G(x, y) and G(y)); zero if σ_ln = 0 and nothing is blocked. The
/// field lives in physical space (module `heterogeneity`): another Δx or a wider domain samples
/// the same one.
fn heterogeneity_field(p: &Params) -> Array3<f64> {
    let g = p.grid;
    let ip = &p.interphase;
    if ip.sigma_ln == 0.0 && ip.blocked_fraction == 0.0 {
        return Array3::zeros((g.nx, g.ny, g.nz));
    }
    let y = SampleAxis::cell_centres(g.ny, g.dx, true);
    let z = match g.nz {
        1 => SampleAxis::Absent,
        nz => SampleAxis::cell_centres(nz, g.dx, true),
    };
    match ip.attachment {
        Attachment::LabFrame => {
            let x = SampleAxis::cell_centres(g.nx, g.dx, false);
            gaussian_random_field([&x, &y, &z], ip.correlation_length, p.seed, 0)
        }
        Attachment::Lateral => {
            let plane = gaussian_random_field(
                [&SampleAxis::Absent, &y, &z],
                ip.correlation_length,
                p.seed,
                1,
            );
            Array3::from_shape_fn((g.nx, g.ny, g.nz), |(_, j, k)| plane[[0, j, k]])
        }
    }
}

/// h(xi) = xi³(6xi² − 15xi + 10).
#[inline]
pub fn interpolation(xi: Real) -> Real {
    let x = xi.clamp(0.0, 1.0);
    x * x * x * (x * (6.0 * x - 15.0) + 10.0)
}

/// h'(xi) = 30 xi²(1 − xi)².
#[inline]
pub fn interpolation_prime(xi: Real) -> Real {
    let x = xi.clamp(0.0, 1.0);
    30.0 * x * x * (1.0 - x) * (1.0 - x)
}

/// Resolved layer indicator s = [1 − h(xi)] · ½[1 − tanh((d − L)/(2δ_s))], d the distance (µm)
/// from the metal (xi ≥ ½) into the electrolyte.
pub fn layer_indicator(xi: &Field, grid: Grid, thickness: f64, width: f64) -> Field {
    let d = distance_from_metal(xi, grid);
    let mut s = grid.field(0.0);
    Zip::from(&mut s).and(xi).and(&d).par_for_each(|s, &x, &d| {
        let band = 0.5 * (1.0 - ((d - thickness) / (2.0 * width)).tanh());
        *s = (1.0 - interpolation(x)) * band as Real;
    });
    s
}

/// Euclidean distance (µm) from each cell centre to the xi = ½ contour on the electrolyte side
/// (0 inside the metal): exact squared distance transform (Felzenszwalb–Huttenlocher) of the
/// metal mask, one separable pass per axis (x bounded, y and z periodic), then the half cell to
/// the contour.
pub fn distance_from_metal(xi: &Field, grid: Grid) -> Array3<f64> {
    let inf = 1.0e20;
    let mut d2 = xi.mapv(|x| if x >= 0.5 { 0.0 } else { inf });
    for (axis, topology) in Grid::TOPOLOGY.into_iter().enumerate() {
        let n = d2.len_of(Axis(axis));
        if n == 1 {
            continue;
        }
        let copies = match topology {
            Topology::Bounded => 1,
            // Periodic: transform three copies and keep the middle one.
            Topology::Periodic => 3,
        };
        let mut line = vec![0.0; copies * n];
        for mut lane in d2.lanes_mut(Axis(axis)) {
            for (m, v) in line.iter_mut().enumerate() {
                *v = lane[m % n];
            }
            let out = squared_distance_1d(&line);
            let first = (copies / 2) * n;
            for (m, v) in lane.iter_mut().enumerate() {
                *v = out[first + m];
            }
        }
    }
    d2.mapv(|v| {
        if v == 0.0 {
            0.0
        } else {
            (v.sqrt() - 0.5).max(0.0) * grid.dx
        }
    })
}

/// 1D squared distance transform of a sampled function (Felzenszwalb & Huttenlocher 2012).
fn squared_distance_1d(f: &[f64]) -> Vec<f64> {
    let n = f.len();
    let mut d = vec![0.0; n];
    let mut v = vec![0usize; n];
    let mut z = vec![0.0f64; n + 1];
    let mut k = 0usize;
    z[0] = f64::NEG_INFINITY;
    z[1] = f64::INFINITY;
    for q in 1..n {
        loop {
            let p = v[k];
            let s = ((f[q] + (q * q) as f64) - (f[p] + (p * p) as f64))
                / (2.0 * q as f64 - 2.0 * p as f64);
            if s <= z[k] && k > 0 {
                k -= 1;
                continue;
            }
            if s <= z[k] {
                // k == 0 and the new parabola dominates from −∞.
                v[0] = q;
                z[0] = f64::NEG_INFINITY;
                z[1] = f64::INFINITY;
                break;
            }
            k += 1;
            v[k] = q;
            z[k] = s;
            z[k + 1] = f64::INFINITY;
            break;
        }
    }
    k = 0;
    for (q, dq) in d.iter_mut().enumerate() {
        while z[k + 1] < q as f64 {
            k += 1;
        }
        let p = v[k];
        let diff = q as f64 - p as f64;
        *dq = diff * diff + f[p];
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The passivating layer's ASR (lab frame, log-normal, 60 % blocked) on two domain widths at
    /// one Δx: the same where they overlap, 4ℓ_c from the narrow one's periodic seam (decision 17:
    /// a convergence study holds the interphase fixed).
    #[test]
    fn a_wider_domain_keeps_the_layer_where_they_overlap() {
        let params = |ny: usize| {
            let mut cfg = crate::config::Config::default_demo();
            cfg.grid.ny = ny;
            cfg.interphase.preset = crate::config::presets::Preset::Passivating;
            Params::from_config(&cfg).unwrap()
        };
        let p = params(128);
        let (narrow, wide) = (
            InterphaseFields::new(&p),
            InterphaseFields::new(&params(256)),
        );
        let margin = (4.0 * p.interphase.correlation_length / p.grid.dx).ceil() as usize;
        let (mut same, mut blocked) = (0, 0);
        for i in 0..p.grid.nx {
            for j in margin..128 - margin {
                assert_eq!(
                    narrow.asr[[i, j, 0]],
                    wide.asr[[i, j, 0]],
                    "ASR at ({i}, {j})"
                );
                assert_eq!(
                    narrow.blocked[[i, j, 0]],
                    wide.blocked[[i, j, 0]],
                    "({i}, {j})"
                );
                same += 1;
                blocked += narrow.blocked[[i, j, 0]] as usize;
            }
        }
        let fraction = blocked as f64 / same as f64;
        // The overlap is 28 µm × 24 µm, a few patches of ℓ_c = 4.4 µm: its blocked fraction is
        // one draw around P_b = 0.6, and it only has to show that the compared cells hold both
        // blocked and open layer.
        println!("{same} cells the same; blocked fraction {fraction:.3} (preset 0.6)");
        assert!(same > 2000 && (0.2..0.9).contains(&fraction));
    }

    #[test]
    fn distance_of_planar_metal() {
        let grid = Grid::new(32, 8, 0.5);
        let xi = grid.field_from_fn(|(i, _, _)| if i < 10 { 1.0 } else { 0.0 });
        let d = distance_from_metal(&xi, grid);
        // Cell 15 is 6 cells above the last metal cell (9): 5.5 cells from the contour = 2.75 µm.
        println!(
            "d(15) = {} (expect 2.75), d(5) = {} (expect 0)",
            d[[15, 3, 0]],
            d[[5, 3, 0]]
        );
        assert!((d[[15, 3, 0]] - 2.75).abs() < 1e-12 && d[[5, 3, 0]] == 0.0);
    }

    #[test]
    fn distance_is_periodic_in_y() {
        let grid = Grid::new(4, 16, 1.0);
        let mut xi = grid.field(0.0);
        xi[[0, 0, 0]] = 1.0;
        let d = distance_from_metal(&xi, grid);
        println!(
            "d(0,15) = {} (expect 0.5 via the periodic wrap)",
            d[[0, 15, 0]]
        );
        assert!((d[[0, 15, 0]] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn distance_is_euclidean_in_3d_and_periodic_in_z() {
        let grid = Grid {
            nx: 6,
            ny: 8,
            nz: 10,
            dx: 1.0,
        };
        let mut xi = grid.field(0.0);
        xi[[0, 0, 0]] = 1.0;
        let d = distance_from_metal(&xi, grid);
        // Cell (3, 2, 9): 3, 2 and 1 (through the z wrap) cells away: √14 − ½.
        let want = 14f64.sqrt() - 0.5;
        println!("d(3,2,9) = {} (expect {want})", d[[3, 2, 9]]);
        assert!((d[[3, 2, 9]] - want).abs() < 1e-12);
    }
}
