//! `[metal]`: the depositing metal's constants (charge number and molar volume), by name or by
//! value. Every constant derived from them (f = nF/RT, C_s, the charge per volume of metal,
//! Mode A's conductivity) follows in [`crate::model::metal::Metal`].

use super::MetalConfig;
use serde::{Deserialize, Serialize};

/// A metal whose constants mgpf knows (`metal.preset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum MetalPreset {
    #[default]
    Mg,
    Li,
    Zn,
}

/// A metal's constants in config units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetalSpec {
    pub preset: MetalPreset,
    /// Electrons per deposited atom n (the cation's charge number).
    pub charge_number: f64,
    /// Site density C_s = ρ/M = 1/V_m (mol/m³).
    pub site_density_mol_m3: f64,
}

/// 1 cm³/mol in m³/mol.
const CM3_IN_M3: f64 = 1.0e-6;

impl MetalPreset {
    pub const ALL: [MetalPreset; 3] = [MetalPreset::Mg, MetalPreset::Li, MetalPreset::Zn];

    /// The name in configs.
    pub fn name(self) -> &'static str {
        match self {
            MetalPreset::Mg => "mg",
            MetalPreset::Li => "li",
            MetalPreset::Zn => "zn",
        }
    }

    /// (n, site density C_s = 1/V_m in mol/m³) and where they come from.
    ///
    /// - Mg: n = 2, ρ/M = 1738 kg/m³ / 0.024305 kg/mol = 7.151e4 mol/m³ (V_m = 13.98 cm³/mol).
    /// - Li: n = 1, C_s = 7.64e4 mol/m³ (V_m = 13.09 cm³/mol), the value of the Li phase-field
    ///   literature (Chen 2015; Mu's `li.c_s`).
    /// - Zn: n = 2, ρ/M = 7140 kg/m³ / 0.06538 kg/mol = 1.092e5 mol/m³ (V_m = 9.157 cm³/mol).
    pub fn constants(self) -> (f64, f64) {
        match self {
            MetalPreset::Mg => (2.0, 7.151e4),
            MetalPreset::Li => (1.0, 7.64e4),
            MetalPreset::Zn => (2.0, 1.092e5),
        }
    }
}

impl MetalConfig {
    /// The preset's constants with the keys the user gave laid over them (validated: at most one
    /// of `molar_volume_cm3_mol` and `site_density_mol_m3`, see `config::validate`).
    pub fn resolve(&self) -> MetalSpec {
        let (n, preset_site_density) = self.preset.constants();
        let site_density = match (self.site_density_mol_m3, self.molar_volume_cm3_mol) {
            (Some(c), _) => c,
            (None, Some(v)) => 1.0 / (v * CM3_IN_M3),
            (None, None) => preset_site_density,
        };
        MetalSpec {
            preset: self.preset,
            charge_number: self.charge_number.unwrap_or(n),
            site_density_mol_m3: site_density,
        }
    }
}
