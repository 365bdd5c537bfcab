//! Gaussian random fields for interphase heterogeneity (physics.md §3.2): white noise filtered
//! with exp(−k²ℓ_c²/4) by FFT, renormalised to zero mean and unit variance, so that the
//! correlation is C(r) = exp(−r²/(2ℓ_c²)). Periodic; seeded through the counter-based generator.

use crate::model::noise::{key, standard_normal, STREAM_HETEROGENEITY};
use ndarray::{Array2, Array3};
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
    gaussian_random_field_3d([n0, n1, 1], dx, corr_len, seed, stream)
        .into_shape_with_order((n0, n1))
        .expect("shape matches")
}

/// [`gaussian_random_field`] on an (n0, n1, n2) periodic grid; with n2 = 1 the 2D field, bit
/// for bit (the white noise is keyed by the flat cell index, the transforms run axis by axis
/// from the last).
pub fn gaussian_random_field_3d(
    shape: [usize; 3],
    dx: f64,
    corr_len: f64,
    seed: u64,
    stream: u32,
) -> Array3<f64> {
    let k = key(seed, STREAM_HETEROGENEITY ^ stream);
    let cells: usize = shape.iter().product();
    let mut data: Vec<Complex64> = (0..cells)
        .map(|cell| Complex64::new(standard_normal(k, 0, cell as u32), 0.0))
        .collect();
    let mut planner = FftPlanner::<f64>::new();
    fft_3d(&mut planner, &mut data, shape, false);
    let two_pi = std::f64::consts::TAU;
    let [n0, n1, n2] = shape;
    for i in 0..n0 {
        let ki = wavenumber(i, n0, dx, two_pi);
        for j in 0..n1 {
            let kj = wavenumber(j, n1, dx, two_pi);
            for m in 0..n2 {
                let km = wavenumber(m, n2, dx, two_pi);
                let k2 = if n2 > 1 {
                    ki * ki + kj * kj + km * km
                } else {
                    ki * ki + kj * kj
                };
                let filter = (-k2 * corr_len * corr_len / 4.0).exp();
                data[(i * n1 + j) * n2 + m] *= filter;
            }
        }
    }
    fft_3d(&mut planner, &mut data, shape, true);
    let values: Vec<f64> = data.iter().map(|z| z.re).collect();
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let scale = if var > 0.0 { 1.0 / var.sqrt() } else { 0.0 };
    Array3::from_shape_vec(
        (n0, n1, n2),
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

/// The FFT of a row-major (n0, n1, n2) array along each axis of more than one cell, the last
/// axis first.
fn fft_3d(planner: &mut FftPlanner<f64>, data: &mut [Complex64], shape: [usize; 3], inverse: bool) {
    let strides = [shape[1] * shape[2], shape[2], 1];
    for axis in (0..3).rev() {
        let n = shape[axis];
        if n == 1 {
            continue;
        }
        let fft = if inverse {
            planner.plan_fft_inverse(n)
        } else {
            planner.plan_fft_forward(n)
        };
        let stride = strides[axis];
        if stride == 1 {
            for chunk in data.chunks_mut(n) {
                fft.process(chunk);
            }
            continue;
        }
        // The lines along this axis start at every cell whose index along it is 0.
        let mut line = vec![Complex64::new(0.0, 0.0); n];
        let block = n * stride;
        for outer in (0..data.len()).step_by(block) {
            for inner in 0..stride {
                let start = outer + inner;
                for (t, v) in line.iter_mut().enumerate() {
                    *v = data[start + t * stride];
                }
                fft.process(&mut line);
                for (t, v) in line.iter().enumerate() {
                    data[start + t * stride] = *v;
                }
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
