//! mgpf: phase-field simulation of Mg electrodeposition beneath interphase (SEI) layers.
//!
//! One backend-agnostic model (`model`), a small backend trait (`backend`) with the CPU/rayon
//! reference implementation, a geometric multigrid for the implicit solves (`solver`), and the
//! outputs people look at (`output`).

pub mod config;
pub mod error;
pub mod grid;
pub mod numerics;
pub mod output;

pub use error::{Error, Result};
pub use grid::{Field, Grid, Real};
pub mod backend;
pub mod checkpoint;
pub mod demo;
pub mod memory;
pub mod model;
pub mod progress;
pub mod report;
pub mod resume;
pub mod run;
pub mod rundir;
pub mod summary;
