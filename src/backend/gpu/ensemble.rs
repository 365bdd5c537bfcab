//! An ensemble: several runs on one device advanced together as the points of batches (the
//! batch axis of [`super::points`]): the runs of one shape ([`batch_mismatch`]: grid, band,
//! control mode, solves) share one [`GpuBackend`] whose buffers hold each run's block, and every
//! kernel of a step runs all of them in one dispatch. Each run keeps its own parameters, control,
//! time step and end condition; a run that has ended leaves its point, which idles (left out of
//! the point table, it costs nothing) until a new run is loaded into it.
//!
//! The members' time loops run on their own threads (the sweep's workers). A member asking for
//! steps waits until every member of its batch has asked; the member that completes the round
//! records the steps of all of them into one command encoder, each from its own step, as many
//! steps as the member asking for the fewest wants (a member asking for more gets fewer reports,
//! and asks again), submits it once, and reads back every member's step reports in one copy (a
//! few kilobytes per point; a run's fields only when its outputs are due). The results are
//! those of the members run alone, bit for bit: each point does a lone run's arithmetic
//! (tests/gpu_ensemble.rs).

use super::backend::{batch_mismatch, GpuBackend};
use super::GpuContext;
use crate::backend::{Backend, BackendState, PhaseTimes, Snapshot, StepReport};
use crate::config::InitialConfig;
use crate::error::{Error, Result};
use crate::model::params::Params;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// The runs advanced together on one device ([`GpuEnsemble::member`] adds one).
pub struct GpuEnsemble {
    ctx: &'static GpuContext,
    /// Points of each batch: the runs that can be in flight at once (the sweep's --jobs).
    capacity: u32,
    pool: Mutex<Pool>,
    changed: Condvar,
}

/// The batches, their members and requests, and the results of the rounds done.
#[derive(Default)]
struct Pool {
    batches: Vec<Batch>,
    next_id: usize,
    results: HashMap<usize, Result<Vec<StepReport>>>,
    rounds: u64,
    batches_run: u64,
}

/// One batched backend and the members holding its points.
struct Batch {
    id: usize,
    backend: Arc<Mutex<GpuBackend>>,
    shape: Params,
    /// The member holding each point (None: free).
    members: Vec<Option<usize>>,
    waiting: Vec<Request>,
    /// A member is recording and submitting a round of this batch.
    submitting: bool,
}

impl Batch {
    fn member_count(&self) -> usize {
        self.members.iter().flatten().count()
    }
}

struct Request {
    id: usize,
    point: u32,
    first_step: u64,
    steps: u64,
}

/// Rounds submitted and the member batches of steps they held: batches / rounds is the
/// ensemble's width in practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnsembleCounts {
    pub rounds: u64,
    pub batches: u64,
}

impl GpuEnsemble {
    /// An ensemble whose batches hold `capacity` points each (1 to
    /// [`MAX_POINTS`](super::points::MAX_POINTS)).
    pub fn new(ctx: &'static GpuContext, capacity: u32) -> Arc<GpuEnsemble> {
        Arc::new(GpuEnsemble {
            ctx,
            capacity: capacity.clamp(1, super::points::MAX_POINTS),
            pool: Mutex::new(Pool::default()),
            changed: Condvar::new(),
        })
    }

    /// Adds a fresh run of `p` from `init`: a free point of a batch of its shape, or of a new
    /// batch. The member advances it with the batch's other runs until it is dropped.
    pub fn member(self: &Arc<Self>, p: &Params, init: &InitialConfig) -> Result<EnsembleMember> {
        let (batch_id, backend, point, id) = {
            let mut pool = self.lock();
            pool.next_id += 1;
            let id = pool.next_id;
            let found = pool.batches.iter().position(|b| {
                batch_mismatch(&b.shape, p).is_none() && b.members.iter().any(Option::is_none)
            });
            let at = match found {
                Some(at) => at,
                None => {
                    let backend = GpuBackend::batch(self.ctx, p, self.capacity)?;
                    pool.next_id += 1;
                    let batch_id = pool.next_id;
                    pool.batches.push(Batch {
                        id: batch_id,
                        backend: Arc::new(Mutex::new(backend)),
                        shape: p.clone(),
                        members: vec![None; self.capacity as usize],
                        waiting: Vec::new(),
                        submitting: false,
                    });
                    pool.batches.len() - 1
                }
            };
            let batch = &mut pool.batches[at];
            let point = batch
                .members
                .iter()
                .position(Option::is_none)
                .expect("a free point");
            // Reserved now; the batch's rounds wait for this member's first request.
            batch.members[point] = Some(id);
            (batch.id, Arc::clone(&batch.backend), point as u32, id)
        };
        let member = EnsembleMember {
            ensemble: Arc::clone(self),
            backend,
            batch: batch_id,
            point,
            id,
        };
        // Loaded without the pool's lock (a round in flight holds the backend's).
        member.backend().load_point(point, p, init)?;
        Ok(member)
    }

    pub fn counts(&self) -> EnsembleCounts {
        let pool = self.lock();
        EnsembleCounts {
            rounds: pool.rounds,
            batches: pool.batches_run,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a member's request and returns its reports once a round holding it is done.
    fn advance(
        &self,
        member: &EnsembleMember,
        first_step: u64,
        steps: u64,
    ) -> Result<Vec<StepReport>> {
        let mut pool = self.lock();
        let Some(batch) = pool.batches.iter_mut().find(|b| b.id == member.batch) else {
            return Err(Error::Other(
                "GPU ensemble: the member's batch is gone".into(),
            ));
        };
        batch.waiting.push(Request {
            id: member.id,
            point: member.point,
            first_step,
            steps,
        });
        self.changed.notify_all();
        loop {
            if let Some(result) = pool.results.remove(&member.id) {
                return result;
            }
            let batch = pool
                .batches
                .iter_mut()
                .find(|b| b.id == member.batch)
                .expect("a member's batch stays while it is a member");
            if !batch.submitting && batch.waiting.len() >= batch.member_count() {
                let round = std::mem::take(&mut batch.waiting);
                batch.submitting = true;
                let backend = Arc::clone(&batch.backend);
                pool.rounds += 1;
                pool.batches_run += round.len() as u64;
                drop(pool);
                let ids: Vec<usize> = round.iter().map(|r| r.id).collect();
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    submit_round(&backend, &round)
                }));
                pool = self.lock();
                if let Some(batch) = pool.batches.iter_mut().find(|b| b.id == member.batch) {
                    batch.submitting = false;
                }
                match outcome {
                    Ok(results) => pool.results.extend(results),
                    Err(panic) => {
                        // The other members of the round fail instead of waiting for ever.
                        for id in ids {
                            let failed = Error::Other(
                                "a GPU ensemble round failed (a panic while recording or \
                                 reading it back)"
                                    .into(),
                            );
                            pool.results.insert(id, Err(failed));
                        }
                        self.changed.notify_all();
                        drop(pool);
                        std::panic::resume_unwind(panic);
                    }
                }
                self.changed.notify_all();
                continue;
            }
            pool = self.changed.wait(pool).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The member leaves its point (free for the next run); an empty batch is dropped with its
    /// device buffers.
    fn leave(&self, member: &EnsembleMember) {
        let mut pool = self.lock();
        if let Some(at) = pool.batches.iter().position(|b| b.id == member.batch) {
            let batch = &mut pool.batches[at];
            batch.members[member.point as usize] = None;
            batch.waiting.retain(|r| r.id != member.id);
            if batch.member_count() == 0 && !batch.submitting {
                pool.batches.remove(at);
            }
        }
        self.changed.notify_all();
    }
}

/// Records the steps of every request of a round into one encoder (as many as the request
/// asking for the fewest), submits it once, and reads every member's reports back.
fn submit_round(
    backend: &Arc<Mutex<GpuBackend>>,
    round: &[Request],
) -> Vec<(usize, Result<Vec<StepReport>>)> {
    let mut backend = backend.lock().unwrap_or_else(|e| e.into_inner());
    let steps = round.iter().map(|r| r.steps).min().unwrap_or(1);
    let points: Vec<(u32, u64)> = round.iter().map(|r| (r.point, r.first_step)).collect();
    let ctx = backend.context();
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("ensemble round"),
        });
    let recorded = backend.record_round(&mut encoder, &points, steps);
    ctx.queue.submit([encoder.finish()]);
    let results = backend.finish_round(recorded);
    round.iter().map(|r| r.id).zip(results).collect()
}

/// One run of a [`GpuEnsemble`]: a [`Backend`] whose steps are those of a point of a batch,
/// taken with the batch's other points.
pub struct EnsembleMember {
    ensemble: Arc<GpuEnsemble>,
    backend: Arc<Mutex<GpuBackend>>,
    batch: usize,
    point: u32,
    id: usize,
}

impl EnsembleMember {
    fn backend(&self) -> MutexGuard<'_, GpuBackend> {
        self.backend.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for EnsembleMember {
    fn drop(&mut self) {
        self.ensemble.leave(self);
    }
}

impl Backend for EnsembleMember {
    fn name(&self) -> String {
        let b = self.backend();
        format!(
            "{} (point {} of a batch of {})",
            b.name(),
            self.point,
            b.capacity()
        )
    }

    fn step(&mut self, step: u64) -> Result<StepReport> {
        let mut reports = self.advance(step, 1)?;
        match reports.is_empty() {
            true => Err(Error::Other(format!("ensemble: no report of step {step}"))),
            false => Ok(reports.remove(0)),
        }
    }

    fn max_batch(&self) -> u64 {
        self.backend().max_batch()
    }

    fn advance(&mut self, first_step: u64, steps: u64) -> Result<Vec<StepReport>> {
        self.ensemble.advance(self, first_step, steps)
    }

    fn snapshot(&self) -> Snapshot {
        self.backend().read_snapshot(self.point)
    }

    fn phase_times(&self) -> PhaseTimes {
        self.backend().point_phase_times(self.point)
    }

    fn save_state(&self) -> BackendState {
        self.backend().read_state(self.point)
    }

    fn restore_state(&mut self, state: &BackendState) -> Result<()> {
        self.backend().write_state(self.point, state)
    }
}
