//! `mgpf demo`: the five interphase presets at one current density to one charge, side by side.

use crate::config::presets::Preset;
use crate::config::Config;
use crate::error::Result;
use crate::output::{self, Series};
use crate::run::{run, BackendKind, RunOptions, RunSummary, MAH_CM2_IN_C_M2};
use crate::rundir::prepare_demo_dir;
use image::RgbImage;
use std::path::Path;

/// Final figures of one preset in the demo table.
#[derive(Debug, Clone)]
pub struct DemoRow {
    pub preset: Preset,
    pub roughness_um: f64,
    pub max_height_um: f64,
    pub mean_height_um: f64,
    pub steady_overpotential_v: f64,
    pub steps: u64,
    pub wall_s: f64,
}

/// The demo's config for one preset: the built-in defaults with that interphase.
pub fn demo_config(preset: Preset) -> Config {
    let mut cfg = Config::default_demo();
    cfg.interphase.preset = preset;
    cfg
}

/// Runs every preset into `out/<preset>/`, then writes compare.gif, compare.png and
/// voltage.png into `out`, and returns the table rows. A non-empty `out` is refused unless
/// `force`, which first removes what an earlier demo wrote there ([`prepare_demo_dir`]).
pub fn run_demo(
    out: &Path,
    backend: BackendKind,
    force: bool,
    progress: bool,
) -> Result<Vec<DemoRow>> {
    prepare_demo_dir(out, force)?;
    let mut summaries: Vec<(Preset, RunSummary)> = Vec::new();
    for preset in Preset::ALL {
        let cfg = demo_config(preset);
        let opts = RunOptions {
            out_dir: out.join(preset.name()),
            force: true,
            backend,
            progress,
            keep_frames: true,
            ..RunOptions::new(out.join(preset.name()))
        };
        let summary = run(&cfg, &opts)?;
        summaries.push((preset, summary));
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
                steady_overpotential_v: s.steady_overpotential(),
                steps: s.steps,
                wall_s: s.wall_s,
            }
        })
        .collect())
}

fn write_comparison(out: &Path, summaries: &[(Preset, RunSummary)]) -> Result<()> {
    let labels: Vec<&str> = summaries.iter().map(|(p, _)| p.name()).collect();
    let n_frames = summaries
        .iter()
        .map(|(_, s)| s.frames.len())
        .min()
        .unwrap_or(0);
    let mut combined: Vec<RgbImage> = Vec::with_capacity(n_frames);
    for k in 0..n_frames {
        let panels: Vec<RgbImage> = summaries
            .iter()
            .map(|(p, s)| morphology_panel(&s.frames[k], &demo_config(*p), p.name()))
            .collect();
        let images: Vec<&RgbImage> = panels.iter().collect();
        combined.push(output::montage(&images, &labels));
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

/// The morphology panel of a frame, with its header and footer, at half size: five of them side
/// by side stay a readable width.
fn morphology_panel(frame: &RgbImage, cfg: &Config, title: &str) -> RgbImage {
    let layout = output::FrameLayout::new(cfg.grid.nx, cfg.grid.ny, title);
    let width = (layout.morphology.0 + layout.panel_w + layout.morphology.0.min(16))
        .min(frame.width())
        .max(1);
    let half = image::imageops::crop_imm(frame, 0, 0, width, frame.height()).to_image();
    image::imageops::resize(
        &half,
        (width / 2).max(1),
        (frame.height() / 2).max(1),
        image::imageops::FilterType::Triangle,
    )
}

/// The table `mgpf demo` prints.
pub fn format_table(rows: &[DemoRow]) -> String {
    let mut s = String::from("preset         roughness (µm)  max height (µm)  mean height (µm)  overpotential (V)  steps   wall (s)\n");
    for r in rows {
        s.push_str(&format!(
            "{:<14} {:>14.3} {:>16.3} {:>17.3} {:>18.4} {:>6} {:>9.1}\n",
            r.preset.name(),
            r.roughness_um,
            r.max_height_um,
            r.mean_height_um,
            r.steady_overpotential_v,
            r.steps,
            r.wall_s
        ));
    }
    s
}
