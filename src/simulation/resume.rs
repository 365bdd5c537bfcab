//! Continuing a run from its checkpoint: which config it continues with, and the few keys a
//! resumed run may change (how far it runs and how often it checkpoints, never what it
//! computes), so that a run stopped by run.max_steps or a signal ends as if never stopped.

use super::checkpoint::{self, Checkpoint};
use super::{frame_path, rundir, RunOptions, TimeLoop, METRICS_HEADER};
use crate::backend::Backend;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::params::Params;
use std::path::Path;

/// The config keys a resumed run may change (`mgpf run --resume DIR --set key=value`): how far
/// it may run and how often it checkpoints, never what it computes.
pub const RESUMABLE_KEYS: [&str; 3] = [
    "run.max_steps",
    "run.checkpoint_every_steps",
    "run.checkpoint_every_minutes",
];

/// `cfg` with the [`RESUMABLE_KEYS`] of `from`.
fn with_resumable_keys_of(cfg: &Config, from: &Config) -> Config {
    let mut cfg = cfg.clone();
    cfg.run.max_steps = from.run.max_steps;
    cfg.run.checkpoint_every_steps = from.run.checkpoint_every_steps;
    cfg.run.checkpoint_every_minutes = from.run.checkpoint_every_minutes;
    cfg
}

/// A run to continue: the config it continues with, its parameters and its checkpoint.
pub struct ResumedRun {
    pub cfg: Config,
    pub params: Params,
    checkpoint: Checkpoint,
}

impl ResumedRun {
    /// Opens the run in `dir` from its checkpoint, with `overrides` (`key=value`,
    /// [`RESUMABLE_KEYS`] only) laid over its config: a run stopped by run.max_steps continues
    /// with a higher cap. With `cfg`, refuses unless it is the config the run was started with
    /// (same SHA-256 of the resolved TOML) apart from the [`RESUMABLE_KEYS`]; without, uses the
    /// run's own. Removes the temporary files a killed run left.
    pub fn open(dir: &Path, cfg: Option<&Config>, overrides: &[String]) -> Result<ResumedRun> {
        for assignment in overrides {
            let key = assignment.split_once('=').map_or("", |(k, _)| k.trim());
            if !RESUMABLE_KEYS.contains(&key) {
                return Err(Error::config(
                    format!("--set {assignment}"),
                    format!(
                        "cannot be applied to a resumed run: only {} may change (the rest is the run's own config)",
                        RESUMABLE_KEYS.join(", ")
                    ),
                ));
            }
        }
        let mut ck = checkpoint::read(dir)?;
        ck.progress.csv = under_current_header(&ck.progress.csv)?;
        rundir::remove_temporaries(dir)?;
        let own = Config::from_toml_str(
            &ck.config_toml,
            &dir.join(checkpoint::FILE_NAME).display().to_string(),
        )?;
        let cfg = match cfg {
            Some(c) => {
                let hash = checkpoint::config_hash(&with_resumable_keys_of(c, &own));
                if hash != ck.config_sha256 {
                    return Err(Error::Checkpoint(format!(
                        "the config differs from the one the run in {} was started with (SHA-256 {}… vs {}…, {} aside); resume without a CONFIG to continue with the run's own",
                        dir.display(),
                        &hash[..12],
                        &ck.config_sha256[..12],
                        RESUMABLE_KEYS.join(", ")
                    )));
                }
                c.clone()
            }
            None => own,
        };
        let cfg = cfg.with_overrides(overrides, "the resumed run's config")?;
        let params = Params::from_config(&cfg)?;
        Ok(ResumedRun {
            cfg,
            params,
            checkpoint: ck,
        })
    }
}

/// The time loop of `run`, standing where its checkpoint left it, with `backend` (built for
/// `run.params`) restored to the checkpoint's state; its outputs go on in `opts.out_dir`.
pub fn resumed_loop(
    run: ResumedRun,
    backend: &mut dyn Backend,
    opts: &RunOptions,
) -> Result<TimeLoop> {
    let ResumedRun {
        cfg,
        params,
        checkpoint: ck,
    } = run;
    backend.restore_state(&ck.state)?;
    let dir = &opts.out_dir;
    let mut frames = Vec::with_capacity(ck.progress.frame_index as usize);
    for k in 0..ck.progress.frame_index {
        let path = frame_path(dir, k);
        let img = image::open(&path).map_err(|e| Error::Image {
            path: path.clone(),
            message: format!("frame written before the checkpoint: {e}"),
        })?;
        frames.push(img.to_rgb8());
    }
    let mut progress = ck.progress;
    let ly_m = params.grid.collector_measure() * crate::model::params::LENGTH_UNIT_M;
    for row in &mut progress.rows {
        row.restore_areal(ly_m);
    }
    TimeLoop::from_progress(&cfg, &params, opts, progress, frames)
}

/// metrics.csv as a checkpoint holds it, under this mgpf's header: a checkpoint written before
/// the last columns were appended gets them empty in its rows (those values were not recorded),
/// so that every row has the header's width; a header that is not a prefix of this one is
/// refused.
fn under_current_header(csv: &str) -> Result<String> {
    let (header, rows) = csv.split_once('\n').unwrap_or((csv, ""));
    if header == METRICS_HEADER {
        return Ok(csv.to_string());
    }
    let missing = METRICS_HEADER
        .strip_prefix(header)
        .and_then(|rest| rest.strip_prefix(','))
        .map(|rest| rest.split(',').count())
        .ok_or_else(|| {
            Error::Checkpoint(format!(
                "the metrics.csv it holds has the columns `{header}`, which this mgpf cannot continue (it writes `{METRICS_HEADER}`)"
            ))
        })?;
    let pad = ",".repeat(missing);
    let mut out = String::with_capacity(csv.len() + rows.lines().count() * missing + missing * 24);
    out.push_str(METRICS_HEADER);
    out.push('\n');
    for row in rows.lines() {
        out.push_str(row);
        out.push_str(&pad);
        out.push('\n');
    }
    Ok(out)
}
