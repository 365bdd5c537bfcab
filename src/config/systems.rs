//! The reviewed electrolyte/interphase systems shipped as configs (configs/systems/), each with
//! what the review reports in its `[system]` section: compiled in, for `mgpf systems`.

use super::Config;
use crate::error::Result;

/// (file stem, TOML) of every config in configs/systems/.
pub const SYSTEMS: [(&str, &str); 12] = [
    (
        "al-hfip-dme",
        include_str!("../../configs/systems/al-hfip-dme.toml"),
    ),
    (
        "b-otf4-thf",
        include_str!("../../configs/systems/b-otf4-thf.toml"),
    ),
    (
        "bi-alloy",
        include_str!("../../configs/systems/bi-alloy.toml"),
    ),
    (
        "bromine-rich",
        include_str!("../../configs/systems/bromine-rich.toml"),
    ),
    (
        "cb11h12-dg",
        include_str!("../../configs/systems/cb11h12-dg.toml"),
    ),
    (
        "fpb-dgm",
        include_str!("../../configs/systems/fpb-dgm.toml"),
    ),
    (
        "litfsi-alcl3-asei",
        include_str!("../../configs/systems/litfsi-alcl3-asei.toml"),
    ),
    (
        "native-passivating",
        include_str!("../../configs/systems/native-passivating.toml"),
    ),
    (
        "otf-g2-tep",
        include_str!("../../configs/systems/otf-g2-tep.toml"),
    ),
    (
        "tfsi-dme-propylimidazole",
        include_str!("../../configs/systems/tfsi-dme-propylimidazole.toml"),
    ),
    (
        "tfsi-m3-dme",
        include_str!("../../configs/systems/tfsi-m3-dme.toml"),
    ),
    (
        "zeolite-polymer",
        include_str!("../../configs/systems/zeolite-polymer.toml"),
    ),
];

/// The systems' configs, parsed and validated.
pub fn systems() -> Result<Vec<(&'static str, Config)>> {
    SYSTEMS
        .iter()
        .map(|&(stem, text)| {
            Config::from_toml_str(text, &format!("configs/systems/{stem}.toml")).map(|c| (stem, c))
        })
        .collect()
}

/// One line of `mgpf systems`: the system, what it reports (and at which current), what was
/// fitted to it.
pub fn describe(stem: &str, cfg: &Config) -> String {
    let Some(s) = &cfg.system else {
        return format!("{stem}: (no [system] section)");
    };
    let mut reported = Vec::new();
    if let Some(v) = s.plating_overpotential_v {
        reported.push(format!("deposition {v:+} V"));
    }
    if let Some(v) = s.stripping_overpotential_v {
        reported.push(format!("stripping {v:+} V"));
    }
    if let Some(v) = s.overpotential_below_v {
        reported.push(format!("|polarisation| < {} mV", 1000.0 * v));
    }
    if let Some(v) = s.ce {
        reported.push(format!("CE {} %", 100.0 * v));
    }
    if let Some(v) = s.ce_above {
        reported.push(format!("CE > {} %", 100.0 * v));
    }
    if !s.morphology.is_empty() {
        reported.push(s.morphology.clone());
    }
    let current = match s.current_ma_cm2 {
        Some(i) => format!("at {i} mA/cm²"),
        None => match &cfg.cycling {
            Some(c) => format!(
                "(no current reported; run at {} mA/cm²)",
                c.plating_current_ma_cm2
            ),
            None => "(no current reported)".into(),
        },
    };
    let fitted = if s.fitted.is_empty() {
        "nothing fitted".to_string()
    } else {
        format!("fitted: {}", s.fitted.join(", "))
    };
    format!(
        "{stem}: {}. Reported {current}: {}; {fitted}",
        s.name,
        reported.join(", ")
    )
}
