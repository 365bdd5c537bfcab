//! The CPU backend (rayon): the reference implementation every other backend is tested against.
//!
//! One step (decision 3 of physics.md):
//! 1. transport coefficients D(xi, s), σ(xi, s) (the R2 band s refreshed every few steps);
//! 2. electrolyte potential: −∇·(σ/σ_l ∇φ) = −q ∂xi/∂t|_{previous step}, zero flux at the
//!    collector, φ = 0 in the bulk;
//! 3. interface orientation, Allen–Cahn rate; galvanostatic electrode potential E (η_a = E − φ);
//!    reaction rate;
//! 4. dt from the stability bounds; xi explicit (forward Euler) with noise;
//! 5. concentration: backward-Euler diffusion with explicit migration and sink.

pub mod bandwidth;
pub mod multigrid;
pub mod order_parameter;
pub mod transport;

use crate::backend::{
    guards, Backend, BackendState, ControlSetting, PhaseTimes, Snapshot, SnapshotViews, StepReport,
};
use crate::error::{Error, Result};
use crate::grid::{Field, Real};
use crate::model::boundary;
use crate::model::coefficients::{OrderParameterConstants, TransportConstants};
use crate::model::control::{control_failure, solve_shift, SearchStatus};
use crate::model::dead_metal::{dead_metal, DeadMetal};
use crate::model::grains::Grains;
use crate::model::interphase::{interpolation_prime, layer_indicator, InterphaseFields};
use crate::model::noise::{key, STREAM_NOISE};
use crate::model::params::{Control, Params, MAX_H_PRIME};
use crate::model::state::ModelState;
use crate::model::timestep::{time_step, Bound, RateMaxima};
use crate::numerics::SolveStats;
use multigrid::Multigrid;
use rayon::prelude::*;
use std::time::Instant;

/// Steps between two measurements of the potential V-cycle's asymptotic contraction
/// (`Multigrid::measure_contraction`, 12 V-cycles: ~0.2 cycles a step); the operator follows the
/// front, which moves a fraction of a cell a step.
const CONTRACTION_REFRESH_STEPS: u64 = 64;

/// Steps between two labellings of the dead metal (`model::dead_metal`) in a run that tracks it:
/// a front moves a fraction of a cell a step, so a piece cut off (or joined again) is found within
/// a few cells' travel.
pub const DEAD_METAL_EVERY_STEPS: u64 = 10;
/// Over an inert collector a step is at most this many times the last, so that the rates capped
/// by what a cell holds (`CollectorFloor`, sized for the longest step) never overshoot it.
const MAX_DT_GROWTH_OVER_COLLECTOR: f64 = 2.0;
/// The checkpoint's field of the cells dead metal holds still (1) at the last labelling; absent
/// where there was none.
const DEAD_METAL_FIELD: &str = "dead_metal_frozen";

/// Fields and solver state of a CPU run.
pub struct CpuBackend {
    p: Params,
    op: OrderParameterConstants,
    tr: TransportConstants,
    interphase: InterphaseFields,
    /// Dead metal and the region it holds still, in a run that tracks it
    /// (`Params::tracks_dead_metal`), with the interphase's blocked fraction raised to 1 there
    /// (the reaction's switch); None where all metal is live.
    dead: Option<(DeadMetal, Field)>,
    /// An inert collector's own profile (the initial xi; `Params::inert_collector`), below which
    /// nothing dissolves.
    collector_floor: Option<Field>,
    /// 3D grains where the nuclei carry their own c-axes.
    grains: Option<Grains>,
    pub xi: Field,
    /// The concentration as its excess over the bulk, u = c/c0 − 1: f32 c ≈ 1 at the bulk face
    /// would make the ions crossing it uncertain by ~1e-3 per step (see
    /// [`transport::concentration_rhs`]). The kernels read c/c0 as 1 + u.
    pub excess: Field,
    /// u before the concentration solve (for the bulk-face inflow), reused every step.
    excess_old: Field,
    pub phi: Field,
    /// Δxi of the last step (source of the potential equation and sink of c).
    dxi: Field,
    last_dt: f64,
    layer: Field,
    diffusivity: Field,
    /// σ/σ_l with a resolved band; empty without one (the potential then weighs its faces by
    /// D, σ/σ_l = D/D_l).
    conductivity: Field,
    /// a_k and |∇xi|, valid at the interface cells (`cells`) only.
    kinetic_factor: Field,
    grad_norm: Field,
    ac_rate: Field,
    bv_rate: Field,
    /// Interface cell indices of the current step (buffer reused every step).
    cells: Vec<u32>,
    /// Per-row sums of the reaction field (scratch of `reaction_field`).
    row_sums: Vec<(f64, f64)>,
    rhs: Field,
    /// Weights of the potential's error (see `solve_potential`).
    potential_weights: Field,
    /// The implicit coupling's a = q D_l ∂R/∂φ per cell and φ before a Newton iteration (empty
    /// under the explicit coupling).
    coupling_a: Field,
    coupling_phi: Field,
    potential_mg: Multigrid,
    concentration_mg: Multigrid,
    applied_potential: f64,
    /// The time loop's control for the steps ahead (a cycling schedule); None: `[control]`'s.
    setting: Option<ControlSetting>,
    noise_key: u32,
    times: PhaseTimes,
}

impl CpuBackend {
    /// Sets up the initial state (physics.md §1.7) for a run of `p`.
    pub fn new(p: &Params, init: &crate::config::InitialConfig) -> CpuBackend {
        let g = p.grid;
        let start = ModelState::initial(p, init);
        let op = OrderParameterConstants::from_params(p);
        let tr = TransportConstants::from_params(p);
        let interphase = InterphaseFields::new(p);
        CpuBackend {
            op,
            tr,
            interphase,
            dead: None,
            collector_floor: p.inert_collector.then(|| start.order_parameter.clone()),
            grains: Grains::new(p, init),
            phi: start.potential,
            excess_old: g.field(0.0),
            dxi: start.order_parameter_change,
            last_dt: start.last_dt_s,
            layer: start.interphase_layer,
            diffusivity: g.field(0.0),
            conductivity: g.field_if(p.interphase.has_resolved_band()),
            kinetic_factor: g.field(1.0),
            grad_norm: g.field(0.0),
            ac_rate: g.field(0.0),
            bv_rate: start.plating_rate,
            cells: Vec::new(),
            row_sums: Vec::new(),
            rhs: g.field(0.0),
            potential_weights: g.field(1.0),
            coupling_a: g.field_if(p.implicit_coupling),
            coupling_phi: g.field_if(p.implicit_coupling),
            potential_mg: Multigrid::new(g),
            concentration_mg: {
                let mut mg = Multigrid::new(g);
                mg.conserve_mass();

                // The state is u = c/c0 − 1; the tolerance refers to c's equation.
                mg.set_reference_offset(1.0);
                mg
            },
            applied_potential: start.applied_potential_v,
            setting: None,
            noise_key: key(p.seed, STREAM_NOISE),
            times: PhaseTimes::default(),
            xi: start.order_parameter,
            excess: start.concentration_excess,
            p: p.clone(),
        }
    }

    /// c/c0 = 1 + u.
    pub fn concentration(&self) -> Field {
        self.excess.mapv(|u| 1.0 + u)
    }

    pub fn params(&self) -> &Params {
        &self.p
    }

    pub fn applied_potential(&self) -> f64 {
        self.applied_potential
    }

    pub fn interphase_fields(&self) -> &InterphaseFields {
        &self.interphase
    }

    /// Labels the dead metal of the current xi (`model::dead_metal`): the cells it freezes, and the
    /// blocked fraction the reaction reads (1 on them).
    pub fn relabel_dead_metal(&mut self) {
        match dead_metal(&self.xi) {
            Some(d) => self.set_dead_metal(d),
            None => self.dead = None,
        }
    }

    fn set_dead_metal(&mut self, d: DeadMetal) {
        let mut blocked = self.interphase.blocked.clone();
        for (b, &f) in blocked.iter_mut().zip(&d.frozen) {
            if f {
                *b = 1.0;
            }
        }
        self.dead = Some((d, blocked));
    }

    /// The dead metal as last labelled (None: all metal live, or a run that does not track it).
    pub fn dead_metal(&self) -> Option<&DeadMetal> {
        self.dead.as_ref().map(|(d, _)| d)
    }

    /// Σ |∇xi| over the interface cells (1/µm), for the parasitic current; 0 without one.
    fn surface_gradient_sum(&self) -> f64 {
        if self.p.parasitic_current_a_m2 > 0.0 {
            let grad = slice(&self.grad_norm);
            self.cells.iter().map(|&n| grad[n as usize] as f64).sum()
        } else {
            0.0
        }
    }

    /// Recomputes the resolved band from the distance to the metal surface (R2 only).
    fn refresh_layer(&mut self) {
        let ip = &self.p.interphase;
        if self.p.interphase.has_resolved_band() {
            self.layer = layer_indicator(&self.xi, self.p.grid, ip.thickness, self.p.delta);
        }
    }

    /// Solves the potential equation with the last step's Δxi/dt as its source, by mixed-precision
    /// refinement (an f32 iterate's ||r||/||b|| stalls at ~1e-4–2e-3 at 256²–2048²), to an
    /// estimated error of `numerics.potential_tolerance_v` volts: the kinetics see φ through
    /// η = E − φ, where 1 µV moves the Butler–Volmer rate by α·f·1 µV ≈ 4e-5, so a relative
    /// residual of 1e-6 (φ to ~1e-9 V) bought ~10 cycles of accuracy nothing used.
    fn solve_potential(&mut self, step: u64) -> SolveStats {
        let (weights, scale) = potential_faces(&self.p, &self.conductivity, &self.diffusivity);
        let q = (self.p.potential_source * scale / self.last_dt) as Real;
        ndarray::Zip::from(&mut self.rhs)
            .and(&self.dxi)
            .par_for_each(|r, &d| *r = -q * d);
        self.potential_mg
            .set_coefficients_with_uniform_a(0.0, slice(weights));
        self.prepare_potential_error(step);
        self.potential_mg.solve(
            slice_mut(&mut self.phi),
            slice(&self.rhs),
            boundary::POTENTIAL,
            self.p.step_solves().potential,
        )
    }

    /// The potential solve with the reaction implicit (potentiostatic control,
    /// `Params::implicit_coupling`; model::coupling): Newton on
    /// −∇·(σ/σ_l ∇φ) = −q (AC + R(E − φ)), each iteration the linear solve
    /// (−∇·σ/σ_l∇ + q ∂R/∂φ) φ_new = −q (AC + R(φ) − ∂R/∂φ φ) from the last φ, until φ moves less
    /// than `numerics.potential_tolerance_v` where the model reads it (the error weights). The
    /// interface cells, a_k and the Allen–Cahn rate of the step must be set. Noise, zero-sum,
    /// is left out of the source. Returns the last linear solve's statistics with the cycles of
    /// all of them.
    fn solve_coupled_potential(&mut self, step: u64) -> Result<SolveStats> {
        let q = self.p.potential_source
            * potential_faces(&self.p, &self.conductivity, &self.diffusivity).1;
        self.prepare_potential_error(step);
        let e = self.applied_potential as Real;
        let mut cycles = 0;
        for iteration in 1..=crate::model::coupling::MAX_NEWTON_ITERATIONS {
            let (op, xi, c, phi, ac) = (
                &self.op,
                slice(&self.xi),
                slice(&self.excess),
                slice(&self.phi),
                slice(&self.ac_rate),
            );
            let (ak, asr, blocked) = (
                slice(&self.kinetic_factor),
                slice(&self.interphase.asr),
                slice(reaction_blocked(&self.dead, &self.interphase)),
            );
            let a = slice_mut(&mut self.coupling_a);
            let rhs = slice_mut(&mut self.rhs);
            let qr = q as Real;
            a.par_iter_mut().for_each(|v| *v = 0.0);
            rhs.par_iter_mut()
                .zip(ac.par_iter())
                .for_each(|(r, &ac)| *r = -qr * ac);
            // The reaction lives on the interface cells only (a few per column).
            for &cell in &self.cells {
                let n = cell as usize;
                let (rate, d_rate_d_e) = order_parameter::reaction_rate(
                    op,
                    xi[n],
                    1.0 + c[n],
                    phi[n],
                    e,
                    ak[n],
                    asr[n],
                    blocked[n],
                );
                // ∂R/∂φ = −∂R/∂E ≥ 0.
                let g = -d_rate_d_e;
                a[n] = qr * g;
                rhs[n] -= qr * (rate - g * phi[n]);
            }
            let (weights, _) = potential_faces(&self.p, &self.conductivity, &self.diffusivity);
            self.potential_mg
                .set_coefficients(slice(&self.coupling_a), slice(weights));
            self.coupling_phi.assign(&self.phi);
            let stats = self.potential_mg.solve(
                slice_mut(&mut self.phi),
                slice(&self.rhs),
                boundary::POTENTIAL,
                self.p.step_solves().potential,
            );
            cycles += stats.cycles;
            let moved = ndarray::Zip::from(&self.phi)
                .and(&self.coupling_phi)
                .and(&self.potential_weights)
                .fold(0.0f64, |m, &a, &b, &w| m.max(((a - b) * w).abs() as f64));
            if moved <= self.p.potential_tolerance_v || !moved.is_finite() {
                return Ok(SolveStats { cycles, ..stats });
            }
            if iteration == crate::model::coupling::MAX_NEWTON_ITERATIONS {
                return Err(Error::Solver {
                    step,
                    message: format!(
                        "the implicit coupling of potential and reaction did not converge in {iteration} Newton iterations (φ still moved {moved:.3e} V, tolerance numerics.potential_tolerance_v = {:.1e} V)",
                        self.p.potential_tolerance_v
                    ),
                });
            }
        }
        unreachable!("the loop returns")
    }

    /// The potential's error weights and its V-cycle's contraction (refreshed every
    /// [`CONTRACTION_REFRESH_STEPS`]) before a solve.
    fn prepare_potential_error(&mut self, step: u64) {
        // The error the kinetics see: the reaction reads η = E − φ weighted by h'(ξ), the
        // migration flux σ∇φ carries the ions in the electrolyte. So the error is weighed by 1
        // in the electrolyte (ξ < ½) and by h'(ξ)/max h' in the metal, where φ is a
        // continuation (σ_s/σ_l = 1e-3) whose floating level the cycles reduce slowly (measured
        // at 128²: ~6e-7 V left in the bulk metal after 3 cycles, ~1e-9 V in the electrolyte).
        let inv_max_h_prime = (1.0 / MAX_H_PRIME) as Real;
        ndarray::Zip::from(&mut self.potential_weights)
            .and(&self.xi)
            .par_for_each(|w, &x| {
                *w = if x < 0.5 {
                    1.0
                } else {
                    interpolation_prime(x) * inv_max_h_prime
                };
            });
        self.potential_mg
            .set_error_weights(slice(&self.potential_weights));
        if self.potential_mg.contraction().is_none()
            || step.is_multiple_of(CONTRACTION_REFRESH_STEPS)
        {
            self.potential_mg.measure_contraction(boundary::POTENTIAL);
        }
    }
}

impl CpuBackend {
    /// NaN/Inf anywhere, xi outside [−0.1, 1.1] or c below −1e-4 on the electrolyte side ends
    /// the run with the first offending cell (bounds and message: `backend::guards`).
    fn check_fields(&self, step: u64) -> Result<()> {
        let xi = slice(&self.xi);
        // Each field with what turns its values into the guarded quantity (c/c0 = 1 + u).
        let fields = [
            (slice(&self.xi), 0.0),
            (slice(&self.excess), 1.0),
            (slice(&self.phi), 0.0),
        ];
        let unhealthy = |k: usize, v: Real, x: Real| !guards::healthy(k, fields[k].1 + v, x);
        // One pass over whole chunks in plain loops, keeping per field the first chunk with a
        // bad cell (a per-cell `position_first` per field cost ~80 ms a step at 2048²); then
        // the first bad cell of the first field that has one, the order the guards name them.
        const CHUNK: usize = 1 << 14;
        let first_bad_chunks = (0..xi.len().div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let cells = c * CHUNK..((c + 1) * CHUNK).min(xi.len());
                let x = &xi[cells.clone()];
                std::array::from_fn::<_, 3, _>(|k| {
                    let v = &fields[k].0[cells.clone()];
                    v.iter()
                        .zip(x)
                        .any(|(&v, &x)| unhealthy(k, v, x))
                        .then_some(c)
                })
            })
            .reduce(
                || [None; 3],
                |a, b| std::array::from_fn(|k| a[k].into_iter().chain(b[k]).min()),
            );
        for (k, chunk) in first_bad_chunks.into_iter().enumerate() {
            let Some(c) = chunk else { continue };
            let (values, offset) = fields[k];
            let n = c * CHUNK
                + values[c * CHUNK..]
                    .iter()
                    .zip(&xi[c * CHUNK..])
                    .position(|(&v, &x)| unhealthy(k, v, x))
                    .expect("a bad cell in the chunk");
            return Err(guards::blown_up(
                self.p.grid,
                step,
                guards::GUARDED_FIELDS[k],
                offset + values[n],
                n,
            ));
        }
        Ok(())
    }
}

/// The potential equation's face weights and its source's weight: σ/σ_l and 1 with a resolved
/// band, else D and D_l (σ/σ_l = D/D_l, `transport_coefficients_without_band`).
fn potential_faces<'a>(
    p: &Params,
    conductivity: &'a Field,
    diffusivity: &'a Field,
) -> (&'a Field, f64) {
    if p.interphase.has_resolved_band() {
        (conductivity, 1.0)
    } else {
        (diffusivity, p.d_liquid)
    }
}

/// An inert collector's last guard: a cell that a step took below the collector's profile
/// `floor` (its capillary and reaction rates each capped by what it holds, together they can
/// take twice that, and the noise is not capped) is set back onto it, its Δxi with it; returns
/// the change of Σ Δxi (the current passed is what the field did).
fn hold_above_floor(xi: &mut [Real], dxi: &mut [Real], floor: &[Real]) -> f64 {
    const CHUNK: usize = 1 << 14;
    let sums: Vec<f64> = xi
        .par_chunks_mut(CHUNK)
        .zip(dxi.par_chunks_mut(CHUNK))
        .zip(floor.par_chunks(CHUNK))
        .map(|((x, d), f)| {
            let mut added = 0.0f64;
            for ((x, d), &f) in x.iter_mut().zip(d.iter_mut()).zip(f) {
                if *d < 0.0 && *x < f {
                    let back = (f - *x).min(-*d);
                    *x += back;
                    *d += back;
                    added += back as f64;
                }
            }
            added
        })
        .collect();
    sums.iter().sum()
}

/// The error of a plating step whose parasitic current would take all of the applied one.
fn parasitic_beyond_current(step: u64, p: &Params, grad_sum: f64, current_a_m2: f64) -> Error {
    Error::Solver {
        step,
        message: format!(
            "the parasitic current interphase.parasitic_current_ma_cm2 = {:.4} mA/cm² over a metal surface {:.3} times the projected area takes {:.4} mA/cm², all of the applied {:.4} mA/cm²: no metal would plate",
            0.1 * p.parasitic_current_a_m2,
            p.surface_area_ratio(grad_sum),
            0.1 * p.parasitic_current(grad_sum, true),
            0.1 * current_a_m2
        ),
    }
}

/// The blocked fraction the reaction reads: the interphase's, 1 on dead metal's cells.
fn reaction_blocked<'a>(
    dead: &'a Option<(DeadMetal, Field)>,
    interphase: &'a InterphaseFields,
) -> &'a Field {
    dead.as_ref().map_or(&interphase.blocked, |(_, b)| b)
}

fn slice(f: &Field) -> &[Real] {
    f.as_slice().expect("standard layout")
}

fn slice_mut(f: &mut Field) -> &mut [Real] {
    f.as_slice_mut().expect("standard layout")
}

impl Backend for CpuBackend {
    fn name(&self) -> String {
        format!("cpu (rayon, {} threads)", rayon::current_num_threads())
    }

    fn step(&mut self, step: u64) -> Result<StepReport> {
        let t0 = Instant::now();
        let every = self.p.interphase.refresh_every_steps.max(1);
        if step.is_multiple_of(every) && step > 0 {
            self.refresh_layer();
        }
        if self.p.tracks_dead_metal && step.is_multiple_of(DEAD_METAL_EVERY_STEPS) {
            self.relabel_dead_metal();
        }
        if self.p.interphase.has_resolved_band() {
            transport::transport_coefficients(
                &self.tr,
                slice(&self.xi),
                slice(&self.layer),
                slice(&self.interphase.diffusivity_ratio),
                slice(&self.interphase.conductivity_ratio),
                slice_mut(&mut self.diffusivity),
                slice_mut(&mut self.conductivity),
            );
        } else {
            transport::transport_coefficients_without_band(
                &self.tr,
                slice(&self.xi),
                slice_mut(&mut self.diffusivity),
            );
        }
        let t1 = Instant::now();
        let explicit_solve = (!self.p.implicit_coupling).then(|| self.solve_potential(step));
        let t2 = Instant::now();

        // Orientation (ε², J) and the Allen–Cahn rate in one pass; a_k and |∇xi| where the
        // reaction needs them, at the interface cells (the last step's leave the reaction
        // field first).
        order_parameter::allen_cahn_rate_streaming_with(
            &self.op,
            self.grains.as_ref(),
            slice(&self.xi),
            slice_mut(&mut self.ac_rate),
        );
        // Dead metal is inert: no capillary evolution either (its reaction is off through the
        // blocked fraction, its noise through the draw's mask).
        if let Some((d, _)) = &self.dead {
            for (r, &f) in self.ac_rate.iter_mut().zip(&d.frozen) {
                if f {
                    *r = 0.0;
                }
            }
        }
        // Over an inert collector nothing falls below its profile: a negative capillary rate is
        // capped as the dissolution is (`CollectorFloor`), the step at most
        // `MAX_DT_GROWTH_OVER_COLLECTOR` times the last.
        let max_dt_over_floor = MAX_DT_GROWTH_OVER_COLLECTOR * self.last_dt;
        if let Some(floor) = &self.collector_floor {
            let inv = (1.0 / max_dt_over_floor) as Real;
            ndarray::Zip::from(&mut self.ac_rate)
                .and(&self.xi)
                .and(floor)
                .par_for_each(|r, &x, &f| *r = r.max(-(x - f).max(0.0) * inv));
        }
        order_parameter::clear_cells(
            &self.cells,
            self.p.grid.layer_cells(),
            slice_mut(&mut self.bv_rate),
        );
        order_parameter::interface_cells_into(slice(&self.xi), &mut self.cells);
        order_parameter::interface_orientation_cells_with(
            &self.op,
            self.grains.as_ref(),
            &self.cells,
            slice(&self.xi),
            slice_mut(&mut self.kinetic_factor),
            slice_mut(&mut self.grad_norm),
        );
        let t3 = Instant::now();
        let potential_solve = match explicit_solve {
            Some(stats) => stats,
            None => self.solve_coupled_potential(step)?,
        };
        let t3_coupled = Instant::now();
        self.times.potential_solve_s += (t3_coupled - t3).as_secs_f64();
        let t3 = t3_coupled;

        // The galvanostatic target of the metal: the applied current less the parasitic one.
        let grad_sum = self.surface_gradient_sum();
        let galvanostatic = match self.p.control {
            Control::Galvanostatic {
                current_density_a_m2: i,
            } => {
                let parasitic = self.p.parasitic_current(grad_sum, i > 0.0);
                if i > 0.0 && parasitic >= i {
                    return Err(parasitic_beyond_current(step, &self.p, grad_sum, i));
                }
                let target = self.p.rate_sum_of_current(i - parasitic);
                let (limit, scale) = match self.setting {
                    Some(s) => (
                        s.cutoff_v.unwrap_or(self.p.max_overpotential_v),
                        self.p.rate_sum_of_current(s.tolerance_scale_a_m2),
                    ),
                    None => (self.p.max_overpotential_v, target),
                };
                Some((target, parasitic, limit, scale))
            }
            Control::Potentiostatic { .. } => None,
        };
        // The reaction field at E; under galvanostatic control, at each E of the search for the
        // one that makes Σ ∂xi/∂t hit the target (the last evaluation is at the E it returns).
        let (op, cells, xi, c, phi) = (
            &self.op,
            &self.cells,
            slice(&self.xi),
            slice(&self.excess),
            slice(&self.phi),
        );
        let (ak, asr, blocked) = (
            slice(&self.kinetic_factor),
            slice(&self.interphase.asr),
            slice(reaction_blocked(&self.dead, &self.interphase)),
        );
        let floor = self
            .collector_floor
            .as_ref()
            .map(|f| order_parameter::CollectorFloor {
                profile: slice(f),
                inv_max_dt: (1.0 / max_dt_over_floor) as Real,
            });
        let (bv_rate, row_sums) = (slice_mut(&mut self.bv_rate), &mut self.row_sums);
        let mut reaction_field = |e: f64| {
            order_parameter::reaction_field(
                op, cells, xi, c, phi, e as Real, ak, asr, blocked, floor, bv_rate, row_sums,
            )
        };
        let (mut control_iterations, mut control_failed, mut at_cutoff) = (0, None, false);
        let cutoff = self.setting.and_then(|s| s.cutoff_v).is_some();
        match galvanostatic {
            Some((target, _, limit, scale)) => {
                let ac_sum: f64 = self.ac_rate.iter().map(|&v| v as f64).sum();
                let search = solve_shift(
                    |e| {
                        let (s, ds) = reaction_field(e);
                        (ac_sum + s - target, ds)
                    },
                    self.applied_potential,
                    limit,
                    scale,
                );
                let p = &self.p;
                let failure = || {
                    control_failure(
                        step,
                        &search,
                        target,
                        ac_sum,
                        p.current_of_rate_sum(target),
                        |r| p.current_of_rate_sum(r),
                    )
                };
                match search.status {
                    SearchStatus::Converged => {}
                    // Beyond the cut-off: the last evaluation, at it, is the step's field.
                    SearchStatus::BeyondLimit if cutoff => at_cutoff = true,
                    // Blown-up fields: the step goes on at the last E (the rates evaluated
                    // there) so that the field guards name the cell first.
                    SearchStatus::NotFinite => {
                        reaction_field(search.electrode());
                        control_failed = Some(failure());
                    }
                    _ => return Err(failure()),
                }
                control_iterations = search.evaluations - 1;
                self.applied_potential = search.electrode();
            }
            None => {
                reaction_field(self.applied_potential);
            }
        }
        let t4 = Instant::now();

        // The maxima that bound dt.
        let (reaction_max, speed_max) = order_parameter::reaction_maxima(
            &self.op,
            &self.cells,
            slice(&self.xi),
            slice(&self.bv_rate),
            slice(&self.ac_rate),
            slice(&self.grad_norm),
            (0.1 / self.p.delta) as Real,
        );
        let migration_speed =
            transport::max_migration_speed(&self.tr, slice(&self.phi), slice(&self.diffusivity));
        let maxima = RateMaxima {
            reaction_factor: reaction_max,
            front_speed: speed_max,
            migration_speed,
        };
        let (mut dt, mut bound) = time_step(&self.p, maxima).map_err(|(b, limit)| Error::Solver {
            step,
            message: format!("numerics.dt_s = {} s is above the stable time step {limit:.4e} s (set by the {b} bound)", self.p.fixed_dt.unwrap_or(0.0)),
        })?;

        if self.collector_floor.is_some() && max_dt_over_floor < dt {
            (dt, bound) = (max_dt_over_floor, Bound::Collector);
        }
        if let Some(cap) = self.setting.and_then(|s| s.max_dt_s) {
            if cap < dt {
                (dt, bound) = (cap, Bound::Schedule);
            }
        }

        // Noise: its sums first (for the zero-sum shift), then the update draws it again.
        let draw = order_parameter::NoiseDraw {
            amplitude: (self.p.noise_amplitude * (self.p.noise_dt_ref / dt).sqrt()) as Real,
            key: self.noise_key,
            step: step as u32,
            frozen: self.dead.as_ref().map(|(d, _)| d.frozen.as_slice()),
        };
        let (noise_sum, hp_sum) = order_parameter::interface_noise_sums(draw, slice(&self.xi));
        let noise_mean = if hp_sum > 0.0 {
            (noise_sum / hp_sum) as Real
        } else {
            0.0
        };
        let mut dxi_sum = order_parameter::update_order_parameter_drawing(
            slice_mut(&mut self.xi),
            slice(&self.ac_rate),
            slice(&self.bv_rate),
            draw,
            noise_mean,
            dt as Real,
            slice_mut(&mut self.dxi),
        );
        if let Some(floor) = &self.collector_floor {
            let held = hold_above_floor(
                slice_mut(&mut self.xi),
                slice_mut(&mut self.dxi),
                slice(floor),
            );
            // The plated metal is spent once the collector refuses most of a stripping step:
            // a galvanostat cannot hold the current, the potential runs to the cut-off.
            if galvanostatic.is_some() && dxi_sum < 0.0 && held > -0.9 * dxi_sum {
                at_cutoff = true;
            }
            dxi_sum += held;
        }
        self.last_dt = dt;
        let t5 = Instant::now();

        // Concentration: (1/dt − ∇·D∇) c^{n+1} = c^n/dt − ∇·J_mig − (C_s/c0) Δxi/dt.
        transport::concentration_rhs(
            &self.tr,
            slice(&self.excess),
            slice(&self.phi),
            slice(&self.diffusivity),
            slice(&self.dxi),
            dt as Real,
            slice_mut(&mut self.rhs),
        );
        self.excess_old.assign(&self.excess);
        // The same f32 1/dt as the right-hand side's c/dt: a one-ulp difference between the two
        // would create ~ε Σc of ions every step.
        self.concentration_mg
            .set_coefficients_with_uniform_a(1.0 / dt as Real, slice(&self.diffusivity));
        let bcs = boundary::CONCENTRATION_EXCESS;
        let concentration_solve = self.concentration_mg.solve(
            slice_mut(&mut self.excess),
            slice(&self.rhs),
            bcs,
            self.p.step_solves().concentration,
        );
        let boundary_inflow = transport::boundary_inflow(
            &self.tr,
            slice(&self.excess_old),
            slice(&self.excess),
            slice(&self.phi),
            slice(&self.diffusivity),
            dt,
        );
        let t6 = Instant::now();

        // The reaction field's evaluations are the control's under galvanostatic control; the
        // one evaluation of a potentiostatic step is part of the update.
        let reaction_s = (t4 - t3).as_secs_f64();
        let (control_s, fixed_potential_s) = if self.p.target_rate_sum().is_some() {
            (reaction_s, 0.0)
        } else {
            (0.0, reaction_s)
        };
        self.times.update_s += (t1 - t0).as_secs_f64()
            + (t3 - t2).as_secs_f64()
            + (t5 - t4).as_secs_f64()
            + fixed_potential_s;
        self.times.potential_solve_s += (t2 - t1).as_secs_f64();
        self.times.control_s += control_s;
        self.times.concentration_solve_s += (t6 - t5).as_secs_f64();

        // Fields first: a NaN names its cell there, and would fail the solves as well. The
        // guards are part of the update's time (as the device's check_fields is).
        let guarded = self.check_fields(step);
        self.times.update_s += t6.elapsed().as_secs_f64();
        guarded?;
        if let Some(e) = control_failed {
            return Err(e);
        }
        guards::check_solves(&self.p, step, &potential_solve, &concentration_solve)?;

        let velocity = self.p.velocity_of_change(dxi_sum, dt);
        let metal_current = self.p.current_of_velocity(velocity);
        let parasitic = match galvanostatic {
            Some((_, parasitic, ..)) => parasitic,
            None => self.p.parasitic_current(grad_sum, metal_current > 0.0),
        };
        Ok(StepReport {
            dt,
            bound,
            applied_potential_v: self.applied_potential,
            current_density_a_m2: metal_current + parasitic,
            parasitic_current_a_m2: parasitic,
            boundary_inflow,
            control_iterations,
            potential_solve,
            concentration_solve,
            lambda_max: self.p.stiffness_lambda(reaction_max),
            at_cutoff,
        })
    }

    fn set_control(&mut self, setting: ControlSetting) -> Result<()> {
        if let Control::Potentiostatic { .. } = self.p.control {
            return Err(Error::config(
                "control.mode",
                "is \"potentiostatic\": a cycling schedule sets a galvanostatic current",
            ));
        }
        self.p.control = Control::Galvanostatic {
            current_density_a_m2: setting.current_density_a_m2,
        };
        self.setting = Some(setting);
        Ok(())
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            order_parameter: self.xi.clone(),
            concentration: self.concentration(),
            potential: self.phi.clone(),
            plating_rate: self.bv_rate.clone(),
            layer: self.layer.clone(),
            blocked: self.interphase.blocked.clone(),
        }
    }

    fn snapshot_into(&self, out: &mut SnapshotViews<'_>) {
        out.order_parameter.assign(&self.xi);
        ndarray::Zip::from(&mut out.concentration)
            .and(&self.excess)
            .for_each(|c, &u| *c = 1.0 + u);
        out.potential.assign(&self.phi);
        out.plating_rate.assign(&self.bv_rate);
        out.layer.assign(&self.layer);
        out.blocked.assign(&self.interphase.blocked);
    }

    fn phase_times(&self) -> PhaseTimes {
        self.times
    }

    fn save_state(&self) -> BackendState {
        let state = ModelState {
            order_parameter: self.xi.clone(),
            concentration_excess: self.excess.clone(),
            potential: self.phi.clone(),
            order_parameter_change: self.dxi.clone(),
            interphase_layer: self.layer.clone(),
            plating_rate: self.bv_rate.clone(),
            applied_potential_v: self.applied_potential,
            last_dt_s: self.last_dt,
        };
        // The potential V-cycle's measured contraction (−1: none yet).
        let contraction = self.potential_mg.contraction().unwrap_or(-1.0);
        let mut saved =
            BackendState::of_model(state, vec![("potential_contraction".into(), contraction)]);
        // The dead metal as last labelled (relabelled every DEAD_METAL_EVERY_STEPS steps, so a
        // resumed run needs the mask of the last labelling, not one of the current field).
        if let Some((d, _)) = &self.dead {
            let mask = Field::from_shape_vec(
                self.xi.dim(),
                d.frozen.iter().map(|&f| f as u8 as Real).collect(),
            )
            .expect("the grid's shape");
            saved.fields.push((DEAD_METAL_FIELD.into(), mask));
        }
        saved
    }

    fn restore_state(&mut self, state: &BackendState) -> Result<()> {
        let m = state.model_state(self.p.grid)?;
        self.xi = m.order_parameter;
        self.excess = m.concentration_excess;
        self.phi = m.potential;
        self.dxi = m.order_parameter_change;
        self.layer = m.interphase_layer;
        // The last step's reaction field, and as the cells the next step clears before it
        // evaluates the new ones, those where it is set (the last step's interface cells where
        // the rate was not 0).
        self.bv_rate = m.plating_rate;
        self.cells.clear();
        self.cells.extend(
            slice(&self.bv_rate)
                .iter()
                .enumerate()
                .filter(|(_, &r)| r != 0.0)
                .map(|(n, _)| n as u32),
        );
        self.applied_potential = m.applied_potential_v;
        self.last_dt = m.last_dt_s;
        // No mask saved: no dead metal at the last labelling.
        self.dead = None;
        if let Ok(mask) = state.field(DEAD_METAL_FIELD) {
            if mask.dim() != self.xi.dim() {
                return Err(Error::Checkpoint(format!(
                    "field `{DEAD_METAL_FIELD}` is {:?}, the grid is {:?}",
                    mask.dim(),
                    self.xi.dim()
                )));
            }
            let frozen: Vec<bool> = mask.iter().map(|&v| v > 0.5).collect();
            self.set_dead_metal(DeadMetal::from_frozen(&self.xi, frozen));
        }
        // The potential V-cycle's measured contraction (−1: none yet; absent from older
        // checkpoints, whose first solve then measures it).
        let rho = state.scalar("potential_contraction").unwrap_or(-1.0);
        self.potential_mg
            .set_contraction((rho >= 0.0).then_some(rho));
        Ok(())
    }
}
