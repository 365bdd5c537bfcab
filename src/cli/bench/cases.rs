//! What `mgpf bench` runs: the grid sizes (`--sizes`), the presets (`--presets`) and their
//! variants (with and without heterogeneity), as cases.

use crate::config::presets::Preset;
use crate::config::Config;
use crate::error::{Error, Result};
use serde::Serialize;

/// Sizes of the short bench (under a minute on a 2-core laptop).
pub const SHORT_SIZES: &str = "128,256";
/// Sizes of `--full`: larger 2D grids and 3D cubes.
pub const FULL_SIZES: &str = "128,256,512,1024,32c,64c";
/// Timed steps per case, and warm-up steps before them: short, and `--full`.
pub const SHORT_STEPS: u64 = 50;
pub const SHORT_WARM_UP: u64 = 5;
pub const FULL_STEPS: u64 = 100;
pub const FULL_WARM_UP: u64 = 10;
/// The allowed range of each extent of a size (even numbers only: the multigrid halves them;
/// 16 holds every preset's demo config, the resolved band included).
pub const MIN_EXTENT: usize = 16;
pub const MAX_EXTENT: usize = 16384;

/// A bench grid: nx (the growth axis) × ny × nz (1 in 2D).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BenchSize {
    pub nx: usize,
    pub ny: usize,
    pub nz: usize,
}

impl BenchSize {
    /// `N` (N × N), `NXxNY`, `Nc` (N × N × N) or `NXxNYxNZ`; each extent even, in
    /// [[`MIN_EXTENT`], [`MAX_EXTENT`]].
    pub fn parse(text: &str) -> Result<BenchSize> {
        let item = text.trim();
        let bad = || {
            Error::config(
                "--sizes",
                format!(
                    "= {item} is not a grid size: N (an N × N grid), NXxNY, Nc (an N × N × N \
                     cube) or NXxNYxNZ, each extent an even number in [{MIN_EXTENT}, \
                     {MAX_EXTENT}], e.g. --sizes 128,256,64c"
                ),
            )
        };
        let extent = |s: &str| -> Result<usize> {
            let n: usize = s.parse().map_err(|_| bad())?;
            if (MIN_EXTENT..=MAX_EXTENT).contains(&n) && n.is_multiple_of(2) {
                Ok(n)
            } else {
                Err(bad())
            }
        };
        if let Some(n) = item.strip_suffix('c') {
            let n = extent(n)?;
            return Ok(BenchSize {
                nx: n,
                ny: n,
                nz: n,
            });
        }
        let parts: Vec<&str> = item.split('x').collect();
        Ok(match parts[..] {
            [n] => {
                let n = extent(n)?;
                BenchSize {
                    nx: n,
                    ny: n,
                    nz: 1,
                }
            }
            [nx, ny] => BenchSize {
                nx: extent(nx)?,
                ny: extent(ny)?,
                nz: 1,
            },
            [nx, ny, nz] => BenchSize {
                nx: extent(nx)?,
                ny: extent(ny)?,
                nz: extent(nz)?,
            },
            _ => return Err(bad()),
        })
    }

    pub fn cells(self) -> usize {
        self.nx * self.ny * self.nz
    }

    /// "128²", "64³", "64×32", "64×32×32".
    pub fn label(self) -> String {
        match (self.nx == self.ny, self.nz) {
            (true, 1) => format!("{}²", self.nx),
            (false, 1) => format!("{}×{}", self.nx, self.ny),
            (true, nz) if nz == self.nx => format!("{}³", self.nx),
            _ => format!("{}×{}×{}", self.nx, self.ny, self.nz),
        }
    }
}

/// A comma-separated `--sizes` list.
pub fn parse_sizes(list: &str) -> Result<Vec<BenchSize>> {
    list.split(',').map(BenchSize::parse).collect()
}

/// A comma-separated `--presets` list of preset names.
pub fn parse_presets(list: &str) -> Result<Vec<Preset>> {
    list.split(',')
        .map(|name| {
            let name = name.trim();
            Preset::from_name(name).ok_or_else(|| {
                let names: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
                Error::config(
                    "--presets",
                    format!("= {name} is not a preset: one of {}", names.join(", ")),
                )
            })
        })
        .collect()
}

/// Whether a case runs its preset's interphase as it is or with its heterogeneity removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// The preset's own σ_ln and blocked fraction.
    Heterogeneous,
    /// `interphase.heterogeneity_sigma_ln = 0` and `interphase.blocked_fraction = 0` (and every
    /// preset without heterogeneity, `none`).
    Uniform,
}

impl Variant {
    pub fn name(self) -> &'static str {
        match self {
            Variant::Heterogeneous => "heterogeneous",
            Variant::Uniform => "uniform",
        }
    }
}

/// Whether a preset's interphase is heterogeneous (log-normal field or blocked patches).
fn has_heterogeneity(preset: Preset) -> bool {
    let d = preset.defaults();
    d.heterogeneity_sigma_ln > 0.0 || d.blocked_fraction > 0.0
}

/// One bench case: a preset, its variant and a grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchCase {
    pub preset: Preset,
    pub variant: Variant,
    pub size: BenchSize,
}

impl BenchCase {
    /// "passivating", "passivating (uniform)", "none".
    pub fn label(&self) -> String {
        match (self.variant, has_heterogeneity(self.preset)) {
            (Variant::Uniform, true) => format!("{} (uniform)", self.preset.name()),
            _ => self.preset.name().to_string(),
        }
    }

    /// The built-in defaults (the presets' test setting) with this preset, on this grid; their
    /// 4 µm starting deposit, or a quarter of the domain length on a grid too short
    /// for it (nx·dx below 16 µm). The uniform variant sets σ_ln and the blocked fraction to 0.
    pub fn config(&self) -> Config {
        let mut cfg = crate::config::Config::default_demo();
        cfg.interphase.preset = self.preset;
        cfg.grid.nx = self.size.nx;
        cfg.grid.ny = self.size.ny;
        cfg.grid.nz = self.size.nz;
        let quarter = self.size.nx as f64 * cfg.grid.dx_um / 4.0;
        cfg.initial.deposit_height_um = cfg.initial.deposit_height_um.min(quarter);
        if self.variant == Variant::Uniform && has_heterogeneity(self.preset) {
            cfg.interphase.heterogeneity_sigma_ln = Some(0.0);
            cfg.interphase.blocked_fraction = Some(0.0);
        }
        cfg
    }
}

/// Every case: for each size, each preset, with a uniform variant after each heterogeneous one.
pub fn cases(presets: &[Preset], sizes: &[BenchSize]) -> Vec<BenchCase> {
    let mut cases = Vec::new();
    for &size in sizes {
        for &preset in presets {
            if has_heterogeneity(preset) {
                cases.push(BenchCase {
                    preset,
                    variant: Variant::Heterogeneous,
                    size,
                });
            }
            cases.push(BenchCase {
                preset,
                variant: Variant::Uniform,
                size,
            });
        }
    }
    cases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_every_form() {
        let s = |nx, ny, nz| BenchSize { nx, ny, nz };
        assert_eq!(
            parse_sizes("128, 256,64c,64x32,64x32x16").unwrap(),
            vec![
                s(128, 128, 1),
                s(256, 256, 1),
                s(64, 64, 64),
                s(64, 32, 1),
                s(64, 32, 16)
            ]
        );
        assert_eq!(s(128, 128, 1).label(), "128²");
        assert_eq!(s(64, 64, 64).label(), "64³");
        assert_eq!(s(64, 32, 1).label(), "64×32");
        assert_eq!(s(64, 32, 16).label(), "64×32×16");
        assert_eq!(s(64, 32, 16).cells(), 64 * 32 * 16);
    }

    #[test]
    fn bad_sizes_and_presets_name_the_flag_and_what_is_allowed() {
        let sizes = "config error: `--sizes` = {} is not a grid size: N (an N × N grid), NXxNY, \
                     Nc (an N × N × N cube) or NXxNYxNZ, each extent an even number in [16, \
                     16384], e.g. --sizes 128,256,64c";
        for bad in [
            "7",
            "abc",
            "14",
            "7c",
            "32x",
            "32x32x32x32",
            "",
            "16386",
            "-32",
        ] {
            assert_eq!(
                parse_sizes(&format!("64,{bad}")).unwrap_err().to_string(),
                sizes.replace("{}", bad),
                "{bad}"
            );
        }
        assert_eq!(
            parse_presets("none,foo").unwrap_err().to_string(),
            "config error: `--presets` = foo is not a preset: one of none, passivating, \
             bromine-rich, zeolite, bi-alloy"
        );
    }

    #[test]
    fn heterogeneous_presets_get_a_uniform_variant() {
        let size = BenchSize {
            nx: 32,
            ny: 32,
            nz: 1,
        };
        let all = cases(&Preset::ALL, &[size]);
        let labels: Vec<String> = all.iter().map(BenchCase::label).collect();
        assert_eq!(
            labels,
            [
                "none",
                "passivating",
                "passivating (uniform)",
                "bromine-rich",
                "bromine-rich (uniform)",
                "zeolite",
                "zeolite (uniform)",
                "bi-alloy",
                "bi-alloy (uniform)"
            ]
        );
        for case in &all {
            let cfg = case.config();
            cfg.validate().unwrap();
            let s = cfg.interphase.resolve();
            let uniform = s.heterogeneity_sigma_ln == 0.0 && s.blocked_fraction == 0.0;
            assert_eq!(
                uniform,
                case.variant == Variant::Uniform,
                "{}",
                case.label()
            );
            assert_eq!((cfg.grid.nx, cfg.grid.ny, cfg.grid.nz), (32, 32, 1));
        }
        // The smallest allowed grid holds every preset (the resolved band included), in 3D too.
        for size in ["16", "16c"] {
            for case in cases(&Preset::ALL, &parse_sizes(size).unwrap()) {
                case.config().validate().unwrap();
            }
        }
    }
}
