//! The backend trait: a backend owns the fields, advances the model one step at a time and
//! hands back snapshots. The model (parameters, kernels' equations, control, time step) is the
//! same for every backend; the CPU backend is the reference.

pub mod cpu;
pub mod gpu;
pub mod guards;

use crate::grid::{Field, Grid, Real};
use crate::model::state::ModelState;
use crate::model::timestep::Bound;
use crate::numerics::SolveStats;
use crate::Result;
use ndarray::ArrayViewMut3;

/// Scalars of one step, reduced on the backend.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepReport {
    pub dt: f64,
    pub bound: Bound,
    /// Collector potential vs the bulk electrolyte after the control update (V).
    pub applied_potential_v: f64,
    /// Current density passed this step (A/m², positive plating): the metal's, from Σ Δxi, plus
    /// the parasitic one.
    pub current_density_a_m2: f64,
    /// The part of it spent on the interphase, depositing no metal (A/m²; 0 but while plating
    /// under a layer with `interphase.parasitic_current_ma_cm2`).
    #[serde(default)]
    pub parasitic_current_a_m2: f64,
    /// Ions entering through the bulk face x = L this step (c/c0 · µm² per unit depth).
    pub boundary_inflow: f64,
    pub control_iterations: u32,
    pub potential_solve: SolveStats,
    pub concentration_solve: SolveStats,
    /// Largest Λ = L_η |R| / (L_σ W) over interface cells.
    pub lambda_max: f64,
    /// The galvanostatic target needed a potential beyond [`ControlSetting::cutoff_v`]: the step
    /// was taken at the cut-off, passing less current than the target; or, over an inert
    /// collector, the plated metal ran out (the collector refused over half of a stripping
    /// step's dissolution), where a galvanostat's potential runs to the cut-off.
    #[serde(default)]
    pub at_cutoff: bool,
}

/// What the time loop asks of a galvanostatic control for the steps ahead: a cycling schedule's
/// half-cycle (plating, stripping or rest). Replaces `[control]`'s current for the rest of the run.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ControlSetting {
    /// The target (A/m²): positive plates, negative strips, 0 rests at open circuit.
    pub current_density_a_m2: f64,
    /// The current the search's relative tolerance refers to (A/m², > 0): the target's
    /// magnitude, or at rest the plating current.
    pub tolerance_scale_a_m2: f64,
    /// A potential the electrode does not pass (V, > 0, stripping): a step whose target needs
    /// more is taken at it, passing less current, and reported [`StepReport::at_cutoff`].
    pub cutoff_v: Option<f64>,
    /// The longest next step (s): the step that ends a half-cycle on its capacity.
    pub max_dt_s: Option<f64>,
}

/// Fields downloaded from a backend for output: the model's own fields, no picture choices
/// (what a frame draws of the interphase is [`crate::output::interphase_picture`]'s).
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub order_parameter: Field,
    pub concentration: Field,
    pub potential: Field,
    /// Butler–Volmer part of ∂xi/∂t in the last step (1/s): where the interphase lets the
    /// plating current through (the noise and the capillary terms left out).
    pub plating_rate: Field,
    /// The resolved interphase band's indicator s (R2; 0 everywhere under a sub-grid layer).
    pub layer: Field,
    /// 1 on the interphase's blocked patches, 0 elsewhere.
    pub blocked: Field,
}

/// Memory a caller owns, one view of the grid's shape per field of a [`Snapshot`], for
/// [`Backend::snapshot_into`] (the Python package's new numpy arrays).
pub struct SnapshotViews<'a> {
    pub order_parameter: ArrayViewMut3<'a, Real>,
    pub concentration: ArrayViewMut3<'a, Real>,
    pub potential: ArrayViewMut3<'a, Real>,
    pub plating_rate: ArrayViewMut3<'a, Real>,
    pub layer: ArrayViewMut3<'a, Real>,
    pub blocked: ArrayViewMut3<'a, Real>,
}

impl SnapshotViews<'_> {
    /// Copies `snap` in.
    pub fn assign(&mut self, snap: &Snapshot) {
        self.order_parameter.assign(&snap.order_parameter);
        self.concentration.assign(&snap.concentration);
        self.potential.assign(&snap.potential);
        self.plating_rate.assign(&snap.plating_rate);
        self.layer.assign(&snap.layer);
        self.blocked.assign(&snap.blocked);
    }
}

/// Wall time spent per phase (s).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct PhaseTimes {
    pub update_s: f64,
    pub potential_solve_s: f64,
    pub concentration_solve_s: f64,
    pub control_s: f64,
    /// Time outside the phases: on the GPU, submitting a batch, waiting for and reading back its
    /// reports (all of the batch's time on an adapter without timestamp queries, which cannot
    /// split it); 0 on the CPU.
    pub other_s: f64,
}

impl PhaseTimes {
    /// The sum of the four phases.
    pub fn phases_s(&self) -> f64 {
        self.update_s + self.potential_solve_s + self.concentration_solve_s + self.control_s
    }
}

impl std::ops::AddAssign for PhaseTimes {
    fn add_assign(&mut self, t: PhaseTimes) {
        self.update_s += t.update_s;
        self.potential_solve_s += t.potential_solve_s;
        self.concentration_solve_s += t.concentration_solve_s;
        self.control_s += t.control_s;
        self.other_s += t.other_s;
    }
}

/// Everything a backend needs to continue a run bit for bit (checkpoints): named fields and
/// the time loop's scalars the fields do not hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BackendState {
    pub fields: Vec<(String, Field)>,
    pub scalars: Vec<(String, f64)>,
}

impl BackendState {
    /// The checkpoint of a model state, with a backend's own scalars (`extra`) after the
    /// model's. The concentration is saved twice: c for whoever reads the file, and u, unrounded
    /// by the 1, to continue from.
    pub fn of_model(state: ModelState, extra: Vec<(String, f64)>) -> BackendState {
        let concentration = state.concentration_excess.mapv(|u| 1.0 + u);
        let mut scalars = vec![
            ("applied_potential_v".into(), state.applied_potential_v),
            ("last_dt_s".into(), state.last_dt_s),
        ];
        scalars.extend(extra);
        BackendState {
            fields: vec![
                ("order_parameter".into(), state.order_parameter),
                ("concentration".into(), concentration),
                ("concentration_excess".into(), state.concentration_excess),
                ("potential".into(), state.potential),
                (
                    "order_parameter_change".into(),
                    state.order_parameter_change,
                ),
                ("interphase_layer".into(), state.interphase_layer),
                ("plating_rate".into(), state.plating_rate),
            ],
            scalars,
        }
    }

    /// The model state a checkpoint holds, every field checked against `grid`. Older
    /// checkpoints hold c only (no excess: u = c − 1) and no plating rate (0).
    pub fn model_state(&self, grid: Grid) -> crate::Result<ModelState> {
        let shape = (grid.nx, grid.ny, grid.nz);
        let checked = |name: &str, f: Field| -> crate::Result<Field> {
            if f.dim() != shape {
                return Err(crate::Error::Checkpoint(format!(
                    "field `{name}` is {:?}, the grid is {shape:?}",
                    f.dim()
                )));
            }
            Ok(f)
        };
        let field =
            |name: &str| -> crate::Result<Field> { checked(name, self.field(name)?.clone()) };
        let excess = match self.field("concentration_excess") {
            Ok(u) => u.clone(),
            Err(_) => self.field("concentration")?.mapv(|c| c - 1.0),
        };
        let plating_rate = match self.field("plating_rate") {
            Ok(f) => f.clone(),
            Err(_) => grid.field(0.0),
        };
        Ok(ModelState {
            order_parameter: field("order_parameter")?,
            concentration_excess: checked("concentration_excess", excess)?,
            potential: field("potential")?,
            order_parameter_change: field("order_parameter_change")?,
            interphase_layer: field("interphase_layer")?,
            plating_rate: checked("plating_rate", plating_rate)?,
            applied_potential_v: self.scalar("applied_potential_v")?,
            last_dt_s: self.scalar("last_dt_s")?,
        })
    }

    pub fn field(&self, name: &str) -> crate::Result<&Field> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, f)| f)
            .ok_or_else(|| crate::Error::Checkpoint(format!("field `{name}` missing")))
    }

    pub fn scalar(&self, name: &str) -> crate::Result<f64> {
        self.scalars
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, v)| v)
            .ok_or_else(|| crate::Error::Checkpoint(format!("scalar `{name}` missing")))
    }
}

/// `Send`: a run may be stepped from another thread than the one that built it (the Python
/// package steps it with the interpreter's lock released).
pub trait Backend: Send {
    /// Human-readable name ("cpu (rayon, 2 threads)", adapter name on a GPU).
    fn name(&self) -> String;
    /// Advances one step; `step` is the index of the step being taken (keys the noise).
    fn step(&mut self, step: u64) -> Result<StepReport>;
    /// Most steps one [`Backend::advance`] call should take (a GPU records them in one submit).
    fn max_batch(&self) -> u64 {
        1
    }
    /// Advances `steps` ≥ 1 steps from `first_step` (or fewer, at least one, where the backend
    /// must stop early), one report per step taken.
    fn advance(&mut self, first_step: u64, steps: u64) -> Result<Vec<StepReport>> {
        (first_step..first_step + steps.max(1))
            .map(|s| self.step(s))
            .collect()
    }
    /// Sets the galvanostatic control of the steps from now on (a cycling schedule; see
    /// [`ControlSetting`]). A backend that cannot says so.
    fn set_control(&mut self, setting: ControlSetting) -> Result<()> {
        let _ = setting;
        Err(crate::Error::Other(format!(
            "the {} backend cannot change its control during a run (a [cycling] schedule): run with --backend cpu",
            self.name()
        )))
    }
    /// Downloads the fields.
    fn snapshot(&self) -> Snapshot;
    /// [`Backend::snapshot`] into memory the caller owns: one copy, with no allocation of
    /// its own where the backend holds the fields (the CPU).
    fn snapshot_into(&self, out: &mut SnapshotViews<'_>) {
        out.assign(&self.snapshot());
    }
    fn phase_times(&self) -> PhaseTimes;
    /// The state a checkpoint holds.
    fn save_state(&self) -> BackendState;
    /// Continues from a saved state (fields of the same grid).
    fn restore_state(&mut self, state: &BackendState) -> Result<()>;
}
