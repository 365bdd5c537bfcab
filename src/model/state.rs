//! The state a run continues from, the same for every backend: the fields and the scalars the
//! fields do not hold. Backends build their initial state from [`ModelState::initial`] and save
//! and restore it through [`crate::backend::BackendState`], which names each part once.

use crate::config::InitialConfig;
use crate::grid::Field;
use crate::model::initial;
use crate::model::params::Params;

#[derive(Debug, Clone, PartialEq)]
pub struct ModelState {
    /// ξ.
    pub order_parameter: Field,
    /// u = c/c0 − 1, the concentration unrounded by the 1.
    pub concentration_excess: Field,
    /// φ (V).
    pub potential: Field,
    /// The last step's Δξ: the potential's source.
    pub order_parameter_change: Field,
    /// The resolved band's indicator s (0 without a band).
    pub interphase_layer: Field,
    /// The last step's reaction field (1/s), for a frame due where a run resumes.
    pub plating_rate: Field,
    /// E (V).
    pub applied_potential_v: f64,
    /// The last step's Δt (s), which scales the potential's source Δξ/Δt; before the first
    /// step Δξ = 0 and it is 1 s.
    pub last_dt_s: f64,
}

impl ModelState {
    /// The start of a run of `p`: the deposit and its equilibrium profile, c = c0 (1 − h(ξ)),
    /// φ = 0, the interphase band of that deposit, E at its initial value.
    pub fn initial(p: &Params, init: &InitialConfig) -> ModelState {
        let g = p.grid;
        let xi = initial::order_parameter(g, p.delta, init);
        let excess = initial::concentration_excess(&xi);
        let layer = if p.interphase.has_resolved_band() {
            crate::model::interphase::layer_indicator(&xi, g, p.interphase.thickness, p.delta)
        } else {
            g.field(0.0)
        };
        ModelState {
            order_parameter: xi,
            concentration_excess: excess,
            potential: g.field(0.0),
            order_parameter_change: g.field(0.0),
            interphase_layer: layer,
            plating_rate: g.field(0.0),
            applied_potential_v: p.initial_electrode_potential(),
            last_dt_s: 1.0,
        }
    }
}
