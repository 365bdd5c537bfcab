//! `mgpf demo`: the five interphase presets at one current density to one charge, side by side,
//! in 2D on the built-in defaults or in 3D on `configs/3d/<preset>.toml` (`--dim 3`).

use super::{run, BackendKind};
use crate::backend::gpu::GpuContext;
use crate::config::presets::Preset;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::units::MAH_CM2_IN_C_M2;
use crate::output::{self, Series};
use crate::simulation::rundir::prepare_demo_dir;
use crate::simulation::{RunOptions, RunSummary, StopReason};
use image::RgbImage;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Figures of one preset in the demo table: the deposit and η at the end of the run, and η
/// averaged over the second half of the charge.
#[derive(Debug, Clone)]
pub struct DemoRow {
    pub preset: Preset,
    pub roughness_um: f64,
    pub max_height_um: f64,
    pub mean_height_um: f64,
    /// Electrode potential against the bulk at the end of the run (V).
    pub final_overpotential_v: f64,
    /// Its mean over the second half of the charge, weighted by charge (V).
    pub mean_overpotential_second_half_v: Option<f64>,
    pub steps: u64,
    pub stopped_by: StopReason,
    pub wall_s: f64,
}

/// The 2D demo's domain and charge, on the built-in defaults ([`Config::default_demo`], the
/// presets' test setting of configs/*.toml: 48 × 128 cells of 0.5 µm to 0.5 mAh/cm²):
/// 96 × 256 cells (48 µm × 128 µm, the width beyond which the passivating layer's ensemble η
/// and roughness change by less than 10 %: README, "Convergence of the passivating layer") to
/// 3.5 mAh/cm², a mean growth of 9.1 µm, 2.07 times the interface's 10–90 % width (4.39 µm), so
/// that the deposits' shapes are resolved.
pub const DEMO_NX: usize = 96;
pub const DEMO_NY: usize = 256;
pub const DEMO_END_CHARGE_MAH_CM2: f64 = 3.5;

/// The 2D demo's config for one preset: the built-in defaults with that interphase, on the
/// demo's domain to its charge.
pub fn demo_config(preset: Preset) -> Config {
    let mut cfg = Config::default_demo();
    cfg.interphase.preset = preset;
    cfg.grid.nx = DEMO_NX;
    cfg.grid.ny = DEMO_NY;
    cfg.run.end_charge_mah_cm2 = Some(DEMO_END_CHARGE_MAH_CM2);
    cfg
}

/// The 3D demo's config for one preset: `configs/3d/<preset>.toml`, built into the binary.
pub fn demo_config_3d(preset: Preset) -> Result<Config> {
    let (text, origin) = match preset {
        Preset::None => (
            include_str!("../../configs/3d/none.toml"),
            "configs/3d/none.toml",
        ),
        Preset::Passivating => (
            include_str!("../../configs/3d/passivating.toml"),
            "configs/3d/passivating.toml",
        ),
        Preset::BromineRich => (
            include_str!("../../configs/3d/bromine-rich.toml"),
            "configs/3d/bromine-rich.toml",
        ),
        Preset::Zeolite => (
            include_str!("../../configs/3d/zeolite.toml"),
            "configs/3d/zeolite.toml",
        ),
        Preset::BiAlloy => (
            include_str!("../../configs/3d/bi-alloy.toml"),
            "configs/3d/bi-alloy.toml",
        ),
    };
    Config::from_toml_str(text, origin)
}

/// Which demo runs and at what size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSpec {
    /// 2: the built-in 2D defaults; 3: `configs/3d/<preset>.toml`.
    pub dim: u8,
    /// Each config shrunk for a quick check of the demo's outputs (the test suite's): the
    /// lateral axes cut to 16 cells, or, for a layer with blocked patches, to 5 correlation
    /// lengths of its heterogeneity where that is more (in a narrower box the fraction of a
    /// section that is blocked strays far from the preset's: the passivating layer's reached 97 %
    /// at 4 ℓ_c, which needs a potential beyond the controller's bound), the growth axis kept (the
    /// resolved layers need its gap),
    /// the end charge to a twentieth and at most 3 frames; not the demo's physics.
    pub reduced: bool,
}

impl DemoSpec {
    /// The config of `preset` in this demo.
    pub fn config(&self, preset: Preset) -> Result<Config> {
        let mut cfg = match self.dim {
            3 => demo_config_3d(preset)?,
            _ => demo_config(preset),
        };
        if self.reduced {
            let layer = cfg.interphase.resolve();
            let patches = match layer.blocked_fraction > 0.0 {
                true => 5.0 * layer.correlation_length_um / cfg.grid.dx_um,
                false => 0.0,
            };
            let lateral = (patches.ceil() as usize).next_multiple_of(2).max(16);
            let g = &mut cfg.grid;
            g.ny = g.ny.min(lateral);
            if g.nz > 1 {
                g.nz = g.nz.min(lateral);
            }
            cfg.run.end_charge_mah_cm2 = cfg.run.end_charge_mah_cm2.map(|q| q / 20.0);
            cfg.run.frames = cfg.run.frames.min(3);
        }
        Ok(cfg)
    }
}

/// How many presets run at once and the threads each gets: on the CPU backend one job per core
/// up to the five presets, the cores shared out between them (a demo-sized grid keeps two
/// threads only ~55 % busy, so two presets side by side on 2 cores finish sooner than one after
/// the other); one job with every thread on the others. The cores are rayon's
/// (`RAYON_NUM_THREADS` where set).
pub fn demo_jobs(backend: BackendKind) -> (usize, usize) {
    let cores = rayon::current_num_threads().max(1);
    match backend {
        BackendKind::Cpu => {
            let jobs = cores.min(Preset::ALL.len());
            (jobs, (cores / jobs).max(1))
        }
        _ => (1, cores),
    }
}

/// The backend the demo's runs use: `auto` resolves here, so that the runs know whether they
/// share one device (one at a time) or the CPU's cores (side by side): a hardware GPU adapter
/// when there is one, else the CPU (a software adapter is slower than the CPU backend).
fn demo_backend(backend: BackendKind) -> Result<BackendKind> {
    if backend != BackendKind::Auto {
        return Ok(backend);
    }
    Ok(match GpuContext::shared() {
        Ok(ctx) if ctx.adapter_info.device_type != wgpu::DeviceType::Cpu => BackendKind::Gpu,
        Ok(ctx) => {
            eprintln!(
                "note: --backend auto: the only GPU adapter is a software one ({}), slower than the CPU backend; the demo runs on the CPU",
                ctx.adapter_info.name
            );
            BackendKind::Cpu
        }
        Err(e) => {
            eprintln!("note: --backend auto: {e}; the demo runs on the CPU");
            BackendKind::Cpu
        }
    })
}

/// Runs every preset into `out/<preset>/`, then writes compare.gif, compare.png and
/// voltage.png into `out`, and returns the table rows. A non-empty `out` is refused unless
/// `force`, which first removes what an earlier demo wrote there ([`prepare_demo_dir`]).
/// On the CPU backend the presets run side by side ([`demo_jobs`]); `progress` as in
/// [`RunOptions::progress`] for one job at a time, else a line per finished preset.
pub fn run_demo(
    spec: DemoSpec,
    out: &Path,
    backend: BackendKind,
    force: bool,
    progress: Option<Duration>,
) -> Result<Vec<DemoRow>> {
    // Every config is read (and checked) before anything runs or is removed.
    let configs = Preset::ALL
        .iter()
        .map(|&preset| spec.config(preset).map(|cfg| (preset, cfg)))
        .collect::<Result<Vec<_>>>()?;
    let backend = demo_backend(backend)?;
    prepare_demo_dir(out, force)?;
    let (jobs, threads) = demo_jobs(backend);
    // One line per finished preset in place of the runs' own progress lines, which would
    // interleave when presets run side by side.
    let run_progress = if jobs > 1 { None } else { progress };
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Vec<Mutex<Option<Result<RunSummary>>>> =
        configs.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    if k >= configs.len() || failed.load(Ordering::SeqCst) {
                        break;
                    }
                    let (preset, cfg) = &configs[k];
                    let opts = RunOptions {
                        force: true,
                        progress: run_progress,
                        keep_frames: true,
                        ..RunOptions::new(out.join(preset.name()))
                    };
                    let result = match &pool {
                        Ok(pool) => pool.install(|| run(cfg, backend, &opts)),
                        Err(e) => Err(Error::Other(format!("demo: a thread pool: {e}"))),
                    };
                    match &result {
                        Ok(s) if jobs > 1 && progress.is_some() => eprintln!(
                            "demo: {} finished: {} steps in {:.1} s ({threads} thread{} of {jobs} jobs)",
                            preset.name(),
                            s.steps,
                            s.wall_s,
                            if threads == 1 { "" } else { "s" }
                        ),
                        Ok(_) => {}
                        Err(_) => failed.store(true, Ordering::SeqCst),
                    }
                    *results[k].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                }
            });
        }
    });
    let mut summaries: Vec<(Preset, RunSummary)> = Vec::new();
    for ((preset, _), result) in configs.iter().zip(results) {
        if let Some(result) = result.into_inner().unwrap_or_else(|e| e.into_inner()) {
            summaries.push((*preset, result?));
        }
    }
    write_comparison(out, &summaries)?;
    Ok(summaries
        .iter()
        .map(|(preset, s)| {
            let last = s.last();
            DemoRow {
                preset: *preset,
                roughness_um: last.front.roughness,
                max_height_um: last.front.max_height,
                mean_height_um: last.front.mean_height,
                final_overpotential_v: last.overpotential_v,
                mean_overpotential_second_half_v: s.mean_overpotential_second_half_v,
                steps: s.steps,
                stopped_by: s.stopped_by,
                wall_s: s.wall_s,
            }
        })
        .collect())
}

fn write_comparison(out: &Path, summaries: &[(Preset, RunSummary)]) -> Result<()> {
    let n_frames = summaries
        .iter()
        .map(|(_, s)| s.cards.len())
        .min()
        .unwrap_or(0);
    let mut combined: Vec<RgbImage> = Vec::with_capacity(n_frames);
    for k in 0..n_frames {
        let cards: Vec<&RgbImage> = summaries.iter().map(|(_, s)| &s.cards[k]).collect();
        combined.push(output::montage(&cards, &[]));
    }
    if let Some(last) = combined.last() {
        output::write_png(&out.join("compare.png"), last)?;
        output::write_gif(&out.join("compare.gif"), &combined, 150)?;
    }
    let xs: Vec<Vec<f64>> = summaries
        .iter()
        .map(|(_, s)| {
            s.rows
                .iter()
                .skip(1)
                .map(|r| r.charge_c_m2 / MAH_CM2_IN_C_M2)
                .collect()
        })
        .collect();
    let ys: Vec<Vec<f64>> = summaries
        .iter()
        .map(|(_, s)| s.rows.iter().skip(1).map(|r| r.overpotential_v).collect())
        .collect();
    let series: Vec<Series> = summaries
        .iter()
        .enumerate()
        .filter(|(k, _)| xs[*k].len() >= 2)
        .map(|(k, (p, _))| Series {
            label: p.name(),
            x: &xs[k],
            y: &ys[k],
        })
        .collect();
    if !series.is_empty() {
        output::write_line_plot(
            &out.join("voltage.png"),
            "Chronopotentiometry, all interphases",
            "charge passed (mAh cm⁻²)",
            "overpotential (V)",
            &series,
        )?;
    }
    Ok(())
}

/// The note under the demo's table: the layers with a random field are one realisation each
/// (run.seed = 42), with the 2D passivating layer's ensemble at the demo's setting as measured
/// (`mgpf sweep configs/passivating.toml --set grid.nx=96 --set grid.ny=256 --set
/// run.end_charge_mah_cm2=3.5 --vary run.seed=42,43,44,45,46,47,48,49`, 2026-12-07).
pub fn realisation_note(dim: u8) -> String {
    let measured = match dim {
        3 => String::new(),
        _ => " At this setting, over seeds 42-49, the passivating layer's η over the 2nd half \
              of the charge is -1.90 ± 0.90 V and its final roughness 7.2 ± 2.5 µm (means ± 95 % \
              intervals over the 7 runs that finished; seed 43 needed more than \
              control.max_overpotential_v = 10 V)."
            .to_string(),
    };
    format!(
        "note: each layer with a random field (the passivating one above all) is one realisation \
         (run.seed = 42), and its numbers vary from seed to seed.{measured} `mgpf sweep CONFIG \
         --vary KEY=SPEC --seeds N` gives ensembles (README, Studies)"
    )
}

/// The table `mgpf demo` prints: the deposit's ξ = ½ front and the electrode potential against
/// the bulk (η) at the end of each run, η's charge-weighted mean over the second half of the
/// charge, the steps taken (marked where run.max_steps stopped the run first) and the wall time.
pub fn format_table(rows: &[DemoRow]) -> String {
    let mut s = String::from(
        "               at the end of the run                                          mean η over the\n\
         preset         roughness (µm)  max height (µm)  mean height (µm)  final η (V)  2nd half of charge (V)   steps   wall (s)\n",
    );
    for r in rows {
        let mean = r
            .mean_overpotential_second_half_v
            .map_or_else(|| "–".to_string(), |v| format!("{v:.4}"));
        let capped = match r.stopped_by {
            StopReason::MaxSteps => "*",
            StopReason::EndCondition => " ",
        };
        s.push_str(&format!(
            "{:<14} {:>14.3} {:>16.3} {:>17.3} {:>12.4} {:>23} {:>7}{capped} {:>9.1}\n",
            r.preset.name(),
            r.roughness_um,
            r.max_height_um,
            r.mean_height_um,
            r.final_overpotential_v,
            mean,
            r.steps,
            r.wall_s
        ));
    }
    if rows.iter().any(|r| r.stopped_by == StopReason::MaxSteps) {
        s.push_str("* stopped by run.max_steps before the end charge\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_says_which_eta_is_final_and_which_a_mean() {
        let row = |preset, final_v, mean_v, stopped_by| DemoRow {
            preset,
            roughness_um: 1.234,
            max_height_um: 9.5,
            mean_height_um: 5.25,
            final_overpotential_v: final_v,
            mean_overpotential_second_half_v: mean_v,
            steps: 1234,
            stopped_by,
            wall_s: 12.3,
        };
        let table = format_table(&[
            row(
                Preset::Passivating,
                -1.15,
                Some(-0.886),
                StopReason::EndCondition,
            ),
            row(Preset::Zeolite, -0.2, None, StopReason::MaxSteps),
        ]);
        println!("{table}");
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].contains("at the end of the run") && lines[0].contains("mean η over the"));
        assert!(lines[1].contains("final η (V)") && lines[1].contains("2nd half of charge (V)"));
        // Each figure ends under the end of its own column heading (in characters: µ and η
        // take two bytes).
        let end_of = |line: &str, text: &str| {
            let start = line.find(text).unwrap();
            line[..start].chars().count() + text.chars().count()
        };
        let under = |line: &str, heading: &str, value: &str| {
            let (column, at) = (end_of(lines[1], heading), end_of(line, value));
            println!("`{value}` ends at character {at}, `{heading}` at {column}");
            assert_eq!(at, column, "{line}");
        };
        under(lines[2], "final η (V)", "-1.1500");
        under(lines[2], "2nd half of charge (V)", "-0.8860");
        under(lines[3], "2nd half of charge (V)", "–");
        assert!(lines[3].contains("1234*"));
        assert_eq!(lines[4], "* stopped by run.max_steps before the end charge");
    }
}
