//! Device time per phase of a step, from timestamp queries written between the step's phases
//! (`Features::TIMESTAMP_QUERY_INSIDE_ENCODERS`), so that run.json splits a GPU run's time as it
//! splits a CPU run's (update, potential solve, galvanostatic control, concentration solve)
//! although a batch of 32 steps is one submit. The timestamps are resolved on the device and read
//! back with the batch's step reports (8 bytes per mark).

use super::context::GpuContext;
use crate::backend::PhaseTimes;

/// Where a step's timestamps are written: before each phase, and at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Mark {
    /// Transport coefficients and the potential's source (update).
    Start = 0,
    /// The potential solve.
    Potential = 1,
    /// The Allen–Cahn rate and its sum (update).
    AllenCahn = 2,
    /// The reaction field: the galvanostatic search (control), or one evaluation (update).
    Reaction = 3,
    /// dt, noise and the order-parameter update (update).
    Update = 4,
    /// The concentration's right-hand side and solve.
    Concentration = 5,
    /// Bulk-face inflow, field guards, the step counter (update).
    Guards = 6,
    End = 7,
}

/// Timestamps per step.
pub const MARKS: u32 = 8;

/// The query set of a batch and the buffer it resolves into.
pub struct PhaseClock {
    queries: wgpu::QuerySet,
    resolved: wgpu::Buffer,
    /// Nanoseconds per timestamp tick.
    period_ns: f64,
    capacity: u32,
}

impl PhaseClock {
    /// A clock for batches of up to `steps` steps, when the device has timestamp queries inside
    /// encoders (None otherwise: the backend then reports the batch's time unsplit).
    pub fn new(ctx: &GpuContext, steps: u32) -> Option<PhaseClock> {
        let needed =
            wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS;
        if !ctx.device.features().contains(needed) {
            return None;
        }
        let capacity = steps * MARKS;
        Some(PhaseClock {
            queries: ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("phase clock"),
                ty: wgpu::QueryType::Timestamp,
                count: capacity,
            }),
            resolved: ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("phase clock resolved"),
                size: 8 * capacity as u64,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            period_ns: f64::from(ctx.queue.get_timestamp_period()),
            capacity,
        })
    }

    /// 4-byte words the timestamps of `steps` steps take in a read-back.
    pub const fn words(steps: u32) -> usize {
        2 * (steps * MARKS) as usize
    }

    /// Writes mark `mark` of step `n` of the batch.
    pub fn mark(&self, encoder: &mut wgpu::CommandEncoder, n: u32, mark: Mark) {
        let index = n * MARKS + mark as u32;
        debug_assert!(index < self.capacity);
        encoder.write_timestamp(&self.queries, index);
    }

    /// Resolves the timestamps of `steps` steps and copies them into `target` at byte `offset`.
    pub fn resolve(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        steps: u32,
        target: &wgpu::Buffer,
        offset: u64,
    ) {
        let count = steps * MARKS;
        encoder.resolve_query_set(&self.queries, 0..count, &self.resolved, 0);
        encoder.copy_buffer_to_buffer(&self.resolved, 0, target, offset, 8 * count as u64);
    }

    /// Seconds per phase over `steps` steps from their timestamps (`words`: the read-back u64s
    /// as pairs of 4-byte words); the reaction phase is the control's when `galvanostatic`.
    pub fn phases(&self, words: &[u32], steps: u32, galvanostatic: bool) -> PhaseTimes {
        let tick = |n: u32, mark: Mark| {
            let i = 2 * (n * MARKS + mark as u32) as usize;
            u64::from(words[i]) | (u64::from(words[i + 1]) << 32)
        };
        let seconds = |n: u32, from: Mark, to: Mark| {
            tick(n, to).saturating_sub(tick(n, from)) as f64 * self.period_ns * 1e-9
        };
        let mut t = PhaseTimes::default();
        for n in 0..steps {
            t.update_s += seconds(n, Mark::Start, Mark::Potential)
                + seconds(n, Mark::AllenCahn, Mark::Reaction)
                + seconds(n, Mark::Update, Mark::Concentration)
                + seconds(n, Mark::Guards, Mark::End);
            t.potential_solve_s += seconds(n, Mark::Potential, Mark::AllenCahn);
            let reaction = seconds(n, Mark::Reaction, Mark::Update);
            if galvanostatic {
                t.control_s += reaction;
            } else {
                t.update_s += reaction;
            }
            t.concentration_solve_s += seconds(n, Mark::Concentration, Mark::Guards);
        }
        t
    }
}
