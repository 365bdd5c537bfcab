//! Keys a config sets that its own choices keep from taking effect: a resolved-band key under a
//! sub-grid interphase, the other mode's control value, the Λ_t rule's keys beside an explicit
//! mobility. They are valid (validation still checks their range), so they are warnings, not
//! errors: `mgpf run` and `mgpf check` print them.
//!
//! A key with a default is only reported when its value differs from the default: a config
//! printed in full (`mgpf config`, run.json) carries every default and means none of them.

use super::{Config, ControlConfig, ControlMode, InterfaceConfig, Representation};
use std::fmt;

/// A key that cannot take effect, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct InertKey {
    /// The full dotted key.
    pub key: &'static str,
    pub reason: String,
}

impl fmt::Display for InertKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` has no effect: {}", self.key, self.reason)
    }
}

impl Config {
    /// The keys this config sets that cannot take effect in it, in the order of the config's sections.
    pub fn inert_keys(&self) -> Vec<InertKey> {
        let mut inert = Vec::new();
        let mut note = |given: bool, key: &'static str, reason: String| {
            if given {
                inert.push(InertKey { key, reason });
            }
        };
        let itf = &self.interface;
        let defaults = InterfaceConfig::default();
        if let Some(mobility) = itf.mobility_m3_j_s {
            let reason = format!(
                "interface.mobility_m3_j_s = {mobility:e} sets L_σ, so the Λ_t rule that this key \
                 feeds is not used"
            );
            note(
                itf.stiffness_lambda != defaults.stiffness_lambda,
                "interface.stiffness_lambda",
                reason.clone(),
            );
            note(
                itf.reference_overpotential_v != defaults.reference_overpotential_v,
                "interface.reference_overpotential_v",
                reason,
            );
        }

        let electrolyte_defaults = super::ElectrolyteConfig::default();
        note(
            self.electrolyte.exchange_current_ma_cm2.is_some()
                && itf.exchange_current_ma_cm2 != defaults.exchange_current_ma_cm2,
            "interface.exchange_current_ma_cm2",
            "electrolyte.exchange_current_ma_cm2 is given and sets i0".into(),
        );
        note(
            self.electrolyte.conductivity_s_m.is_some()
                && self.electrolyte.diffusivity_m2_s != electrolyte_defaults.diffusivity_m2_s,
            "electrolyte.diffusivity_m2_s",
            "electrolyte.conductivity_s_m is given and sets D_l = σ_l RT/(n²F²c0)".into(),
        );

        let control = &self.control;
        let control_defaults = ControlConfig::default();
        match control.mode {
            ControlMode::Galvanostatic => note(
                control.applied_potential_v != control_defaults.applied_potential_v,
                "control.applied_potential_v",
                "control.mode = \"galvanostatic\" sets the current; the potential follows from it"
                    .into(),
            ),
            ControlMode::Potentiostatic => note(
                control.current_density_ma_cm2 != control_defaults.current_density_ma_cm2,
                "control.current_density_ma_cm2",
                "control.mode = \"potentiostatic\" sets the potential; the current follows from it"
                    .into(),
            ),
        }

        if self.cycling.is_some() {
            note(
                control.current_density_ma_cm2 != control_defaults.current_density_ma_cm2,
                "control.current_density_ma_cm2",
                "the [cycling] schedule sets the current of each half-cycle \
                 (cycling.plating_current_ma_cm2, cycling.stripping_current_ma_cm2)"
                    .into(),
            );
        }

        let given = &self.interphase;
        let spec = given.resolve();
        let preset = spec.preset.name();
        match spec.representation {
            Representation::Subgrid => {
                let reason = format!(
                    "the interphase is sub-grid (representation = \"subgrid\", preset \
                     \"{preset}\"): only a resolved band (representation = \"resolved\") has a \
                     thickness, a diffusivity, a conductivity and a refresh cadence"
                );
                note(
                    given.thickness_um.is_some(),
                    "interphase.thickness_um",
                    reason.clone(),
                );
                note(
                    given.diffusivity_ratio.is_some(),
                    "interphase.diffusivity_ratio",
                    reason.clone(),
                );
                note(
                    given.conductivity_ratio.is_some(),
                    "interphase.conductivity_ratio",
                    reason.clone(),
                );
                note(
                    given.refresh_every_steps.is_some(),
                    "interphase.refresh_every_steps",
                    reason,
                );
            }
            Representation::Resolved => note(
                given.asr_ohm_cm2.is_some() && spec.conductivity_ratio.is_some(),
                "interphase.asr_ohm_cm2",
                "a resolved band takes no sub-grid resistance, and the ASR only sets the \
                 default of interphase.conductivity_ratio, which is given"
                    .into(),
            ),
        }
        let uniform = spec.heterogeneity_sigma_ln == 0.0 && spec.blocked_fraction == 0.0;
        let reason = "interphase.heterogeneity_sigma_ln = 0 and interphase.blocked_fraction = 0: \
                      the layer is uniform, there is no heterogeneity field to shape";
        note(
            uniform && given.correlation_length_um.is_some(),
            "interphase.correlation_length_um",
            reason.into(),
        );
        note(
            uniform && given.attachment.is_some(),
            "interphase.attachment",
            reason.into(),
        );

        let init = &self.initial;
        note(
            init.nucleus_radius_um == 0.0 && !init.nucleus_positions_um.is_empty(),
            "initial.nucleus_positions_um",
            "initial.nucleus_radius_um = 0: there are no nuclei to place".into(),
        );
        inert
    }
}
