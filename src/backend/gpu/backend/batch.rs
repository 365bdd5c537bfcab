//! A batch of steps: up to [`MAX_BATCH`] steps recorded into one submit, each step's scalars
//! copied into the reports buffer, then one read-back of the reports (the scalars, the last
//! step's solve statistics, the field guard and the phase timestamps).

use super::reports::solve_stats;
use super::{GpuBackend, CONCENTRATION_BCS, MAX_BATCH, POTENTIAL_BCS};
use crate::backend::gpu::context::step_scalar;
use crate::backend::gpu::kernels::{clear_field_guard, field_guard, first_failure, Encode};
use crate::backend::gpu::multigrid::{statistics_of, SolveStatistics, StatisticsSlot, STATISTICS};
use crate::backend::gpu::phase_clock::{Mark, PhaseClock};
use crate::backend::{guards, PhaseTimes, StepReport};
use crate::error::Result;
use std::time::Instant;

/// 4-byte words in the reports buffer: the step scalars of a full batch, the potential's and the
/// concentration's residual statistics, the field guard, then the phase timestamps.
pub(super) const REPORT_WORDS: usize = TIMESTAMPS_AT + PhaseClock::words(MAX_BATCH as u32);
/// Where the phase timestamps start in the reports buffer (an even word: u64 pairs).
const TIMESTAMPS_AT: usize = (MAX_BATCH as usize * step_scalar::COUNT as usize
    + 2 * STATISTICS
    + field_guard::WORDS as usize)
    .next_multiple_of(2);

/// Where the two solves' statistics and the field guard start in the reports buffer (words).
fn report_offsets() -> (usize, usize) {
    let statistics_at = MAX_BATCH as usize * step_scalar::COUNT as usize;
    (statistics_at, statistics_at + 2 * STATISTICS)
}

/// A batch of steps recorded into a caller's encoder and not yet read back
/// ([`GpuBackend::record_batch`], then [`GpuBackend::finish_batch`] once the encoder has been
/// submitted).
#[must_use = "a recorded batch is read back with finish_batch after its submit"]
pub struct RecordedBatch {
    first_step: u64,
    steps: u64,
    started: Instant,
}

impl GpuBackend {
    /// Records up to [`MAX_BATCH`] steps in one submit (band refreshes included), copying each
    /// step's scalars into the reports buffer; reads back the reports and the last step's solve
    /// statistics once.
    pub(super) fn advance_batch(&mut self, first_step: u64, steps: u64) -> Result<Vec<StepReport>> {
        let mut encoder = self.ctx.device.create_command_encoder(&Default::default());
        let batch = self.record_batch(&mut encoder, first_step, steps);
        self.ctx.queue.submit([encoder.finish()]);
        self.finish_batch(batch)
    }

    /// Records up to [`MAX_BATCH`] steps from `first_step` into `encoder`, with the copies that
    /// bring their reports to this backend's staging buffer. Several backends on one device may
    /// record into one encoder (an ensemble, one submit for all); each then reads its own
    /// reports with [`GpuBackend::finish_batch`] once the encoder has been submitted.
    pub fn record_batch(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        first_step: u64,
        steps: u64,
    ) -> RecordedBatch {
        let started = Instant::now();
        let steps = steps.clamp(1, MAX_BATCH);
        let ctx = self.ctx;
        // The noise counter is the step index (CPU: `step as u32`); advance_step moves it on.
        // A queue write lands before the next submit, so before every step recorded here.
        ctx.queue.write_buffer(
            &self.fields.step_scalars,
            step_scalar::STEP as u64 * 4,
            bytemuck::bytes_of(&(first_step as u32)),
        );
        let record = step_scalar::COUNT as u64 * 4;
        for n in 0..steps {
            self.record_step(encoder, first_step + n, n as u32, n + 1 == steps);
            encoder.copy_buffer_to_buffer(
                &self.fields.step_scalars,
                0,
                &self.reports,
                n * record,
                record,
            );
        }
        let (statistics_at, guard_at) = report_offsets();
        for (n, mg) in [&self.potential_mg, &self.concentration_mg]
            .iter()
            .enumerate()
        {
            encoder.copy_buffer_to_buffer(
                mg.statistics_buffer(StatisticsSlot::End),
                0,
                &self.reports,
                ((statistics_at + n * STATISTICS) * 4) as u64,
                (STATISTICS * 4) as u64,
            );
        }
        encoder.copy_buffer_to_buffer(
            &self.fields.field_guard,
            0,
            &self.reports,
            (guard_at * 4) as u64,
            field_guard::WORDS as u64 * 4,
        );
        if let Some(clock) = &self.clock {
            clock.resolve(
                encoder,
                steps as u32,
                &self.reports,
                (TIMESTAMPS_AT * 4) as u64,
            );
        }
        self.staging
            .record_copy::<f32>(encoder, &self.reports, REPORT_WORDS);
        RecordedBatch {
            first_step,
            steps,
            started,
        }
    }

    /// Reads back the reports of a batch [`GpuBackend::record_batch`] recorded, once its encoder
    /// has been submitted (blocking until the device is done with it): one report per step, or
    /// the first failure (a field guard, a solve's statistics).
    pub fn finish_batch(&mut self, batch: RecordedBatch) -> Result<Vec<StepReport>> {
        let RecordedBatch {
            first_step,
            steps,
            started: t0,
        } = batch;
        let ctx = self.ctx;
        let (statistics_at, guard_at) = report_offsets();
        let values: Vec<f32> = self.staging.map_read(ctx, REPORT_WORDS);
        let guard: Vec<u32> = values[guard_at..].iter().map(|v| v.to_bits()).collect();
        let mut failure = first_failure(self.p.grid, &guard);
        if failure.is_some() {
            // Reported once: a run restored from a checkpoint starts with a clean guard.
            clear_field_guard(ctx, &self.fields.field_guard);
        }
        let stats = |n: usize| {
            let end = statistics_of(&values[statistics_at + n * STATISTICS..]);
            SolveStatistics { start: end, end }
        };
        let solves = self.p.step_solves();
        let potential_solve = solve_stats(stats(0), solves.potential.device().count(), None);
        let concentration_solve = solve_stats(
            stats(1),
            solves.concentration.device().count(),
            Some(self.p.concentration_tolerance),
        );
        let scalars = &values[..(steps * step_scalar::COUNT as u64) as usize];
        // Device time per phase from the timestamps; the rest of the batch's wall time
        // (submission, waiting, read-back) as other.
        let mut times = match &self.clock {
            Some(clock) => {
                let words: Vec<u32> = values[TIMESTAMPS_AT..]
                    .iter()
                    .map(|v| v.to_bits())
                    .collect();
                clock.phases(&words, steps as u32, self.kernels.shift_solve.is_some())
            }
            None => PhaseTimes::default(),
        };
        times.other_s = (t0.elapsed().as_secs_f64() - times.phases_s()).max(0.0);
        self.times += times;
        let mut reports = Vec::with_capacity(steps as usize);
        for (n, s) in scalars
            .chunks_exact(step_scalar::COUNT as usize)
            .enumerate()
        {
            let step = first_step + n as u64;
            // The guard records the step number as the noise counter does (u32).
            let blown_up = failure
                .take_if(|(at, _)| *at == step as u32)
                .map(|(_, e)| e);
            reports.push(self.report(step, s, blown_up, potential_solve, concentration_solve)?);
        }
        // The solves' statistics are those of the batch's last step (the one read back).
        let last = first_step + steps - 1;
        if failure.is_none() {
            guards::check_solves(&self.p, last, &potential_solve, &concentration_solve)?;
        }
        match failure {
            // Recorded by a step outside this batch: cannot happen (the guard is cleared after
            // each report), but never dropped.
            Some((_, e)) => Err(e),
            None => Ok(reports),
        }
    }

    /// Whether step `step` starts with a refresh of the resolved band: the CPU backend's
    /// cadence (every `interphase.refresh_every_steps` steps after the initial one).
    fn refreshes_layer(&self, step: u64) -> bool {
        let every = self.p.interphase.refresh_every_steps.max(1);
        self.kernels.refresh_layer.is_some() && step > 0 && step.is_multiple_of(every)
    }

    /// Records step `step`, the `n`-th of its batch (the CPU backend's order, with a timestamp
    /// before each phase where the adapter has them); the solves' residual statistics only when
    /// `with_statistics` (the last step of a batch: its metrics row reports them).
    fn record_step(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        step: u64,
        n: u32,
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
        if self.refreshes_layer(step) {
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
        let solves = self.p.step_solves();
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
