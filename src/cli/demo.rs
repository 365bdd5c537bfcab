//! `mgpf demo`: the five interphase presets at one current density to one charge, side by side.

use super::{run, BackendKind};
use crate::config::presets::Preset;
use crate::config::Config;
use crate::error::Result;
use crate::model::units::MAH_CM2_IN_C_M2;
use crate::output::{self, Series};
use crate::simulation::rundir::prepare_demo_dir;
use crate::simulation::{RunOptions, RunSummary, StopReason};
use image::RgbImage;
use std::path::Path;
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

/// The demo's config for one preset: the built-in defaults with that interphase.
pub fn demo_config(preset: Preset) -> Config {
    let mut cfg = Config::default_demo();
    cfg.interphase.preset = preset;
    cfg
}

/// Runs every preset into `out/<preset>/`, then writes compare.gif, compare.png and
/// voltage.png into `out`, and returns the table rows. A non-empty `out` is refused unless
/// `force`, which first removes what an earlier demo wrote there ([`prepare_demo_dir`]).
/// `progress` as in [`RunOptions::progress`].
pub fn run_demo(
    out: &Path,
    backend: BackendKind,
    force: bool,
    progress: Option<Duration>,
) -> Result<Vec<DemoRow>> {
    prepare_demo_dir(out, force)?;
    let mut summaries: Vec<(Preset, RunSummary)> = Vec::new();
    for preset in Preset::ALL {
        let cfg = demo_config(preset);
        let opts = RunOptions {
            out_dir: out.join(preset.name()),
            force: true,
            progress,
            keep_frames: true,
            ..RunOptions::new(out.join(preset.name()))
        };
        let summary = run(&cfg, backend, &opts)?;
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
