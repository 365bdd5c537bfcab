//! The host's copy bandwidth with rayon: the CPU twin of the device copy kernel
//! (`backend::gpu::bandwidth::copy_bandwidth`), for `mgpf bench`'s roofline column.

use rayon::prelude::*;
use std::time::{Duration, Instant};

/// Copies are repeated until this much time has passed (and at least [`MIN_REPS`] times).
const MIN_TIME: Duration = Duration::from_millis(50);
const MIN_REPS: u32 = 3;

/// GB/s of `dst = src` over `n` f32 split into contiguous chunks over rayon's threads
/// (`copy_from_slice` per chunk, a memcpy): 8 B per element (one read, one write), the mean over
/// the repetitions after one untimed copy, run on one of rayon's threads.
pub fn copy_bandwidth(n: usize) -> f64 {
    let n = n.max(1);
    let src = vec![1.0f32; n];
    let mut dst = vec![0.0f32; n];
    let chunk = n.div_ceil(4 * rayon::current_num_threads()).max(4096);
    let copy = |dst: &mut [f32]| {
        dst.par_chunks_mut(chunk)
            .zip(src.par_chunks(chunk))
            .for_each(|(d, s)| d.copy_from_slice(s));
        std::hint::black_box(dst);
    };
    // On one of rayon's threads, so that each copy splits from there rather than being handed
    // to the pool from outside it (a few µs a copy, which would dominate small grids).
    rayon::scope(|_| {
        copy(&mut dst);
        let t = Instant::now();
        let mut reps = 0u32;
        while reps < MIN_REPS || t.elapsed() < MIN_TIME {
            copy(&mut dst);
            reps += 1;
        }
        8.0 * n as f64 * f64::from(reps) / t.elapsed().as_secs_f64() / 1e9
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn copy_bandwidth_is_positive_and_finite() {
        let gbs = super::copy_bandwidth(1 << 12);
        assert!(gbs.is_finite() && gbs > 0.0, "{gbs}");
    }
}
