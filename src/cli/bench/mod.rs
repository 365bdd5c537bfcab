//! `mgpf bench`: the user's own benchmark on their hardware. For each preset (with and without
//! its heterogeneity) and grid size, the built-in defaults with that interphase
//! ([`crate::config::Config::default_demo`]) on that grid is advanced a few warm-up steps, then
//! timed over N steps taken in batches as the time loop takes them; each case gives the whole
//! step's M cell-steps/s, the split of its wall time into the backend's phases, and a copy's
//! bandwidth on the same backend as the roofline. Printed as a table, written as bench.csv and
//! bench.json.

mod cases;
mod rows;

pub use cases::*;
pub use rows::*;

use super::{make_backend, resolve_backend, BackendKind};
use crate::backend::gpu::GpuContext;
use crate::backend::{cpu, gpu, Backend, PhaseTimes};
use crate::config::presets::Preset;
use crate::config::{Config, Representation};
use crate::error::{Error, Result};
use crate::model::params::Params;
use crate::output::write_atomic;
use crate::simulation::report;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What `mgpf bench` was asked to do.
#[derive(Debug, Clone, Serialize)]
pub struct BenchOptions {
    pub backend: BackendKind,
    pub sizes: Vec<BenchSize>,
    pub presets: Vec<Preset>,
    /// Timed steps per case.
    pub steps: u64,
    /// Untimed steps before them.
    pub warm_up_steps: u64,
    pub full: bool,
    pub out: PathBuf,
}

impl BenchOptions {
    /// The options of the command line: `sizes` and `presets` as comma-separated lists (None:
    /// the defaults of the short or `--full` bench: every preset), `steps` overriding the
    /// default count.
    pub fn from_args(
        backend: BackendKind,
        sizes: Option<&str>,
        presets: Option<&str>,
        steps: Option<u64>,
        full: bool,
        out: impl Into<PathBuf>,
    ) -> Result<BenchOptions> {
        let sizes = parse_sizes(sizes.unwrap_or(if full { FULL_SIZES } else { SHORT_SIZES }))?;
        let presets = match presets {
            Some(list) => parse_presets(list)?,
            None => Preset::ALL.to_vec(),
        };
        let (default_steps, warm_up_steps) = if full {
            (FULL_STEPS, FULL_WARM_UP)
        } else {
            (SHORT_STEPS, SHORT_WARM_UP)
        };
        let steps = steps.unwrap_or(default_steps);
        if steps == 0 {
            return Err(Error::config(
                "--steps",
                "= 0 is outside the allowed range [1, ∞)",
            ));
        }
        Ok(BenchOptions {
            backend,
            sizes,
            presets,
            steps,
            warm_up_steps,
            full,
            out: out.into(),
        })
    }
}

/// A case checked and ready to run: its config, parameters and the backend it runs on.
struct Planned {
    case: BenchCase,
    cfg: Config,
    params: Params,
    kind: BackendKind,
}

/// Every case's config checked as `mgpf run` checks it, and the backend `auto` gives it, before
/// anything runs: the first bad case is named.
fn plan(opts: &BenchOptions) -> Result<(Vec<Planned>, Vec<String>)> {
    let mut notices: Vec<String> = Vec::new();
    let planned = cases(&opts.presets, &opts.sizes)
        .into_iter()
        .map(|case| {
            let cfg = case.config();
            let check = || -> Result<Params> {
                cfg.validate()?;
                let params = Params::from_config(&cfg)?;
                report::check_time_step(&params)?;
                report::check_potential_coupling(&params, &cfg.initial)?;
                Ok(params)
            };
            let params = check().map_err(|e| {
                Error::Other(format!(
                    "bench case {} on {}: {e}",
                    case.label(),
                    case.size.label()
                ))
            })?;
            let (kind, notice) = resolve_backend(&params, opts.backend);
            if let Some(why) = notice {
                let line = format!("note: --backend auto: {why}; running on the CPU");
                if !notices.contains(&line) {
                    notices.push(line);
                }
            }
            Ok(Planned {
                case,
                cfg,
                params,
                kind,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((planned, notices))
}

/// "cpu: rayon, N threads", or the GPU adapter's "gpu: name (backend, device type)".
fn adapter(kind: BackendKind) -> Result<String> {
    Ok(match kind {
        BackendKind::Gpu => GpuContext::shared()?.describe(),
        _ => format!("cpu: rayon, {} threads", rayon::current_num_threads()),
    })
}

/// Advances `n` steps from `*step` in batches as the time loop takes them: up to the backend's
/// `max_batch`, never past the next metrics row (`run.metrics_every_steps`).
fn advance(backend: &mut dyn Backend, cfg: &Config, step: &mut u64, n: u64) -> Result<()> {
    let end = *step + n;
    let every = cfg.run.metrics_every_steps.max(1);
    while *step < end {
        let batch = backend
            .max_batch()
            .min(every - *step % every)
            .min(end - *step)
            .max(1);
        *step += backend.advance(*step, batch)?.len() as u64;
    }
    Ok(())
}

fn phase_delta(after: PhaseTimes, before: PhaseTimes) -> PhaseTimes {
    PhaseTimes {
        update_s: after.update_s - before.update_s,
        potential_solve_s: after.potential_solve_s - before.potential_solve_s,
        concentration_solve_s: after.concentration_solve_s - before.concentration_solve_s,
        control_s: after.control_s - before.control_s,
        other_s: after.other_s - before.other_s,
    }
}

/// Runs one case: warm-up, then the timed steps (the copy's bandwidth left at 0).
fn run_case(p: &Planned, opts: &BenchOptions, adapter: &str) -> Result<BenchRow> {
    let case = p.case;
    let mut backend = make_backend(&p.cfg, &p.params, p.kind)?;
    let mut step = 0;
    advance(backend.as_mut(), &p.cfg, &mut step, opts.warm_up_steps)?;
    let before = backend.phase_times();
    let start = Instant::now();
    advance(backend.as_mut(), &p.cfg, &mut step, opts.steps)?;
    let wall_s = start.elapsed().as_secs_f64();
    let t = phase_delta(backend.phase_times(), before);
    let cells = case.size.cells();
    let representation = match p.cfg.interphase.resolve().representation {
        Representation::Subgrid => "R1",
        Representation::Resolved => "R2",
    };
    Ok(BenchRow {
        backend: match p.kind {
            BackendKind::Gpu => "gpu",
            _ => "cpu",
        }
        .into(),
        adapter: adapter.to_string(),
        preset: case.preset.name().into(),
        variant: case.variant.name().into(),
        representation: representation.into(),
        nx: case.size.nx,
        ny: case.size.ny,
        nz: case.size.nz,
        cells,
        steps: opts.steps,
        wall_s,
        mcell_steps_per_s: cells as f64 * opts.steps as f64 / wall_s / 1e6,
        update_s: t.update_s,
        control_s: t.control_s,
        potential_solve_s: t.potential_solve_s,
        concentration_solve_s: t.concentration_solve_s,
        other_s: (wall_s - t.phases_s()).max(0.0),
        copy_gb_s: 0.0,
        warm_up_steps: opts.warm_up_steps,
        ms_per_step: 1e3 * wall_s / opts.steps as f64,
        copy_elements: cells,
    })
}

/// GB/s of a copy of `n` f32 on the backend `kind`.
fn copy_bandwidth(kind: BackendKind, n: usize) -> Result<f64> {
    Ok(match kind {
        BackendKind::Gpu => gpu::bandwidth::copy_bandwidth(GpuContext::shared()?, n),
        _ => cpu::bandwidth::copy_bandwidth(n),
    })
}

/// The lines above the table: what was measured on what, every number's meaning and unit.
fn header(opts: &BenchOptions, adapters: &[String]) -> Vec<String> {
    let n_cases = cases(&opts.presets, &opts.sizes).len();
    let mut lines = vec![format!(
        "mgpf bench {}: {} case{}, {} timed steps per case after {} warm-up steps",
        env!("CARGO_PKG_VERSION"),
        n_cases,
        if n_cases == 1 { "" } else { "s" },
        opts.steps,
        opts.warm_up_steps
    )];
    for a in adapters {
        lines.push(format!("adapter: {a}"));
    }
    lines.extend([
        format!(
            "M cell-steps/s: cells × steps ÷ wall time ÷ 1e6, the mean over the {} timed steps \
             (batches as a run takes them) after {} warm-up steps",
            opts.steps, opts.warm_up_steps
        ),
        "ms/step: wall time per timed step (ms); update, control, potential, conc., other: % of \
         that wall time in each phase (other: the rest)"
            .into(),
        "copy GB/s: one field of the grid (cells × 4 B) copied on the same backend (GPU: a copy \
         kernel; CPU: memcpy over rayon's threads), 8 B per cell (read + write)"
            .into(),
        format!(
            "{:<24} {:<3} {:<4} {:>11} {:>9} {:>15} {:>9} | {:>8} {:>9} {:>11} {:>9} {:>9} | {:>9}",
            "case",
            "dev",
            "rep",
            "grid",
            "cells",
            "M cell-steps/s",
            "ms/step",
            "update %",
            "control %",
            "potential %",
            "conc. %",
            "other %",
            "copy GB/s",
        ),
    ]);
    lines
}

/// Runs every case, handing the table's lines to `print` as they are ready (the header first,
/// then a line per finished case), and writes bench.csv and bench.json into `opts.out` (where a
/// case fails, with the cases before it, and returns the error naming the case). Every case is
/// checked before the first runs.
pub fn bench(opts: &BenchOptions, print: &mut dyn FnMut(&str)) -> Result<Vec<BenchRow>> {
    let (planned, notices) = plan(opts)?;
    for line in &notices {
        eprintln!("{line}");
    }
    let mut kinds: Vec<BackendKind> = Vec::new();
    for p in &planned {
        if !kinds.contains(&p.kind) {
            kinds.push(p.kind);
        }
    }
    let adapters = kinds
        .iter()
        .map(|&k| adapter(k))
        .collect::<Result<Vec<_>>>()?;
    std::fs::create_dir_all(&opts.out).map_err(|e| Error::io(&opts.out, e))?;
    for line in header(opts, &adapters) {
        print(&line);
    }
    let start = Instant::now();
    let mut copies: Vec<((BackendKind, usize), f64)> = Vec::new();
    let mut rows = Vec::with_capacity(planned.len());
    for p in &planned {
        let adapter = &adapters[kinds.iter().position(|&k| k == p.kind).unwrap_or(0)];
        // The copy after the case, once the backend has taken the grid (and freed it).
        let measured = run_case(p, opts, adapter).and_then(|mut row| {
            let key = (p.kind, row.copy_elements);
            row.copy_gb_s = match copies.iter().find(|(k, _)| *k == key) {
                Some(&(_, gbs)) => gbs,
                None => {
                    let gbs = copy_bandwidth(p.kind, row.copy_elements)?;
                    copies.push((key, gbs));
                    gbs
                }
            };
            Ok(row)
        });
        match measured {
            Ok(row) => {
                print(&table_line(&p.case, &row));
                rows.push(row);
            }
            Err(e) => {
                // The cases that finished are kept.
                write_outputs(&opts.out, opts, &rows, start.elapsed().as_secs_f64())?;
                return Err(Error::Other(format!(
                    "bench case {} on {}: {e} (bench.csv and bench.json in {} hold the {} case{} \
                     before it)",
                    p.case.label(),
                    p.case.size.label(),
                    opts.out.display(),
                    rows.len(),
                    if rows.len() == 1 { "" } else { "s" },
                )));
            }
        }
    }
    let total_s = start.elapsed().as_secs_f64();
    write_outputs(&opts.out, opts, &rows, total_s)?;
    print(&format!(
        "{} case{} in {total_s:.1} s (wall time, copies and set-up included); bench.csv and \
         bench.json in {}",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        opts.out.display()
    ));
    Ok(rows)
}

/// bench.csv and bench.json in `dir` (bench.json: the rows with the version, the date, the
/// thread count and the options).
fn write_outputs(dir: &Path, opts: &BenchOptions, rows: &[BenchRow], total_s: f64) -> Result<()> {
    write_atomic(&dir.join("bench.csv"), csv(rows).as_bytes())?;
    let json = serde_json::json!({
        "mgpf_version": env!("CARGO_PKG_VERSION"),
        "date": utc_now(),
        "threads": rayon::current_num_threads(),
        "total_wall_s": total_s,
        "options": opts,
        "columns": CSV_COLUMNS,
        "rows": rows,
    });
    let text = serde_json::to_string_pretty(&json).map_err(|e| Error::Other(e.to_string()))?;
    write_atomic(&dir.join("bench.json"), text.as_bytes())
}

/// The current UTC time as ISO 8601, e.g. "2026-12-06T14:03:27Z".
fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    iso8601(secs)
}

/// Seconds since 1970-01-01T00:00:00Z as ISO 8601 (the civil calendar of days since the epoch,
/// H. Hinnant's algorithm).
fn iso8601(secs: u64) -> String {
    let (days, rem) = ((secs / 86400) as i64, secs % 86400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso8601_utc() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400 + 3_661), "2000-02-29T01:01:01Z");
        assert_eq!(iso8601(1_798_761_599), "2026-12-31T23:59:59Z");
    }
}
