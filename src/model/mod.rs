//! The backend-agnostic model: parameters in internal units, the pointwise physics every kernel
//! shares (Butler–Volmer with the sub-grid interphase, anisotropy, noise), interphase fields,
//! initial conditions and metrics.
//!
//! Internal units (physics.md §2.1): length µm, time s, potential V, concentration c/c0, energy
//! density E0 = R T c0.

pub mod anisotropy;
pub mod boundary;
pub mod coefficients;
pub mod control;
pub mod coupling;
pub mod dead_metal;
pub mod grains;
pub mod hcp;
pub mod heterogeneity;
pub mod initial;
pub mod interphase;
pub mod kinetics;
pub mod metal;
pub mod metrics;
pub mod morphology;
pub mod noise;
pub mod params;
pub mod state;
pub mod timestep;
pub mod units;

pub use params::Params;
