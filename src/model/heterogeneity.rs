//! Gaussian random fields for interphase heterogeneity (physics.md §3.2): white noise filtered
//! with exp(−k²ℓ_c²/4) by FFT, renormalised to zero mean and unit variance, so that the
//! correlation is C(r) = exp(−r²/(2ℓ_c²)). Periodic; seeded through the counter-based generator.

use crate::model::noise::{key, standard_normal, STREAM_HETEROGENEITY};
use ndarray::Array2;
use rustfft::num_complex::Complex64;
use rustfft::FftPlanner;

/// Unit-variance Gaussian random field on an (n0, n1) periodic grid of spacing `dx` with
/// correlation length `corr_len` (same units). `stream` separates independent fields.
pub fn gaussian_random_field(
    n0: usize,
    n1: usize,
    dx: f64,
    corr_len: f64,
    seed: u64,
    stream: u32,
) -> Array2<f64> {
    let k = key(seed, STREAM_HETEROGENEITY ^ stream);
    let mut data: Vec<Complex64> = (0..n0 * n1)
        .map(|cell| Complex64::new(standard_normal(k, 0, cell as u32), 0.0))
        .collect();
    let mut planner = FftPlanner::<f64>::new();
    fft_2d(&mut planner, &mut data, n0, n1, false);
    let two_pi = std::f64::consts::TAU;
    for i in 0..n0 {
        let ki = wavenumber(i, n0, dx, two_pi);
        for j in 0..n1 {
            let kj = wavenumber(j, n1, dx, two_pi);
            let filter = (-(ki * ki + kj * kj) * corr_len * corr_len / 4.0).exp();
            data[i * n1 + j] *= filter;
        }
    }
    fft_2d(&mut planner, &mut data, n0, n1, true);
    let values: Vec<f64> = data.iter().map(|z| z.re).collect();
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let scale = if var > 0.0 { 1.0 / var.sqrt() } else { 0.0 };
    Array2::from_shape_vec(
        (n0, n1),
        values.into_iter().map(|v| (v - mean) * scale).collect(),
    )
    .expect("shape matches")
}

fn wavenumber(i: usize, n: usize, dx: f64, two_pi: f64) -> f64 {
    let m = if i <= n / 2 {
        i as f64
    } else {
        i as f64 - n as f64
    };
    two_pi * m / (n as f64 * dx)
}

fn fft_2d(
    planner: &mut FftPlanner<f64>,
    data: &mut [Complex64],
    n0: usize,
    n1: usize,
    inverse: bool,
) {
    let row = if inverse {
        planner.plan_fft_inverse(n1)
    } else {
        planner.plan_fft_forward(n1)
    };
    for chunk in data.chunks_mut(n1) {
        row.process(chunk);
    }
    if n0 > 1 {
        let col = if inverse {
            planner.plan_fft_inverse(n0)
        } else {
            planner.plan_fft_forward(n0)
        };
        let mut column = vec![Complex64::new(0.0, 0.0); n0];
        for j in 0..n1 {
            for i in 0..n0 {
                column[i] = data[i * n1 + j];
            }
            col.process(&mut column);
            for i in 0..n0 {
                data[i * n1 + j] = column[i];
            }
        }
    }
}

/// The threshold above which a fraction `fraction` of the field's values lie (empirical
/// quantile, so blocked patches cover exactly that area fraction).
pub fn upper_quantile<D: ndarray::Dimension>(field: &ndarray::Array<f64, D>, fraction: f64) -> f64 {
    if fraction <= 0.0 {
        return f64::INFINITY;
    }
    let mut v: Vec<f64> = field.iter().copied().collect();
    v.sort_by(|a, b| a.total_cmp(b));
    let idx = ((1.0 - fraction) * v.len() as f64).floor() as usize;
    v[idx.min(v.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_variance_and_correlation_length() {
        let (n, dx, lc) = (256usize, 0.25, 2.0);
        let g = gaussian_random_field(n, n, dx, lc, 7, 0);
        let mean = g.mean().unwrap();
        let var = g.mapv(|v| v * v).mean().unwrap();
        // Correlation at lag r = ℓ_c along j: expect exp(−1/2) = 0.607.
        let lag = (lc / dx) as usize;
        let mut c = 0.0;
        for i in 0..n {
            for j in 0..n {
                c += g[[i, j]] * g[[i, (j + lag) % n]];
            }
        }
        c /= (n * n) as f64;
        println!("mean {mean:e}, variance {var}, C(ℓ_c) = {c} (expect 0.607 ± 0.08)");
        assert!(mean.abs() < 1e-9 && (var - 1.0).abs() < 1e-9);
        assert!((c - (-0.5f64).exp()).abs() < 0.08);
    }

    #[test]
    fn quantile_gives_area_fraction() {
        let g = gaussian_random_field(64, 64, 0.5, 2.0, 3, 1);
        let t = upper_quantile(&g, 0.3);
        let frac = g.iter().filter(|&&v| v > t).count() as f64 / g.len() as f64;
        println!("area above threshold {frac} (expect 0.30 ± 0.01)");
        assert!((frac - 0.3).abs() < 0.01);
    }
}
