//! The time loop of a run: steps a backend to the end condition, records metrics, writes frames,
//! the animation, the voltage trace, the final fields and run.json; checkpoints and resuming,
//! the progress display and the rules of the output directory. It knows the [`Backend`] trait,
//! never a concrete backend (the CLI builds one).

pub mod checkpoint;
pub mod cycling;
pub mod memory;
pub mod pictures;
pub mod progress;
pub mod report;
mod resume;
pub mod rundir;
mod summary;
pub mod time_loop;

use crate::backend::{Backend, StepReport};
use crate::config::{Config, FieldFormat};
use crate::error::{Error, Result};
use crate::model::metrics::{mg_content, MetricsRow};
use crate::model::params::{Params, LENGTH_UNIT_M};
use crate::model::units::MAH_CM2_IN_C_M2;
use crate::output::{self, FieldStamp, Series};
pub use resume::{resumed_loop, ResumedRun, RESUMABLE_KEYS};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
pub use summary::{RunSummary, SecondHalfCharge, StopReason};
pub use time_loop::{Pause, Tick, TimeLoop};

/// Columns of metrics.csv (SI units, the last four dimensionless; the first nine are the
/// documented contract; new columns go at the end: resuming pads an older checkpoint's rows).
pub const METRICS_HEADER: &str = "step,time_s,charge_c_m2,current_density_a_m2,overpotential_v,mean_height_m,max_height_m,roughness_m,mg_total_mol_m,dt_s,dt_bound,lambda_max,control_iterations,potential_cycles,potential_residual,concentration_cycles,concentration_residual,inflow_mol_m,potential_error_v,mg_areal_mol_m2,inflow_mol_m2,surface_area_ratio,fractal_dimension,porosity,tip_to_mean,half_cycle,current_sign";

/// How a run is carried out (not part of the physics config).
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub out_dir: PathBuf,
    pub force: bool,
    /// Show progress: a bar on a terminal, else a plain line on stderr every this long.
    pub progress: Option<Duration>,
    /// Keep the frames in memory for the caller (the demo's side-by-side animation).
    pub keep_frames: bool,
    /// Set to a signal number (SIGINT 2, SIGTERM 15) to stop after the current step with a
    /// checkpoint ([`Interrupt::install`] wires it to the process's signals).
    pub interrupt: Option<Interrupt>,
    /// Test hook: behave as if interrupted by SIGINT once this many steps are done.
    pub stop_after_steps: Option<u64>,
}

impl RunOptions {
    /// Options for a run into `out_dir`, no progress bar, no interrupt.
    pub fn new(out_dir: impl Into<PathBuf>) -> RunOptions {
        RunOptions {
            out_dir: out_dir.into(),
            force: false,
            progress: None,
            keep_frames: false,
            interrupt: None,
            stop_after_steps: None,
        }
    }
}

/// The signal that asked a run to stop (0: none yet).
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<AtomicUsize>);

impl Interrupt {
    /// SIGINT and SIGTERM set the flag (the run finishes its step, checkpoints and stops); a
    /// second SIGINT or SIGTERM exits at once with 130 / 143 (every output is written to a
    /// temporary file and renamed, so no half-written file is left under its real name).
    pub fn install() -> Result<Interrupt> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let flag = Arc::new(AtomicUsize::new(0));
        let armed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let register = |r: std::io::Result<signal_hook::SigId>| {
            r.map(|_| ())
                .map_err(|e| Error::Other(format!("cannot install the signal handlers: {e}")))
        };
        for (signal, code) in [(SIGINT, 130), (SIGTERM, 143)] {
            // Registered first, so it sees `armed` as the previous signal left it.
            register(signal_hook::flag::register_conditional_shutdown(
                signal,
                code,
                Arc::clone(&armed),
            ))?;
            register(signal_hook::flag::register(signal, Arc::clone(&armed)))?;
            register(signal_hook::flag::register_usize(
                signal,
                Arc::clone(&flag),
                signal as usize,
            ))?;
        }
        Ok(Interrupt(flag))
    }

    /// Asks the run (or study) holding this flag to stop as `signal` would: after its current
    /// step, with a checkpoint (a caller that handles the signals itself, as Python does).
    pub fn raise(&self, signal: i32) {
        self.0.store(signal.max(1) as usize, Ordering::SeqCst);
    }

    /// The signal received, if any.
    pub fn signal(&self) -> Option<i32> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s as i32),
        }
    }
}

/// The end-condition fraction one step like `r` advances.
fn step_fraction(cfg: &Config, r: &StepReport) -> f64 {
    end_fraction(cfg, 1, r.dt, r.current_density_a_m2 * r.dt)
}

/// The fraction at which the next frame is due (beyond 1 when none is left).
fn next_frame_fraction(frame_index: u32, frames_total: u32) -> f64 {
    if frames_total > 1 {
        frame_index as f64 / (frames_total - 1) as f64
    } else {
        1.0
    }
}

/// Steps to take before the loop looks at its outputs again: up to `max_batch`, never past the
/// next metrics row, checkpoint or step cap, and at most half the steps the last step's pace
/// says are left before the next frame or the end (so a batch does not step over either).
fn batch_size(
    cfg: &Config,
    step: u64,
    fraction: f64,
    per_step: Option<f64>,
    next_frame: f64,
    max_batch: u64,
) -> u64 {
    if max_batch <= 1 {
        return 1;
    }
    let until = |every: u64| every - step % every;
    let mut n = max_batch.min(until(cfg.run.metrics_every_steps.max(1)));
    if cfg.run.checkpoint_every_steps > 0 {
        n = n.min(until(cfg.run.checkpoint_every_steps));
    }
    if let Some(cap) = cfg.run.max_steps {
        n = n.min(cap.saturating_sub(step));
    }
    let target = next_frame.min(1.0);
    match per_step {
        Some(df) if df > 0.0 => {
            let left = ((target - fraction) / df * 0.5).floor();
            n = n.min(left.max(1.0) as u64);
        }
        _ => n = 1,
    }
    n.max(1)
}

/// How far a run is towards its end condition (1 at the end): its charge, its simulated time,
/// or its steps when run.max_steps is the only end condition.
fn end_fraction(cfg: &Config, step: u64, time_s: f64, charge_c_m2: f64) -> f64 {
    match (
        cfg.run.end_charge_mah_cm2,
        cfg.run.end_time_s,
        cfg.run.max_steps,
    ) {
        // The charge passed either way: stripping passes a negative charge.
        (Some(q), _, _) => charge_c_m2.abs() / (q * MAH_CM2_IN_C_M2),
        (None, Some(t), _) => time_s / t,
        (None, None, Some(n)) => step as f64 / n as f64,
        (None, None, None) => 0.0,
    }
}

/// The field files of frame `index` that `run.save_fields` asks for: fields/frame_NNNNNN.vti
/// (and fields.pvd listing every frame so far, `field_frames`: index and time),
/// fields/frame_NNNNNN.vtk, fields/frame_NNNNNN_<field>.npy.
fn write_field_files(
    cfg: &Config,
    dir: &Path,
    index: u32,
    stamp: &FieldStamp,
    snap: &crate::backend::Snapshot,
    g: crate::grid::Grid,
    field_frames: &[(u32, f64)],
) -> Result<()> {
    if cfg.run.save_fields.is_empty() {
        return Ok(());
    }
    let fields_dir = dir.join("fields");
    std::fs::create_dir_all(&fields_dir).map_err(|e| Error::io(&fields_dir, e))?;
    let fields = [
        ("order_parameter", snap.order_parameter.view()),
        ("concentration", snap.concentration.view()),
        ("potential", snap.potential.view()),
        ("plating_rate", snap.plating_rate.view()),
    ];
    for format in &cfg.run.save_fields {
        match format {
            FieldFormat::Vti => {
                let name = format!("frame_{index:06}.vti");
                output::write_vti(
                    &fields_dir.join(&name),
                    g.dx * LENGTH_UNIT_M,
                    stamp,
                    &fields,
                )?;
                let listed: Vec<(f64, String)> = field_frames
                    .iter()
                    .map(|&(n, t)| (t, format!("fields/frame_{n:06}.vti")))
                    .collect();
                output::write_pvd(&dir.join("fields.pvd"), &listed)?;
            }
            FieldFormat::Vtk => {
                let name = format!("frame_{index:06}.vtk");
                let dx_m = g.dx * LENGTH_UNIT_M;
                output::write_legacy_vtk(&fields_dir.join(&name), dx_m, stamp, &fields)?;
            }
            FieldFormat::Npy => {
                for (field, values) in &fields {
                    let name = format!("frame_{index:06}_{field}.npy");
                    output::write_npy(&fields_dir.join(name), *values)?;
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn frame_path(dir: &Path, index: u32) -> PathBuf {
    dir.join("frames").join(format!("frame_{index:06}.png"))
}

/// Runs `backend` from its initial state (a fresh run) to its end.
pub fn run_with_backend(
    cfg: &Config,
    p: &Params,
    backend: &mut dyn Backend,
    opts: &RunOptions,
) -> Result<RunSummary> {
    TimeLoop::fresh(cfg, p, opts)?.run(backend)
}

/// The ions that entered through the bulk face, `inflow` in internal units (c/c0 µm² per µm of
/// depth in 2D, c/c0 µm³ in 3D): (mol per metre of depth in 2D, None in 3D; mol per m² of
/// collector).
fn inflow_amounts(inflow: f64, p: &Params) -> (Option<f64>, f64) {
    mg_content(
        inflow,
        0.0,
        p.c0_mol_m3,
        p.metal.site_density_mol_m3,
        p.grid,
    )
}

/// A 2D-only column: its value, or empty in 3D.
fn optional(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| format!("{v:.12e}"))
}

fn write_row(
    csv: &mut String,
    r: &MetricsRow,
    rep: Option<&StepReport>,
    (inflow_mol_m, inflow_mol_m2): (Option<f64>, f64),
) {
    let um = LENGTH_UNIT_M;
    let _ = write!(
        csv,
        "{},{:.9e},{:.9e},{:.9e},{:.9e},{:.9e},{:.9e},{:.9e},{}",
        r.step,
        r.time_s,
        r.charge_c_m2,
        r.current_density_a_m2,
        r.overpotential_v,
        r.front.mean_height * um,
        r.front.max_height * um,
        r.front.roughness * um,
        optional(r.mg_total_mol_m)
    );
    match rep {
        Some(s) => {
            let _ = write!(
                csv,
                ",{:.6e},{},{:.4e},{},{},{:.3e},{},{:.3e},{},{}",
                s.dt,
                s.bound,
                s.lambda_max,
                s.control_iterations,
                s.potential_solve.cycles,
                s.potential_solve.residual_rel,
                s.concentration_solve.cycles,
                s.concentration_solve.residual_rel,
                optional(inflow_mol_m),
                // Empty where the solve estimated nothing (the device's fixed count).
                s.potential_solve
                    .error_estimate
                    .map_or(String::new(), |e| format!("{e:.3e}"))
            );
        }
        None => {
            let _ = write!(csv, ",0,,0,0,0,0,0,0,{},", optional(inflow_mol_m));
        }
    }
    let _ = write!(csv, ",{:.12e},{inflow_mol_m2:.12e}", r.mg_areal_mol_m2);
    // Dimensionless; empty where undefined (NaN), as the other columns leave what has no value.
    for v in r.morphology.values() {
        if v.is_finite() {
            let _ = write!(csv, ",{v:.9e}");
        } else {
            csv.push(',');
        }
    }
    let _ = write!(csv, ",{},{}", r.half_cycle, r.current_sign);
    csv.push('\n');
}

/// A frame's title: the run's, and under `[cycling]` where the schedule stands ("passivating,
/// cycle 3 of 5, stripping").
fn frame_title(title: &str, cfg: &Config, row: &MetricsRow) -> String {
    let Some(c) = &cfg.cycling else {
        return title.to_string();
    };
    let cycle = row.half_cycle.div_ceil(2).max(1);
    let phase = match (row.current_sign, row.half_cycle) {
        _ if row.step == 0 => "",
        (1, _) => ", plating",
        (-1, _) => ", stripping",
        (_, h) if h % 2 == 1 => ", rest after plating",
        _ => ", rest after stripping",
    };
    format!("{title}, cycle {cycle} of {}{phase}", c.cycles)
}

/// +1, −1 or 0.
fn sign_of(v: f64) -> i32 {
    if v > 0.0 {
        1
    } else if v < 0.0 {
        -1
    } else {
        0
    }
}

/// voltage.png of a cycling run: the electrode potential over time through every cycle, the
/// plating, stripping and rest rows as series of their own.
fn write_cycling_voltage(path: &Path, title: &str, rows: &[MetricsRow]) -> Result<()> {
    let rows = &rows[1.min(rows.len())..];
    if rows.len() < 2 {
        return Ok(());
    }
    let hours: Vec<f64> = rows.iter().map(|r| r.time_s / 3600.0).collect();
    let only = |sign: i32| -> Vec<f64> {
        rows.iter()
            .map(|r| {
                if r.current_sign == sign {
                    r.overpotential_v
                } else {
                    f64::NAN
                }
            })
            .collect()
    };
    let (plating, stripping, rest) = (only(1), only(-1), only(0));
    let mut series = vec![
        Series {
            label: "plating",
            x: &hours,
            y: &plating,
        },
        Series {
            label: "stripping",
            x: &hours,
            y: &stripping,
        },
    ];
    if rest.iter().any(|v| v.is_finite()) {
        series.push(Series {
            label: "rest",
            x: &hours,
            y: &rest,
        });
    }
    output::write_line_plot(
        path,
        &format!("{title}: plating/stripping cycles"),
        "time (h)",
        "electrode potential (V)",
        &series,
    )
}

/// "48 %", or "0.31 %" below 1 %.
fn percent_text(fraction: f64) -> String {
    let percent = 100.0 * fraction;
    if percent < 1.0 {
        format!("{percent:.2} %")
    } else {
        format!("{percent:.0} %")
    }
}
