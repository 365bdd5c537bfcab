//! A `[cycling]` schedule in the time loop: which half-cycle a run is in, the control it asks of
//! the backend, when a half-cycle ends (capacity, cut-off, rest time), and the per-cycle
//! figures of cycles.csv (docs/model.md, "Cycling").
//!
//! Each cycle plates, rests, strips and rests (a rest of 0 s is skipped). The state is part of a
//! checkpoint ([`CyclingState`]); the protocol is read from the config each time.

use crate::backend::{Backend, ControlSetting, StepReport};
use crate::config::{Config, CyclingConfig};
use crate::error::{Error, Result};
use crate::grid::Field;
use crate::model::dead_metal::dead_metal;
use crate::model::metrics::{front_metrics, mg_content};
use crate::model::morphology::nan_as_null;
use crate::model::params::{Params, LENGTH_UNIT_M};
use crate::model::units::MAH_CM2_IN_C_M2;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Columns of cycles.csv (a contract: issue 19).
pub const CYCLES_HEADER: &str = "cycle,plated_c_m2,stripped_c_m2,ce,dead_mg_mol_m2,dead_fraction,parasitic_c_m2,plating_overpotential_v,stripping_overpotential_v,roughness_m";

/// A half-cycle ends on its capacity once this fraction of it is left (the last step is cut to
/// land on it, within the control's tolerance).
const CAPACITY_TOLERANCE: f64 = 1e-6;

/// The phases of a cycle, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Plating,
    RestAfterPlating,
    Stripping,
    RestAfterStripping,
}

impl Phase {
    /// The sign of the current it passes: +1 plating, −1 stripping, 0 at rest.
    pub fn current_sign(self) -> i32 {
        match self {
            Phase::Plating => 1,
            Phase::Stripping => -1,
            _ => 0,
        }
    }
}

/// One cycle's figures: a row of cycles.csv.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CycleRow {
    pub cycle: u32,
    /// Charge passed while plating (metal and parasitic), C/m².
    pub plated_c_m2: f64,
    /// Charge passed while stripping (its magnitude), C/m².
    pub stripped_c_m2: f64,
    /// Coulombic efficiency: stripped / plated.
    #[serde(with = "nan_as_null")]
    pub ce: f64,
    /// Dead metal at the cycle's end (all of it, from every cycle), mol/m² of collector.
    pub dead_mg_mol_m2: f64,
    /// That over the metal plated in all cycles so far.
    #[serde(with = "nan_as_null")]
    pub dead_fraction: f64,
    /// The parasitic part of the plated charge, C/m².
    pub parasitic_c_m2: f64,
    /// Charge-weighted mean electrode potential while plating and while stripping, V.
    #[serde(with = "nan_as_null")]
    pub plating_overpotential_v: f64,
    #[serde(with = "nan_as_null")]
    pub stripping_overpotential_v: f64,
    /// Front roughness (RMS of the heights) at the end of plating, m.
    #[serde(with = "nan_as_null")]
    pub roughness_m: f64,
}

/// The protocol of a `[cycling]` section in SI units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Protocol {
    pub cycles: u32,
    pub plating_a_m2: f64,
    pub plating_c_m2: f64,
    pub stripping_a_m2: f64,
    pub stripping_c_m2: Option<f64>,
    pub cutoff_v: f64,
    pub rest_s: f64,
}

impl Protocol {
    pub fn from_config(c: &CyclingConfig) -> Protocol {
        Protocol {
            cycles: c.cycles,
            plating_a_m2: 10.0 * c.plating_current_ma_cm2,
            plating_c_m2: c.plating_capacity_mah_cm2 * MAH_CM2_IN_C_M2,
            stripping_a_m2: 10.0 * c.stripping_current_ma_cm2,
            stripping_c_m2: c.stripping_capacity_mah_cm2.map(|q| q * MAH_CM2_IN_C_M2),
            cutoff_v: c.cutoff_voltage_v,
            rest_s: c.rest_s,
        }
    }

    /// The phases of a cycle (no rests when `rest_s` is 0).
    fn phases(&self) -> &'static [Phase] {
        if self.rest_s > 0.0 {
            &[
                Phase::Plating,
                Phase::RestAfterPlating,
                Phase::Stripping,
                Phase::RestAfterStripping,
            ]
        } else {
            &[Phase::Plating, Phase::Stripping]
        }
    }
}

/// What happened at the end of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Plating ended: its roughness is due.
    PlatingEnded,
    /// The cycle's last phase ended: its row is due.
    CycleEnded,
    /// Another phase ended.
    PhaseEnded,
}

/// Where a cycling run stands (part of a checkpoint).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CyclingState {
    /// The cycle under way, from 1 (cycles + 1 once all are done).
    pub cycle: u32,
    pub phase: Phase,
    /// Charge (signed) and time of the phase so far.
    pub phase_charge_c_m2: f64,
    pub phase_time_s: f64,
    /// The cycle so far: plated and stripped charge (magnitudes), parasitic charge, ∫E dq of
    /// each half, the roughness at the end of plating (m).
    pub plated_c_m2: f64,
    pub stripped_c_m2: f64,
    pub parasitic_c_m2: f64,
    pub plating_e_dq: f64,
    pub stripping_e_dq: f64,
    #[serde(with = "nan_as_null")]
    pub roughness_m: f64,
    /// The metal charge (plated less parasitic) of every cycle so far, C/m².
    pub metal_plated_total_c_m2: f64,
    /// What the last step ended, for the loop to act on before the next.
    pub event: Option<Event>,
    /// The half-cycle and current sign of the last step (None before the first).
    pub last_step: Option<(u32, i32)>,
    /// The rows of the cycles done.
    pub rows: Vec<CycleRow>,
}

impl Default for CyclingState {
    fn default() -> Self {
        CyclingState {
            cycle: 1,
            phase: Phase::Plating,
            phase_charge_c_m2: 0.0,
            phase_time_s: 0.0,
            plated_c_m2: 0.0,
            stripped_c_m2: 0.0,
            parasitic_c_m2: 0.0,
            plating_e_dq: 0.0,
            stripping_e_dq: 0.0,
            roughness_m: f64::NAN,
            metal_plated_total_c_m2: 0.0,
            event: None,
            last_step: None,
            rows: Vec::new(),
        }
    }
}

impl CyclingState {
    /// Every cycle done.
    pub fn finished(&self, pr: &Protocol) -> bool {
        self.cycle > pr.cycles || (self.cycle == pr.cycles && self.event == Some(Event::CycleEnded))
    }

    /// The half-cycle under way, from 1: cycle c plates in 2c − 1 and strips in 2c; a rest
    /// counts with the half before it.
    pub fn half_cycle(&self) -> u32 {
        let strip = matches!(self.phase, Phase::Stripping | Phase::RestAfterStripping);
        2 * self.cycle - 1 + strip as u32
    }

    /// How far the schedule is (0 to 1), by phases: each phase counts as one, and within it
    /// its charge (or time) over its capacity (or rest); a strip to the cut-off is measured
    /// against the charge plated in the cycle.
    pub fn fraction(&self, pr: &Protocol) -> f64 {
        let phases = pr.phases();
        if self.finished(pr) {
            return 1.0;
        }
        let index = phases.iter().position(|&p| p == self.phase).unwrap_or(0);
        let q = self.phase_charge_c_m2.abs();
        let within = match self.phase {
            Phase::Plating => q / pr.plating_c_m2,
            Phase::Stripping => match pr.stripping_c_m2 {
                Some(cap) => q / cap,
                None => (q / self.plated_c_m2.max(1e-30)).min(0.99),
            },
            _ => self.phase_time_s / pr.rest_s,
        };
        let done = (self.cycle - 1) as usize * phases.len() + index;
        (done as f64 + within.clamp(0.0, 1.0)) / (pr.cycles as usize * phases.len()) as f64
    }

    /// The control of the next step: the phase's current (0 at rest, where the tolerance refers
    /// to the plating current), the cut-off while stripping, and the dt that lands the phase on
    /// its capacity or rest time.
    pub fn setting(&self, pr: &Protocol) -> ControlSetting {
        let left = |total: f64, done: f64| (total - done).max(0.0);
        match self.phase {
            Phase::Plating => ControlSetting {
                current_density_a_m2: pr.plating_a_m2,
                tolerance_scale_a_m2: pr.plating_a_m2,
                cutoff_v: None,
                max_dt_s: Some(left(pr.plating_c_m2, self.phase_charge_c_m2) / pr.plating_a_m2),
            },
            Phase::Stripping => ControlSetting {
                current_density_a_m2: -pr.stripping_a_m2,
                tolerance_scale_a_m2: pr.stripping_a_m2,
                cutoff_v: Some(pr.cutoff_v),
                max_dt_s: pr
                    .stripping_c_m2
                    .map(|cap| left(cap, -self.phase_charge_c_m2) / pr.stripping_a_m2),
            },
            _ => ControlSetting {
                current_density_a_m2: 0.0,
                tolerance_scale_a_m2: pr.plating_a_m2,
                cutoff_v: None,
                max_dt_s: Some(left(pr.rest_s, self.phase_time_s)),
            },
        }
    }

    /// Takes a step's report: the phase's and the cycle's sums, then whether the phase ended
    /// (sets [`CyclingState::event`] and moves to the next phase).
    pub fn record(&mut self, pr: &Protocol, r: &StepReport) {
        let q = r.current_density_a_m2 * r.dt;
        self.last_step = Some((self.half_cycle(), self.current_sign()));
        self.phase_charge_c_m2 += q;
        self.phase_time_s += r.dt;
        let e = r.applied_potential_v;
        match self.phase {
            Phase::Plating => {
                self.plated_c_m2 += q;
                self.parasitic_c_m2 += r.parasitic_current_a_m2 * r.dt;
                self.plating_e_dq += e * q;
            }
            Phase::Stripping => {
                self.stripped_c_m2 -= q;
                self.stripping_e_dq -= e * q;
            }
            _ => {}
        }
        let reached = |cap: f64| self.phase_charge_c_m2.abs() >= cap * (1.0 - CAPACITY_TOLERANCE);
        let ended = match self.phase {
            Phase::Plating => reached(pr.plating_c_m2),
            Phase::Stripping => r.at_cutoff || pr.stripping_c_m2.is_some_and(reached),
            _ => self.phase_time_s >= pr.rest_s * (1.0 - CAPACITY_TOLERANCE),
        };
        if !ended {
            return;
        }
        let phases = pr.phases();
        let index = phases.iter().position(|&p| p == self.phase).unwrap_or(0);
        self.event = Some(if self.phase == Phase::Plating {
            Event::PlatingEnded
        } else if index + 1 == phases.len() {
            Event::CycleEnded
        } else {
            Event::PhaseEnded
        });
        self.phase = phases[(index + 1) % phases.len()];
        self.phase_charge_c_m2 = 0.0;
        self.phase_time_s = 0.0;
    }

    /// The current's sign of the phase under way (+1, −1, 0 at rest).
    pub fn current_sign(&self) -> i32 {
        self.phase.current_sign()
    }

    /// Closes the cycle: its row with the dead metal now (`dead_mg_mol_m2`) and Mg's charge per
    /// mole (nF, C/mol), and the next cycle's sums from zero.
    pub fn close_cycle(&mut self, dead_mg_mol_m2: f64, charge_per_mol: f64) -> CycleRow {
        let metal = self.plated_c_m2 - self.parasitic_c_m2;
        self.metal_plated_total_c_m2 += metal;
        let mean = |e_dq: f64, q: f64| if q > 0.0 { e_dq / q } else { f64::NAN };
        let row = CycleRow {
            cycle: self.cycle,
            plated_c_m2: self.plated_c_m2,
            stripped_c_m2: self.stripped_c_m2,
            ce: self.stripped_c_m2 / self.plated_c_m2,
            dead_mg_mol_m2,
            dead_fraction: dead_mg_mol_m2 * charge_per_mol / self.metal_plated_total_c_m2,
            parasitic_c_m2: self.parasitic_c_m2,
            plating_overpotential_v: mean(self.plating_e_dq, self.plated_c_m2),
            stripping_overpotential_v: mean(self.stripping_e_dq, self.stripped_c_m2),
            roughness_m: self.roughness_m,
        };
        self.rows.push(row);
        let (rows, total) = (std::mem::take(&mut self.rows), self.metal_plated_total_c_m2);
        *self = CyclingState {
            cycle: self.cycle + 1,
            rows,
            metal_plated_total_c_m2: total,
            last_step: self.last_step,
            ..CyclingState::default()
        };
        row
    }

    /// Acts on the last step's event with the field it left (`xi`): the roughness at the end of
    /// plating; at the end of a cycle its row, with the dead metal then, which it returns.
    pub fn take_event(&mut self, xi: &Field, p: &Params) -> Option<CycleRow> {
        match self.event.take()? {
            Event::PlatingEnded => {
                self.roughness_m = front_metrics(xi, p.grid).roughness * LENGTH_UNIT_M;
                None
            }
            Event::CycleEnded => {
                Some(self.close_cycle(dead_metal_mol_m2(xi, p), p.metal.charge_per_mol()))
            }
            Event::PhaseEnded => None,
        }
    }

    /// cycles.csv as it stands: the header and a row per cycle done.
    pub fn csv(&self) -> String {
        let mut out = format!("{CYCLES_HEADER}\n");
        for r in &self.rows {
            let value = |v: f64| {
                if v.is_finite() {
                    format!("{v:.9e}")
                } else {
                    String::new()
                }
            };
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{}",
                r.cycle,
                value(r.plated_c_m2),
                value(r.stripped_c_m2),
                value(r.ce),
                value(r.dead_mg_mol_m2),
                value(r.dead_fraction),
                value(r.parasitic_c_m2),
                value(r.plating_overpotential_v),
                value(r.stripping_overpotential_v),
                value(r.roughness_m)
            );
        }
        out
    }
}

/// The dead metal of `xi` (`model::dead_metal`: the pieces cut off from the collector with their
/// diffuse interfaces), mol per m² of collector.
pub fn dead_metal_mol_m2(xi: &Field, p: &Params) -> f64 {
    let g = p.grid;
    let xi_sum = dead_metal(xi).map_or(0.0, |d| d.xi_sum);
    mg_content(
        0.0,
        xi_sum * g.cell_measure(),
        p.c0_mol_m3,
        p.metal.site_density_mol_m3,
        g,
    )
    .1
}

/// Runs a cycling config's schedule on `backend` from its state with no outputs (a calibration's
/// evaluations): the rows of its cycles. A schedule still going at `run.max_steps` (10⁶ where
/// unset) is an error.
pub fn run_schedule(cfg: &Config, p: &Params, backend: &mut dyn Backend) -> Result<Vec<CycleRow>> {
    let Some(c) = &cfg.cycling else {
        return Err(Error::config(
            "cycling",
            "is missing: a cycling schedule needs a [cycling] section",
        ));
    };
    let pr = Protocol::from_config(c);
    let cap = cfg.run.max_steps.unwrap_or(1_000_000);
    let mut state = CyclingState::default();
    let mut step = 0;
    while !state.finished(&pr) {
        if step >= cap {
            return Err(Error::Solver {
                step,
                message: format!(
                    "the cycling schedule is at cycle {} of {} at run.max_steps = {cap}",
                    state.cycle, pr.cycles
                ),
            });
        }
        backend.set_control(state.setting(&pr))?;
        let report = backend.step(step)?;
        step += 1;
        state.record(&pr, &report);
        if state.event.is_some() {
            let snap = backend.snapshot();
            state.take_event(&snap.order_parameter, p);
        }
    }
    Ok(state.rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::timestep::Bound;
    use crate::numerics::SolveStats;

    fn report(current_a_m2: f64, dt: f64, e: f64, at_cutoff: bool) -> StepReport {
        StepReport {
            dt,
            bound: Bound::Cap,
            applied_potential_v: e,
            current_density_a_m2: current_a_m2,
            parasitic_current_a_m2: 0.0,
            boundary_inflow: 0.0,
            control_iterations: 0,
            potential_solve: SolveStats::default(),
            concentration_solve: SolveStats::default(),
            lambda_max: 0.0,
            at_cutoff,
        }
    }

    /// A state before the end of its first plating (roughness NaN) goes through a checkpoint's
    /// JSON and back (serde_json writes NaN as null and would not read it back as an f64).
    #[test]
    fn a_state_with_undefined_figures_survives_json() {
        let state = CyclingState::default();
        let text = serde_json::to_string(&state).unwrap();
        let back: CyclingState = serde_json::from_str(&text).unwrap();
        assert!(text.contains("\"roughness_m\":null"), "{text}");
        assert!(back.roughness_m.is_nan() && back.cycle == 1);
    }

    /// Two cycles with rests: plating lands on its capacity through the dt cap, stripping ends
    /// at the cut-off, the rests on their time; the fraction rises through the phases.
    #[test]
    fn the_schedule_walks_its_phases_and_closes_each_cycle() {
        let pr = Protocol::from_config(&CyclingConfig {
            cycles: 2,
            plating_current_ma_cm2: 0.5,
            plating_capacity_mah_cm2: 0.1,
            stripping_capacity_mah_cm2: None,
            rest_s: 10.0,
            ..CyclingConfig::default()
        });
        let mut s = CyclingState::default();
        let mut fractions = vec![s.fraction(&pr)];
        for cycle in 1..=2 {
            assert_eq!(
                (s.cycle, s.phase, s.half_cycle()),
                (cycle, Phase::Plating, 2 * cycle - 1)
            );
            // 3600 C/m² at 5 A/m²: 720 s; steps of 500 s, the second capped to 220 s.
            let dt = s.setting(&pr).max_dt_s.unwrap().min(500.0);
            s.record(&pr, &report(5.0, dt, -0.1, false));
            assert_eq!(s.event, None);
            let set = s.setting(&pr);
            assert!((set.max_dt_s.unwrap() - 220.0).abs() < 1e-9, "{set:?}");
            s.record(&pr, &report(5.0, 220.0, -0.2, false));
            assert_eq!(s.event.take(), Some(Event::PlatingEnded));
            fractions.push(s.fraction(&pr));
            assert_eq!((s.phase, s.current_sign()), (Phase::RestAfterPlating, 0));
            assert_eq!(s.setting(&pr).current_density_a_m2, 0.0);
            s.record(&pr, &report(0.0, 10.0, 0.0, false));
            assert_eq!(s.event.take(), Some(Event::PhaseEnded));
            assert_eq!((s.phase, s.half_cycle()), (Phase::Stripping, 2 * cycle));
            assert_eq!(s.setting(&pr).cutoff_v, Some(1.0));
            s.record(&pr, &report(-5.0, 500.0, 0.05, false));
            fractions.push(s.fraction(&pr));
            s.record(&pr, &report(-2.0, 10.0, 1.0, true));
            assert_eq!(s.event.take(), Some(Event::PhaseEnded));
            s.record(&pr, &report(0.0, 10.0, 0.0, false));
            assert_eq!(s.event.take(), Some(Event::CycleEnded));
            s.roughness_m = 1e-7;
            let row = s.close_cycle(0.0, 2.0 * 96485.0);
            fractions.push(s.fraction(&pr));
            println!("{row:?}");
            assert!((row.plated_c_m2 - 3600.0).abs() < 1e-9);
            assert!((row.stripped_c_m2 - 2520.0).abs() < 1e-9);
            assert!((row.ce - 0.7).abs() < 1e-12);
            let plating_mean = (-0.1 * 2500.0 - 0.2 * 1100.0) / 3600.0;
            assert!((row.plating_overpotential_v - plating_mean).abs() < 1e-12);
            let stripping_mean = (0.05 * 2500.0 + 1.0 * 20.0) / 2520.0;
            assert!((row.stripping_overpotential_v - stripping_mean).abs() < 1e-12);
        }
        println!("fractions {fractions:?}");
        assert!(s.finished(&pr) && s.fraction(&pr) == 1.0);
        assert!(fractions.windows(2).all(|w| w[1] > w[0]));
        assert_eq!(s.csv().lines().count(), 3);
        assert!(s.csv().starts_with(CYCLES_HEADER));
    }
}
