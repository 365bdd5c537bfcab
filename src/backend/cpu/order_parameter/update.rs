//! The explicit step of xi (E1): the interface noise and the forward-Euler update with the
//! zero-sum noise shift; twins of the `interface_noise` and `update_order_parameter` kernels of
//! shaders/order_parameter.wgsl.

use crate::grid::Real;
use crate::model::coefficients::FLUSH_TO_ZERO;
use crate::model::interphase::interpolation_prime;
use crate::model::noise::uniform_signed;
use crate::model::params::MAX_H_PRIME;
use rayon::prelude::*;

/// One step's draw of the interface noise: N = A r h'(xi)/max h', A already carrying
/// sqrt(dt_ref/dt), r from the counter-based generator keyed by (key, step, cell); none on the
/// `frozen` cells (dead metal's, `model::dead_metal`), which take no part in the zero-sum shift.
#[derive(Clone, Copy, Debug)]
pub struct NoiseDraw<'a> {
    pub amplitude: Real,
    pub key: u32,
    pub step: u32,
    pub frozen: Option<&'a [bool]>,
}

impl NoiseDraw<'_> {
    /// h'(xi) of cell `cell` as the noise weighs it: 0 on a frozen cell.
    #[inline(always)]
    fn weight(self, cell: u32, hp: Real) -> Real {
        match self.frozen {
            Some(frozen) if frozen[cell as usize] => 0.0,
            _ => hp,
        }
    }

    /// N of cell `cell` with h'(xi) = `hp`: none in the bulk (h' = 0), where the noise is
    /// confined to the interface.
    #[inline(always)]
    fn at(self, cell: u32, hp: Real) -> Real {
        if hp > 0.0 {
            self.amplitude
                * (1.0 / MAX_H_PRIME as Real)
                * uniform_signed(self.key, self.step, cell)
                * hp
        } else {
            0.0
        }
    }

    /// (Σ N, Σ h') over the chunk of cells from `first`, handing each N to `write(j, N)`; None
    /// for a bulk chunk (h' = 0 throughout: no draw, no write).
    #[inline(always)]
    fn chunk(
        self,
        first: u32,
        x: &[Real],
        mut write: impl FnMut(usize, Real),
    ) -> Option<(f64, f64)> {
        if self.amplitude == 0.0 || x.iter().all(|&xv| interpolation_prime(xv) <= 0.0) {
            return None;
        }
        let (mut n_sum, mut hp_sum) = (LaneSums::default(), LaneSums::default());
        for (j, &xv) in x.iter().enumerate() {
            let hp = self.weight(first + j as u32, interpolation_prime(xv));
            let n = self.at(first + j as u32, hp);
            write(j, n);
            n_sum.add(j, n);
            hp_sum.add(j, hp);
        }
        Some((n_sum.total(), hp_sum.total()))
    }
}

/// Interface noise N = A r h'(xi)/max h' per cell (A already carries sqrt(dt_ref/dt)), r from the
/// counter-based generator keyed by (key, step, cell); returns (Σ N, Σ h') for the zero-sum shift.
pub fn interface_noise(
    amplitude: Real,
    key: u32,
    step: u32,
    xi: &[Real],
    noise: &mut [Real],
) -> (f64, f64) {
    let draw = NoiseDraw {
        amplitude,
        key,
        step,
        frozen: None,
    };
    let chunk = ROW_CHUNK;
    noise
        .par_chunks_mut(chunk)
        .zip(xi.par_chunks(chunk))
        .enumerate()
        .map(|(c, (out, x))| {
            draw.chunk((c * chunk) as u32, x, |j, n| out[j] = n)
                .unwrap_or_else(|| {
                    out.fill(0.0);
                    (0.0, 0.0)
                })
        })
        .reduce(|| (0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1))
}

/// [`interface_noise`]'s sums (Σ N, Σ h') without the field: [`update_order_parameter_drawing`]
/// draws N again where it needs it.
pub fn interface_noise_sums(draw: NoiseDraw, xi: &[Real]) -> (f64, f64) {
    let chunk = ROW_CHUNK;
    xi.par_chunks(chunk)
        .enumerate()
        .map(|(c, x)| {
            draw.chunk((c * chunk) as u32, x, |_, _| {})
                .unwrap_or((0.0, 0.0))
        })
        .reduce(|| (0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1))
}

/// Cells per parallel task of the pointwise kernels.
const ROW_CHUNK: usize = 4096;

/// f64 partial sums in [`LANES`] independent accumulators, cell t into lane t mod LANES: one
/// serial f64 chain would stop a loop from vectorising (its order is fixed); independent lanes
/// keep the sum deterministic (same order for any thread count) and the loop vectorised.
pub const LANES: usize = 16;

#[derive(Clone, Copy)]
pub struct LaneSums([f64; LANES]);

impl Default for LaneSums {
    fn default() -> Self {
        LaneSums([0.0; LANES])
    }
}

impl LaneSums {
    #[inline(always)]
    pub fn add(&mut self, t: usize, v: Real) {
        self.0[t % LANES] += v as f64;
    }

    /// Σ values (the chunk is in L1 by now: a second, vectorised pass is cheaper than a
    /// serial sum inside the loop that wrote it).
    pub fn of(values: &[Real]) -> f64 {
        let mut lanes = LaneSums::default();
        let blocks = values.chunks_exact(LANES);
        let rest = blocks.remainder();
        for block in blocks {
            for (lane, &v) in lanes.0.iter_mut().zip(block) {
                *lane += v as f64;
            }
        }
        for (lane, &v) in lanes.0.iter_mut().zip(rest) {
            *lane += v as f64;
        }
        lanes.total()
    }

    pub fn total(&self) -> f64 {
        self.0.iter().sum()
    }
}

/// xi ← xi + dt (∂xi/∂t|_AC + ∂xi/∂t|_BV + N − n̄ h'(xi)), with n̄ = ΣN/Σh' so that the noise
/// roughens the front without depositing net metal (Faraday's law stays exact). Writes Δxi and
/// returns Σ Δxi (f64).
pub fn update_order_parameter(
    xi: &mut [Real],
    ac_rate: &[Real],
    bv_rate: &[Real],
    noise: &[Real],
    noise_mean: Real,
    dt: Real,
    dxi: &mut [Real],
) -> f64 {
    update_chunks(xi, ac_rate, bv_rate, dxi, |first, x, d, ac, bv| {
        let nz = &noise[first..first + x.len()];
        update_chunk(x, d, ac, bv, |j, hp| (nz[j], hp), noise_mean, dt)
    })
}

/// [`interface_noise`] then [`update_order_parameter`] without the noise field, bit for bit:
/// N is drawn again (the generator is a pure function of (key, step, cell)) in the chunks the
/// front crosses, which saves writing and reading one whole field. `noise_mean` comes from
/// [`interface_noise_sums`].
#[allow(clippy::too_many_arguments)]
pub fn update_order_parameter_drawing(
    xi: &mut [Real],
    ac_rate: &[Real],
    bv_rate: &[Real],
    draw: NoiseDraw,
    noise_mean: Real,
    dt: Real,
    dxi: &mut [Real],
) -> f64 {
    update_chunks(xi, ac_rate, bv_rate, dxi, |first, x, d, ac, bv| {
        let drawn = draw.amplitude != 0.0 && x.iter().any(|&v| interpolation_prime(v) > 0.0);
        if drawn {
            let first = first as u32;
            let noise = |j: usize, hp| {
                let w = draw.weight(first + j as u32, hp);
                (draw.at(first + j as u32, w), w)
            };
            update_chunk(x, d, ac, bv, noise, noise_mean, dt)
        } else {
            update_chunk(x, d, ac, bv, |_, hp| (0.0, hp), noise_mean, dt)
        }
    })
}

/// `update(first cell, xi, Δxi, AC rate, BV rate)` over chunks of ROW_CHUNK cells in parallel;
/// returns the sum of what it returns (Σ Δxi).
fn update_chunks(
    xi: &mut [Real],
    ac_rate: &[Real],
    bv_rate: &[Real],
    dxi: &mut [Real],
    update: impl Fn(usize, &mut [Real], &mut [Real], &[Real], &[Real]) -> f64 + Sync,
) -> f64 {
    let chunk = ROW_CHUNK;
    xi.par_chunks_mut(chunk)
        .zip(dxi.par_chunks_mut(chunk))
        .zip(ac_rate.par_chunks(chunk))
        .zip(bv_rate.par_chunks(chunk))
        .enumerate()
        .map(|(c, (((x, d), ac), bv))| update(c * chunk, x, d, ac, bv))
        .sum()
}

/// The update of one chunk, N of cell j and the h' the zero-sum shift weighs it by given by
/// `noise(j, h'(xi_j))`; returns Σ Δxi.
#[inline(always)]
fn update_chunk(
    x: &mut [Real],
    d: &mut [Real],
    ac: &[Real],
    bv: &[Real],
    noise: impl Fn(usize, Real) -> (Real, Real),
    noise_mean: Real,
    dt: Real,
) -> f64 {
    let n = x.len();
    let (d, ac, bv) = (&mut d[..n], &ac[..n], &bv[..n]);
    for j in 0..n {
        let (n, hp) = noise(j, interpolation_prime(x[j]));
        let zero_sum_noise = n - noise_mean * hp;
        let mut updated = x[j] + dt * (ac[j] + bv[j] + zero_sum_noise);
        // The far field decays geometrically towards 0; flush it before it turns subnormal
        // (subnormal arithmetic is ~100x slower on x86).
        if updated.abs() < FLUSH_TO_ZERO {
            updated = 0.0;
        }
        // The change actually stored after f32 rounding, so Σ Δxi (the reported current and
        // the concentration sink) matches the field exactly.
        d[j] = updated - x[j];
        x[j] = updated;
    }
    LaneSums::of(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The update that draws the noise again against the noise field then the update: the same
    /// xi and Δxi bits, and the same sums, on a front with bulk chunks on both sides (exact 0 and
    /// 1 beyond ±15 rows) and chunks it crosses; with noise and without.
    #[test]
    fn drawing_update_matches_noise_field_then_update_bit_for_bit() {
        let (nx, ny) = (150, 400);
        let n = nx * ny;
        let xi0: Vec<Real> = (0..n)
            .map(|c| {
                let (i, j) = ((c / ny) as f32, (c % ny) as f32);
                let d = i - 75.0 - 4.0 * (0.05 * j).sin();
                if d.abs() > 15.0 {
                    if d < 0.0 {
                        1.0
                    } else {
                        0.0
                    }
                } else {
                    0.5 * (1.0 - (d / 2.0).tanh())
                }
            })
            .collect();
        let ac: Vec<Real> = (0..n)
            .map(|c| 1e-3 * uniform_signed(3, 0, c as u32))
            .collect();
        let bv: Vec<Real> = (0..n)
            .map(|c| 1e-3 * uniform_signed(4, 0, c as u32))
            .collect();
        let bulk_chunks = xi0
            .chunks(ROW_CHUNK)
            .filter(|x| x.iter().all(|&v| interpolation_prime(v) <= 0.0))
            .count();
        for amplitude in [0.04, 0.0] {
            let draw = NoiseDraw {
                amplitude,
                key: 11,
                step: 5,
                frozen: None,
            };
            let mut noise = vec![1.0; n];
            let (ns, hs) = interface_noise(amplitude, draw.key, draw.step, &xi0, &mut noise);
            let (ns2, hs2) = interface_noise_sums(draw, &xi0);
            let mean = if hs > 0.0 { (ns / hs) as Real } else { 0.0 };
            let (mut xi_a, mut d_a) = (xi0.clone(), vec![0.0; n]);
            let sum_a = update_order_parameter(&mut xi_a, &ac, &bv, &noise, mean, 0.5, &mut d_a);
            let (mut xi_b, mut d_b) = (xi0.clone(), vec![1.0; n]);
            let sum_b =
                update_order_parameter_drawing(&mut xi_b, &ac, &bv, draw, mean, 0.5, &mut d_b);
            let differing = (0..n)
                .filter(|&c| {
                    xi_a[c].to_bits() != xi_b[c].to_bits() || d_a[c].to_bits() != d_b[c].to_bits()
                })
                .count();
            println!(
                "amplitude {amplitude}: {differing} of {n} cells differ (expected 0; {bulk_chunks} bulk \
                 chunks); sums ΣN {ns:e} / {ns2:e}, Σh' {hs:e} / {hs2:e}, ΣΔxi {sum_a:e} / {sum_b:e}"
            );
            assert!(bulk_chunks >= 4 && bulk_chunks < n / ROW_CHUNK);
            assert_eq!(differing, 0);
            assert_eq!(sum_a.to_bits(), sum_b.to_bits());
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-14 * a.abs().max(b.abs()).max(1e-300);
            assert!(close(ns, ns2) && close(hs, hs2));
        }
    }
}
