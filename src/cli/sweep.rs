//! `mgpf sweep`: runs a study's points (each an ordinary run in `DIR/points/<index>/`), in
//! parallel on the CPU with the cores split between `--jobs` points, skipping finished points
//! and resuming interrupted ones; then writes what they ended with (sweep.csv, ensemble.csv, the
//! map and the montage). `--plan` only writes the points and their command lines; `--collect`
//! only gathers what has finished.

use super::{make_backend, resolve_backend, BackendKind};
use crate::backend::gpu::{GpuContext, GpuEnsemble};
use crate::backend::Backend;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::params::Params;
use crate::output::write_atomic;
use crate::simulation::{report, Interrupt, RunOptions, RunSummary, StopReason};
use crate::study::points::{Point, Study};
use crate::study::table::{self, RunRow, FAILURE_FILE};
use crate::study::{pictures, plan};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// How a study is run (not part of its definition).
#[derive(Debug, Clone)]
pub struct SweepOptions {
    pub out: PathBuf,
    pub backend: BackendKind,
    /// Points run at once: on the CPU the cores are split between them; on the GPU they are
    /// the points of one batch per shape, every kernel running all of them in one dispatch
    /// ([`GpuEnsemble`]).
    pub jobs: usize,
    /// The sweep.csv column the map shows.
    pub metric: String,
    /// Set by SIGINT/SIGTERM: running points checkpoint and stop, no new point starts.
    pub interrupt: Option<Interrupt>,
    /// Test hook: each point behaves as if interrupted once this many steps are done.
    pub stop_after_steps: Option<u64>,
}

impl SweepOptions {
    pub fn new(out: impl Into<PathBuf>) -> SweepOptions {
        SweepOptions {
            out: out.into(),
            backend: BackendKind::Cpu,
            jobs: 1,
            metric: table::DEFAULT_METRIC.to_string(),
            interrupt: None,
            stop_after_steps: None,
        }
    }
}

/// What a sweep did.
#[derive(Debug, Clone)]
pub struct SweepReport {
    /// Points run (or continued) by this command.
    pub ran: usize,
    /// Points already finished, skipped.
    pub skipped: usize,
    pub rows: Vec<RunRow>,
}

/// Every point's config and parameters, checked as `mgpf run` checks them, before anything runs:
/// the first bad point is named with its values.
fn checked_configs(study: &Study) -> Result<Vec<Config>> {
    let configs = study.configs()?;
    for (point, cfg) in study.points.iter().zip(&configs) {
        let check = || -> Result<()> {
            let params = Params::from_config(cfg)?;
            report::check_time_step(&params)?;
            report::check_potential_coupling(&params, &cfg.initial)
        };
        check().map_err(|e| Error::Other(format!("{}: {e}", study.describe(point))))?;
    }
    Ok(configs)
}

fn check_metric(metric: &str) -> Result<()> {
    if table::metric_index(metric).is_none() {
        let names: Vec<&str> = table::METRICS.iter().map(|(n, _)| *n).collect();
        return Err(Error::config(
            "--metric",
            format!(
                "= {metric} is not a sweep.csv metric: one of {}",
                names.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Writes the study's points and, for a cluster, their command lines (commands.txt, slurm.sh).
pub fn plan(study: &Study, opts: &SweepOptions) -> Result<()> {
    check_metric(&opts.metric)?;
    let configs = checked_configs(study)?;
    plan::prepare(&opts.out, study, &configs)?;
    let backend = match opts.backend {
        BackendKind::Cpu => "cpu",
        BackendKind::Gpu => "gpu",
        BackendKind::Auto => "auto",
    };
    plan::write_plan(&opts.out, study, backend)
}

/// Runs every point that has not finished, then writes the study's tables and pictures.
pub fn sweep(study: &Study, opts: &SweepOptions) -> Result<SweepReport> {
    check_metric(&opts.metric)?;
    if opts.jobs == 0 {
        return Err(Error::config(
            "--jobs",
            "= 0 is outside the allowed range [1, ∞)",
        ));
    }
    let configs = checked_configs(study)?;
    plan::prepare(&opts.out, study, &configs)?;
    let before = table::read_rows(&opts.out, study)?;
    let pending: Vec<usize> = before
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.status.is_done())
        .map(|(n, _)| n)
        .collect();
    let skipped = study.points.len() - pending.len();
    if skipped > 0 {
        eprintln!(
            "{skipped} of {} points already finished in {}: skipped",
            study.points.len(),
            opts.out.display()
        );
    }
    let jobs = opts.jobs.min(pending.len()).max(1);
    // GPU points run `jobs` at a time as the points of batches: one dispatch per kernel for all.
    let ensemble = match (opts.backend, jobs > 1) {
        (BackendKind::Gpu | BackendKind::Auto, true) => match GpuContext::shared() {
            Ok(ctx) => Some(GpuEnsemble::new(ctx, jobs as u32)),
            Err(_) if opts.backend == BackendKind::Auto => None,
            Err(e) => return Err(e),
        },
        _ => None,
    };
    let threads = (rayon::current_num_threads() / jobs).max(1);
    let next = AtomicUsize::new(0);
    let interrupted: Mutex<Option<i32>> = Mutex::new(None);
    let total = study.points.len();
    std::thread::scope(|scope| -> Result<()> {
        let workers: Vec<_> = (0..jobs)
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .map_err(|e| Error::Other(format!("cannot start a thread pool: {e}")))?;
                    loop {
                        let stop = opts.interrupt.as_ref().and_then(Interrupt::signal);
                        if stop.is_some() || interrupted.lock().unwrap().is_some() {
                            return Ok(());
                        }
                        let n = next.fetch_add(1, Ordering::SeqCst);
                        let Some(&index) = pending.get(n) else {
                            return Ok(());
                        };
                        let point = &study.points[index];
                        let start = Instant::now();
                        let result = pool.install(|| {
                            run_point(study, point, &configs[index], opts, ensemble.as_ref())
                        });
                        match result {
                            Ok(s) => eprintln!(
                                "{} of {total} {}: {}",
                                study.describe(point),
                                match (s.first_step > 0, s.stopped_by) {
                                    (false, StopReason::EndCondition) => "finished",
                                    (true, StopReason::EndCondition) => "resumed and finished",
                                    (false, StopReason::MaxSteps) => "stopped at run.max_steps",
                                    (true, StopReason::MaxSteps) => {
                                        "resumed and stopped at run.max_steps"
                                    }
                                },
                                point_line(&s, start)
                            ),
                            Err(Error::Interrupted { signal, .. }) => {
                                eprintln!(
                                    "{} of {total}: interrupted, checkpoint written",
                                    study.describe(point)
                                );
                                *interrupted.lock().unwrap() = Some(signal);
                            }
                            Err(e) => {
                                eprintln!("{} of {total}: failed: {e}", study.describe(point))
                            }
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().expect("a sweep worker panicked")?;
        }
        Ok(())
    })?;
    let rows = collect(&opts.out, study, &opts.metric)?;
    if let Some(signal) = *interrupted.lock().unwrap() {
        return Err(Error::StudyInterrupted {
            signal,
            dir: opts.out.display().to_string(),
        });
    }
    Ok(SweepReport {
        ran: pending.len(),
        skipped,
        rows,
    })
}

/// "in 12.3 s, 1234 steps, final roughness 0.52 µm, final η −0.451 V".
fn point_line(s: &RunSummary, start: Instant) -> String {
    let last = s.last();
    format!(
        "in {:.1} s, {} steps, final roughness {:.3} µm, final overpotential {:.4} V",
        start.elapsed().as_secs_f64(),
        s.steps,
        last.front.roughness,
        last.overpotential_v
    )
}

/// Runs one point in its directory: continues it from its checkpoint where one is left
/// without a finished run, else starts it afresh (removing what an earlier try wrote, never its
/// config.toml). A failure is written to its failed.txt for sweep.csv.
fn run_point(
    study: &Study,
    point: &Point,
    cfg: &Config,
    opts: &SweepOptions,
    ensemble: Option<&Arc<GpuEnsemble>>,
) -> Result<RunSummary> {
    let dir = opts.out.join(&point.dir);
    let failure = dir.join(FAILURE_FILE);
    if failure.exists() {
        std::fs::remove_file(&failure).map_err(|e| Error::io(&failure, e))?;
    }
    let run_opts = RunOptions {
        force: true,
        interrupt: opts.interrupt.clone(),
        stop_after_steps: opts.stop_after_steps,
        ..RunOptions::new(&dir)
    };
    // On the GPU with an ensemble, the point's backend is a member of it; else its own.
    let make = |cfg: &Config, params: &Params| -> Result<Box<dyn Backend>> {
        match (ensemble, resolve_backend(params, opts.backend)) {
            (Some(ensemble), (BackendKind::Gpu, _)) => {
                Ok(Box::new(ensemble.member(params, &cfg.initial)?))
            }
            _ => make_backend(cfg, params, opts.backend),
        }
    };
    let resumable = dir.join("checkpoint.bin").exists() && !dir.join("run.json").exists();
    let result = if resumable {
        super::resume_on(Some(cfg), &[], &run_opts, make)
    } else {
        super::run_on(cfg, &run_opts, make)
    };
    if let Err(e) = &result {
        if !matches!(e, Error::Interrupted { .. }) {
            write_atomic(
                &failure,
                format!("{}: {e}\n", study.describe(point)).as_bytes(),
            )?;
        }
    }
    result
}

/// Builds sweep.csv, ensemble.csv, the map and the montage from whatever points have finished
/// in `dir`, wherever they ran.
pub fn collect(dir: &Path, study: &Study, metric: &str) -> Result<Vec<RunRow>> {
    check_metric(metric)?;
    let rows = table::read_rows(dir, study)?;
    write_atomic(
        &dir.join("sweep.csv"),
        table::sweep_csv(study, &rows).as_bytes(),
    )?;
    let ensembles = table::ensembles(study, &rows);
    write_atomic(
        &dir.join("ensemble.csv"),
        table::ensemble_csv(study, &ensembles).as_bytes(),
    )?;
    pictures::write_map(dir, study, &rows, metric)?;
    pictures::write_montage(dir, study, &rows)?;
    Ok(rows)
}

/// The study's table in words: per ensemble, its values, runs finished and the metric's mean
/// (± the 95 % interval's half-width where there are several runs).
pub fn format_summary(study: &Study, rows: &[RunRow], metric: &str) -> String {
    let ensembles = table::ensembles(study, rows);
    let keys = table::ensemble_keys(study);
    let k = table::metric_index(metric).expect("a checked metric");
    let mut s = format!(
        "{:<48} {:>9}  {metric} ({}; mean ± 95 % interval over the finished runs)\n",
        keys.join(", "),
        "finished",
        table::metric_kind(metric)
    );
    for e in &ensembles {
        let m = &e.metrics[k];
        let value = match (m.mean, m.ci95_half_width) {
            (Some(mean), Some(h)) => format!("{mean:.4e} ± {h:.2e}"),
            (Some(mean), None) => format!("{mean:.4e}"),
            _ => "—".into(),
        };
        let _ = std::fmt::Write::write_fmt(
            &mut s,
            format_args!(
                "{:<48} {:>4} of {:<2}  {value}\n",
                e.values.join(", "),
                e.finished,
                e.rows.len()
            ),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_metric_lists_the_known_ones() {
        let e = check_metric("roughness").unwrap_err().to_string();
        assert!(
            e.starts_with("config error: `--metric` = roughness is not a sweep.csv metric: one of steps, wall_time_s,"),
            "{e}"
        );
        check_metric("relative_roughness").unwrap();
    }
}
