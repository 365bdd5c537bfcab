//! The time loop of a run as an object that can stop between two steps and go on: `mgpf run`
//! turns it to the end in one go ([`TimeLoop::run`]); a caller that steps a run by hand (the
//! Python package) turns it a batch at a time ([`TimeLoop::tick`]) up to a [`Pause`], reads the
//! fields in between, and goes on with exactly the steps and outputs of an uninterrupted run:
//! a pause falls where a checkpoint would, before the outputs of the step it stops at.

use super::checkpoint::{self, Progress};
use super::cycling::{CyclingState, Protocol};
use super::pictures::{self, FrameContent};
use super::progress::{Position, ProgressDisplay};
use super::summary::{second_half_quantity, write_run_json};
use super::{
    batch_size, end_fraction, frame_path, frame_title, inflow_amounts, next_frame_fraction,
    percent_text, sign_of, step_fraction, write_cycling_voltage, write_field_files, write_row,
    Interrupt, RunOptions, RunSummary, SecondHalfCharge, StopReason, METRICS_HEADER,
};
use crate::backend::Backend;
use crate::config::{Config, FieldFormat};
use crate::error::{Error, Result};
use crate::model::metrics::{front_metrics, integrals, mg_content, MetricsRow};
use crate::model::morphology::morphology;
use crate::model::params::{Params, LENGTH_UNIT_M};
use crate::model::units::MAH_CM2_IN_C_M2;
use crate::output::{self, FieldStamp, Series};
use image::RgbImage;
use std::path::Path;
use std::time::Instant;

/// Where a caller asks the loop to stop before the end condition: at the first step that is at
/// or past any of these (the step that crosses a time or a charge is completed). The end
/// condition and run.max_steps stop it too.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pause {
    /// Stop when this many steps have been taken since the run began (the step index).
    pub at_step: Option<u64>,
    /// Stop once the simulated time reaches this (s).
    pub at_time_s: Option<f64>,
    /// Stop once the magnitude of the charge passed reaches this (C/m²).
    pub at_charge_c_m2: Option<f64>,
}

impl Pause {
    /// No pause: to the end condition.
    pub const NEVER: Pause = Pause {
        at_step: None,
        at_time_s: None,
        at_charge_c_m2: None,
    };

    fn reached(&self, at: &Progress) -> bool {
        self.at_step.is_some_and(|n| at.step >= n)
            || self.at_time_s.is_some_and(|t| at.time_s >= t)
            || self
                .at_charge_c_m2
                .is_some_and(|q| at.charge_c_m2.abs() >= q)
    }

    /// The most steps a batch may take without stepping far past the pause: the steps left to
    /// `at_step`, and half the steps the last step's pace says are left to a time or charge.
    fn batch_cap(&self, at: &Progress) -> u64 {
        let mut cap = u64::MAX;
        if let Some(n) = self.at_step {
            cap = cap.min(n.saturating_sub(at.step));
        }
        let by_pace = |left: f64, per_step: f64| -> u64 {
            if per_step > 0.0 {
                (0.5 * left / per_step).floor().max(1.0) as u64
            } else {
                1
            }
        };
        if let (Some(t), Some(r)) = (self.at_time_s, &at.last) {
            cap = cap.min(by_pace(t - at.time_s, r.dt));
        }
        if let (Some(q), Some(r)) = (self.at_charge_c_m2, &at.last) {
            let per_step = (r.current_density_a_m2 * r.dt).abs();
            cap = cap.min(by_pace(q - at.charge_c_m2.abs(), per_step));
        }
        if (self.at_time_s.is_some() || self.at_charge_c_m2.is_some()) && at.last.is_none() {
            cap = 1;
        }
        cap.max(1)
    }
}

/// What one turn of the loop did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// It took a batch of steps.
    Stepped,
    /// It stood at the [`Pause`] and did nothing.
    Paused,
    /// The run has ended (its last outputs are written; [`TimeLoop::finish`] writes the rest).
    Done(StopReason),
}

/// A run's time loop between two steps: its config, its outputs so far and where it stands.
pub struct TimeLoop {
    cfg: Config,
    p: Params,
    opts: RunOptions,
    /// Where the run stands: what a checkpoint holds.
    at: Progress,
    protocol: Option<Protocol>,
    title: String,
    rate_top_um_s: f64,
    first_step: u64,
    frames: Vec<RgbImage>,
    cards: Vec<RgbImage>,
    display: ProgressDisplay,
    start: Instant,
    /// Wall time spent writing outputs (s).
    output_s: f64,
    last_checkpoint: Instant,
    stopped: Option<StopReason>,
    finished: bool,
}

impl TimeLoop {
    /// A fresh run of `cfg` (its parameters `p`) into `opts.out_dir`, at step 0.
    pub fn fresh(cfg: &Config, p: &Params, opts: &RunOptions) -> Result<TimeLoop> {
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
        TimeLoop::from_progress(cfg, p, opts, progress, Vec::new())
    }

    /// The loop from `progress` on, with the frames written before it (a resumed run).
    pub(crate) fn from_progress(
        cfg: &Config,
        p: &Params,
        opts: &RunOptions,
        progress: Progress,
        frames: Vec<RgbImage>,
    ) -> Result<TimeLoop> {
        let frames_dir = opts.out_dir.join("frames");
        std::fs::create_dir_all(&frames_dir).map_err(|e| Error::io(&frames_dir, e))?;
        let mut at = progress;
        // A checkpoint older than the accumulator holds it only if written before half way; a
        // cycling run has no second half.
        if at.second_half.is_none()
            && cfg.cycling.is_none()
            && end_fraction(cfg, at.step, at.time_s, at.charge_c_m2) <= 0.5
        {
            at.second_half = Some(SecondHalfCharge::default());
        }
        let title = cfg.interphase.preset.name().to_string();
        let protocol = cfg.cycling.as_ref().map(Protocol::from_config);
        let first = position(&at, fraction(cfg, &protocol, &at));
        Ok(TimeLoop {
            cfg: cfg.clone(),
            p: p.clone(),
            opts: opts.clone(),
            protocol,
            rate_top_um_s: pictures::plating_rate_top_um_s(p),
            first_step: at.step,
            at,
            frames,
            cards: Vec::new(),
            display: ProgressDisplay::new(opts.progress, &title, first),
            title,
            start: Instant::now(),
            output_s: 0.0,
            last_checkpoint: Instant::now(),
            stopped: None,
            finished: false,
        })
    }

    /// The config the run follows.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The run's parameters.
    pub fn params(&self) -> &Params {
        &self.p
    }

    /// Where the run stands: the next step's index, the time and charge so far, the metrics
    /// rows and metrics.csv as written so far.
    pub fn progress(&self) -> &Progress {
        &self.at
    }

    /// Whether [`TimeLoop::finish`] has written the run's last outputs.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Why the run ended, once it has.
    pub fn stopped(&self) -> Option<StopReason> {
        self.stopped
    }

    /// How far the run is towards its end (1 at the end): its schedule's fraction under
    /// [cycling], else its end condition's.
    pub fn fraction(&self) -> f64 {
        fraction(&self.cfg, &self.protocol, &self.at)
    }

    /// Writes a checkpoint of where the run stands into `dir` (what `mgpf run --resume DIR`
    /// continues from), with metrics.csv as written so far.
    pub fn write_checkpoint(&self, backend: &dyn Backend, dir: &Path) -> Result<()> {
        checkpoint::write(dir, &self.cfg, &self.at, &backend.save_state())?;
        output::write_atomic(&dir.join("metrics.csv"), self.at.csv.as_bytes())
    }

    /// Turns the loop to the end condition (or run.max_steps, or a signal), then writes the
    /// run's last outputs.
    pub fn run(mut self, backend: &mut dyn Backend) -> Result<RunSummary> {
        while let Tick::Stepped = self.tick(backend, &Pause::NEVER)? {}
        self.finish(backend)
    }

    /// One turn of the loop: at the step it stands at, a checkpoint, the metrics row, the frame
    /// and field files due there, then a batch of steps. It stands still at `pause` (before
    /// that step's outputs, as a checkpoint does), and reports the end once reached.
    pub fn tick(&mut self, backend: &mut dyn Backend, pause: &Pause) -> Result<Tick> {
        if let Some(reason) = self.stopped {
            return Ok(Tick::Done(reason));
        }
        let cfg = &self.cfg;
        let fraction = self.fraction();
        let reached_end = match (&self.protocol, &self.at.cycling) {
            (Some(pr), Some(c)) => c.finished(pr),
            _ => fraction >= 1.0 - 1e-12,
        };
        // run.max_steps before the end condition: a checkpoint, a frame and every final output,
        // so that `--resume` with a higher cap continues as if the run had never stopped.
        let step = self.at.step;
        let capped = !reached_end && step >= cfg.run.max_steps.unwrap_or(u64::MAX);
        let done = reached_end || capped;
        if !done && pause.reached(&self.at) {
            return Ok(Tick::Paused);
        }
        // Checkpoint before this step's outputs, so a resumed run redoes them identically.
        let signal = self
            .opts
            .interrupt
            .as_ref()
            .and_then(Interrupt::signal)
            .or_else(|| (self.opts.stop_after_steps == Some(step)).then_some(2));
        let every = cfg.run.checkpoint_every_steps;
        let minutes = cfg.run.checkpoint_every_minutes;
        let checkpoint_due = step > self.first_step
            && !done
            && ((every > 0 && step.is_multiple_of(every))
                || (minutes > 0.0
                    && self.last_checkpoint.elapsed().as_secs_f64() >= 60.0 * minutes));
        if capped || (!done && (signal.is_some() || checkpoint_due)) {
            let t_out = Instant::now();
            checkpoint::write(&self.opts.out_dir, cfg, &self.at, &backend.save_state())?;
            self.last_checkpoint = Instant::now();
            self.output_s += t_out.elapsed().as_secs_f64();
        }
        if let (Some(signal), false) = (signal, done) {
            self.display.finish();
            self.write_metrics()?;
            return Err(Error::Interrupted {
                signal,
                dir: self.opts.out_dir.display().to_string(),
            });
        }
        self.outputs(backend, fraction, reached_end, capped)?;
        if done {
            let reason = if capped {
                StopReason::MaxSteps
            } else {
                StopReason::EndCondition
            };
            self.stopped = Some(reason);
            return Ok(Tick::Done(reason));
        }
        self.advance(backend, fraction, pause)?;
        Ok(Tick::Stepped)
    }

    /// The metrics row, frame and field files due at the step the loop stands at.
    fn outputs(
        &mut self,
        backend: &mut dyn Backend,
        fraction: f64,
        reached_end: bool,
        capped: bool,
    ) -> Result<()> {
        let (cfg, p, g) = (&self.cfg, &self.p, self.p.grid);
        let done = reached_end || capped;
        let frames_total = cfg.run.frames.max(1);
        let at = &mut self.at;
        let step = at.step;
        let frame_due = frames_total > 1
            && fraction >= at.frame_index as f64 / (frames_total - 1) as f64 - 1e-12;
        // A cycling run's half-cycle ends get a row each (the roughness at the end of plating,
        // the dead metal at the end of a cycle are taken from its snapshot).
        let event = at.cycling.as_ref().and_then(|c| c.event);
        let row_due = step.is_multiple_of(cfg.run.metrics_every_steps.max(1))
            || done
            || frame_due
            || event.is_some();
        if !row_due {
            return Ok(());
        }
        let t_out = Instant::now();
        let snap = backend.snapshot();
        let front = front_metrics(&snap.order_parameter, g);
        let morphology = morphology(&snap.order_parameter, g, &front);
        let (sc, sx) = integrals(&snap.concentration, &snap.order_parameter, g);
        let (mg_total_mol_m, mg_areal_mol_m2) =
            mg_content(sc, sx, p.c0_mol_m3, p.metal.site_density_mol_m3, g);
        let (half_cycle, current_sign) = match &at.cycling {
            Some(c) => c.last_step.unwrap_or((1, 0)),
            None => (0, at.last.map_or(0, |r| sign_of(r.current_density_a_m2))),
        };
        if let Some(c) = &mut at.cycling {
            if c.take_event(&snap.order_parameter, p).is_some() {
                let path = self.opts.out_dir.join("cycles.csv");
                output::write_atomic(&path, c.csv().as_bytes())?;
            }
        }
        let row = MetricsRow {
            step,
            time_s: at.time_s,
            charge_c_m2: at.charge_c_m2,
            current_density_a_m2: at.last.map_or(0.0, |r| r.current_density_a_m2),
            overpotential_v: at.last.map_or(0.0, |r| r.applied_potential_v),
            front,
            mg_total_mol_m,
            mg_areal_mol_m2,
            morphology,
            half_cycle,
            current_sign,
        };
        write_row(
            &mut at.csv,
            &row,
            at.last.as_ref(),
            inflow_amounts(at.inflow, p),
        );
        at.rows.push(row);
        let check_nan = !(front.mean_height.is_finite() && sc.is_finite() && sx.is_finite());
        if check_nan {
            return Err(Error::Solver {
                step,
                message: "a field became NaN or infinite".into(),
            });
        }
        let stamp = FieldStamp {
            time_s: at.time_s,
            charge_c_m2: at.charge_c_m2,
            step,
        };
        let frame_scheduled = frame_due || (reached_end && frames_total == 1);
        // What the pictures show of the interphase, only where a frame or the end is due.
        let picture = (frame_scheduled || capped || done).then(|| {
            output::interphase_picture(p, &snap.order_parameter, &snap.layer, &snap.blocked)
        });
        if let Some((interphase, blocked)) = picture.as_ref().filter(|_| frame_scheduled || capped)
        {
            let content = FrameContent {
                cfg,
                p,
                snap: &snap,
                interphase,
                blocked,
                title: &frame_title(&self.title, cfg, &row),
                time_s: at.time_s,
                charge_mah_cm2: at.charge_c_m2 / MAH_CM2_IN_C_M2,
                overpotential_v: row.overpotential_v,
                rate_top_um_s: self.rate_top_um_s,
            };
            let img = content.render();
            output::write_png(&frame_path(&self.opts.out_dir, at.frame_index), &img)?;
            self.frames.push(img);
            if self.opts.keep_frames {
                self.cards.push(content.card());
            }
            // The cap's extra frame replaces the one in its slot when the run resumes.
            let frame_index = at.frame_index;
            at.field_frames.retain(|&(n, _)| n < frame_index);
            at.field_frames.push((frame_index, at.time_s));
            write_field_files(
                cfg,
                &self.opts.out_dir,
                frame_index,
                &stamp,
                &snap,
                g,
                &at.field_frames,
            )?;
            // The cap's extra frame takes the next slot without advancing the schedule: a
            // resumed run overwrites it with the frame due there.
            if frame_scheduled {
                at.frame_index += 1;
            }
            output::write_atomic(&self.opts.out_dir.join("metrics.csv"), at.csv.as_bytes())?;
        }
        if let Some((interphase, _)) = picture.as_ref().filter(|_| done) {
            let fields = [
                ("order_parameter", snap.order_parameter.view()),
                ("concentration", snap.concentration.view()),
                ("potential", snap.potential.view()),
                ("plating_rate", snap.plating_rate.view()),
                ("interphase", interphase.view()),
            ];
            let (dir, dx_m) = (&self.opts.out_dir, g.dx * LENGTH_UNIT_M);
            output::write_vti(&dir.join("final.vti"), dx_m, &stamp, &fields)?;
            if cfg.run.save_fields.contains(&FieldFormat::Vtk) {
                output::write_legacy_vtk(&dir.join("final.vtk"), dx_m, &stamp, &fields)?;
            }
        }
        self.output_s += t_out.elapsed().as_secs_f64();
        Ok(())
    }

    /// A batch of steps from where the loop stands, no further than the next output or `pause`.
    fn advance(&mut self, backend: &mut dyn Backend, fraction: f64, pause: &Pause) -> Result<()> {
        let cfg = &self.cfg;
        // A cycling schedule sets the control of each step (its half-cycle's current, cut-off
        // and the dt that lands it on its capacity) and takes one step at a time.
        let max_batch = match (&self.protocol, &self.at.cycling) {
            (Some(pr), Some(c)) => {
                backend.set_control(c.setting(pr))?;
                1
            }
            _ => backend.max_batch(),
        };
        let at = &mut self.at;
        let batch = batch_size(
            cfg,
            at.step,
            fraction,
            at.last.as_ref().map(|r| step_fraction(cfg, r)),
            next_frame_fraction(at.frame_index, cfg.run.frames.max(1)),
            max_batch,
        )
        .min(pause.batch_cap(at));
        let reports = match backend.advance(at.step, batch) {
            Ok(r) => r,
            Err(e) => {
                // Keep the rows up to the failure for diagnosis (the frames are already on disk).
                self.display.finish();
                self.write_metrics()?;
                return Err(e);
            }
        };
        for report in reports {
            let from = end_fraction(cfg, at.step, at.time_s, at.charge_c_m2);
            let step_charge = report.current_density_a_m2 * report.dt;
            at.step += 1;
            at.time_s += report.dt;
            at.charge_c_m2 += step_charge;
            at.inflow += report.boundary_inflow;
            if let (Some(pr), Some(c)) = (&self.protocol, &mut at.cycling) {
                c.record(pr, &report);
            }
            if let Some(acc) = &mut at.second_half {
                let to = end_fraction(cfg, at.step, at.time_s, at.charge_c_m2);
                acc.add(report.applied_potential_v, step_charge, from, to);
            }
            at.last = Some(report);
        }
        let position = position(&self.at, self.fraction());
        self.display.update(&self.cfg, &position);
        Ok(())
    }

    fn write_metrics(&self) -> Result<()> {
        output::write_atomic(
            &self.opts.out_dir.join("metrics.csv"),
            self.at.csv.as_bytes(),
        )
    }

    /// Writes what a run writes once it has ended: metrics.csv, growth.gif, voltage.png and
    /// run.json, and says so where run.max_steps stopped it. Once only; an error before the end.
    pub fn finish(&mut self, backend: &dyn Backend) -> Result<RunSummary> {
        let Some(stopped_by) = self.stopped else {
            return Err(Error::Other(
                "the run has not ended: its outputs are written once it has".into(),
            ));
        };
        if self.finished {
            return Err(Error::Other(
                "the run's last outputs are written already".into(),
            ));
        }
        self.finished = true;
        self.display.finish();
        let (cfg, p, title) = (&self.cfg, &self.p, &self.title);
        let dir = &self.opts.out_dir;
        let rows = &self.at.rows;
        let t_out = Instant::now();
        self.write_metrics()?;
        output::write_gif(&dir.join("growth.gif"), &self.frames, 150)?;
        let q: Vec<f64> = rows
            .iter()
            .skip(1)
            .map(|r| r.charge_c_m2 / MAH_CM2_IN_C_M2)
            .collect();
        let v: Vec<f64> = rows.iter().skip(1).map(|r| r.overpotential_v).collect();
        if self.at.cycling.is_some() {
            write_cycling_voltage(&dir.join("voltage.png"), title, rows)?;
        } else if q.len() >= 2 {
            output::write_line_plot(
                &dir.join("voltage.png"),
                &format!("{title}: chronopotentiometry"),
                "charge passed (mAh cm⁻²)",
                "overpotential (V)",
                &[Series {
                    label: title,
                    x: &q,
                    y: &v,
                }],
            )?;
        }
        self.output_s += t_out.elapsed().as_secs_f64();
        let step = self.at.step;
        let summary = RunSummary {
            title: title.clone(),
            steps: step,
            first_step: self.first_step,
            stopped_by,
            second_half_of: second_half_quantity(cfg),
            mean_overpotential_second_half_v: self.at.second_half.and_then(|acc| acc.mean_v()),
            rows: rows.clone(),
            frames: if self.opts.keep_frames {
                std::mem::take(&mut self.frames)
            } else {
                Vec::new()
            },
            cards: std::mem::take(&mut self.cards),
            wall_s: self.start.elapsed().as_secs_f64(),
            inflow_mol_m2: inflow_amounts(self.at.inflow, p).1,
            backend: backend.name(),
            cycles: self
                .at
                .cycling
                .as_ref()
                .map_or_else(Vec::new, |c| c.rows.clone()),
        };
        write_run_json(cfg, p, backend, &summary, self.output_s, dir)?;
        if stopped_by == StopReason::MaxSteps {
            eprintln!(
                "note: stopped at run.max_steps = {step} before the end condition ({} of it reached); \
                 the outputs and a checkpoint are in {dir}: continue with `mgpf run --resume {dir} \
                 --set run.max_steps=N`, N > {step}",
                percent_text(self.fraction()),
                dir = dir.display()
            );
        }
        Ok(summary)
    }
}

/// How far a run standing at `at` is towards its end: its schedule's fraction under [cycling],
/// else its end condition's.
fn fraction(cfg: &Config, protocol: &Option<Protocol>, at: &Progress) -> f64 {
    match (protocol, &at.cycling) {
        (Some(pr), Some(c)) => c.fraction(pr),
        _ => end_fraction(cfg, at.step, at.time_s, at.charge_c_m2),
    }
}

/// What the progress display shows of a run standing at `at`.
fn position(at: &Progress, fraction: f64) -> Position {
    Position {
        step: at.step,
        time_s: at.time_s,
        charge_c_m2: at.charge_c_m2,
        fraction,
        overpotential_v: at.last.map_or(0.0, |r| r.applied_potential_v),
    }
}
