//! What a study's runs ended with: one [`RunRow`] per point, read from the point's own outputs
//! (its run.json, or what its directory says of a run that has not finished), written as
//! `sweep.csv`; and the ensembles (rows that differ only in `run.seed`) with the mean and the
//! spread of every metric, written as `ensemble.csv`.

use super::points::{Point, Study, SEED_KEY};
use super::stats::Spread;
use crate::error::{Error, Result};
use crate::output::csv_field;
use std::fmt::Write as _;
use std::path::Path;

/// A point's failure message, written in its directory when its run fails.
pub const FAILURE_FILE: &str = "failed.txt";

/// Where a point's run stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Reached its end condition.
    Finished,
    /// Stopped by run.max_steps before its end condition.
    MaxSteps,
    /// Stopped with a checkpoint (a signal, or killed after one): the sweep resumes it.
    Interrupted,
    /// Failed with this message (failed.txt).
    Failed(String),
    /// Not run yet.
    Pending,
}

impl Status {
    /// The word in sweep.csv's status column.
    pub fn word(&self) -> &'static str {
        match self {
            Status::Finished => "finished",
            Status::MaxSteps => "max_steps",
            Status::Interrupted => "interrupted",
            Status::Failed(_) => "failed",
            Status::Pending => "pending",
        }
    }

    /// Whether the run is over (the sweep does not run it again).
    pub fn is_done(&self) -> bool {
        matches!(self, Status::Finished | Status::MaxSteps)
    }
}

/// The metrics a row carries, as (sweep.csv column, path in run.json). All are final values of
/// the run except the overpotential's mean over the second half, weighted by charge, and a
/// cycling run's CE (its mean over the cycles and its last cycle's) and dead-Mg fraction (at the
/// end), empty for a run without cycles.
pub const METRICS: [(&str, &[&str]); 17] = [
    ("steps", &["steps"]),
    ("wall_time_s", &["wall_time_s", "total"]),
    ("time_s", &["final", "time_s"]),
    ("charge_c_m2", &["final", "charge_c_m2"]),
    ("overpotential_v", &["final", "overpotential_v"]),
    (
        "mean_overpotential_second_half_v",
        &["final", "mean_overpotential_second_half_v"],
    ),
    ("mean_height_m", &["final", "mean_height_m"]),
    ("max_height_m", &["final", "max_height_m"]),
    ("roughness_m", &["final", "roughness_m"]),
    ("relative_roughness", &[]),
    ("surface_area_ratio", &["final", "surface_area_ratio"]),
    ("fractal_dimension", &["final", "fractal_dimension"]),
    ("porosity", &["final", "porosity"]),
    ("tip_to_mean", &["final", "tip_to_mean"]),
    ("ce_mean", &["final", "ce_mean"]),
    ("ce_last_cycle", &["final", "ce_last_cycle"]),
    ("dead_fraction", &["final", "dead_fraction"]),
];

/// What metric `name`'s value of a run is, for labels: "final" but for the means and the
/// cycles' figures.
pub fn metric_kind(name: &str) -> &'static str {
    match name {
        "steps" | "wall_time_s" => "of the run",
        "mean_overpotential_second_half_v" => "charge-weighted over the second half",
        "ce_mean" => "mean over the cycles",
        "ce_last_cycle" => "the last cycle's",
        "dead_fraction" => "after the last cycle",
        _ => "final",
    }
}

/// The metric `--metric` maps by default: roughness over the deposit's Faraday thickness.
pub const DEFAULT_METRIC: &str = "relative_roughness";

/// One run of the study as sweep.csv shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    pub point: Point,
    pub status: Status,
    /// [`METRICS`] in order; None where the run has not finished or did not record it.
    pub metrics: Vec<Option<f64>>,
}

impl RunRow {
    /// The value of metric `name`.
    pub fn metric(&self, name: &str) -> Option<f64> {
        metric_index(name).and_then(|k| self.metrics[k])
    }
}

/// The column of metric `name` in [`METRICS`].
pub fn metric_index(name: &str) -> Option<usize> {
    METRICS.iter().position(|(n, _)| *n == name)
}

/// The row of `point` from what its directory holds.
pub fn read_row(study_dir: &Path, point: &Point) -> Result<RunRow> {
    let dir = study_dir.join(&point.dir);
    let run_json = dir.join("run.json");
    let mut metrics = vec![None; METRICS.len()];
    let status = if run_json.exists() {
        let text = std::fs::read_to_string(&run_json).map_err(|e| Error::io(&run_json, e))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Error::Other(format!("{}: {e}", run_json.display())))?;
        for (k, (_, path)) in METRICS.iter().enumerate() {
            metrics[k] = path
                .iter()
                .try_fold(&json, |v, key| v.get(key))
                .and_then(serde_json::Value::as_f64);
        }
        let thickness = json
            .get("final")
            .and_then(|f| f.get("faraday_thickness_m"))
            .and_then(serde_json::Value::as_f64);
        let relative = metric_index(DEFAULT_METRIC).expect("a listed metric");
        let roughness = metric_index("roughness_m").expect("a listed metric");
        metrics[relative] = match (metrics[roughness], thickness) {
            (Some(r), Some(t)) if t != 0.0 => Some(r / t),
            _ => None,
        };
        match json.get("stopped_by").and_then(serde_json::Value::as_str) {
            Some("max_steps") => Status::MaxSteps,
            _ => Status::Finished,
        }
    } else if dir.join(FAILURE_FILE).exists() {
        let path = dir.join(FAILURE_FILE);
        let message = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        Status::Failed(message.trim().to_string())
    } else if dir.join("checkpoint.bin").exists() {
        Status::Interrupted
    } else {
        Status::Pending
    };
    Ok(RunRow {
        point: point.clone(),
        status,
        metrics,
    })
}

/// Every point's row.
pub fn read_rows(study_dir: &Path, study: &Study) -> Result<Vec<RunRow>> {
    study
        .points
        .iter()
        .map(|p| read_row(study_dir, p))
        .collect()
}

/// A number exactly (the shortest form that reads back as the same f64), with an exponent
/// outside [1e-3, 1e6); empty for None.
fn cell(v: Option<f64>) -> String {
    match v {
        None => String::new(),
        Some(v) if v != 0.0 && v.is_finite() && !(1e-3..1e6).contains(&v.abs()) => format!("{v:e}"),
        Some(v) => format!("{v}"),
    }
}

/// sweep.csv: one row per run: its index and directory, the varied values, its seed, status,
/// the [`METRICS`] (empty where it has not finished) and a failed run's message.
pub fn sweep_csv(study: &Study, rows: &[RunRow]) -> String {
    let mut csv = String::from("index,dir");
    for v in &study.varies {
        let _ = write!(csv, ",{}", csv_field(&v.key));
    }
    if !study.varies.iter().any(|v| v.key == SEED_KEY) {
        let _ = write!(csv, ",{SEED_KEY}");
    }
    csv.push_str(",status");
    for (name, _) in METRICS {
        let _ = write!(csv, ",{name}");
    }
    csv.push_str(",message\n");
    for r in rows {
        let _ = write!(csv, "{},{}", r.point.index, csv_field(&r.point.dir));
        for value in &r.point.values {
            let _ = write!(csv, ",{}", csv_field(value));
        }
        if !study.varies.iter().any(|v| v.key == SEED_KEY) {
            let _ = write!(
                csv,
                ",{}",
                r.point.seed.map_or(String::new(), |s| s.to_string())
            );
        }
        let _ = write!(csv, ",{}", r.status.word());
        for v in &r.metrics {
            let _ = write!(csv, ",{}", cell(*v));
        }
        let message = match &r.status {
            Status::Failed(m) => csv_field(m),
            _ => String::new(),
        };
        let _ = writeln!(csv, ",{message}");
    }
    csv
}

/// The runs of one parameter point: rows whose varied values agree apart from `run.seed`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ensemble {
    /// The varied values other than `run.seed`, in the order of the study's keys.
    pub values: Vec<String>,
    /// Indices of its rows (every status).
    pub rows: Vec<usize>,
    /// Runs that finished (the statistics are over these).
    pub finished: usize,
    /// Each of [`METRICS`] over the finished runs.
    pub metrics: Vec<Spread>,
}

/// The varied keys other than `run.seed`: the axes of the ensembles.
pub fn ensemble_keys(study: &Study) -> Vec<&str> {
    study
        .varies
        .iter()
        .map(|v| v.key.as_str())
        .filter(|k| *k != SEED_KEY)
        .collect()
}

/// Groups the rows into ensembles (first appearance order) with each metric's spread over the
/// finished runs.
pub fn ensembles(study: &Study, rows: &[RunRow]) -> Vec<Ensemble> {
    let keep: Vec<bool> = study.varies.iter().map(|v| v.key != SEED_KEY).collect();
    let mut out: Vec<Ensemble> = Vec::new();
    for (n, r) in rows.iter().enumerate() {
        let values: Vec<String> = r
            .point
            .values
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(v, _)| v.clone())
            .collect();
        match out.iter_mut().find(|e| e.values == values) {
            Some(e) => e.rows.push(n),
            None => out.push(Ensemble {
                values,
                rows: vec![n],
                finished: 0,
                metrics: vec![],
            }),
        }
    }
    for e in &mut out {
        let finished: Vec<&RunRow> = e
            .rows
            .iter()
            .map(|&n| &rows[n])
            .filter(|r| r.status == Status::Finished)
            .collect();
        e.finished = finished.len();
        e.metrics = (0..METRICS.len())
            .map(|k| {
                Spread::of(
                    &finished
                        .iter()
                        .filter_map(|r| r.metrics[k])
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
    }
    out
}

/// ensemble.csv: one row per parameter point: its varied values, its runs (all and finished),
/// and of every metric over the finished runs the mean, the sample standard deviation and the
/// half-width of the 95 % interval of the mean (Student's t).
pub fn ensemble_csv(study: &Study, ensembles: &[Ensemble]) -> String {
    let mut csv = String::from("ensemble");
    for key in ensemble_keys(study) {
        let _ = write!(csv, ",{}", csv_field(key));
    }
    csv.push_str(",runs,finished");
    for (name, _) in METRICS {
        let _ = write!(csv, ",{name}_mean,{name}_std,{name}_ci95");
    }
    csv.push('\n');
    for (n, e) in ensembles.iter().enumerate() {
        let _ = write!(csv, "{n}");
        for value in &e.values {
            let _ = write!(csv, ",{}", csv_field(value));
        }
        let _ = write!(csv, ",{},{}", e.rows.len(), e.finished);
        for s in &e.metrics {
            let _ = write!(
                csv,
                ",{},{},{}",
                cell(s.mean),
                cell(s.std),
                cell(s.ci95_half_width)
            );
        }
        csv.push('\n');
    }
    csv
}
