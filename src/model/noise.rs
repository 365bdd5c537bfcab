//! Counter-based random numbers keyed by (seed, step, cell): the same numbers on the CPU, on the
//! GPU and for any thread count. The hash is pcg3d (Jarzynski & Olano, JCGT 2020), u32 only, so
//! the WGSL twin (`shaders/noise.wgsl`) is a transcription.

use crate::grid::Real;

/// Streams keep independent uses of the generator apart.
pub const STREAM_NOISE: u32 = 0x6e6f_6973;
pub const STREAM_HETEROGENEITY: u32 = 0x6865_7465;

#[inline]
pub fn pcg3d(mut x: u32, mut y: u32, mut z: u32) -> (u32, u32, u32) {
    x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
    y = y.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
    z = z.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
    x = x.wrapping_add(y.wrapping_mul(z));
    y = y.wrapping_add(z.wrapping_mul(x));
    z = z.wrapping_add(x.wrapping_mul(y));
    x ^= x >> 16;
    y ^= y >> 16;
    z ^= z >> 16;
    x = x.wrapping_add(y.wrapping_mul(z));
    y = y.wrapping_add(z.wrapping_mul(x));
    z = z.wrapping_add(x.wrapping_mul(y));
    (x, y, z)
}

/// The 32-bit key of (seed, stream): folded so that seeds differing in any bit give other streams.
#[inline]
pub fn key(seed: u64, stream: u32) -> u32 {
    let (a, _, _) = pcg3d(seed as u32, (seed >> 32) as u32, stream);
    a
}

/// Uniform number in [−1, 1) for (key, step, cell), exact in f32 (24 random bits).
#[inline]
pub fn uniform_signed(key: u32, step: u32, cell: u32) -> Real {
    let (a, _, _) = pcg3d(cell, step, key);
    ((a >> 8) as Real) * (2.0 / 16_777_216.0) - 1.0
}

/// Two uniforms in (0, 1] for Box–Muller, from one hash.
#[inline]
pub fn uniform_pair(key: u32, step: u32, cell: u32) -> (f64, f64) {
    let (a, b, _) = pcg3d(cell, step, key);
    (
        ((a >> 8) as f64 + 1.0) / 16_777_216.0,
        ((b >> 8) as f64 + 1.0) / 16_777_216.0,
    )
}

/// Standard normal number (Box–Muller) for (key, step, cell). Host-side only (heterogeneity).
pub fn standard_normal(key: u32, step: u32, cell: u32) -> f64 {
    let (u1, u2) = uniform_pair(key, step, cell);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_moments() {
        let k = key(42, STREAM_NOISE);
        let n = 200_000u32;
        let (mut s, mut s2) = (0.0f64, 0.0f64);
        let (mut lo, mut hi) = (1.0f32, -1.0f32);
        for cell in 0..n {
            let r = uniform_signed(k, 7, cell);
            s += r as f64;
            s2 += (r as f64).powi(2);
            lo = lo.min(r);
            hi = hi.max(r);
        }
        let mean = s / n as f64;
        let var = s2 / n as f64 - mean * mean;
        println!("mean {mean} (expect 0 ± 0.005), variance {var} (expect 1/3 ± 0.005), range [{lo}, {hi}]");
        assert!(mean.abs() < 0.005 && (var - 1.0 / 3.0).abs() < 0.005);
        assert!(lo >= -1.0 && hi < 1.0);
    }

    #[test]
    fn streams_and_steps_differ() {
        let k = key(1, STREAM_NOISE);
        assert_ne!(uniform_signed(k, 0, 5), uniform_signed(k, 1, 5));
        assert_ne!(key(1, STREAM_NOISE), key(2, STREAM_NOISE));
        assert_ne!(key(1, STREAM_NOISE), key(1 << 40, STREAM_NOISE));
        assert_eq!(uniform_signed(k, 3, 9), uniform_signed(k, 3, 9));
    }
}
