//! What a finished run reports: its summary, how it stopped, η's charge-weighted mean over the
//! second half, and run.json.

use crate::backend::Backend;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::model::metrics::MetricsRow;
use crate::model::params::{Params, LENGTH_UNIT_M};
use crate::output;
use image::RgbImage;
use std::path::Path;

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// It reached its end condition (run.max_steps when that is the only one).
    EndCondition,
    /// run.max_steps came first; the checkpoint lets `--resume` with a higher cap continue.
    MaxSteps,
}

/// ∫ E dq and ∫ dq over the second half of the run, where its end fraction (charge, simulated
/// time, or steps when run.max_steps is the only end condition) is past ½. The electrode
/// potential is a step function of the charge: each step passes i·dt at its E, so summing
/// E·Δq over every step gives the charge-weighted mean exactly, whatever rows the metrics keep.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SecondHalfCharge {
    /// Σ E Δq (V C/m²).
    pub potential_charge_v_c_m2: f64,
    /// Σ Δq (C/m²).
    pub charge_c_m2: f64,
}

impl SecondHalfCharge {
    /// Adds a step that passed `charge` at `potential_v` while the end fraction went from
    /// `from` to `to`: the share of it beyond ½ (the fraction grows linearly within a step).
    pub(crate) fn add(&mut self, potential_v: f64, charge: f64, from: f64, to: f64) {
        if to <= 0.5 || to <= from {
            return;
        }
        let in_second_half = charge * ((to - 0.5) / (to - from)).min(1.0);
        self.potential_charge_v_c_m2 += potential_v * in_second_half;
        self.charge_c_m2 += in_second_half;
    }

    /// The charge-weighted mean E (V); None before any charge passed in the second half.
    pub fn mean_v(&self) -> Option<f64> {
        (self.charge_c_m2 != 0.0).then(|| self.potential_charge_v_c_m2 / self.charge_c_m2)
    }
}

/// What a finished run hands back.
#[derive(Debug, Clone)]
pub struct RunSummary {
    pub title: String,
    /// Steps taken since the start of the run (a resumed run counts those before it too).
    pub steps: u64,
    /// The step this session started from: 0, or the checkpoint's step of a resumed run.
    pub first_step: u64,
    pub stopped_by: StopReason,
    pub rows: Vec<MetricsRow>,
    pub frames: Vec<RgbImage>,
    /// With [`super::RunOptions::keep_frames`], the morphology of each frame of this session
    /// alone in large type ([`crate::output::render_morphology_card`]), for comparisons.
    pub cards: Vec<RgbImage>,
    /// Wall time of this session (s).
    pub wall_s: f64,
    /// Ions that entered through the bulk face over the run (mol per m² of collector).
    pub inflow_mol_m2: f64,
    /// What the second half is measured in: "charge", "time" or "steps" (for labels).
    pub second_half_of: &'static str,
    /// Mean electrode potential over the second half of the run, weighted by charge (V): see
    /// [`SecondHalfCharge`]. None when no charge passed there (a run capped before half way,
    /// or resumed from a checkpoint older than the accumulator and already past half way).
    pub mean_overpotential_second_half_v: Option<f64>,
    pub backend: String,
    /// A `[cycling]` run's cycles done (cycles.csv); empty for a run without one.
    pub cycles: Vec<super::cycling::CycleRow>,
}

impl RunSummary {
    /// The last metrics row: the state at the end of the run.
    pub fn last(&self) -> &MetricsRow {
        self.rows
            .last()
            .expect("a run records at least its first and last rows")
    }
}

/// What the second half of a run is measured in, for labels: "charge", "time" or "steps".
pub(crate) fn second_half_quantity(cfg: &Config) -> &'static str {
    match (cfg.run.end_charge_mah_cm2, cfg.run.end_time_s) {
        (Some(_), _) => "charge",
        (None, Some(_)) => "time",
        (None, None) => "steps",
    }
}

/// run.json: the resolved config, the derived groups, the wall time per phase of this session and
/// the run's final figures.
pub(crate) fn write_run_json(
    cfg: &Config,
    p: &Params,
    backend: &dyn Backend,
    s: &RunSummary,
    output_s: f64,
    dir: &Path,
) -> Result<()> {
    let times = backend.phase_times();
    let last = s.last();
    let json = serde_json::json!({
        "mgpf_version": env!("CARGO_PKG_VERSION"),
        "backend": s.backend,
        "seed": cfg.run.seed,
        "steps": s.steps,
        "stopped_by": s.stopped_by,
        "resumed_from_step": (s.first_step > 0).then_some(s.first_step),
        "config": cfg,
        "config_toml": cfg.to_toml_string(),
        "derived": super::report::derived_groups(p),
        "wall_time_s": {
            "total": s.wall_s,
            "update": times.update_s,
            "control": times.control_s,
            "potential_solve": times.potential_solve_s,
            "concentration_solve": times.concentration_solve_s,
            "other": times.other_s,
            "output": output_s,
        },
        "final": {
            "time_s": last.time_s,
            "charge_c_m2": last.charge_c_m2,
            "faraday_thickness_m": p.metal.thickness_um_of_charge(last.charge_c_m2) * LENGTH_UNIT_M,
            "mean_height_m": last.front.mean_height * LENGTH_UNIT_M,
            "max_height_m": last.front.max_height * LENGTH_UNIT_M,
            "roughness_m": last.front.roughness * LENGTH_UNIT_M,
            "overpotential_v": last.overpotential_v,
            "mean_overpotential_second_half_v": s.mean_overpotential_second_half_v,
            "mg_total_mol_m": last.mg_total_mol_m,
            "inflow_mol_m": (p.grid.dimension() == 2)
                .then(|| s.inflow_mol_m2 * p.grid.collector_measure() * LENGTH_UNIT_M),
            "mg_areal_mol_m2": last.mg_areal_mol_m2,
            "inflow_mol_m2": s.inflow_mol_m2,
            // null where undefined (NaN).
            "surface_area_ratio": last.morphology.surface_area_ratio,
            "fractal_dimension": last.morphology.fractal_dimension,
            "porosity": last.morphology.porosity,
            "tip_to_mean": last.morphology.tip_to_mean,
            // A cycling run's CE (mean over its cycles, its last cycle's) and dead-Mg fraction
            // after the last cycle; null without cycles.
            "ce_mean": (!s.cycles.is_empty())
                .then(|| s.cycles.iter().map(|c| c.ce).sum::<f64>() / s.cycles.len() as f64),
            "ce_last_cycle": s.cycles.last().map(|c| c.ce),
            "dead_fraction": s.cycles.last().map(|c| c.dead_fraction),
        },
        // A [cycling] run's rows of cycles.csv (NaN written as null).
        "cycles": s.cycles,
    });
    let text = serde_json::to_string_pretty(&json).map_err(|e| Error::Other(e.to_string()))?;
    output::write_atomic(&dir.join("run.json"), text.as_bytes())
}
