//! A study's definition and its points: the base config, the fixed `--set`s, the varied keys
//! (the full grid of their values, or paired with `--zip`) and the seeds of each ensemble. Each
//! point is an ordinary run with its own config in `DIR/points/<index>/config.toml`.
//!
//! The definition is written to `DIR/sweep.json` with the mgpf version and the base config's
//! SHA-256, so `--collect` (and a person) can tell what was run.

use super::spec::Vary;
use crate::config::Config;
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The config key of the seed: rows that differ only in it form one ensemble.
pub const SEED_KEY: &str = "run.seed";

/// The file in each point's directory that holds its resolved config.
pub const POINT_CONFIG: &str = "config.toml";

/// What `mgpf sweep` was asked to do.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Study {
    pub mgpf_version: String,
    /// The base config as given on the command line.
    pub base_config: PathBuf,
    /// SHA-256 of the base config file's text.
    pub base_config_sha256: String,
    /// `--set KEY=VALUE` applied to every point before its varied values.
    pub sets: Vec<String>,
    pub varies: Vec<Vary>,
    /// The varied keys' values paired (`--zip`) instead of their full grid.
    pub zip: bool,
    /// Runs per parameter point (`--seeds`), seeds `run.seed`, `run.seed + 1`, …; 1 without.
    pub seeds: u32,
    pub points: Vec<Point>,
}

/// One run of the study.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Point {
    pub index: usize,
    /// Its directory, relative to the study's.
    pub dir: String,
    /// The value of each varied key, in the order of [`Study::varies`].
    pub values: Vec<String>,
    /// `run.seed`, where `--seeds` sets it.
    pub seed: Option<u64>,
}

impl Study {
    /// Expands the varied keys into points (the last `--vary` fastest; seeds fastest of all).
    /// Refuses a key varied twice, `--zip` over lists of different lengths, and `--seeds` with
    /// `run.seed` varied.
    pub fn new(
        base_config: &Path,
        sets: Vec<String>,
        varies: Vec<Vary>,
        zip: bool,
        seeds: Option<u32>,
    ) -> Result<Study> {
        if varies.is_empty() {
            return Err(Error::config(
                "--vary",
                "is missing: give at least one --vary KEY=SPEC",
            ));
        }
        for (n, v) in varies.iter().enumerate() {
            if varies[..n].iter().any(|w| w.key == v.key) {
                return Err(Error::config(
                    format!("--vary {}", v.key),
                    "is given twice: vary each key once (a list takes several values)",
                ));
            }
        }
        if zip {
            let first = &varies[0];
            if let Some(other) = varies.iter().find(|v| v.values.len() != first.values.len()) {
                return Err(Error::config(
                    "--zip",
                    format!(
                        "pairs the values of every --vary, so each needs as many: {} has {}, {} has {}",
                        first.key,
                        first.values.len(),
                        other.key,
                        other.values.len()
                    ),
                ));
            }
        }
        let seeds = match seeds {
            Some(0) => {
                return Err(Error::config(
                    "--seeds",
                    "= 0 is outside the allowed range [1, ∞)",
                ))
            }
            Some(n) if varies.iter().any(|v| v.key == SEED_KEY) => {
                return Err(Error::config(
                    "--seeds",
                    format!(
                        "= {n} cannot be combined with --vary {SEED_KEY}: give one or the other"
                    ),
                ))
            }
            Some(n) => Some(n),
            None => None,
        };
        let text = std::fs::read_to_string(base_config).map_err(|e| Error::io(base_config, e))?;
        let base_seed = Config::load(base_config, &sets)?.run.seed;
        let combinations: Vec<Vec<String>> = if zip {
            (0..varies[0].values.len())
                .map(|n| varies.iter().map(|v| v.values[n].clone()).collect())
                .collect()
        } else {
            varies.iter().fold(vec![vec![]], |acc, v| {
                acc.iter()
                    .flat_map(|prefix| {
                        v.values.iter().map(move |value| {
                            let mut c = prefix.clone();
                            c.push(value.clone());
                            c
                        })
                    })
                    .collect()
            })
        };
        let seed_list: Vec<Option<u64>> = match seeds {
            Some(n) => (0..n as u64)
                .map(|s| Some(base_seed.wrapping_add(s)))
                .collect(),
            None => vec![None],
        };
        let points = combinations
            .iter()
            .flat_map(|values| seed_list.iter().map(move |&seed| (values.clone(), seed)))
            .enumerate()
            .map(|(index, (values, seed))| Point {
                index,
                dir: format!("points/{index}"),
                values,
                seed,
            })
            .collect();
        Ok(Study {
            mgpf_version: env!("CARGO_PKG_VERSION").to_string(),
            base_config: base_config.to_path_buf(),
            base_config_sha256: hex_sha256(text.as_bytes()),
            sets,
            varies,
            zip,
            seeds: seeds.unwrap_or(1),
            points,
        })
    }

    /// The `--set` assignments that make a point's config from the base config.
    pub fn overrides(&self, point: &Point) -> Vec<String> {
        let mut all = self.sets.clone();
        all.extend(
            self.varies
                .iter()
                .zip(&point.values)
                .map(|(v, value)| format!("{}={value}", v.key)),
        );
        if let Some(seed) = point.seed {
            all.push(format!("{SEED_KEY}={seed}"));
        }
        all
    }

    /// "key=value, key=value (run.seed=s)": the point in words, for messages.
    pub fn describe(&self, point: &Point) -> String {
        let mut s: Vec<String> = self
            .varies
            .iter()
            .zip(&point.values)
            .map(|(v, value)| format!("{}={value}", v.key))
            .collect();
        if let Some(seed) = point.seed {
            s.push(format!("{SEED_KEY}={seed}"));
        }
        format!("point {} ({})", point.index, s.join(", "))
    }

    /// Every point's config, validated; the first bad one is reported with its point and key,
    /// before anything runs.
    pub fn configs(&self) -> Result<Vec<Config>> {
        self.points
            .iter()
            .map(|p| {
                Config::load(&self.base_config, &self.overrides(p))
                    .map_err(|e| Error::Other(format!("{}: {e}", self.describe(p))))
            })
            .collect()
    }

    /// Reads `DIR/sweep.json`.
    pub fn read(dir: &Path) -> Result<Study> {
        let path = dir.join(STUDY_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::Other(format!("{}: not a sweep definition: {e}", path.display())))
    }

    /// Writes `DIR/sweep.json`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Other(e.to_string()))?;
        crate::output::write_atomic(&dir.join(STUDY_FILE), text.as_bytes())
    }
}

/// The study's definition in its directory.
pub const STUDY_FILE: &str = "sweep.json";

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::spec::parse_vary;

    fn base() -> tempfile::TempPath {
        let file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        std::fs::write(file.path(), Config::default_demo().to_toml_string()).unwrap();
        file.into_temp_path()
    }

    fn varies(args: &[&str]) -> Vec<Vary> {
        args.iter().map(|a| parse_vary(a).unwrap()).collect()
    }

    #[test]
    fn a_grid_has_every_combination_last_key_fastest_and_seeds_innermost() {
        let path = base();
        let s = Study::new(
            &path,
            vec![],
            varies(&["grid.ny=16,32", "control.current_density_ma_cm2=0.5,1,2"]),
            false,
            Some(2),
        )
        .unwrap();
        assert_eq!(s.points.len(), 12);
        assert_eq!(s.points[0].values, ["16", "0.5"]);
        assert_eq!(s.points[0].seed, Some(42));
        assert_eq!(s.points[1].seed, Some(43));
        assert_eq!(s.points[2].values, ["16", "1"]);
        assert_eq!(s.points[11].values, ["32", "2"]);
        assert_eq!(s.points[11].dir, "points/11");
        assert_eq!(
            s.overrides(&s.points[3]),
            [
                "grid.ny=16",
                "control.current_density_ma_cm2=1",
                "run.seed=43"
            ]
        );
        assert_eq!(
            s.describe(&s.points[3]),
            "point 3 (grid.ny=16, control.current_density_ma_cm2=1, run.seed=43)"
        );
        let configs = s.configs().unwrap();
        assert_eq!(configs[3].grid.ny, 16);
        assert_eq!(configs[3].run.seed, 43);
        assert_eq!(configs[3].control.current_density_ma_cm2, 1.0);
    }

    #[test]
    fn zip_pairs_the_values() {
        let path = base();
        let s = Study::new(
            &path,
            vec![],
            varies(&["grid.ny=16,32", "grid.nx=40,50"]),
            true,
            None,
        )
        .unwrap();
        let values: Vec<_> = s.points.iter().map(|p| p.values.clone()).collect();
        assert_eq!(values, [["16", "40"], ["32", "50"]]);
        assert_eq!(s.points[1].seed, None);
        let e = Study::new(
            &path,
            vec![],
            varies(&["grid.ny=16,32", "grid.nx=40"]),
            true,
            None,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "config error: `--zip` pairs the values of every --vary, so each needs as many: grid.ny has 2, grid.nx has 1"
        );
    }

    #[test]
    fn bad_studies_are_refused_before_anything_runs() {
        let path = base();
        let refuse = |v: &[&str], seeds| {
            Study::new(&path, vec![], varies(v), false, seeds)
                .and_then(|s| s.configs().map(|_| ()))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            refuse(&["grid.ny=16", "grid.ny=32"], None),
            "config error: `--vary grid.ny` is given twice: vary each key once (a list takes several values)"
        );
        assert_eq!(
            refuse(&["run.seed=1,2"], Some(3)),
            "config error: `--seeds` = 3 cannot be combined with --vary run.seed: give one or the other"
        );
        assert_eq!(
            refuse(&["grid.ny=16"], Some(0)),
            "config error: `--seeds` = 0 is outside the allowed range [1, ∞)"
        );
        // An unknown key and a value out of range name the point and the key.
        let unknown = refuse(&["interphase.asr=1,2"], None);
        assert!(
            unknown.starts_with("point 0 (interphase.asr=1): config error in ")
                && unknown.contains("`interphase.asr`: unknown field `asr`"),
            "{unknown}"
        );
        let range = refuse(&["grid.ny=16,0"], None);
        assert!(
            range.starts_with("point 1 (grid.ny=0): config error: `grid.ny`"),
            "{range}"
        );
    }
}
