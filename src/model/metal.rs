//! The depositing metal and every constant that follows from it (physics.md decision 14): the
//! one place where the charge number n and the site density C_s turn into f = nF/(RT), the
//! charge per volume of metal, and Mode A's electrolyte conductivity.

use crate::config::metal::{MetalPreset, MetalSpec};
use crate::model::params::{FARADAY, GAS_CONSTANT, LENGTH_UNIT_M};

/// A metal's constants in SI units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metal {
    pub preset: MetalPreset,
    /// Electrons per deposited atom n.
    pub charge_number: f64,
    /// C_s = ρ/M (mol/m³).
    pub site_density_mol_m3: f64,
}

impl From<MetalSpec> for Metal {
    fn from(s: MetalSpec) -> Metal {
        Metal {
            preset: s.preset,
            charge_number: s.charge_number,
            site_density_mol_m3: s.site_density_mol_m3,
        }
    }
}

impl Metal {
    /// f = nF/(RT) (1/V).
    pub fn f(&self, temperature_k: f64) -> f64 {
        self.charge_number * FARADAY / (GAS_CONSTANT * temperature_k)
    }

    /// nF (C/mol): the charge that plates one mole of metal.
    pub fn charge_per_mol(&self) -> f64 {
        self.charge_number * FARADAY
    }

    /// nF C_s (C/m³): the charge that plates one cubic metre of metal.
    pub fn charge_density_c_m3(&self) -> f64 {
        self.charge_number * FARADAY * self.site_density_mol_m3
    }

    /// Planar thickness (µm) plated by a charge per area (C/m²): Q/(nF C_s) (V8).
    pub fn thickness_um_of_charge(&self, charge_c_m2: f64) -> f64 {
        charge_c_m2 / self.charge_density_c_m3() / LENGTH_UNIT_M
    }

    /// Mode A's electrolyte conductivity σ_l = n²F²D c0/(RT) (S/m): the migration flux D f c ∇φ
    /// and the Ohmic current σ_l ∇φ agree at c = c0 (t+ = 1, physics.md §1.4).
    pub fn mode_a_conductivity_s_m(
        &self,
        diffusivity_m2_s: f64,
        concentration_mol_m3: f64,
        temperature_k: f64,
    ) -> f64 {
        self.charge_number
            * FARADAY
            * self.f(temperature_k)
            * diffusivity_m2_s
            * concentration_mol_m3
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MetalConfig;

    /// The constants physics.md states: Mg 2F·C_s = 3833 mAh/cm³ and 1 mAh/cm² → 2.609 µm; Li
    /// 1 mAh/cm² → 4.88 µm (V8); Mg f = 77.85 1/V and σ_l = 2.25 S/m at D = 3e-10 m²/s,
    /// c0 = 0.5 M, 298.15 K (Table 1b).
    #[test]
    fn the_presets_give_the_published_constants() {
        let mg: Metal = MetalConfig::default().resolve().into();
        let mah_cm3 = mg.charge_density_c_m3() / 3.6 / 1e6;
        assert!((mah_cm3 - 3833.0).abs() < 1.0, "Mg {mah_cm3} mAh/cm³");
        let t = mg.thickness_um_of_charge(crate::model::units::MAH_CM2_IN_C_M2);
        assert!((t - 2.609).abs() < 1e-3, "Mg {t} µm per mAh/cm²");
        assert!((mg.f(298.15) - 77.85).abs() < 0.01, "Mg f {}", mg.f(298.15));
        let s = mg.mode_a_conductivity_s_m(3e-10, 500.0, 298.15);
        assert!((s - 2.25).abs() < 0.01, "Mg σ_l {s}");
        let li: Metal = MetalConfig {
            preset: MetalPreset::Li,
            ..MetalConfig::default()
        }
        .resolve()
        .into();
        let t = li.thickness_um_of_charge(crate::model::units::MAH_CM2_IN_C_M2);
        assert!((t - 4.88).abs() < 0.01, "Li {t} µm per mAh/cm²");
        assert_eq!(li.charge_number, 1.0);
        // V2: the Nernst potential ln(ĉ)/f of Mg at ĉ = 0.5 is −8.90 mV.
        let phi = 0.5f64.ln() / mg.f(298.15);
        assert!((phi * 1e3 + 8.90).abs() < 0.01, "{phi}");
    }

    /// A molar volume or a site density given in the section overrides the preset's.
    #[test]
    fn keys_override_the_preset() {
        let by_volume: Metal = MetalConfig {
            molar_volume_cm3_mol: Some(10.0),
            ..MetalConfig::default()
        }
        .resolve()
        .into();
        assert!((by_volume.site_density_mol_m3 - 1.0e5).abs() < 1e-6);
        let by_density: Metal = MetalConfig {
            preset: MetalPreset::Zn,
            site_density_mol_m3: Some(2.0e4),
            charge_number: Some(3.0),
            ..MetalConfig::default()
        }
        .resolve()
        .into();
        assert_eq!(by_density.site_density_mol_m3, 2.0e4);
        assert_eq!(by_density.charge_number, 3.0);
    }
}
