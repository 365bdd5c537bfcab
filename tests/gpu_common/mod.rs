//! The device the GPU tests share (one per test process).
//!
//! In CI (environment variable `CI` set, as `.ci/run` does) a missing adapter fails the test, so a
//! broken driver install cannot turn the GPU tests into silent passes; elsewhere they skip with a
//! message.

#![allow(dead_code)]

use mgpf::backend::gpu::GpuContext;

pub fn gpu() -> Option<&'static GpuContext> {
    match GpuContext::shared() {
        Ok(ctx) => Some(ctx),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping: {e} (set CI=1 to make this a failure)");
            None
        }
        Err(e) => {
            panic!("CI requires a GPU adapter (lavapipe: mesa-vulkan-drivers libvulkan1): {e}")
        }
    }
}

/// Potential walls of the multigrid tests: zero flux behind the electrode, the far field at 0.
pub fn potential_bcs() -> mgpf::numerics::Bcs {
    mgpf::numerics::Bcs {
        x_lo: mgpf::numerics::Boundary::Neumann,
        x_hi: mgpf::numerics::Boundary::Dirichlet(0.0),
    }
}

/// Concentration walls of the multigrid tests: zero flux behind the electrode, the bulk at
/// c/c0 = 1.
pub fn concentration_bcs() -> mgpf::numerics::Bcs {
    mgpf::numerics::Bcs {
        x_lo: mgpf::numerics::Boundary::Neumann,
        x_hi: mgpf::numerics::Boundary::Dirichlet(1.0),
    }
}

/// Deterministic values in [-1, 1) from a cell index and a seed (no RNG dependency).
pub fn noise(n: usize, seed: u64) -> mgpf::Real {
    let mut x = (n as u64).wrapping_add(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    x = x.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    x ^= x >> 33;
    ((x >> 40) as f64 / (1u64 << 24) as f64 * 2.0 - 1.0) as mgpf::Real
}
