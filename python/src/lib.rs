//! `mgpf._mgpf`: the mgpf crate as a Python extension module. It only translates: configs are
//! mgpf's `Config` (loaded, overridden and validated by mgpf), a simulation is mgpf's time loop
//! on a backend `mgpf::cli` builds, errors are mgpf's messages as Python exceptions. The
//! Pythonic face (progress bar, DataFrames, docstrings) is the `mgpf` package around it.

use mgpf::backend::Backend;
use mgpf::backend::SnapshotViews;
use mgpf::cli::{self, BackendKind};
use mgpf::config::Config;
use mgpf::model::units::MAH_CM2_IN_C_M2;
use mgpf::simulation::{Interrupt, Pause, RunOptions, StopReason, Tick, TimeLoop};
use mgpf::Error;
use ndarray::ArrayViewMut3;
use numpy::ndarray::IxDyn;
use numpy::{PyArrayDyn, PyArrayMethods};
use pyo3::exceptions::{
    PyFileExistsError, PyFileNotFoundError, PyKeyboardInterrupt, PyOSError, PyRuntimeError,
    PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// mgpf's error as the Python exception a caller expects: a bad key or value is a ValueError
/// with the CLI's message, a missing file FileNotFoundError, a non-empty output directory
/// FileExistsError, a missing GPU or a failed solve RuntimeError.
fn py_err(e: Error) -> PyErr {
    // The CLI's message, its flags named as the Python arguments.
    let message = e
        .to_string()
        .replace("use --force", "use force=True")
        .replace("--backend cpu", "backend=\"cpu\"");
    match e {
        Error::Config { .. } | Error::Parse { .. } => PyValueError::new_err(message),
        Error::Io { ref source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(message)
        }
        Error::Io { .. } | Error::Image { .. } => PyOSError::new_err(message),
        Error::OutputNotEmpty(_) => PyFileExistsError::new_err(message),
        Error::Interrupted { .. } | Error::StudyInterrupted { .. } => {
            PyKeyboardInterrupt::new_err(message)
        }
        Error::Solver { .. } | Error::Checkpoint(_) | Error::Gpu(_) | Error::Other(_) => {
            PyRuntimeError::new_err(message)
        }
    }
}

fn backend_kind(name: &str) -> PyResult<BackendKind> {
    match name {
        "cpu" => Ok(BackendKind::Cpu),
        "gpu" => Ok(BackendKind::Gpu),
        "auto" => Ok(BackendKind::Auto),
        other => Err(PyValueError::new_err(format!(
            "backend = {other:?} is not one of \"cpu\", \"gpu\", \"auto\""
        ))),
    }
}

/// The arrays `Simulation.fields()` returns, in [`SnapshotViews`]' order (the layer's array
/// becomes the interphase).
const FIELD_NAMES: [&str; 6] = [
    "order_parameter",
    "concentration",
    "potential",
    "plating_rate",
    "interphase",
    "blocked",
];

/// A validated mgpf config (the TOML of `mgpf run`).
#[pyclass(name = "Config", module = "mgpf._mgpf")]
#[derive(Clone)]
struct PyConfig {
    inner: Config,
}

#[pymethods]
impl PyConfig {
    /// Reads a config file with `set` (["key.path=value", ...]) laid over it, as `mgpf run
    /// FILE --set ...` does.
    #[staticmethod]
    #[pyo3(signature = (path, set = Vec::new()))]
    fn from_file(path: PathBuf, set: Vec<String>) -> PyResult<Self> {
        Config::load(&path, &set)
            .map(|inner| PyConfig { inner })
            .map_err(py_err)
    }

    /// The built-in defaults (`mgpf demo`'s 2D run) under the interphase preset `name`.
    #[staticmethod]
    fn from_preset(name: &str) -> PyResult<Self> {
        Config::default_demo()
            .with_overrides(
                &[format!("interphase.preset={name}")],
                "the built-in defaults",
            )
            .map(|inner| PyConfig { inner })
            .map_err(py_err)
    }

    /// Parses a config from TOML text.
    #[staticmethod]
    #[pyo3(signature = (text, origin = "the TOML text"))]
    fn from_toml(text: &str, origin: &str) -> PyResult<Self> {
        Config::from_toml_str(text, origin)
            .map(|inner| PyConfig { inner })
            .map_err(py_err)
    }

    /// Lays the `key.path=value` assignments (a TOML value, or a bare word taken as a string)
    /// over the config in order and validates the result once, as `--set ... --set ...` is;
    /// the config is unchanged where that fails.
    fn set(&mut self, assignments: Vec<String>) -> PyResult<()> {
        self.inner = self
            .inner
            .with_overrides(&assignments, "the config")
            .map_err(py_err)?;
        Ok(())
    }

    /// The config with every default filled in, as TOML (`mgpf check` prints it).
    fn to_toml(&self) -> String {
        self.inner.to_toml_string()
    }

    /// The value at `key.path` as JSON text (None: no such key).
    fn get_json(&self, key: &str) -> PyResult<Option<String>> {
        let tree = serde_json::to_value(&self.inner)
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
        let mut node = &tree;
        for part in key.split('.') {
            match node.get(part) {
                Some(next) => node = next,
                None => return Ok(None),
            }
        }
        Ok(Some(node.to_string()))
    }

    /// (nx, ny, nz) and Δx in µm.
    #[getter]
    fn grid(&self) -> ((usize, usize, usize), f64) {
        let g = &self.inner.grid;
        ((g.nx, g.ny, g.nz), g.dx_um)
    }
}

/// A run between two steps: its time loop and its backend.
struct Running {
    time_loop: TimeLoop,
    backend: Box<dyn Backend>,
    /// Why the run cannot go on: a step or an output failed (the state may be half-updated).
    failed: Option<String>,
}

impl Running {
    /// Turns the loop until `pause`, the end, `budget` of wall time, or a signal Python must
    /// handle (checked between steps); writes the last outputs at the end.
    fn advance(&mut self, pause: &Pause, budget: Duration) -> PyResult<(u64, &'static str)> {
        if let Some(why) = &self.failed {
            return Err(PyRuntimeError::new_err(format!(
                "the run cannot go on: {why} (its outputs up to there are in its directory)"
            )));
        }
        let start = Instant::now();
        let first = self.time_loop.progress().step;
        let state = loop {
            let tick = self.time_loop.tick(self.backend.as_mut(), pause);
            let tick = tick.map_err(|e| self.fail(e))?;
            match tick {
                Tick::Paused => break "paused",
                Tick::Done(_) => {
                    if !self.time_loop.finished() {
                        let finished = self.time_loop.finish(self.backend.as_ref());
                        finished.map_err(|e| self.fail(e))?;
                    }
                    break "done";
                }
                Tick::Stepped => {
                    Python::attach(|py| py.check_signals())?;
                    if start.elapsed() >= budget {
                        break "running";
                    }
                }
            }
        };
        Ok((self.time_loop.progress().step - first, state))
    }

    /// Records that the run failed with `e` and returns it as a Python exception.
    fn fail(&mut self, e: Error) -> PyErr {
        self.failed = Some(e.to_string());
        py_err(e)
    }
}

/// A run of a config on a backend, stepped from Python; its outputs go to `out_dir` as
/// `mgpf run --out` writes them.
#[pyclass(name = "Simulation", module = "mgpf._mgpf")]
struct PySimulation {
    run: Mutex<Running>,
    out_dir: PathBuf,
}

impl PySimulation {
    /// `f` on the run, with the GIL released while it waits for the run (a step in progress on
    /// another thread holds it) and while it works: no thread ever waits for the run holding
    /// the GIL that the stepping thread needs to check for signals.
    fn with_run<R: Send>(&self, py: Python<'_>, f: impl FnOnce(&mut Running) -> R + Send) -> R {
        py.detach(|| {
            // A panic while stepping (Python sees a PanicException) poisons the lock: the
            // fields may still be read, but the run does not go on from a half-taken step.
            let mut run: MutexGuard<'_, Running> = self.run.lock().unwrap_or_else(|poisoned| {
                let mut run = poisoned.into_inner();
                run.failed
                    .get_or_insert_with(|| "a step panicked (a bug: please report it)".into());
                run
            });
            f(&mut run)
        })
    }

    /// The simulation of a run `cli::start` or `cli::resume_start` made ready.
    fn started(
        started: mgpf::Result<(TimeLoop, Box<dyn Backend>)>,
        out_dir: PathBuf,
    ) -> PyResult<Self> {
        let (time_loop, backend) = started.map_err(py_err)?;
        Ok(PySimulation {
            run: Mutex::new(Running {
                time_loop,
                backend,
                failed: None,
            }),
            out_dir,
        })
    }

    fn options(out_dir: PathBuf, force: bool) -> RunOptions {
        RunOptions {
            force,
            ..RunOptions::new(out_dir)
        }
    }
}

#[pymethods]
impl PySimulation {
    /// Checks `config` as `mgpf run` does, builds the backend and prepares `out` (refused
    /// where not empty unless `force`). `backend`: "cpu", "gpu" or "auto".
    #[new]
    #[pyo3(signature = (config, backend = "cpu", out = PathBuf::new(), force = false))]
    fn new(
        py: Python<'_>,
        config: PyRef<'_, PyConfig>,
        backend: &str,
        out: PathBuf,
        force: bool,
    ) -> PyResult<Self> {
        let kind = backend_kind(backend)?;
        let cfg = config.inner.clone();
        let opts = Self::options(out.clone(), force);
        Self::started(py.detach(|| cli::start(&cfg, kind, &opts)), out)
    }

    /// The run in `dir` from its checkpoint, its outputs going on there; `set` may change
    /// only run.max_steps and the checkpoint schedule (as `mgpf run --resume DIR --set`).
    #[staticmethod]
    #[pyo3(signature = (dir, backend = "cpu", set = Vec::new()))]
    fn resume(py: Python<'_>, dir: PathBuf, backend: &str, set: Vec<String>) -> PyResult<Self> {
        let kind = backend_kind(backend)?;
        let opts = Self::options(dir.clone(), false);
        Self::started(py.detach(|| cli::resume_start(&set, kind, &opts)), dir)
    }

    /// Steps until `steps` more steps, the simulated time `time_s`, the charge magnitude
    /// `charge_mah_cm2`, the end of the run, or `budget_s` of wall time, with the GIL released;
    /// a signal (Ctrl-C) stops it between two steps. Returns (steps taken, "paused" | "done" |
    /// "running").
    #[pyo3(signature = (steps = None, time_s = None, charge_mah_cm2 = None, budget_s = f64::INFINITY))]
    fn advance(
        &self,
        py: Python<'_>,
        steps: Option<u64>,
        time_s: Option<f64>,
        charge_mah_cm2: Option<f64>,
        budget_s: f64,
    ) -> PyResult<(u64, &'static str)> {
        let budget = Duration::try_from_secs_f64(budget_s.max(0.0)).unwrap_or(Duration::MAX);
        self.with_run(py, |run| {
            let pause = Pause {
                at_step: steps.map(|n| run.time_loop.progress().step.saturating_add(n)),
                at_time_s: time_s,
                at_charge_c_m2: charge_mah_cm2.map(|q| q * MAH_CM2_IN_C_M2),
            };
            run.advance(&pause, budget)
        })
    }

    /// The fields where the run stands, as new float32 arrays of shape (nx, ny) in 2D or
    /// (nx, ny, nz) in 3D, axis 0 the growth axis x: order_parameter, concentration (c/c0),
    /// potential (V), plating_rate (1/s), interphase (as final.vti holds it), blocked.
    fn fields<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let g = self.with_run(py, |run| run.time_loop.params().grid);
        let dims = (g.nx, g.ny, g.nz);
        let shape = if g.nz == 1 {
            vec![g.nx, g.ny]
        } else {
            vec![g.nx, g.ny, g.nz]
        };
        // numpy's own memory (it asks the kernel for huge pages), filled by one copy.
        let arrays: Vec<Bound<'py, PyArrayDyn<f32>>> = FIELD_NAMES
            .iter()
            .map(|_| unsafe { PyArrayDyn::<f32>::new(py, IxDyn(&shape), false) })
            .collect();
        let mut slices = Vec::with_capacity(arrays.len());
        for array in &arrays {
            // SAFETY: each array is new, C-contiguous and seen by no one else until returned.
            slices.push(unsafe { array.as_slice_mut() }.map_err(|e| {
                PyRuntimeError::new_err(format!("a new array is not contiguous: {e}"))
            })?);
        }
        let Ok([xi, c, phi, rate, interphase, blocked]) = <[&mut [f32]; 6]>::try_from(slices)
        else {
            unreachable!("six fields");
        };
        self.with_run(py, |run| {
            let view = |s| ArrayViewMut3::from_shape(dims, s).expect("the grid's cells");
            let mut views = SnapshotViews {
                order_parameter: view(xi),
                concentration: view(c),
                potential: view(phi),
                plating_rate: view(rate),
                layer: view(interphase),
                blocked: view(blocked),
            };
            run.backend.snapshot_into(&mut views);
            mgpf::output::layer_to_interphase(
                run.time_loop.params(),
                views.order_parameter.view(),
                views.layer.view_mut(),
            );
        });
        let dict = PyDict::new(py);
        for (name, array) in FIELD_NAMES.iter().zip(arrays) {
            dict.set_item(name, array)?;
        }
        Ok(dict)
    }

    /// metrics.csv as written so far (header and rows).
    fn metrics_csv(&self, py: Python<'_>) -> String {
        self.with_run(py, |run| run.time_loop.progress().csv.clone())
    }

    /// Writes a checkpoint of where the run stands into `dir` and metrics.csv so far (what an
    /// interrupted `mgpf run` leaves; `mgpf run --resume` continues it).
    fn write_checkpoint(&self, py: Python<'_>, dir: PathBuf) -> PyResult<()> {
        self.with_run(py, |run| {
            if run.time_loop.stopped().is_some() {
                return Err(PyRuntimeError::new_err(
                    "the run has ended: its outputs are final and it has nothing to continue",
                ));
            }
            run.time_loop
                .write_checkpoint(run.backend.as_ref(), &dir)
                .map_err(py_err)
        })
    }

    /// The index of the next step (the steps taken since the run began).
    #[getter]
    fn step(&self, py: Python<'_>) -> u64 {
        self.with_run(py, |run| run.time_loop.progress().step)
    }

    /// The simulated time (s).
    #[getter]
    fn time_s(&self, py: Python<'_>) -> f64 {
        self.with_run(py, |run| run.time_loop.progress().time_s)
    }

    /// The charge passed (mAh/cm², negative while stripping).
    #[getter]
    fn charge_mah_cm2(&self, py: Python<'_>) -> f64 {
        self.with_run(py, |run| {
            run.time_loop.progress().charge_c_m2 / MAH_CM2_IN_C_M2
        })
    }

    /// How far the run is towards its end condition (1 at the end).
    #[getter]
    fn fraction(&self, py: Python<'_>) -> f64 {
        self.with_run(py, |run| run.time_loop.fraction())
    }

    /// None while the run goes on, else "end_condition" or "max_steps".
    #[getter]
    fn stop_reason(&self, py: Python<'_>) -> Option<&'static str> {
        self.with_run(py, |run| run.time_loop.stopped())
            .map(|r| match r {
                StopReason::EndCondition => "end_condition",
                StopReason::MaxSteps => "max_steps",
            })
    }

    /// The backend's name ("cpu (rayon, 2 threads)", the GPU adapter's).
    #[getter]
    fn backend_name(&self, py: Python<'_>) -> String {
        self.with_run(py, |run| run.backend.name())
    }

    /// The config the run follows.
    #[getter]
    fn config(&self, py: Python<'_>) -> PyConfig {
        PyConfig {
            inner: self.with_run(py, |run| run.time_loop.config().clone()),
        }
    }

    /// Where the outputs go.
    #[getter]
    fn out_dir(&self) -> PathBuf {
        self.out_dir.clone()
    }
}

/// Empties `dir` of an earlier run's outputs (with `force`) or refuses a non-empty one, as
/// `mgpf run --out DIR [--force]` does.
#[pyfunction]
fn prepare_output_dir(dir: PathBuf, force: bool) -> PyResult<()> {
    mgpf::simulation::rundir::prepare_output_dir(&dir, force).map_err(py_err)
}

/// Why `--backend auto` would run `config` on the CPU (None: it takes a hardware GPU).
#[pyfunction]
fn auto_backend_notice(py: Python<'_>, config: PyRef<'_, PyConfig>) -> PyResult<Option<String>> {
    let cfg = config.inner.clone();
    py.detach(|| {
        let params = mgpf::model::params::Params::from_config(&cfg)?;
        Ok(cli::resolve_backend(&params, BackendKind::Auto).1)
    })
    .map_err(py_err)
}

/// `mgpf sweep CONFIG --vary ... --out OUT`: runs the study's points (skipping finished ones,
/// resuming interrupted ones) and writes sweep.csv and the rest. Ctrl-C asks the running
/// points to checkpoint and stop, then raises KeyboardInterrupt. Returns (points run, points
/// already finished).
#[pyfunction]
#[pyo3(signature = (config, vary, out, zip = false, seeds = None, set = Vec::new(), backend = "cpu", jobs = 1, metric = None))]
#[allow(clippy::too_many_arguments)]
fn sweep(
    py: Python<'_>,
    config: PathBuf,
    vary: Vec<String>,
    out: PathBuf,
    zip: bool,
    seeds: Option<u32>,
    set: Vec<String>,
    backend: &str,
    jobs: usize,
    metric: Option<String>,
) -> PyResult<(usize, usize)> {
    use mgpf::cli::sweep::{self as study_run, SweepOptions};
    use mgpf::study::points::Study;
    let kind = backend_kind(backend)?;
    let varies = vary
        .iter()
        .map(|v| mgpf::study::spec::parse_vary(v))
        .collect::<mgpf::Result<Vec<_>>>()
        .map_err(py_err)?;
    let study = Study::new(&config, set, varies, zip, seeds).map_err(py_err)?;
    let interrupt = Interrupt::default();
    let defaults = SweepOptions::new(&out);
    let opts = SweepOptions {
        backend: kind,
        jobs,
        metric: metric.unwrap_or(defaults.metric.clone()),
        interrupt: Some(interrupt.clone()),
        ..defaults
    };
    let worker = std::thread::spawn(move || study_run::sweep(&study, &opts));
    // Python handles Ctrl-C on this thread: it is passed on to the points as SIGINT would be.
    while !worker.is_finished() {
        py.detach(|| std::thread::sleep(Duration::from_millis(50)));
        if let Err(e) = py.check_signals() {
            interrupt.raise(2);
            let _ = py.detach(|| worker.join());
            return Err(e);
        }
    }
    let report = worker
        .join()
        .map_err(|_| PyRuntimeError::new_err("the sweep's thread panicked"))?
        .map_err(py_err)?;
    Ok((report.ran, report.skipped))
}

/// The interphase presets: (name, one-line summary).
#[pyfunction]
fn presets() -> Vec<(String, String)> {
    mgpf::config::presets::Preset::ALL
        .iter()
        .map(|p| (p.name().to_string(), p.summary()))
        .collect()
}

#[pymodule]
fn _mgpf(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // As the CLI does: Mesa's device-select layer prints spurious errors where XDG_RUNTIME_DIR
    // is unset; leave it out unless the user chose.
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        std::env::set_var("NODEVICE_SELECT", "1");
    }
    m.add_class::<PyConfig>()?;
    m.add_class::<PySimulation>()?;
    m.add_function(wrap_pyfunction!(prepare_output_dir, m)?)?;
    m.add_function(wrap_pyfunction!(auto_backend_notice, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(presets, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
