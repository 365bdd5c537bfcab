//! What the command line does, for `mgpf` and for scripts: builds the backend a run asks for
//! (with its notices), runs or resumes a run on it, and the demo. The time loop itself is
//! [`crate::simulation`], which knows no concrete backend.

pub mod bench;
pub mod calibrate;
pub mod demo;
pub mod sweep;

use crate::backend::cpu::CpuBackend;
use crate::backend::gpu::{GpuBackend, GpuContext};
use crate::backend::Backend;
use crate::config::Config;
use crate::error::Result;
use crate::model::params::Params;
use crate::simulation::rundir::prepare_output_dir;
use crate::simulation::{
    memory, report, resumed_loop, ResumedRun, RunOptions, RunSummary, TimeLoop,
};

/// Which backend runs the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// rayon on the CPU cores (the reference).
    Cpu,
    /// wgpu compute shaders on the GPU adapter wgpu picks (`mgpf info` lists them).
    Gpu,
    /// A hardware GPU when one is found, else the CPU (with a one-line notice saying why).
    Auto,
}

/// Validates, converts and runs a config, writing every output into `opts.out_dir`. Every
/// check comes before the directory is touched: `--force` removes an earlier run's outputs only
/// once the run is known to start.
pub fn run(cfg: &Config, backend: BackendKind, opts: &RunOptions) -> Result<RunSummary> {
    run_on(cfg, opts, |cfg, params| make_backend(cfg, params, backend))
}

/// [`run`] on the backend `make` builds for the checked config and its parameters (a sweep's
/// GPU points: a member of its ensemble).
pub fn run_on(
    cfg: &Config,
    opts: &RunOptions,
    make: impl FnOnce(&Config, &Params) -> Result<Box<dyn Backend>>,
) -> Result<RunSummary> {
    let (time_loop, mut backend) = start_on(cfg, opts, make)?;
    time_loop.run(backend.as_mut())
}

/// A run of `cfg` ready to step on a backend of `kind`: the checks of [`run`], the backend
/// built, `opts.out_dir` prepared and the time loop at step 0 (the Python package steps it).
pub fn start(
    cfg: &Config,
    kind: BackendKind,
    opts: &RunOptions,
) -> Result<(TimeLoop, Box<dyn Backend>)> {
    start_on(cfg, opts, |cfg, params| make_backend(cfg, params, kind))
}

/// [`start`] on the backend `make` builds for the checked config and its parameters.
pub fn start_on(
    cfg: &Config,
    opts: &RunOptions,
    make: impl FnOnce(&Config, &Params) -> Result<Box<dyn Backend>>,
) -> Result<(TimeLoop, Box<dyn Backend>)> {
    cfg.validate()?;
    let params = Params::from_config(cfg)?;
    report::check_time_step(&params)?;
    report::check_potential_coupling(&params, &cfg.initial)?;
    let backend = make(cfg, &params)?;
    prepare_output_dir(&opts.out_dir, opts.force)?;
    Ok((TimeLoop::fresh(cfg, &params, opts)?, backend))
}

/// The backend of `kind`; the CPU one only if the host memory holds it (the GPU backend
/// checks the adapter's limits; its host side holds no more than the outputs).
pub fn make_backend(cfg: &Config, params: &Params, kind: BackendKind) -> Result<Box<dyn Backend>> {
    let (resolved, notice) = resolve_backend(params, kind);
    if let Some(why) = notice {
        eprintln!("note: --backend auto: {why}; running on the CPU");
    }
    Ok(match resolved {
        BackendKind::Gpu => {
            // What the GPU does not run is refused before an adapter is sought.
            crate::backend::gpu::check_runs_here(params)?;
            Box::new(GpuBackend::new(
                GpuContext::shared()?,
                params,
                &cfg.initial,
            )?)
        }
        _ => {
            memory::check(params, cfg.run.frames, memory::available())?;
            Box::new(CpuBackend::new(params, &cfg.initial))
        }
    })
}

/// The backend `kind` runs a run of `params` on, [`BackendKind::Cpu`] or [`BackendKind::Gpu`]:
/// `auto` takes a hardware GPU adapter when the GPU backend runs this model, else the CPU, with
/// the reason (the notice's middle: "the only GPU adapter is a software one (llvmpipe ...), ...").
pub fn resolve_backend(params: &Params, kind: BackendKind) -> (BackendKind, Option<String>) {
    let cpu = |why: String| (BackendKind::Cpu, Some(why));
    match kind {
        BackendKind::Cpu | BackendKind::Gpu => (kind, None),
        BackendKind::Auto if params.grid.nz > 1 && !params.nucleus_frames.is_empty() => cpu(
            "the GPU backend runs 3D grids with one crystal orientation so far (initial.nucleus_c_axes is set)".into(),
        ),
        BackendKind::Auto if params.parasitic_current_a_m2 > 0.0 => cpu(
            "the GPU backend does not draw a parasitic current yet (interphase.parasitic_current_ma_cm2 > 0)".into(),
        ),
        BackendKind::Auto if params.tracks_dead_metal => cpu(
            "the GPU backend does not find dead metal yet, which a stripping run needs".into(),
        ),
        BackendKind::Auto if params.implicit_coupling => cpu(
            "the GPU backend couples potential and reaction explicitly so far (numerics.potential_coupling resolves to implicit for this run)".into(),
        ),
        BackendKind::Auto => match GpuContext::shared() {
            Ok(ctx) if ctx.adapter_info.device_type != wgpu::DeviceType::Cpu => {
                (BackendKind::Gpu, None)
            }
            Ok(ctx) => cpu(format!(
                "the only GPU adapter is a software one ({}), slower than the CPU backend",
                ctx.adapter_info.name
            )),
            Err(e) => cpu(e.to_string()),
        },
    }
}

/// Continues the run in `opts.out_dir` from its checkpoint on a backend of `kind`, with the
/// `overrides` ([`crate::simulation::RESUMABLE_KEYS`] only) laid over its config; with `cfg`,
/// only if it is the config the run was started with ([`ResumedRun::open`]).
pub fn resume(
    cfg: Option<&Config>,
    overrides: &[String],
    kind: BackendKind,
    opts: &RunOptions,
) -> Result<RunSummary> {
    resume_on(cfg, overrides, opts, |cfg, params| {
        make_backend(cfg, params, kind)
    })
}

/// [`resume`] on the backend `make` builds for the run's config and parameters.
pub fn resume_on(
    cfg: Option<&Config>,
    overrides: &[String],
    opts: &RunOptions,
    make: impl FnOnce(&Config, &Params) -> Result<Box<dyn Backend>>,
) -> Result<RunSummary> {
    let (time_loop, mut backend) = resume_start_on(cfg, overrides, opts, make)?;
    time_loop.run(backend.as_mut())
}

/// The run in `opts.out_dir` ready to go on from its checkpoint on a backend of `kind` (the
/// checks of [`resume`]; the Python package steps it).
pub fn resume_start(
    overrides: &[String],
    kind: BackendKind,
    opts: &RunOptions,
) -> Result<(TimeLoop, Box<dyn Backend>)> {
    resume_start_on(None, overrides, opts, |cfg, params| {
        make_backend(cfg, params, kind)
    })
}

/// [`resume_start`] on the backend `make` builds, with `cfg` as in [`resume`].
pub fn resume_start_on(
    cfg: Option<&Config>,
    overrides: &[String],
    opts: &RunOptions,
    make: impl FnOnce(&Config, &Params) -> Result<Box<dyn Backend>>,
) -> Result<(TimeLoop, Box<dyn Backend>)> {
    let run = ResumedRun::open(&opts.out_dir, cfg, overrides)?;
    let mut backend = make(&run.cfg, &run.params)?;
    let time_loop = resumed_loop(run, backend.as_mut(), opts)?;
    Ok((time_loop, backend))
}
