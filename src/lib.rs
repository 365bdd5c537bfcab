//! mgpf: phase-field simulation of Mg electrodeposition beneath interphase (SEI) layers.
//!
//! The parts, and who may import whom, are in docs/architecture.md: the physics (`model`) on a
//! `grid`, the solve vocabulary both backends share (`numerics`), the backend trait and its two
//! implementations (`backend`: CPU with rayon, the reference, and GPU with wgpu), the time loop
//! that knows only the trait (`simulation`), what people look at and tools read (`output`), and
//! studies of many runs (`study`: sweeps, ensembles, their tables and pictures), and the face
//! that builds a backend and runs it (`cli`).

pub mod backend;
pub mod cli;
pub mod config;
pub mod error;
pub mod grid;
pub mod model;
pub mod numerics;
pub mod output;
pub mod simulation;
pub mod study;

pub use error::{Error, Result};
pub use grid::{Field, Grid, Real};
