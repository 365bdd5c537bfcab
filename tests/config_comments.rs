//! The shipped configs' comments say what the preset resolves to: every commented
//! `[interphase]` key shows the value the run uses when it is left out, and the header's
//! i0 multiplier and blocked percentage are the preset's.

use mgpf::config::Config;
use mgpf::model::params::Params;
use std::path::Path;

/// Every key of `[interphase]` but `preset`: each must be shown, commented, in every config.
const KEYS: [&str; 13] = [
    "representation",
    "thickness_um",
    "asr_ohm_cm2",
    "exchange_current_multiplier",
    "blocked_fraction",
    "heterogeneity_sigma_ln",
    "correlation_length_um",
    "attachment",
    "diffusivity_ratio",
    "conductivity_ratio",
    "refresh_every_steps",
    "kinetic_anisotropy_2fold",
    "parasitic_current_ma_cm2",
];

/// `# key = value` lines of the `[interphase]` table: (key, value as TOML).
fn commented_interphase_keys(text: &str) -> Vec<(String, toml::Value)> {
    text.lines()
        .skip_while(|l| l.trim() != "[interphase]")
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .filter_map(|l| l.strip_prefix("# "))
        .filter_map(|l| {
            let (key, rest) = l.split_once(" = ")?;
            let literal = rest.split_whitespace().next()?;
            let mut table = format!("v = {literal}").parse::<toml::Table>().ok()?;
            Some((key.to_string(), table.remove("v")?))
        })
        .collect()
}

/// The number written right after `marker` in `text` ("i0 ×0.02" → 0.02), if any.
fn number_after(text: &str, marker: &str) -> Option<f64> {
    let rest = &text[text.find(marker)? + marker.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// The number written right before `marker` ("60 % blocked" → 60).
fn number_before(text: &str, marker: &str) -> Option<f64> {
    let head = text[..text.find(marker)?].trim_end();
    let start = head
        .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or(0, |i| i + 1);
    head[start..].parse().ok()
}

#[test]
fn commented_preset_values_are_the_resolved_ones() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "configs/ holds {} files", files.len());
    let mut mismatches = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let cfg = Config::from_path(path).unwrap();
        let p = Params::from_config(&cfg).unwrap();
        let spec = cfg.interphase.resolve();
        let resolved = toml::Value::try_from(&spec).unwrap();
        let shown = commented_interphase_keys(&text);
        for key in KEYS {
            let Some((_, value)) = shown.iter().find(|(k, _)| k == key) else {
                mismatches.push(format!("{name}: `# {key} = …` missing"));
                continue;
            };
            // Keys the preset may leave unset show what the run uses instead.
            let (expected, tolerance) = match key {
                "conductivity_ratio" if spec.conductivity_ratio.is_none() => {
                    (toml::Value::Float(p.interphase.conductivity_ratio), 1e-3)
                }
                "kinetic_anisotropy_2fold" => (toml::Value::Float(p.kinetic_2fold), 0.0),
                _ => (resolved[key].clone(), 0.0),
            };
            let agrees = match (value, &expected) {
                (toml::Value::Float(a), toml::Value::Float(b)) => {
                    (a - b).abs() <= tolerance * b.abs()
                }
                (a, b) => a == b,
            };
            println!("{name}: {key} shown {value}, resolved {expected}");
            if !agrees {
                mismatches.push(format!("{name}: {key} shown {value}, resolved {expected}"));
            }
        }
        let header: String = text.lines().take_while(|l| l.starts_with('#')).collect();
        if let Some(m) = number_after(&header, "i0 ×") {
            println!(
                "{name}: header i0 ×{m}, m_i0 {}",
                spec.exchange_current_multiplier
            );
            if m != spec.exchange_current_multiplier {
                mismatches.push(format!("{name}: header says i0 ×{m}"));
            }
        }
        if let Some(percent) = number_before(&header, "% blocked") {
            println!(
                "{name}: header {percent} % blocked, P_b {}",
                spec.blocked_fraction
            );
            if percent != 100.0 * spec.blocked_fraction {
                mismatches.push(format!("{name}: header says {percent} % blocked"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
