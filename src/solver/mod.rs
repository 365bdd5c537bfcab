pub mod multigrid;
pub mod multigrid_kernels;
pub mod stencil;
