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

use crate::backend::{Backend, StepReport};
use crate::config::{Config, FieldFormat};
use crate::error::{Error, Result};
use crate::model::metrics::{front_metrics, integrals, mg_content, MetricsRow};
use crate::model::morphology::morphology;
use crate::model::params::{Params, LENGTH_UNIT_M};
use crate::model::units::MAH_CM2_IN_C_M2;
use crate::output::{self, FieldStamp, Series};
use checkpoint::Progress;
use cycling::{CyclingState, Protocol};
use image::RgbImage;
use pictures::FrameContent;
use progress::{Position, ProgressDisplay};
pub use resume::{resume_with_backend, ResumedRun, RESUMABLE_KEYS};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use summary::{second_half_quantity, write_run_json};
pub use summary::{RunSummary, SecondHalfCharge, StopReason};

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

/// Runs `backend` from its initial state (a fresh run).
pub fn run_with_backend(
    cfg: &Config,
    p: &Params,
    backend: &mut dyn Backend,
    opts: &RunOptions,
) -> Result<RunSummary> {
    let progress = Progress {
        step: 0,
        time_s: 0.0,
        charge_c_m2: 0.0,
        inflow: 0.0,
        frame_index: 0,
        last: None,
        rows: Vec::new(),
        csv: format!("{METRICS_HEADER}\n"),
        second_half: cfg.cycling.is_none().then(SecondHalfCharge::default),
        field_frames: Vec::new(),
        cycling: cfg.cycling.as_ref().map(|_| CyclingState::default()),
    };
    if let Some(c) = &progress.cycling {
        output::write_atomic(&opts.out_dir.join("cycles.csv"), c.csv().as_bytes())?;
    }
    drive(cfg, p, backend, opts, progress, Vec::new())
}

/// The time loop, from `progress` on.
pub(crate) fn drive(
    cfg: &Config,
    p: &Params,
    backend: &mut dyn Backend,
    opts: &RunOptions,
    progress: Progress,
    mut frames: Vec<RgbImage>,
) -> Result<RunSummary> {
    let start = Instant::now();
    let mut cards: Vec<RgbImage> = Vec::new();
    let frames_dir = opts.out_dir.join("frames");
    std::fs::create_dir_all(&frames_dir).map_err(|e| Error::io(&frames_dir, e))?;
    let g = p.grid;
    let title = cfg.interphase.preset.name().to_string();
    let rate_top_um_s = pictures::plating_rate_top_um_s(p);
    let Progress {
        step: first_step,
        time_s: mut time,
        charge_c_m2: mut charge,
        mut inflow,
        mut frame_index,
        mut last,
        mut rows,
        mut csv,
        second_half,
        mut field_frames,
        mut cycling,
    } = progress;
    let protocol = cfg.cycling.as_ref().map(Protocol::from_config);
    // How far the run is: its schedule's fraction under [cycling], else its end condition's.
    let fraction_at =
        |cycling: &Option<CyclingState>, step, time, charge| match (&protocol, cycling) {
            (Some(pr), Some(c)) => c.fraction(pr),
            _ => end_fraction(cfg, step, time, charge),
        };
    // A checkpoint older than the accumulator holds it only if written before half way; a
    // cycling run has no second half.
    let mut second_half = second_half.or_else(|| {
        (cfg.cycling.is_none() && end_fraction(cfg, first_step, time, charge) <= 0.5)
            .then(SecondHalfCharge::default)
    });
    let frames_total = cfg.run.frames.max(1);
    let max_steps = cfg.run.max_steps.unwrap_or(u64::MAX);
    let mut output_s = 0.0;
    let mut last_checkpoint = Instant::now();
    let position = |step, time_s, charge_c_m2, fraction, last: &Option<StepReport>| Position {
        step,
        time_s,
        charge_c_m2,
        fraction,
        overpotential_v: last.map_or(0.0, |r| r.applied_potential_v),
    };
    let mut display = ProgressDisplay::new(
        opts.progress,
        &title,
        position(
            first_step,
            time,
            charge,
            fraction_at(&cycling, first_step, time, charge),
            &last,
        ),
    );

    let mut step = first_step;
    let stopped_by = loop {
        let fraction = fraction_at(&cycling, step, time, charge);
        let reached_end = match (&protocol, &cycling) {
            (Some(pr), Some(c)) => c.finished(pr),
            _ => fraction >= 1.0 - 1e-12,
        };
        // run.max_steps before the end condition: a checkpoint, a frame and every final output,
        // so that `--resume` with a higher cap continues as if the run had never stopped.
        let capped = !reached_end && step >= max_steps;
        let done = reached_end || capped;
        // Checkpoint before this step's outputs, so a resumed run redoes them identically.
        let signal = opts
            .interrupt
            .as_ref()
            .and_then(Interrupt::signal)
            .or_else(|| (opts.stop_after_steps == Some(step)).then_some(2));
        let every = cfg.run.checkpoint_every_steps;
        let minutes = cfg.run.checkpoint_every_minutes;
        let checkpoint_due = step > first_step
            && !done
            && ((every > 0 && step.is_multiple_of(every))
                || (minutes > 0.0 && last_checkpoint.elapsed().as_secs_f64() >= 60.0 * minutes));
        if capped || (!done && (signal.is_some() || checkpoint_due)) {
            let t_out = Instant::now();
            let progress = Progress {
                step,
                time_s: time,
                charge_c_m2: charge,
                inflow,
                frame_index,
                last,
                rows: rows.clone(),
                csv: csv.clone(),
                second_half,
                field_frames: field_frames.clone(),
                cycling: cycling.clone(),
            };
            checkpoint::write(&opts.out_dir, cfg, &progress, &backend.save_state())?;
            last_checkpoint = Instant::now();
            output_s += t_out.elapsed().as_secs_f64();
        }
        if let (Some(signal), false) = (signal, done) {
            display.finish();
            output::write_atomic(&opts.out_dir.join("metrics.csv"), csv.as_bytes())?;
            return Err(Error::Interrupted {
                signal,
                dir: opts.out_dir.display().to_string(),
            });
        }
        let frame_due =
            frames_total > 1 && fraction >= frame_index as f64 / (frames_total - 1) as f64 - 1e-12;
        // A cycling run's half-cycle ends get a row each (the roughness at the end of plating,
        // the dead metal at the end of a cycle are taken from its snapshot).
        let event = cycling.as_ref().and_then(|c| c.event);
        let row_due = step.is_multiple_of(cfg.run.metrics_every_steps.max(1))
            || done
            || frame_due
            || event.is_some();
        if row_due {
            let t_out = Instant::now();
            let snap = backend.snapshot();
            let front = front_metrics(&snap.order_parameter, g);
            let morphology = morphology(&snap.order_parameter, g, &front);
            let (sc, sx) = integrals(&snap.concentration, &snap.order_parameter, g);
            let (mg_total_mol_m, mg_areal_mol_m2) =
                mg_content(sc, sx, p.c0_mol_m3, p.metal.site_density_mol_m3, g);
            let (half_cycle, current_sign) = match &cycling {
                Some(c) => c.last_step.unwrap_or((1, 0)),
                None => (0, last.map_or(0, |r| sign_of(r.current_density_a_m2))),
            };
            if let Some(c) = &mut cycling {
                if c.take_event(&snap.order_parameter, p).is_some() {
                    let path = opts.out_dir.join("cycles.csv");
                    output::write_atomic(&path, c.csv().as_bytes())?;
                }
            }
            let row = MetricsRow {
                step,
                time_s: time,
                charge_c_m2: charge,
                current_density_a_m2: last.map_or(0.0, |r| r.current_density_a_m2),
                overpotential_v: last.map_or(0.0, |r| r.applied_potential_v),
                front,
                mg_total_mol_m,
                mg_areal_mol_m2,
                morphology,
                half_cycle,
                current_sign,
            };
            write_row(&mut csv, &row, last.as_ref(), inflow_amounts(inflow, p));
            rows.push(row);
            let check_nan = !(front.mean_height.is_finite() && sc.is_finite() && sx.is_finite());
            if check_nan {
                return Err(Error::Solver {
                    step,
                    message: "a field became NaN or infinite".into(),
                });
            }
            let frame_scheduled = frame_due || (reached_end && frames_total == 1);
            // What the pictures show of the interphase, only where a frame or the end is due.
            let picture = (frame_scheduled || capped || done).then(|| {
                output::interphase_picture(p, &snap.order_parameter, &snap.layer, &snap.blocked)
            });
            if let Some((interphase, blocked)) =
                picture.as_ref().filter(|_| frame_scheduled || capped)
            {
                let content = FrameContent {
                    cfg,
                    p,
                    snap: &snap,
                    interphase,
                    blocked,
                    title: &frame_title(&title, cfg, &row),
                    time_s: time,
                    charge_mah_cm2: charge / MAH_CM2_IN_C_M2,
                    overpotential_v: row.overpotential_v,
                    rate_top_um_s,
                };
                let img = content.render();
                output::write_png(&frame_path(&opts.out_dir, frame_index), &img)?;
                frames.push(img);
                if opts.keep_frames {
                    cards.push(content.card());
                }
                let stamp = FieldStamp {
                    time_s: time,
                    charge_c_m2: charge,
                    step,
                };
                // The cap's extra frame replaces the one in its slot when the run resumes.
                field_frames.retain(|&(n, _)| n < frame_index);
                field_frames.push((frame_index, time));
                write_field_files(
                    cfg,
                    &opts.out_dir,
                    frame_index,
                    &stamp,
                    &snap,
                    g,
                    &field_frames,
                )?;
                // The cap's extra frame takes the next slot without advancing the schedule: a
                // resumed run overwrites it with the frame due there.
                if frame_scheduled {
                    frame_index += 1;
                }
                output::write_atomic(&opts.out_dir.join("metrics.csv"), csv.as_bytes())?;
            }
            if let Some((interphase, _)) = picture.as_ref().filter(|_| done) {
                let stamp = FieldStamp {
                    time_s: time,
                    charge_c_m2: charge,
                    step,
                };
                let fields = [
                    ("order_parameter", snap.order_parameter.view()),
                    ("concentration", snap.concentration.view()),
                    ("potential", snap.potential.view()),
                    ("plating_rate", snap.plating_rate.view()),
                    ("interphase", interphase.view()),
                ];
                let (dir, dx_m) = (&opts.out_dir, g.dx * LENGTH_UNIT_M);
                output::write_vti(&dir.join("final.vti"), dx_m, &stamp, &fields)?;
                if cfg.run.save_fields.contains(&FieldFormat::Vtk) {
                    output::write_legacy_vtk(&dir.join("final.vtk"), dx_m, &stamp, &fields)?;
                }
            }
            output_s += t_out.elapsed().as_secs_f64();
        }
        if done {
            break if capped {
                StopReason::MaxSteps
            } else {
                StopReason::EndCondition
            };
        }
        // A cycling schedule sets the control of each step (its half-cycle's current, cut-off
        // and the dt that lands it on its capacity) and takes one step at a time.
        let max_batch = match (&protocol, &cycling) {
            (Some(pr), Some(c)) => {
                backend.set_control(c.setting(pr))?;
                1
            }
            _ => backend.max_batch(),
        };
        let batch = batch_size(
            cfg,
            step,
            fraction,
            last.as_ref().map(|r| step_fraction(cfg, r)),
            next_frame_fraction(frame_index, frames_total),
            max_batch,
        );
        let reports = match backend.advance(step, batch) {
            Ok(r) => r,
            Err(e) => {
                // Keep the rows up to the failure for diagnosis (the frames are already on disk).
                display.finish();
                output::write_atomic(&opts.out_dir.join("metrics.csv"), csv.as_bytes())?;
                return Err(e);
            }
        };
        for report in reports {
            let from = end_fraction(cfg, step, time, charge);
            let step_charge = report.current_density_a_m2 * report.dt;
            step += 1;
            time += report.dt;
            charge += step_charge;
            inflow += report.boundary_inflow;
            if let (Some(pr), Some(c)) = (&protocol, &mut cycling) {
                c.record(pr, &report);
            }
            if let Some(acc) = &mut second_half {
                let to = end_fraction(cfg, step, time, charge);
                acc.add(report.applied_potential_v, step_charge, from, to);
            }
            last = Some(report);
        }
        let fraction = fraction_at(&cycling, step, time, charge);
        display.update(cfg, &position(step, time, charge, fraction, &last));
    };
    display.finish();

    let t_out = Instant::now();
    output::write_atomic(&opts.out_dir.join("metrics.csv"), csv.as_bytes())?;
    output::write_gif(&opts.out_dir.join("growth.gif"), &frames, 150)?;
    let q: Vec<f64> = rows
        .iter()
        .skip(1)
        .map(|r| r.charge_c_m2 / MAH_CM2_IN_C_M2)
        .collect();
    let v: Vec<f64> = rows.iter().skip(1).map(|r| r.overpotential_v).collect();
    if cycling.is_some() {
        write_cycling_voltage(&opts.out_dir.join("voltage.png"), &title, &rows)?;
    } else if q.len() >= 2 {
        output::write_line_plot(
            &opts.out_dir.join("voltage.png"),
            &format!("{title}: chronopotentiometry"),
            "charge passed (mAh cm⁻²)",
            "overpotential (V)",
            &[Series {
                label: &title,
                x: &q,
                y: &v,
            }],
        )?;
    }
    output_s += t_out.elapsed().as_secs_f64();
    let wall_s = start.elapsed().as_secs_f64();
    let summary = RunSummary {
        title,
        steps: step,
        first_step,
        stopped_by,
        second_half_of: second_half_quantity(cfg),
        mean_overpotential_second_half_v: second_half.and_then(|acc| acc.mean_v()),
        rows,
        frames: if opts.keep_frames { frames } else { Vec::new() },
        cards,
        wall_s,
        inflow_mol_m2: inflow_amounts(inflow, p).1,
        backend: backend.name(),
        cycles: cycling.as_ref().map_or_else(Vec::new, |c| c.rows.clone()),
    };
    write_run_json(cfg, p, backend, &summary, output_s, &opts.out_dir)?;
    if stopped_by == StopReason::MaxSteps {
        eprintln!(
            "note: stopped at run.max_steps = {step} before the end condition ({} of it reached); \
             the outputs and a checkpoint are in {dir}: continue with `mgpf run --resume {dir} \
             --set run.max_steps=N`, N > {step}",
            percent_text(fraction_at(&cycling, step, time, charge)),
            dir = opts.out_dir.display()
        );
    }
    Ok(summary)
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
