//! `mgpf calibrate`: fits named config keys (an interphase's ASR and exchange-current multiplier,
//! an electrolyte's exchange current and transfer coefficient, the parasitic current, ...) to
//! figures a system reports for a cycling protocol (plating and stripping overpotential, CE), in
//! planar runs of the config's `[cycling]` schedule on the CPU: 8 lateral cells, no noise, the
//! figures of the last cycle. The fitted values are fits, reported as such.

use crate::backend::cpu::CpuBackend;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::params::Params;
use crate::simulation::cycling::{run_schedule, CycleRow};
use crate::study::fit::{check_sizes, levenberg_marquardt, Fit};
use std::path::Path;

/// The figures a target may name (cycles.csv's columns).
pub const TARGET_KEYS: [&str; 3] = ["plating_overpotential_v", "stripping_overpotential_v", "ce"];

/// What makes a run planar for a calibration: a few lateral cells, 2D, no noise, one frame.
pub const PLANAR: [&str; 4] = [
    "grid.ny=8",
    "grid.nz=1",
    "noise.amplitude_per_s=0.0",
    "run.frames=1",
];

/// Relative residual every target reaches (CE's is per percentage point: 1e-3 pp).
pub const TOLERANCE: f64 = 1e-3;

/// A reported figure: `ce=0.993`, `plating_overpotential_v=-0.35`.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub key: String,
    pub value: f64,
}

impl Target {
    /// Parses `KEY=VALUE` with KEY one of [`TARGET_KEYS`].
    pub fn parse(text: &str) -> Result<Target> {
        let bad = |why: String| Error::config(format!("--target {text}"), why);
        let (key, value) = text
            .split_once('=')
            .ok_or_else(|| bad("is not KEY=VALUE".into()))?;
        if !TARGET_KEYS.contains(&key) {
            return Err(bad(format!(
                "names `{key}`: a target is one of {}",
                TARGET_KEYS.join(", ")
            )));
        }
        let value: f64 = value
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| bad(format!("has `{value}`, not a finite number")))?;
        if key == "ce" && !(0.0..=1.0).contains(&value) {
            return Err(bad(format!("= {value}: a CE is a fraction in [0, 1]")));
        }
        Ok(Target {
            key: key.into(),
            value,
        })
    }

    /// The figure in a cycle's row.
    pub fn of(&self, row: &CycleRow) -> f64 {
        match self.key.as_str() {
            "plating_overpotential_v" => row.plating_overpotential_v,
            "stripping_overpotential_v" => row.stripping_overpotential_v,
            _ => row.ce,
        }
    }

    /// The residual's scale: |value| for a potential, 0.01 (one percentage point) for CE.
    fn scale(&self) -> f64 {
        if self.key == "ce" {
            0.01
        } else {
            self.value.abs().max(1e-3)
        }
    }
}

/// The last cycle's figures of the config at `path` (with `set` laid over it) run planar.
pub fn planar_figures(path: &Path, set: &[String]) -> Result<CycleRow> {
    let mut overrides = set.to_vec();
    overrides.extend(PLANAR.iter().map(|s| s.to_string()));
    let cfg = Config::load(path, &overrides)?;
    let p = Params::from_config(&cfg)?;
    let mut backend = CpuBackend::new(&p, &cfg.initial);
    run_schedule(&cfg, &p, &mut backend)?
        .last()
        .copied()
        .ok_or_else(|| Error::Other("the schedule ran no cycle".into()))
}

/// The value a config gives a key, as a number: from the config as written, a preset's value
/// for an `[interphase]` key left out, i0 from `[interface]` for the electrolyte's.
pub fn current_value(cfg: &Config, key: &str) -> Result<f64> {
    let tree = toml::Value::try_from(cfg).map_err(|e| Error::Other(e.to_string()))?;
    let lookup = |tree: &toml::Value, path: &str| -> Option<f64> {
        let mut v = tree;
        for part in path.split('.') {
            v = v.get(part)?;
        }
        v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
    };
    let resolved = || {
        let spec = toml::Value::try_from(cfg.interphase.resolve()).ok()?;
        lookup(&spec, key.strip_prefix("interphase.")?)
    };
    lookup(&tree, key)
        .or_else(resolved)
        .or_else(|| {
            (key == "electrolyte.exchange_current_ma_cm2").then(|| cfg.exchange_current_ma_cm2())
        })
        .ok_or_else(|| {
            Error::config(
                format!("--fit {key}"),
                "is not a numeric key of this config",
            )
        })
}

/// A calibration's outcome.
#[derive(Debug, Clone)]
pub struct Calibration {
    pub keys: Vec<String>,
    pub start: Vec<f64>,
    pub fitted: Vec<f64>,
    pub targets: Vec<Target>,
    /// The targets' figures in the planar run at the fitted values.
    pub simulated: Vec<f64>,
    pub fit: Fit,
}

impl Calibration {
    /// The `--set` overrides that give the fitted values.
    pub fn overrides(&self) -> Vec<String> {
        self.keys
            .iter()
            .zip(&self.fitted)
            .map(|(k, v)| format!("{k}={v:e}"))
            .collect()
    }

    /// What `mgpf calibrate` prints: each key from its start to its fit, each target against
    /// the planar run's figure.
    pub fn report(&self) -> String {
        let mut out = format!(
            "fit after {} planar runs ({}):\n",
            self.fit.evaluations,
            if self.fit.converged {
                format!("every target within {TOLERANCE:.0e} of its scale")
            } else {
                format!(
                    "did NOT reach {TOLERANCE:.0e}; worst residual {:.2e}",
                    self.fit.worst()
                )
            }
        );
        for ((k, a), b) in self.keys.iter().zip(&self.start).zip(&self.fitted) {
            out.push_str(&format!("  {k}: {a} -> {b:.6e} (fitted)\n"));
        }
        for (t, s) in self.targets.iter().zip(&self.simulated) {
            let residual = if t.key == "ce" {
                format!("{:+.3} pp", 100.0 * (s - t.value))
            } else {
                format!("{:+.3} %", 100.0 * (s / t.value - 1.0))
            };
            out.push_str(&format!(
                "  {}: target {}, planar run {s:.6} ({residual})\n",
                t.key, t.value
            ));
        }
        out
    }
}

/// Fits `keys` of the config at `path` (with `set`) to `targets` (Levenberg–Marquardt; positive
/// keys in log coordinates).
pub fn calibrate(
    path: &Path,
    set: &[String],
    keys: &[String],
    targets: &[Target],
) -> Result<Calibration> {
    check_sizes(keys.len(), targets.len())?;
    let cfg = Config::load(path, set)?;
    if cfg.cycling.is_none() {
        return Err(Error::config(
            "cycling",
            "is missing: a calibration runs the config's [cycling] schedule",
        ));
    }
    let start: Vec<f64> = keys
        .iter()
        .map(|k| current_value(&cfg, k))
        .collect::<Result<_>>()?;
    let logarithmic: Vec<bool> = start.iter().map(|&v| v > 0.0).collect();
    let to_value = |x: &[f64]| -> Vec<f64> {
        x.iter()
            .zip(&logarithmic)
            .map(|(&x, &log)| if log { x.exp() } else { x })
            .collect()
    };
    let x0: Vec<f64> = start
        .iter()
        .zip(&logarithmic)
        .map(|(&v, &log)| if log { v.ln() } else { v })
        .collect();
    let with = |values: &[f64]| -> Vec<String> {
        let mut o = set.to_vec();
        o.extend(keys.iter().zip(values).map(|(k, v)| format!("{k}={v:e}")));
        o
    };
    let residuals = |x: &[f64]| -> Result<Vec<f64>> {
        let row = planar_figures(path, &with(&to_value(x)))?;
        Ok(targets
            .iter()
            .map(|t| (t.of(&row) - t.value) / t.scale())
            .collect())
    };
    let fit = levenberg_marquardt(residuals, &x0, 0.02, TOLERANCE, 20)?;
    let fitted = to_value(&fit.x);
    let row = planar_figures(path, &with(&fitted))?;
    Ok(Calibration {
        keys: keys.to_vec(),
        start,
        fitted,
        targets: targets.to_vec(),
        simulated: targets.iter().map(|t| t.of(&row)).collect(),
        fit,
    })
}

/// The calibrated config as TOML: the config with the fitted keys set, every default filled in,
/// under a header that says what was fitted to what.
pub fn calibrated_toml(path: &Path, set: &[String], c: &Calibration) -> Result<String> {
    let mut overrides = set.to_vec();
    overrides.extend(c.overrides());
    let cfg = Config::load(path, &overrides)?;
    let mut text = format!(
        "# Calibrated by `mgpf calibrate {}` (planar runs of its [cycling] schedule, the last cycle's figures).\n# Fitted (fits, not predictions):\n",
        path.display()
    );
    for (k, v) in c.keys.iter().zip(&c.fitted) {
        text.push_str(&format!("#   {k} = {v:e}\n"));
    }
    for (t, s) in c.targets.iter().zip(&c.simulated) {
        text.push_str(&format!(
            "#   target {} = {} (planar run: {s:.6})\n",
            t.key, t.value
        ));
    }
    text.push('\n');
    text.push_str(&cfg.to_toml_string());
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_bad_ones_name_the_flag() {
        assert_eq!(
            Target::parse("ce=0.993").unwrap(),
            Target {
                key: "ce".into(),
                value: 0.993
            }
        );
        for (bad, why) in [
            ("ce", "KEY=VALUE"),
            (
                "efficiency=0.9",
                "a target is one of plating_overpotential_v",
            ),
            ("ce=99.3", "a CE is a fraction in [0, 1]"),
            ("plating_overpotential_v=x", "not a finite number"),
        ] {
            let e = Target::parse(bad).unwrap_err().to_string();
            println!("{e}");
            assert!(
                e.contains(&format!("--target {bad}")) && e.contains(why),
                "{e}"
            );
        }
    }
}
