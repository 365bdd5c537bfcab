//! Adaptive time step from the explicit stability bounds of physics.md §2.3 that still apply with
//! implicit diffusion: dt = S · min(bounds), recomputed every step.

use crate::model::params::{Params, ANISOTROPY_ORDER, MAX_H_SECOND_DERIVATIVE};
use std::fmt;

/// Which bound set the time step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bound {
    /// Δx² / (2d L_σ ε0² (1+δ6)² (1 + m²δ6)): the anisotropic Allen–Cahn gradient term.
    Gradient,
    /// 1 / (2 L_σ W + L_η max|h''| max|R|): local reaction stiffness.
    Reaction,
    /// Δx / max_n Σ_out u_f: explicit upwind migration stays monotone (c ≥ 0).
    Migration,
    /// 0.1 Δx / v_max: interface-motion accuracy.
    Motion,
    /// numerics.max_dt_s.
    Cap,
    /// numerics.dt_s given by the user.
    Fixed,
    /// The time loop's schedule: the last step of a cycling half-cycle, cut to land on its
    /// capacity ([`crate::backend::ControlSetting::max_dt_s`]).
    Schedule,
    /// Over an inert collector, twice the last step (the caps of its dissolution are sized for it).
    Collector,
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Bound::Gradient => "gradient",
            Bound::Reaction => "reaction",
            Bound::Migration => "migration",
            Bound::Motion => "motion",
            Bound::Cap => "cap",
            Bound::Fixed => "fixed",
            Bound::Schedule => "schedule",
            Bound::Collector => "collector",
        };
        f.write_str(s)
    }
}

/// State-dependent inputs to the bounds, reduced over the grid each step.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RateMaxima {
    /// max |m (1−p_b) a_k B_eff| over interface cells.
    pub reaction_factor: f64,
    /// Fastest interface normal speed (µm/s).
    pub front_speed: f64,
    /// Fastest total migration outflow of a cell, Σ over its faces of D_f f (φ_n − φ_m)⁺/Δx
    /// (µm/s).
    pub migration_speed: f64,
}

/// The bounds (s) that apply, each unscaled by the safety factor.
pub fn bounds(p: &Params, m: RateMaxima) -> [(Bound, f64); 5] {
    // The dimension d: 2 d neighbours in the explicit stencils.
    let d = p.grid.dimension() as f64;
    let dx2 = p.grid.dx * p.grid.dx;
    let s = p.aniso_strength;
    // ε²'s largest value and the stiffness's largest factor: the six-fold term's (1 + δ6)² and
    // 1 + m² δ6, and in 3D the n_c² term's (1 + |δ_c|)² and 1 + 2|δ_c| (its stiffness
    // 1 + δ_c (2 t_c² − n_c²)) on top.
    let anisotropy = if p.grid.dimension() == 3 {
        let c = p.hcp.delta_c.abs();
        (1.0 + p.hcp.delta6 + c).powi(2) * (1.0 + ANISOTROPY_ORDER.powi(2) * p.hcp.delta6 + 2.0 * c)
    } else {
        (1.0 + s).powi(2) * (1.0 + ANISOTROPY_ORDER.powi(2) * s)
    };
    let gradient = dx2 / (2.0 * d * p.l_sigma * p.kappa * anisotropy);
    let reaction =
        1.0 / (2.0 * p.l_sigma * p.w + p.l_eta * MAX_H_SECOND_DERIVATIVE * m.reaction_factor);
    let migration = if m.migration_speed > 0.0 {
        p.grid.dx / m.migration_speed
    } else {
        f64::INFINITY
    };
    let motion = if m.front_speed > 0.0 {
        0.1 * p.grid.dx / m.front_speed
    } else {
        f64::INFINITY
    };
    [
        (Bound::Gradient, gradient),
        (Bound::Reaction, reaction),
        (Bound::Migration, migration),
        (Bound::Motion, motion),
        (Bound::Cap, p.max_dt / p.time_step_safety),
    ]
}

/// dt = S · min(bounds) and the bound that set it. A fixed dt above the bound is an error
/// returned as (bound, limit).
pub fn time_step(p: &Params, m: RateMaxima) -> Result<(f64, Bound), (Bound, f64)> {
    let (which, limit) = bounds(p, m)
        .into_iter()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .expect("five bounds");
    let stable = p.time_step_safety * limit;
    match p.fixed_dt {
        Some(dt) if dt > stable * (1.0 + 1e-9) => Err((which, stable)),
        Some(dt) => Ok((dt, Bound::Fixed)),
        None => Ok((stable, which)),
    }
}

/// What a blown-up run says after the offending value, CPU and GPU alike. The causes are listed
/// neutrally, with the keys that set them: a guard sees the symptom, not its cause, and each of
/// these blows a run up at step 0 or 1 (an explicit interface.mobility_m3_j_s = 1, or
/// interface.stiffness_lambda = 1e-9, does so with the noise off; lowering the time step safety
/// then lets it run).
pub const BLOW_UP_CAUSES: &str = "the run has blown up; possible causes, with the keys that set them: a time step too long (numerics.time_step_safety, or numerics.dt_s if fixed), an interface mobility too high (interface.mobility_m3_j_s if set, else a small interface.stiffness_lambda), noise too strong (noise.amplitude_per_s)";
