//! An ensemble: several runs on one device advanced together. Each run keeps its own
//! [`GpuBackend`] (its fields, parameters, control, time step and end condition); whenever
//! members ask for their next batch of steps, the batches of every member waiting are recorded
//! into one command encoder and submitted once, and each member then reads back only its own
//! step reports (a few kilobytes; its fields only when its run has an output due). A member
//! whose run has ended leaves the ensemble, and the others go on without it.
//!
//! The members' time loops run on their own threads (the sweep's workers): a member asking for
//! steps waits until every member still in the ensemble has asked, or until [`GATHER_WAIT`] has
//! passed since the oldest request or the last round's end, whichever is later (a member writing
//! its outputs does not hold the others back for long);
//! the member that finds the round complete records and submits it for all. The results are
//! those of the members run alone, bit for bit: the same commands on the same device, in one
//! submission instead of several (tests/gpu_ensemble.rs).

use super::backend::RecordedBatch;
use super::{GpuBackend, GpuContext};
use crate::backend::{Backend, BackendState, PhaseTimes, Snapshot, StepReport};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a member that has asked for steps waits for the rest of the ensemble before its
/// round is submitted without them: longer than a member's metrics row takes (a snapshot and
/// the front's metrics, ~1–10 ms), so that members stay in step, and short against a frame.
pub const GATHER_WAIT: Duration = Duration::from_millis(20);

/// The runs advanced together on one device ([`GpuEnsemble::member`] adds one).
pub struct GpuEnsemble {
    ctx: &'static GpuContext,
    rounds: Mutex<Rounds>,
    changed: Condvar,
}

/// The requests of the round being gathered and the results of the rounds done.
#[derive(Default)]
struct Rounds {
    /// Members in the ensemble (joined and not yet dropped).
    members: usize,
    next_id: usize,
    waiting: Vec<Request>,
    /// A member is recording and submitting a round.
    submitting: bool,
    results: HashMap<usize, Result<Vec<StepReport>>>,
    /// Rounds submitted, and the batches they held (for the ensemble's report).
    rounds: u64,
    batches: u64,
    /// When the last round was read back: its members then write their outputs and ask again,
    /// and a member that waited through that round gives them [`GATHER_WAIT`] from here.
    last_round_end: Option<Instant>,
}

struct Request {
    id: usize,
    backend: Arc<Mutex<GpuBackend>>,
    first_step: u64,
    steps: u64,
    asked: Instant,
}

/// Rounds submitted and the batches they held: batches / rounds is the ensemble's width in
/// practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnsembleCounts {
    pub rounds: u64,
    pub batches: u64,
}

impl GpuEnsemble {
    pub fn new(ctx: &'static GpuContext) -> Arc<GpuEnsemble> {
        Arc::new(GpuEnsemble {
            ctx,
            rounds: Mutex::new(Rounds::default()),
            changed: Condvar::new(),
        })
    }

    /// Adds a run's backend to the ensemble; the member advances it with the others until it
    /// is dropped.
    pub fn member(self: &Arc<Self>, backend: GpuBackend) -> EnsembleMember {
        let mut rounds = self.lock();
        rounds.members += 1;
        rounds.next_id += 1;
        EnsembleMember {
            ensemble: Arc::clone(self),
            backend: Arc::new(Mutex::new(backend)),
            id: rounds.next_id,
        }
    }

    pub fn counts(&self) -> EnsembleCounts {
        let rounds = self.lock();
        EnsembleCounts {
            rounds: rounds.rounds,
            batches: rounds.batches,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Rounds> {
        self.rounds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a member's batch and returns its reports once a round holding it is done.
    fn advance(
        &self,
        id: usize,
        backend: &Arc<Mutex<GpuBackend>>,
        first_step: u64,
        steps: u64,
    ) -> Result<Vec<StepReport>> {
        let mut rounds = self.lock();
        rounds.waiting.push(Request {
            id,
            backend: Arc::clone(backend),
            first_step,
            steps,
            asked: Instant::now(),
        });
        self.changed.notify_all();
        loop {
            if let Some(result) = rounds.results.remove(&id) {
                return result;
            }
            // The gathering starts at the oldest request, or at the end of the last round if
            // that came later.
            let since = rounds
                .waiting
                .iter()
                .map(|r| r.asked)
                .min()
                .map(|oldest| rounds.last_round_end.map_or(oldest, |end| oldest.max(end)));
            let complete = rounds.waiting.len() >= rounds.members
                || since.is_some_and(|t| t.elapsed() >= GATHER_WAIT);
            if !rounds.submitting && complete && !rounds.waiting.is_empty() {
                let round = std::mem::take(&mut rounds.waiting);
                rounds.submitting = true;
                rounds.rounds += 1;
                rounds.batches += round.len() as u64;
                drop(rounds);
                let ids: Vec<usize> = round.iter().map(|r| r.id).collect();
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.submit_round(round)
                }));
                rounds = self.lock();
                rounds.submitting = false;
                rounds.last_round_end = Some(Instant::now());
                match outcome {
                    Ok(results) => rounds.results.extend(results),
                    Err(panic) => {
                        // The other members of the round fail instead of waiting for ever.
                        for id in ids {
                            let failed = Error::Other(
                                "a GPU ensemble round failed (a panic while recording or \
                                 reading it back)"
                                    .into(),
                            );
                            rounds.results.insert(id, Err(failed));
                        }
                        self.changed.notify_all();
                        drop(rounds);
                        std::panic::resume_unwind(panic);
                    }
                }
                self.changed.notify_all();
                continue;
            }
            rounds = if rounds.submitting {
                // Woken when the round in flight is read back.
                self.changed.wait(rounds).unwrap_or_else(|e| e.into_inner())
            } else {
                let wait = since.map_or(GATHER_WAIT, |t| GATHER_WAIT.saturating_sub(t.elapsed()));
                self.changed
                    .wait_timeout(rounds, wait.max(Duration::from_micros(100)))
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            };
        }
    }

    /// Records every request's batch into one encoder, submits it once, and reads each
    /// member's reports back.
    fn submit_round(&self, round: Vec<Request>) -> Vec<(usize, Result<Vec<StepReport>>)> {
        let mut backends: Vec<MutexGuard<'_, GpuBackend>> = round
            .iter()
            .map(|r| r.backend.lock().unwrap_or_else(|e| e.into_inner()))
            .collect();
        let mut encoder = self
            .ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("ensemble round"),
            });
        let recorded: Vec<RecordedBatch> = backends
            .iter_mut()
            .zip(&round)
            .map(|(b, r)| b.record_batch(&mut encoder, r.first_step, r.steps))
            .collect();
        self.ctx.queue.submit([encoder.finish()]);
        backends
            .iter_mut()
            .zip(recorded)
            .zip(&round)
            .map(|((b, batch), r)| (r.id, b.finish_batch(batch)))
            .collect()
    }

    fn leave(&self) {
        let mut rounds = self.lock();
        rounds.members = rounds.members.saturating_sub(1);
        self.changed.notify_all();
    }
}

/// One run of a [`GpuEnsemble`]: a [`Backend`] whose batches of steps are submitted with the
/// other members'.
pub struct EnsembleMember {
    ensemble: Arc<GpuEnsemble>,
    backend: Arc<Mutex<GpuBackend>>,
    id: usize,
}

impl EnsembleMember {
    fn backend(&self) -> MutexGuard<'_, GpuBackend> {
        self.backend.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for EnsembleMember {
    fn drop(&mut self) {
        self.ensemble.leave();
    }
}

impl Backend for EnsembleMember {
    fn name(&self) -> String {
        format!("{} (ensemble)", self.backend().name())
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
        self.ensemble
            .advance(self.id, &self.backend, first_step, steps)
    }

    fn snapshot(&self) -> Snapshot {
        self.backend().snapshot()
    }

    fn phase_times(&self) -> PhaseTimes {
        self.backend().phase_times()
    }

    fn save_state(&self) -> BackendState {
        self.backend().save_state()
    }

    fn restore_state(&mut self, state: &BackendState) -> Result<()> {
        self.backend().restore_state(state)
    }
}
