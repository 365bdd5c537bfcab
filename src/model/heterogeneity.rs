//! Gaussian random fields for interphase heterogeneity (physics.md §3.2, decision 17), defined
//! in physical space so that the grid only samples them: white noise on a fixed lattice of
//! spacing ℓ_c/4 (keyed by the seed and the lattice index), smoothed by the kernel
//! exp(−r²/ℓ_c²), and scaled to unit variance at every point. The correlation is then
//! C(r) = exp(−r²/(2ℓ_c²)). Refining the grid samples the same field at more points; widening
//! the domain keeps the field where the two overlap (away from the periodic seam, within 4ℓ_c of
//! which the images of the lattice wrap at the other period).
//!
//! The kernel is separable, so the field on a tensor grid is three one-axis contractions: each
//! axis's samples against the lattice nodes within 4ℓ_c (the kernel is shifted down by its value
//! there, e⁻¹⁶, to vanish at that reach).

use crate::model::noise::{key, pcg3d, standard_normal, STREAM_HETEROGENEITY};
use ndarray::Array3;
use rayon::prelude::*;

/// Lattice nodes per correlation length.
pub const NODES_PER_CORRELATION_LENGTH: f64 = 4.0;

/// The kernel's reach, in correlation lengths.
const REACH: f64 = 4.0;

/// Where a field is sampled along one axis.
#[derive(Debug, Clone, PartialEq)]
pub enum SampleAxis {
    /// The field does not vary along this axis (one sample).
    Absent,
    /// Samples at these coordinates (µm) of an unbounded axis.
    Bounded(Vec<f64>),
    /// Samples at these coordinates (µm) of an axis periodic with the given length (µm).
    Periodic(Vec<f64>, f64),
}

impl SampleAxis {
    /// The cell centres (n + ½)Δx of `n` cells, periodic over nΔx or not.
    pub fn cell_centres(n: usize, dx: f64, periodic: bool) -> SampleAxis {
        let centres: Vec<f64> = (0..n).map(|m| (m as f64 + 0.5) * dx).collect();
        if periodic {
            SampleAxis::Periodic(centres, n as f64 * dx)
        } else {
            SampleAxis::Bounded(centres)
        }
    }

    fn len(&self) -> usize {
        match self {
            SampleAxis::Absent => 1,
            SampleAxis::Bounded(c) | SampleAxis::Periodic(c, _) => c.len(),
        }
    }
}

/// One axis's weights: for each sample, (lattice slot, weight) pairs, the weights scaled so that
/// their squares sum to 1; and the lattice's node indices (signed, the noise's key) per slot.
struct AxisWeights {
    nodes: Vec<i64>,
    rows: Vec<Vec<(usize, f64)>>,
}

fn axis_weights(axis: &SampleAxis, corr_len: f64) -> AxisWeights {
    let a = corr_len / NODES_PER_CORRELATION_LENGTH;
    let reach = REACH * corr_len;
    // Shifted to vanish at the reach, so that a node at the window's edge (which rounding in a
    // coordinate may take in or leave out) adds nothing.
    let edge = (-REACH * REACH).exp();
    let kernel = |d: f64| {
        if d.abs() < reach {
            (-(d * d) / (corr_len * corr_len)).exp() - edge
        } else {
            0.0
        }
    };
    let normalised = |row: Vec<(usize, f64)>| {
        let norm = row.iter().map(|(_, w)| w * w).sum::<f64>().sqrt();
        row.into_iter().map(|(n, w)| (n, w / norm)).collect()
    };
    match axis {
        SampleAxis::Absent => AxisWeights {
            nodes: vec![0],
            rows: vec![vec![(0, 1.0)]],
        },
        SampleAxis::Bounded(coords) => {
            let lo = coords.iter().copied().fold(f64::INFINITY, f64::min);
            let first = ((lo - reach) / a).floor() as i64;
            let rows = coords
                .iter()
                .map(|&c| {
                    let from = ((c - reach) / a).floor() as i64;
                    let to = ((c + reach) / a).ceil() as i64;
                    normalised(
                        (from..=to)
                            .map(|n| ((n - first) as usize, kernel(c - n as f64 * a)))
                            .collect(),
                    )
                })
                .collect::<Vec<Vec<(usize, f64)>>>();
            let last = rows.iter().flatten().map(|(s, _)| *s).max().unwrap_or(0);
            AxisWeights {
                nodes: (0..=last as i64).map(|s| first + s).collect(),
                rows,
            }
        }
        SampleAxis::Periodic(coords, period) => {
            // Nodes n·a for n < ⌈L/a⌉; a sample sees every image n·a + mL within the reach.
            let count = (period / a).ceil() as i64;
            let rows = coords
                .iter()
                .map(|&c| {
                    let mut row: Vec<(usize, f64)> = Vec::new();
                    let images = (reach / period).ceil() as i64 + 1;
                    for m in -images..=images {
                        let shift = m as f64 * period;
                        let from = (((c - reach - shift) / a).floor() as i64).max(0);
                        let to = (((c + reach - shift) / a).ceil() as i64).min(count - 1);
                        for n in from..=to {
                            let w = kernel(c - n as f64 * a - shift);
                            match row.iter_mut().find(|(s, _)| *s == n as usize) {
                                Some((_, acc)) => *acc += w,
                                None => row.push((n as usize, w)),
                            }
                        }
                    }
                    normalised(row)
                })
                .collect();
            AxisWeights {
                nodes: (0..count).collect(),
                rows,
            }
        }
    }
}

/// Unit-variance Gaussian random field with correlation exp(−r²/(2ℓ_c²)) (`corr_len` ℓ_c in µm)
/// sampled on the tensor grid of `axes`, shape (len₀, len₁, len₂). `stream` separates
/// independent fields of one seed.
pub fn gaussian_random_field(
    axes: [&SampleAxis; 3],
    corr_len: f64,
    seed: u64,
    stream: u32,
) -> Array3<f64> {
    let k = key(seed, STREAM_HETEROGENEITY ^ stream);
    let [w0, w1, w2] = axes.map(|a| axis_weights(a, corr_len));
    let (n0, n1, n2) = (axes[0].len(), axes[1].len(), axes[2].len());
    let (p0, p1) = (w0.nodes.len(), w1.nodes.len());
    // The noise at lattice node (n₀, n₁, n₂): a hash of the seed's key and n₀ keys the line,
    // (n₁, n₂) the node on it.
    let noise = |a: i64, b: i64, c: i64| {
        let (line, _, _) = pcg3d(k, a as u32, (a >> 32) as u32);
        standard_normal(line, b as u32, c as u32)
    };
    // Contract the last axis, then the middle, then the first.
    let t2: Vec<f64> = (0..p0 * p1)
        .into_par_iter()
        .flat_map_iter(|s| {
            let (a, b) = (w0.nodes[s / p1], w1.nodes[s % p1]);
            let line: Vec<f64> = w2.nodes.iter().map(|&c| noise(a, b, c)).collect();
            w2.rows
                .iter()
                .map(move |row| row.iter().map(|&(n, w)| w * line[n]).sum::<f64>())
                .collect::<Vec<f64>>()
        })
        .collect();
    let t1: Vec<f64> = (0..p0)
        .into_par_iter()
        .flat_map_iter(|a| {
            let t2 = &t2;
            w1.rows.iter().flat_map(move |row| {
                (0..n2).map(move |m| {
                    row.iter()
                        .map(|&(b, w)| w * t2[(a * p1 + b) * n2 + m])
                        .sum::<f64>()
                })
            })
        })
        .collect();
    let values: Vec<f64> = w0
        .rows
        .par_iter()
        .flat_map_iter(|row| {
            let t1 = &t1;
            (0..n1 * n2).map(move |jm| row.iter().map(|&(a, w)| w * t1[a * n1 * n2 + jm]).sum())
        })
        .collect();
    Array3::from_shape_vec((n0, n1, n2), values).expect("shape matches")
}

/// The value a unit normal variable exceeds with probability `fraction` (Acklam's rational
/// approximation of the normal quantile, relative error < 1.2e-9): blocked patches cover that
/// area fraction in expectation, on any grid and domain.
pub fn normal_upper_quantile(fraction: f64) -> f64 {
    if fraction <= 0.0 {
        return f64::INFINITY;
    }
    if fraction >= 1.0 {
        return f64::NEG_INFINITY;
    }
    -normal_quantile(fraction)
}

/// Φ⁻¹(p) for p in (0, 1).
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383_577_518_672_69e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    const LOW: f64 = 0.02425;
    if p < LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plane(n0: usize, n1: usize, dx: f64, lc: f64, seed: u64) -> Array3<f64> {
        let x = SampleAxis::cell_centres(n0, dx, false);
        let y = SampleAxis::cell_centres(n1, dx, true);
        gaussian_random_field([&x, &y, &SampleAxis::Absent], lc, seed, 0)
    }

    #[test]
    fn unit_variance_and_correlation_length() {
        let (n, dx, lc) = (256usize, 0.25, 2.0);
        let g = plane(n, n, dx, lc, 7);
        let mean = g.mean().unwrap();
        let var = g.mapv(|v| v * v).mean().unwrap() - mean * mean;
        // Correlation at lag r = ℓ_c along j: expect exp(−1/2) = 0.607.
        let lag = (lc / dx) as usize;
        let mut c = 0.0;
        for i in 0..n {
            for j in 0..n {
                c += (g[[i, j, 0]] - mean) * (g[[i, (j + lag) % n, 0]] - mean);
            }
        }
        c /= (n * n) as f64 * var;
        println!("mean {mean:.4}, variance {var:.4} (expect 0 ± 0.1, 1 ± 0.15), C(ℓ_c) = {c:.4} (expect 0.607 ± 0.08)");
        assert!(mean.abs() < 0.1 && (var - 1.0).abs() < 0.15);
        assert!((c - (-0.5f64).exp()).abs() < 0.08);
    }

    /// Every sample's variance is 1 by construction: the weights' squares sum to 1 per axis.
    #[test]
    fn every_sample_has_unit_variance() {
        for axis in [
            SampleAxis::cell_centres(10, 0.37, false),
            SampleAxis::cell_centres(10, 0.37, true),
            SampleAxis::Periodic(vec![0.1, 0.9], 1.0),
        ] {
            for row in axis_weights(&axis, 1.3).rows {
                let s: f64 = row.iter().map(|(_, w)| w * w).sum();
                assert!((s - 1.0).abs() < 1e-12, "{s}");
            }
        }
    }

    /// A wider domain at the same Δx keeps the field where the two overlap, at least 4ℓ_c from
    /// the narrower one's periodic seam: the same lattice noise and weights give the same bits.
    #[test]
    fn widening_the_domain_keeps_the_field_where_they_overlap() {
        let (dx, lc) = (0.5, 2.0);
        let narrow = plane(20, 64, dx, lc, 11);
        let wide = plane(20, 96, dx, lc, 11);
        let margin = (REACH * lc / dx).ceil() as usize;
        let mut compared = 0;
        for i in 0..20 {
            for j in margin..64 - margin {
                assert_eq!(narrow[[i, j, 0]], wide[[i, j, 0]], "cell ({i}, {j})");
                compared += 1;
            }
        }
        // And it is a different field near the seam, where the period differs.
        let differ = (0..20).any(|i| narrow[[i, 0, 0]] != wide[[i, 0, 0]]);
        println!("{compared} cells equal away from the seam; near it the fields differ: {differ}");
        assert!(differ && compared == 20 * (64 - 2 * margin));
    }

    /// Refining Δx by 3 puts a fine cell centre on every coarse one: the field is the same there.
    #[test]
    fn refining_the_grid_samples_the_same_field() {
        let (dx, lc) = (0.6, 1.5);
        let coarse = plane(12, 40, dx, lc, 5);
        let fine = plane(36, 120, dx / 3.0, lc, 5);
        let mut worst = 0.0f64;
        for i in 0..12 {
            for j in 0..40 {
                let d = (coarse[[i, j, 0]] - fine[[3 * i + 1, 3 * j + 1, 0]]).abs();
                worst = worst.max(d);
            }
        }
        println!("worst difference at coincident centres: {worst:e} (expect round-off, < 1e-12)");
        assert!(worst < 1e-12);
        // Another seed is another field.
        let other = plane(12, 40, dx, lc, 6);
        assert!((coarse[[5, 5, 0]] - other[[5, 5, 0]]).abs() > 1e-6);
    }

    /// The correlation two samples get from the weights, Σ_n w_a(n) w_b(n) per axis.
    fn correlation(axis: &SampleAxis, lc: f64, a: usize, b: usize) -> f64 {
        let w = axis_weights(axis, lc);
        w.rows[a]
            .iter()
            .map(|&(n, wa)| wa * w.rows[b].iter().find(|(m, _)| *m == n).map_or(0.0, |x| x.1))
            .sum()
    }

    /// A periodic axis correlates neighbours across its seam as it does inside:
    /// C(Δx) = exp(−Δx²/(2ℓ_c²)) = 0.8825 for Δx = ℓ_c/2.
    #[test]
    fn a_periodic_axis_correlates_across_its_seam() {
        let z = SampleAxis::cell_centres(16, 0.5, true);
        let want = (-0.125f64).exp();
        let (seam, inside) = (correlation(&z, 1.0, 15, 0), correlation(&z, 1.0, 7, 8));
        println!("C across the seam {seam:.5}, inside {inside:.5} (expect {want:.5} ± 2e-3)");
        assert!((seam - want).abs() < 2e-3 && (inside - want).abs() < 2e-3);
        let x = SampleAxis::cell_centres(16, 0.5, false);
        let far = correlation(&x, 1.0, 15, 0);
        println!("C between the ends of a bounded axis {far:e} (expect 0)");
        assert!(far.abs() < 1e-12);
    }

    #[test]
    fn the_3d_field_has_unit_variance() {
        let dx = 0.5;
        let x = SampleAxis::cell_centres(16, dx, false);
        let y = SampleAxis::cell_centres(16, dx, true);
        let z = SampleAxis::cell_centres(16, dx, true);
        let g = gaussian_random_field([&x, &y, &z], 1.0, 3, 0);
        let var = g.mapv(|v| v * v).mean().unwrap();
        println!("3D variance {var:.3} (expect 1 ± 0.25)");
        assert!((var - 1.0).abs() < 0.25);
    }

    #[test]
    fn the_normal_quantile() {
        // Φ⁻¹(0.975) = 1.959963985, Φ⁻¹(0.7) = 0.524400513, Φ⁻¹(0.01) = −2.326347874.
        assert!((normal_upper_quantile(0.025) - 1.959963985).abs() < 1e-8);
        assert!((normal_upper_quantile(0.3) - 0.524400513).abs() < 1e-8);
        assert!((normal_upper_quantile(0.99) + 2.326347874).abs() < 1e-8);
        assert_eq!(normal_upper_quantile(0.0), f64::INFINITY);
    }

    #[test]
    fn the_blocked_fraction_is_met_in_expectation() {
        let g = plane(128, 128, 0.5, 1.0, 3);
        let t = normal_upper_quantile(0.3);
        let frac = g.iter().filter(|&&v| v > t).count() as f64 / g.len() as f64;
        println!("area above threshold {frac:.3} (expect 0.30 ± 0.05)");
        assert!((frac - 0.3).abs() < 0.05);
    }
}
