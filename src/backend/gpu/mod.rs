//! The wgpu compute backend: the model of the CPU backend, whole step on the device (issue 3).
//! WGSL lives in `shaders/`, one file per kernel family, each kernel named as its CPU twin.

pub mod backend;
pub mod bandwidth;
pub mod buffers;
pub mod context;
pub mod ensemble;
pub mod kernels;
pub mod multigrid;
pub mod phase_clock;
pub mod points;

pub use backend::{check_runs_here, GpuBackend, GpuStepProfile};
pub use context::{adapters, GpuContext};
pub use ensemble::{EnsembleMember, GpuEnsemble};
