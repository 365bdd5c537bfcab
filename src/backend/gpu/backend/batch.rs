//! A batch of steps: up to [`MAX_BATCH`] steps of a round's points recorded into one submit,
//! each step's scalars (every point's) copied into the reports buffer, then one read-back of
//! the reports (the scalars, the last step's solve statistics, the field guards and the phase
//! timestamps).

use super::reports::solve_stats;
use super::{GpuBackend, CONCENTRATION_BCS, MAX_BATCH, POTENTIAL_BCS};
use crate::backend::gpu::context::step_scalar;
use crate::backend::gpu::kernels::{clear_point_field_guard, field_guard, first_failure, Encode};
use crate::backend::gpu::multigrid::{statistics_of, SolveStatistics, StatisticsSlot, STATISTICS};
use crate::backend::gpu::phase_clock::{Mark, PhaseClock};
use crate::backend::{guards, PhaseTimes, StepReport};
use crate::error::{Error, Result};
use std::time::Instant;

/// Where the blocks of the reports buffer start (4-byte words), for `capacity` points: the step
/// scalars of every point at each step of a full batch, the potential's and the
/// concentration's residual statistics per point, the field guards, then the phase timestamps
/// (an even word: u64 pairs).
struct ReportLayout {
    statistics_at: usize,
    guard_at: usize,
    timestamps_at: usize,
    capacity: usize,
}

impl ReportLayout {
    fn of(capacity: u32) -> ReportLayout {
        let capacity = capacity as usize;
        let statistics_at = MAX_BATCH as usize * capacity * step_scalar::COUNT as usize;
        let guard_at = statistics_at + 2 * capacity * STATISTICS;
        let timestamps_at = (guard_at + capacity * field_guard::WORDS as usize).next_multiple_of(2);
        ReportLayout {
            statistics_at,
            guard_at,
            timestamps_at,
            capacity,
        }
    }

    /// The step scalars of point `point` at step `n` of the batch.
    fn scalars(&self, n: usize, point: u32) -> usize {
        (n * self.capacity + point as usize) * step_scalar::COUNT as usize
    }
}

/// 4-byte words of the reports buffer of `capacity` points.
pub(super) fn report_words(capacity: u32) -> usize {
    ReportLayout::of(capacity).timestamps_at + PhaseClock::words(MAX_BATCH as u32)
}

/// A batch of steps recorded into a caller's encoder and not yet read back
/// ([`GpuBackend::record_round`], then [`GpuBackend::finish_round`] once the encoder has been
/// submitted).
#[must_use = "a recorded batch is read back with finish_round after its submit"]
pub struct RecordedBatch {
    /// The round's points, each with its first step.
    round: Vec<(u32, u64)>,
    steps: u64,
    started: Instant,
}

impl GpuBackend {
    /// Records up to [`MAX_BATCH`] steps of point 0 in one submit (band refreshes included) and
    /// reads back the reports once: a lone run's batch.
    pub(super) fn advance_batch(&mut self, first_step: u64, steps: u64) -> Result<Vec<StepReport>> {
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        let batch = self.record_round(&mut encoder, &[(0, first_step)], steps);
        self.ctx.queue.submit([encoder.finish()]);
        self.finish_round(batch).remove(0)
    }

    /// Records up to [`MAX_BATCH`] steps of the points of `round`, each from its own first step
    /// (the other points idle), into `encoder`, with the copies that bring their reports to
    /// this backend's staging buffer; read them with [`GpuBackend::finish_round`] once the
    /// encoder has been submitted.
    pub fn record_round(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        round: &[(u32, u64)],
        steps: u64,
    ) -> RecordedBatch {
        let started = Instant::now();
        let steps = steps.clamp(1, MAX_BATCH);
        let ctx = self.ctx;
        let live: Vec<u32> = round.iter().map(|&(point, _)| point).collect();
        self.points.set_live(ctx, &live);
        // The noise counter is the step index (CPU: `step as u32`); advance_step moves it on.
        // A queue write lands before the next submit, so before every step recorded here.
        for &(point, first_step) in round {
            ctx.queue.write_buffer(
                &self.fields.step_scalars,
                4 * (point as u64 * step_scalar::COUNT as u64 + step_scalar::STEP as u64),
                bytemuck::bytes_of(&(first_step as u32)),
            );
        }
        let layout = ReportLayout::of(self.capacity());
        let record = self.fields.step_scalars.size();
        for n in 0..steps {
            // The CPU's cadence: a refresh at each step > 0 that is a multiple of
            // interphase.refresh_every_steps; recorded where any point of the round is due, and
            // each point's kernels check its own step (refresh_due in shaders/interphase.wgsl).
            let every = self.shape.interphase.refresh_every_steps.max(1);
            let refresh = round.iter().any(|&(_, first)| {
                let step = first + n;
                step > 0 && step.is_multiple_of(every)
            });
            self.record_step(encoder, n as u32, refresh, n + 1 == steps);
            encoder.copy_buffer_to_buffer(
                &self.fields.step_scalars,
                0,
                &self.reports,
                (layout.scalars(n as usize, 0) * 4) as u64,
                record,
            );
        }
        let per_point = (self.capacity() as usize * STATISTICS * 4) as u64;
        for (n, mg) in [&self.potential_mg, &self.concentration_mg]
            .iter()
            .enumerate()
        {
            encoder.copy_buffer_to_buffer(
                mg.statistics_buffer(StatisticsSlot::End),
                0,
                &self.reports,
                (layout.statistics_at * 4) as u64 + n as u64 * per_point,
                per_point,
            );
        }
        encoder.copy_buffer_to_buffer(
            &self.fields.field_guard,
            0,
            &self.reports,
            (layout.guard_at * 4) as u64,
            self.fields.field_guard.size(),
        );
        if let Some(clock) = &self.clock {
            clock.resolve(
                encoder,
                steps as u32,
                &self.reports,
                (layout.timestamps_at * 4) as u64,
            );
        }
        self.staging
            .record_copy::<f32>(encoder, &self.reports, report_words(self.capacity()));
        RecordedBatch {
            round: round.to_vec(),
            steps,
            started,
        }
    }

    /// Reads back the reports of a batch [`GpuBackend::record_round`] recorded, once its encoder
    /// has been submitted (blocking until the device is done with it): for each point of the
    /// round, in its order, one report per step, or the first failure (a field guard, a solve's
    /// statistics).
    pub fn finish_round(&mut self, batch: RecordedBatch) -> Vec<Result<Vec<StepReport>>> {
        let RecordedBatch {
            round,
            steps,
            started: t0,
        } = batch;
        let ctx = self.ctx;
        let layout = ReportLayout::of(self.capacity());
        let values: Vec<f32> = self.staging.map_read(ctx, report_words(self.capacity()));
        // Device time per phase from the timestamps; the rest of the batch's wall time
        // (submission, waiting, read-back) as other. Every point of the round took it.
        let mut times = match &self.clock {
            Some(clock) => {
                let words: Vec<u32> = values[layout.timestamps_at..]
                    .iter()
                    .map(|v| v.to_bits())
                    .collect();
                clock.phases(&words, steps as u32, self.kernels.shift_solve.is_some())
            }
            None => PhaseTimes::default(),
        };
        times.other_s = (t0.elapsed().as_secs_f64() - times.phases_s()).max(0.0);
        round
            .iter()
            .map(|&(point, first_step)| {
                if let Some(run) = self.runs[point as usize].as_mut() {
                    run.times += times;
                }
                self.point_reports(point, &values, &layout, first_step, steps)
            })
            .collect()
    }

    /// Point `point`'s reports of a batch from the reports buffer's `values`.
    fn point_reports(
        &self,
        point: u32,
        values: &[f32],
        layout: &ReportLayout,
        first_step: u64,
        steps: u64,
    ) -> Result<Vec<StepReport>> {
        let Some(run) = self.runs[point as usize].as_ref() else {
            return Err(Error::Other(format!(
                "GPU batch: point {point} holds no run"
            )));
        };
        let p = &run.p;
        let words = field_guard::WORDS as usize;
        let guard_at = layout.guard_at + point as usize * words;
        let guard: Vec<u32> = values[guard_at..guard_at + words]
            .iter()
            .map(|v| v.to_bits())
            .collect();
        let mut failure = first_failure(p.grid, &guard);
        if failure.is_some() {
            // Reported once: a run restored from a checkpoint starts with a clean guard.
            clear_point_field_guard(self.ctx, &self.fields.field_guard, point);
        }
        let stats = |n: usize| {
            let at = layout.statistics_at + (n * layout.capacity + point as usize) * STATISTICS;
            let end = statistics_of(&values[at..]);
            SolveStatistics { start: end, end }
        };
        let solves = p.step_solves();
        let potential_solve = solve_stats(stats(0), solves.potential.device().count(), None);
        let concentration_solve = solve_stats(
            stats(1),
            solves.concentration.device().count(),
            Some(p.concentration_tolerance),
        );
        let mut reports = Vec::with_capacity(steps as usize);
        for n in 0..steps as usize {
            let at = layout.scalars(n, point);
            let s = &values[at..at + step_scalar::COUNT as usize];
            let step = first_step + n as u64;
            // The guard records the step number as the noise counter does (u32).
            let blown_up = failure
                .take_if(|(at, _)| *at == step as u32)
                .map(|(_, e)| e);
            reports.push(self.report(
                point,
                step,
                s,
                blown_up,
                potential_solve,
                concentration_solve,
            )?);
        }
        // The solves' statistics are those of the batch's last step (the one read back).
        let last = first_step + steps - 1;
        if failure.is_none() {
            guards::check_solves(p, last, &potential_solve, &concentration_solve)?;
        }
        match failure {
            // Recorded by a step outside this batch: cannot happen (the guard is cleared after
            // each report), but never dropped.
            Some((_, e)) => Err(e),
            None => Ok(reports),
        }
    }

    /// Records the `n`-th step of a batch (the CPU backend's order, with a timestamp before each
    /// phase where the adapter has them), with the band refresh first when `refresh` (a point of
    /// the round is due); the solves' residual statistics only when
    /// `with_statistics` (the last step of a batch: its metrics row reports them).
    fn record_step(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        n: u32,
        refresh: bool,
        with_statistics: bool,
    ) {
        let clock = self.clock.as_ref();
        let mark = |encoder: &mut wgpu::CommandEncoder, m: Mark| {
            if let Some(c) = clock {
                c.mark(encoder, n, m);
            }
        };
        let f = &self.fields;
        let k = &self.kernels;
        mark(encoder, Mark::Start);
        let mut first: Vec<&dyn Encode> = Vec::with_capacity(3);
        if refresh {
            first.extend(k.refresh_layer.as_ref().map(|r| r as &dyn Encode));
        }
        first.extend([
            &k.transport_coefficients as &dyn Encode,
            &k.potential_source,
        ]);
        pass(encoder, &first);
        mark(encoder, Mark::Potential);
        self.potential_mg
            .set_coefficients(encoder, &f.zeros, &f.conductivity);
        let solves = self.shape.step_solves();
        self.potential_mg.encode_device_solve(
            encoder,
            &f.phi,
            &f.rhs,
            POTENTIAL_BCS,
            solves.potential.device(),
        );
        if with_statistics {
            self.potential_mg.encode_residual_statistics(
                encoder,
                &f.phi,
                &f.rhs,
                POTENTIAL_BCS,
                StatisticsSlot::End,
            );
        }
        mark(encoder, Mark::AllenCahn);
        pass(encoder, &[&k.allen_cahn_rate, &k.ac_rate_sum]);
        mark(encoder, Mark::Reaction);
        match &k.shift_solve {
            Some(shift) => pass(encoder, &[shift]),
            None => pass(encoder, &[&k.reaction_field]),
        }
        mark(encoder, Mark::Update);
        pass(
            encoder,
            &[
                &k.reaction_maxima,
                &k.reaction_factor_max,
                &k.front_speed_max,
                &k.max_migration_speed,
                &k.migration_speed_max,
                &k.time_step,
                &k.interface_noise,
                &k.noise_sum,
                &k.h_prime_sum,
                &k.noise_mean,
                &k.update_order_parameter,
                &k.dxi_sum,
            ],
        );
        mark(encoder, Mark::Concentration);
        pass(encoder, &[&k.concentration_rhs, &k.inverse_time_step_field]);
        encoder.copy_buffer_to_buffer(&f.excess, 0, &f.excess_old, 0, f.excess.size());
        self.concentration_mg
            .set_coefficients(encoder, &f.inverse_dt, &f.diffusivity);
        self.concentration_mg.encode_device_solve(
            encoder,
            &f.excess,
            &f.rhs,
            CONCENTRATION_BCS,
            solves.concentration.device(),
        );
        if with_statistics {
            self.concentration_mg.encode_residual_statistics(
                encoder,
                &f.excess,
                &f.rhs,
                CONCENTRATION_BCS,
                StatisticsSlot::End,
            );
        }
        mark(encoder, Mark::Guards);
        pass(
            encoder,
            &[
                &k.boundary_inflow,
                &k.inflow_sum,
                &k.check_fields,
                &k.advance_step,
            ],
        );
        mark(encoder, Mark::End);
    }
}

/// Records `work` into one compute pass of `encoder`.
pub(super) fn pass(encoder: &mut wgpu::CommandEncoder, work: &[&dyn Encode]) {
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some("mgpf step"),
        timestamp_writes: None,
    });
    for w in work {
        w.encode(&mut pass);
    }
}
