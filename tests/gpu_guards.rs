//! Field guards on the device (`check_fields` of shaders/guards.wgsl) against the CPU backend's
//! `check_fields`: the same bounds, the first bad cell in memory order of the first failing
//! field (xi, c, φ), the first failing step of a batch, and the same error text. The device
//! stores the concentration as its excess u = c/c0 − 1 and, as the CPU, guards c = 1 + u (f32).
//!
//! In CI (`CI` set) a missing adapter fails; elsewhere the tests skip with a message.

mod gpu_common;

use mgpf::backend::cpu::CpuBackend;
use mgpf::backend::gpu::buffers::{read_back, storage_buffer};
use mgpf::backend::gpu::context::step_scalar;
use mgpf::backend::gpu::kernels::{
    clear_field_guard, field_guard, field_guard_buffer, first_failure, submit, GuardKernels,
    RunConstants,
};
use mgpf::backend::gpu::GpuBackend;
use mgpf::backend::guards::{self, CONCENTRATION_FLOOR};
use mgpf::backend::{Backend, BackendState, PhaseTimes, Snapshot, StepReport};
use mgpf::config::Config;
use mgpf::model::params::Params;
use mgpf::simulation::{run_with_backend, RunOptions};

/// A backend with a NaN planted in xi just before one step, through the state a checkpoint
/// holds (save_state, edit, restore_state): the same hook for the CPU and the GPU.
struct PlantedNan<B: Backend> {
    inner: B,
    at_step: u64,
    cell: (usize, usize, usize),
    /// (first step, steps) of each advance call.
    batches: Vec<(u64, u64)>,
}

impl<B: Backend> PlantedNan<B> {
    fn new(inner: B, at_step: u64, cell: (usize, usize, usize)) -> Self {
        PlantedNan {
            inner,
            at_step,
            cell,
            batches: Vec::new(),
        }
    }

    fn plant(&mut self) {
        let mut state = self.inner.save_state();
        let xi = state
            .fields
            .iter_mut()
            .find(|(name, _)| name == "order_parameter")
            .unwrap();
        xi.1[self.cell] = f32::NAN;
        self.inner.restore_state(&state).unwrap();
    }
}

impl<B: Backend> Backend for PlantedNan<B> {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn step(&mut self, step: u64) -> mgpf::Result<StepReport> {
        Ok(self.advance(step, 1)?.remove(0))
    }
    fn max_batch(&self) -> u64 {
        self.inner.max_batch()
    }
    /// Stops a batch before the planted step; plants at its start.
    fn advance(&mut self, first: u64, steps: u64) -> mgpf::Result<Vec<StepReport>> {
        let steps = if first < self.at_step && self.at_step < first + steps {
            self.at_step - first
        } else {
            steps
        };
        if first == self.at_step {
            self.plant();
        }
        self.batches.push((first, steps));
        self.inner.advance(first, steps)
    }
    fn snapshot(&self) -> Snapshot {
        self.inner.snapshot()
    }
    fn phase_times(&self) -> PhaseTimes {
        self.inner.phase_times()
    }
    fn save_state(&self) -> BackendState {
        self.inner.save_state()
    }
    fn restore_state(&mut self, state: &BackendState) -> mgpf::Result<()> {
        self.inner.restore_state(state)
    }
}

/// The CPU's and `gpu`'s errors when a NaN planted at `cell` before step `at` stops an 8-step
/// batch (`gpu` keeps its batches for the caller to inspect).
fn planted_failures(
    p: &Params,
    cfg: &Config,
    gpu: &mut PlantedNan<GpuBackend>,
    at: u64,
    cell: (usize, usize, usize),
) -> (String, String) {
    let run = |backend: &mut dyn Backend| -> String {
        backend.advance(0, at).unwrap();
        let e = backend
            .advance(at, 8)
            .expect_err("the planted NaN must stop the batch");
        e.to_string()
    };
    let want = run(&mut PlantedNan::new(
        CpuBackend::new(p, &cfg.initial),
        at,
        cell,
    ));
    let got = run(gpu);
    println!("cpu: {want}\ngpu: {got}");
    (want, got)
}

fn demo(nx: usize, ny: usize) -> (Config, Params) {
    let mut cfg = Config::default_demo();
    cfg.grid.nx = nx;
    cfg.grid.ny = ny;
    cfg.initial.deposit_height_um = 3.0;
    let p = Params::from_config(&cfg).unwrap();
    (cfg, p)
}

/// (i, j) of "cell (i = .., j = ..)" in an error message.
fn cell_of(msg: &str) -> (usize, usize) {
    let number_after = |key: &str| -> usize {
        let rest = &msg[msg.find(key).unwrap() + key.len()..];
        rest[..rest.find(|c: char| !c.is_ascii_digit()).unwrap()]
            .parse()
            .unwrap()
    };
    (number_after("(i = "), number_after("j = "))
}

#[test]
fn a_nan_planted_inside_a_batch_fails_the_step_and_cell_the_cpu_names() {
    let Some(ctx) = gpu_common::gpu() else { return };
    let (cfg, p) = demo(24, 32);
    let (at, cell) = (35, (5, 7, 0));
    let mut gpu = PlantedNan::new(GpuBackend::new(ctx, &p, &cfg.initial).unwrap(), at, cell);
    let (want, got) = planted_failures(&p, &cfg, &mut gpu, at, cell);
    println!("gpu batches: {:?}", gpu.batches);
    assert_eq!(
        gpu.batches.last(),
        Some(&(at, 8)),
        "the planted step opens an 8-step batch"
    );
    assert!(
        got.contains(&format!("step {at}")) && got.contains("order_parameter = NaN at cell (i = "),
        "{got}"
    );
    // Within the step the NaN reaches the 5×5 stencil around the planted cell (orientation,
    // then the Allen–Cahn divergence); the guard names the first such cell in memory order.
    let (i, j) = cell_of(&got);
    println!("planted at {cell:?}, reported at ({i}, {j})");
    assert!(i.abs_diff(cell.0) <= 2 && j.abs_diff(cell.1) <= 2);
    assert_eq!(got, want);
}

#[test]
fn planted_nan_stops_a_gpu_run_and_keeps_the_last_good_checkpoint() {
    let Some(ctx) = gpu_common::gpu() else { return };
    let (mut cfg, _) = demo(24, 32);
    cfg.run.checkpoint_every_steps = 10;
    let p = Params::from_config(&cfg).unwrap();
    let mut backend = PlantedNan::new(
        GpuBackend::new(ctx, &p, &cfg.initial).unwrap(),
        35,
        (5, 7, 0),
    );
    let dir = tempfile::tempdir().unwrap();
    let err = run_with_backend(&cfg, &p, &mut backend, &RunOptions::new(dir.path()))
        .expect_err("the planted NaN must stop the run");
    let msg = err.to_string();
    println!("{msg}\nbatches: {:?}", backend.batches);
    assert!(
        msg.contains("step 35") && msg.contains("order_parameter = NaN at cell (i = "),
        "{msg}"
    );
    let (i, j) = cell_of(&msg);
    println!("planted at (5, 7), reported at ({i}, {j})");
    assert!(i.abs_diff(5) <= 2 && j.abs_diff(7) <= 2);
    let ck =
        mgpf::simulation::checkpoint::read(dir.path()).expect("the last good checkpoint is kept");
    println!("checkpoint at step {} (expected 30)", ck.progress.step);
    assert_eq!(ck.progress.step, 30);
    let xi = ck.state.field("order_parameter").unwrap();
    assert!(xi.iter().all(|v| v.is_finite()));
}

/// Runs check_fields on the given fields (xi, the excess u = c/c0 − 1, φ) as step `step` and
/// returns the guard's words.
fn check(
    ctx: &'static mgpf::backend::gpu::GpuContext,
    p: &Params,
    guard: &wgpu::Buffer,
    fields: [&[f32]; 3],
    step: u32,
) -> Vec<u32> {
    let mut scalars = vec![0.0f32; step_scalar::COUNT as usize];
    scalars[step_scalar::STEP as usize] = f32::from_bits(step);
    let [xi, excess, phi] = fields.map(|f| storage_buffer(ctx, "field", f));
    let s = storage_buffer(ctx, "step scalars", &scalars);
    let k = RunConstants::from_params(p).buffer(ctx);
    let checks =
        GuardKernels::new(ctx).check_fields(ctx, p.grid, &k, &xi, &excess, &phi, &s, guard);
    submit(ctx, &[&checks]);
    read_back(ctx, guard, field_guard::WORDS as usize)
}

#[test]
fn check_fields_applies_the_cpu_bounds_and_keeps_the_first_failing_step() {
    let Some(ctx) = gpu_common::gpu() else { return };
    // 40 × 50: no multiple of the 16 × 16 workgroup.
    let (_, p) = demo(40, 50);
    let (nx, ny) = (p.grid.nx, p.grid.ny);
    let n = nx * ny;
    let at = |i: usize, j: usize| i * ny + j;
    // The concentration's bound in the stored excess: the last f32 u whose c = 1 + u passes
    // c ≥ −1e-4 (CpuBackend::check_fields' guards::healthy on 1 + u) and the first that fails.
    let passes = |u: f32| guards::healthy(1, 1.0 + u, 0.0);
    let mut u_pass = CONCENTRATION_FLOOR - 1.0;
    while !passes(u_pass) {
        u_pass = u_pass.next_up();
    }
    while passes(u_pass.next_down()) {
        u_pass = u_pass.next_down();
    }
    let u_fail = u_pass.next_down();
    println!(
        "excess bound: u = {u_pass:e} (c = {:e}) passes, u = {u_fail:e} (c = {:e}) fails",
        1.0 + u_pass,
        1.0 + u_fail
    );
    // Healthy fields with values on the bounds: xi = −0.1 and 1.1 pass, u_pass passes, c far
    // below zero passes inside the metal (xi ≥ ½).
    let mut xi: Vec<f32> = (0..n).map(|m| if m < n / 4 { 1.0 } else { 0.0 }).collect();
    let mut u = vec![0.0f32; n];
    let mut phi = vec![-0.01f32; n];
    xi[at(20, 3)] = -0.1;
    xi[at(3, 4)] = 1.1;
    u[at(22, 5)] = u_pass;
    u[at(2, 2)] = -1.3;
    let guard = field_guard_buffer(ctx);
    let words = check(ctx, &p, &guard, [&xi, &u, &phi], 7);
    println!("healthy fields: guard words {words:?} (expected all NONE)");
    assert!(words.iter().all(|&w| w == field_guard::NONE));

    // Bad cells: φ = ∞ first in memory order, then u_fail in the electrolyte, then xi = 1.2
    // and xi = NaN. The first field in the order xi, c, φ is named, at its first cell.
    phi[at(1, 1)] = f32::INFINITY;
    u[at(30, 8)] = u_fail;
    xi[at(33, 9)] = 1.2;
    xi[at(36, 0)] = f32::NAN;
    let words = check(ctx, &p, &guard, [&xi, &u, &phi], 7);
    let (step, e) = first_failure(p.grid, &words).expect("a failure is recorded");
    let msg = e.to_string();
    println!("step 7: {msg}");
    assert_eq!(step, 7);
    assert!(
        msg.starts_with("solver failure at step 7: order_parameter = 1.2 at cell (i = 33, j = 9)"),
        "{msg}"
    );
    let cell = |f: u32| words[(field_guard::CELL + f) as usize];
    let value = |f: u32| f32::from_bits(words[(field_guard::VALUE + f) as usize]);
    println!(
        "cells recorded: xi {} (expect {}), c {} (expect {}), φ {} (expect {}); c = {} (expect 1 + u = {})",
        cell(0), at(33, 9), cell(1), at(30, 8), cell(2), at(1, 1), value(1), 1.0 + u_fail
    );
    assert_eq!(
        [cell(0), cell(1), cell(2)],
        [at(33, 9) as u32, at(30, 8) as u32, at(1, 1) as u32]
    );
    assert_eq!((value(1), value(2)), (1.0 + u_fail, f32::INFINITY));

    // A later step with an earlier bad cell leaves the first failing step's record alone.
    xi[at(0, 0)] = -0.5;
    let later = check(ctx, &p, &guard, [&xi, &u, &phi], 8);
    println!(
        "step 8 after step 7 failed: first step recorded {} (expected 7)",
        later[0]
    );
    assert_eq!(later, words);

    // Cleared, with xi healthy: the concentration is named.
    clear_field_guard(ctx, &guard);
    xi[at(0, 0)] = 1.0;
    xi[at(33, 9)] = 0.0;
    xi[at(36, 0)] = 0.0;
    let words = check(ctx, &p, &guard, [&xi, &u, &phi], 9);
    let msg = first_failure(p.grid, &words).unwrap().1.to_string();
    println!("step 9: {msg}");
    let want = format!(
        "step 9: concentration = {} at cell (i = 30, j = 8) (x = 15.25 µm, y = 4.25 µm)",
        1.0 + u_fail
    );
    assert!(msg.contains(&want), "{msg}\nexpected: {want}");
}

/// In 3D the device's guard names the (i, j, k) cell the CPU names, in the CPU's words: a NaN
/// planted at (5, 7, 3) of a 24 × 12 × 8 grid inside a batch.
#[test]
fn a_nan_planted_in_3d_is_named_by_its_i_j_k_cell_as_on_the_cpu() {
    let Some(ctx) = gpu_common::gpu() else { return };
    let (mut cfg, _) = demo(24, 12);
    cfg.grid.nz = 8;
    let p = Params::from_config(&cfg).unwrap();
    let (at, cell) = (12, (5, 7, 3));
    let mut gpu = PlantedNan::new(GpuBackend::new(ctx, &p, &cfg.initial).unwrap(), at, cell);
    let (want, got) = planted_failures(&p, &cfg, &mut gpu, at, cell);
    assert!(
        got.contains(&format!("step {at}")) && got.contains(", k = "),
        "{got}"
    );
    assert_eq!(got, want);
}
