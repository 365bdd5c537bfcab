//! Range checks on every numeric config key (physics.md "Decisions for mgpf", §1.5, §1.6, §3.3).
//!
//! Each failure is an [`Error::Config`] that names the full dotted key and reads
//! "`<key>` = <value> is outside the allowed range <range>", followed by the reason where the
//! bound comes from the physics or the numerics rather than from plain sanity.

use super::{Attachment, CAxis, Config, ControlMode, Representation};
use crate::error::{Error, Result};
use std::fmt;

/// The shortest lab-frame correlation length, per δ: the interface's 10–90 % width,
/// 4 artanh(0.8) δ = 4.394 δ, as the docs and messages write it (4.39 δ).
pub const LAB_FRAME_MIN_CORRELATION_PER_DELTA: f64 = 4.39;

/// A c-axis must be a direction: a nonzero finite vector, or finite angles.
fn check_direction(key: &str, c: &CAxis) -> Result<()> {
    let v = c.direction();
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if !v.iter().all(|x| x.is_finite()) || norm <= 1e-9 {
        return Err(Error::config(
            key,
            format!(
                "= {c:?} is not a direction: give a nonzero finite vector [x, y, z] or \
                 {{ polar_deg, azimuth_deg }} with finite angles"
            ),
        ));
    }
    Ok(())
}

/// δ6 < 1/(m²−1) for m = 6 keeps the stiffness γ + γ'' positive (physics.md §1.5).
const MAX_SIX_FOLD_ANISOTROPY: f64 = 1.0 / 35.0;

/// The smallest cell (µm): 1 nm, a few atomic spacings; a continuum phase field means nothing
/// below it.
const MIN_CELL_UM: f64 = 1.0e-3;

/// The largest `run.seed`: the generators take a u64, but TOML integers are i64, so a larger
/// seed could not be written to run.json or read back from a config.
pub const MAX_SEED: u64 = i64::MAX as u64;

impl Config {
    /// Checks every key against its allowed range; the first violation is returned.
    pub fn validate(&self) -> Result<()> {
        self.validate_grid()?;
        self.validate_run()?;
        self.validate_metal()?;
        self.validate_electrolyte()?;
        self.validate_interface()?;
        self.validate_anisotropy()?;
        self.validate_noise_and_control()?;
        self.validate_interphase()?;
        self.validate_initial()?;
        self.validate_numerics()?;
        self.validate_cycling()?;
        self.validate_system()
    }

    /// `[system]`: reported figures in their ranges.
    fn validate_system(&self) -> Result<()> {
        let Some(s) = &self.system else {
            return Ok(());
        };
        for (key, v) in [("system.ce", s.ce), ("system.ce_above", s.ce_above)] {
            if let Some(v) = v {
                check_why(key, v, Range::closed(0.0, 1.0), "a CE is a fraction")?;
            }
        }
        if let Some(i) = s.current_ma_cm2 {
            check("system.current_ma_cm2", i, Range::lo_open(0.0, 100.0))?;
        }
        if let Some(v) = s.overpotential_below_v {
            check("system.overpotential_below_v", v, Range::POSITIVE)?;
        }
        Ok(())
    }

    /// `[cycling]`: its ranges, and the keys of `[control]` and `[run]` it takes over.
    fn validate_cycling(&self) -> Result<()> {
        let Some(c) = &self.cycling else {
            return Ok(());
        };
        check_int("cycling.cycles", c.cycles as u64, 1, 10_000)?;
        check_why(
            "cycling.plating_current_ma_cm2",
            c.plating_current_ma_cm2,
            Range::lo_open(0.0, 100.0),
            "the plating current's magnitude",
        )?;
        check(
            "cycling.plating_capacity_mah_cm2",
            c.plating_capacity_mah_cm2,
            Range::lo_open(0.0, 100.0),
        )?;
        check_why(
            "cycling.stripping_current_ma_cm2",
            c.stripping_current_ma_cm2,
            Range::lo_open(0.0, 100.0),
            "the stripping current's magnitude: give it positive",
        )?;
        if let Some(q) = c.stripping_capacity_mah_cm2 {
            check(
                "cycling.stripping_capacity_mah_cm2",
                q,
                Range::lo_open(0.0, 100.0),
            )?;
        }
        check_why(
            "cycling.cutoff_voltage_v",
            c.cutoff_voltage_v,
            Range::lo_open(0.0, self.control.max_overpotential_v),
            "stripping drives the electrode positive, so its cut-off is above 0 (and within \
             control.max_overpotential_v)",
        )?;
        check("cycling.rest_s", c.rest_s, Range::closed(0.0, 1.0e7))?;
        if self.control.mode != ControlMode::Galvanostatic {
            return Err(Error::config(
                "control.mode",
                "is \"potentiostatic\": a [cycling] schedule runs at constant currents; \
                 leave control.mode out or set it to \"galvanostatic\"",
            ));
        }
        for (key, given) in [
            (
                "run.end_charge_mah_cm2",
                self.run.end_charge_mah_cm2.is_some(),
            ),
            ("run.end_time_s", self.run.end_time_s.is_some()),
        ] {
            if given {
                return Err(Error::config(
                    key,
                    "is given with a [cycling] schedule, which ends the run after \
                     cycling.cycles cycles: leave it out",
                ));
            }
        }
        Ok(())
    }

    /// Growth-axis length nx·dx (µm).
    fn domain_length_um(&self) -> f64 {
        self.grid.nx as f64 * self.grid.dx_um
    }

    /// Lateral width ny·dx (µm).
    fn domain_width_um(&self) -> f64 {
        self.grid.ny as f64 * self.grid.dx_um
    }

    fn validate_grid(&self) -> Result<()> {
        let g = &self.grid;
        for (key, n) in [("grid.nx", g.nx), ("grid.ny", g.ny)] {
            if !(8..=16384).contains(&n) || n % 2 != 0 {
                return Err(Error::config(
                    key,
                    format!(
                        "= {n} is outside the allowed range [8, 16384] (even numbers only): the \
                         multigrid coarsens the grid by factors of 2"
                    ),
                ));
            }
        }
        if g.nz != 1 && (!(8..=16384).contains(&g.nz) || !g.nz.is_multiple_of(2)) {
            return Err(Error::config(
                "grid.nz",
                format!(
                    "= {} is not allowed: 1 for a 2D run, else an even number in [8, 16384] \
                     (the multigrid coarsens the grid by factors of 2)",
                    g.nz
                ),
            ));
        }
        let cell_range = Range::closed(MIN_CELL_UM, 100.0);
        if !cell_range.contains(g.dx_um) {
            let too_fine = g.dx_um.is_finite() && g.dx_um < MIN_CELL_UM;
            return Err(out_of_range(
                "grid.dx_um",
                g.dx_um,
                cell_range,
                if too_fine {
                    "a cell below 1 nm (a few atomic spacings) is beyond what a continuum phase \
                     field describes"
                } else {
                    ""
                },
            ));
        }
        check_why(
            "interface.width_um",
            self.interface.width_um,
            Range::hi_open(2.0 * MIN_CELL_UM, f64::INFINITY),
            "the interface must span at least two of the smallest cells (grid.dx_um ≥ 0.001)",
        )?;
        let half_width = self.interface.width_um / 2.0;
        if g.dx_um > half_width {
            return Err(out_of_range(
                "grid.dx_um",
                g.dx_um,
                Range::closed(MIN_CELL_UM, half_width),
                &format!(
                    "grid pinning (physics.md §1.6): the cell size must be at most half the \
                     interface width (interface.width_um = {}); at Δx = 2δ the front does not move \
                     at all",
                    num(self.interface.width_um)
                ),
            ));
        }
        Ok(())
    }

    fn validate_run(&self) -> Result<()> {
        let r = &self.run;
        check_int("run.frames", r.frames.into(), 1, 10_000)?;
        check_int("run.seed", r.seed, 0, MAX_SEED)?;
        check_int(
            "run.metrics_every_steps",
            r.metrics_every_steps,
            1,
            u64::MAX,
        )?;
        check(
            "run.checkpoint_every_minutes",
            r.checkpoint_every_minutes,
            Range::closed(0.0, 1.0e6),
        )?;
        if r.frame_panels.len() > super::MAX_FRAME_PANELS {
            return Err(Error::config(
                "run.frame_panels",
                format!(
                    "lists {} panels: at most {} (\"plating_rate\", \"concentration\", \"potential\")",
                    r.frame_panels.len(),
                    super::MAX_FRAME_PANELS
                ),
            ));
        }
        for (k, panel) in r.frame_panels.iter().enumerate() {
            if r.frame_panels[..k].contains(panel) {
                return Err(Error::config(
                    "run.frame_panels",
                    format!("lists \"{}\" twice: each panel at most once", panel.name()),
                ));
            }
        }
        if let Some(max_steps) = r.max_steps {
            check_int("run.max_steps", max_steps, 1, u64::MAX)?;
        }
        match (r.end_charge_mah_cm2, r.end_time_s) {
            (Some(_), Some(_)) => {
                return Err(Error::config(
                    "run.end_charge_mah_cm2",
                    "and `run.end_time_s` are both given: give exactly one end condition",
                ))
            }
            (None, None) if r.max_steps.is_none() && self.cycling.is_none() => {
                return Err(Error::config(
                    "run",
                    "has no end condition: give one of `run.end_charge_mah_cm2`, \
                     `run.end_time_s` or `run.max_steps`, or a [cycling] schedule",
                ))
            }
            _ => {}
        }
        // Both control modes integrate the reaction current, so a charge end works in either.
        if let Some(charge) = r.end_charge_mah_cm2 {
            check("run.end_charge_mah_cm2", charge, Range::POSITIVE)?;
        }
        if let Some(time) = r.end_time_s {
            check("run.end_time_s", time, Range::POSITIVE)?;
        }
        Ok(())
    }

    fn validate_metal(&self) -> Result<()> {
        let m = &self.metal;
        if let Some(n) = m.charge_number {
            check("metal.charge_number", n, Range::closed(1.0, 4.0))?;
        }
        if let (Some(_), Some(_)) = (m.molar_volume_cm3_mol, m.site_density_mol_m3) {
            return Err(Error::config(
                "metal.site_density_mol_m3",
                "is given together with metal.molar_volume_cm3_mol: they are one constant (C_s = 1/V_m), give one of them",
            ));
        }
        // Solid metals: 5.6 (Al ~10, Be 4.9) to ~71 cm³/mol (Cs); a unit slip (m³/mol,
        // L/mol) lands far outside.
        if let Some(v) = m.molar_volume_cm3_mol {
            check_why(
                "metal.molar_volume_cm3_mol",
                v,
                Range::closed(1.0, 100.0),
                "molar volumes of solid metals lie between ~5 and ~71 cm³/mol",
            )?;
        }
        if let Some(c) = m.site_density_mol_m3 {
            check_why(
                "metal.site_density_mol_m3",
                c,
                Range::closed(1.0e4, 1.0e6),
                "C_s = ρ/M of solid metals lies between ~1.4e4 and ~2e5 mol/m³",
            )?;
        }
        Ok(())
    }

    fn validate_electrolyte(&self) -> Result<()> {
        let e = &self.electrolyte;
        check(
            "electrolyte.temperature_k",
            e.temperature_k,
            Range::lo_open(0.0, 1000.0),
        )?;
        check(
            "electrolyte.concentration_mol_m3",
            e.concentration_mol_m3,
            Range::POSITIVE,
        )?;
        check(
            "electrolyte.diffusivity_m2_s",
            e.diffusivity_m2_s,
            Range::lo_open(0.0, 1e-6),
        )?;
        if let Some(i0) = e.exchange_current_ma_cm2 {
            check("electrolyte.exchange_current_ma_cm2", i0, Range::POSITIVE)?;
        }
        if let Some(sigma) = e.conductivity_s_m {
            check(
                "electrolyte.conductivity_s_m",
                sigma,
                Range::lo_open(0.0, 100.0),
            )?;
        }
        check_why(
            "electrolyte.metal_diffusivity_ratio",
            e.metal_diffusivity_ratio,
            Range::lo_open(0.0, 1.0),
            "D_s/D_l is a numerical diffusivity inside the metal, never above the liquid's",
        )?;
        for (key, value, new_key) in [
            (
                "electrolyte.metal_site_density_mol_m3",
                e.metal_site_density_mol_m3,
                "metal.site_density_mol_m3 (or metal.molar_volume_cm3_mol)",
            ),
            (
                "electrolyte.charge_number",
                e.charge_number,
                "metal.charge_number",
            ),
        ] {
            if let Some(v) = value {
                return Err(Error::config(
                    key,
                    format!("= {v}: the metal's constants moved to the [metal] section: set {new_key}, or metal.preset = \"mg\" | \"li\" | \"zn\" for a known metal's"),
                ));
            }
        }
        check(
            "electrolyte.transfer_coefficient",
            e.transfer_coefficient,
            Range::open(0.0, 1.0),
        )
    }

    fn validate_interface(&self) -> Result<()> {
        let i = &self.interface;
        check("interface.energy_j_m2", i.energy_j_m2, Range::POSITIVE)?;
        check(
            "interface.exchange_current_ma_cm2",
            i.exchange_current_ma_cm2,
            Range::POSITIVE,
        )?;
        check_why(
            "interface.anisotropy_strength",
            i.anisotropy_strength,
            Range::hi_open(0.0, MAX_SIX_FOLD_ANISOTROPY),
            "six-fold anisotropy needs δ6 < 1/(m²−1) = 1/35 for the stiffness to stay positive",
        )?;
        check(
            "interface.anisotropy_angle_deg",
            i.anisotropy_angle_deg,
            Range::ANY,
        )?;
        check_kinetic_2fold(
            "interface.kinetic_anisotropy_2fold",
            i.kinetic_anisotropy_2fold,
        )?;
        check_why(
            "interface.kinetic_anisotropy_6fold",
            i.kinetic_anisotropy_6fold,
            Range::hi_open(0.0, 0.5),
            "a_k(θ) = 1 − ε_k2 cos 2(θ−θc) + ε_k6 cos 6(θ−θc) must stay well above zero",
        )?;
        check("interface.c_axis_angle_deg", i.c_axis_angle_deg, Range::ANY)?;
        check_why(
            "interface.stiffness_lambda",
            i.stiffness_lambda,
            Range::lo_open(0.0, 1.0),
            "Λ_t = L_η|B_ref|/(L_σ W) sets L_σ, so it must be positive; above 1 the kinetic \
             law turns strongly sub-linear (physics.md §1.6 recommends ≤ 0.1)",
        )?;
        check(
            "interface.reference_overpotential_v",
            i.reference_overpotential_v,
            Range::lo_open(0.0, 2.0),
        )?;
        if let Some(mobility) = i.mobility_m3_j_s {
            check("interface.mobility_m3_j_s", mobility, Range::POSITIVE)?;
        }
        Ok(())
    }

    fn validate_anisotropy(&self) -> Result<()> {
        let a = &self.anisotropy;
        if let Some(c) = &a.c_axis {
            check_direction("anisotropy.c_axis", c)?;
        }
        check_why(
            "anisotropy.c_axis_energy_strength",
            a.c_axis_energy_strength,
            Range::open(-0.5, 1.0),
            "the n_c² term alone keeps the stiffness positive only for −½ < δ_c < 1",
        )?;
        check(
            "anisotropy.basal_rotation_deg",
            a.basal_rotation_deg,
            Range::ANY,
        )?;
        Ok(())
    }

    fn validate_noise_and_control(&self) -> Result<()> {
        check(
            "noise.amplitude_per_s",
            self.noise.amplitude_per_s,
            Range::NON_NEGATIVE,
        )?;
        check(
            "noise.reference_dt_s",
            self.noise.reference_dt_s,
            Range::POSITIVE,
        )?;
        let c = &self.control;
        if c.mode == ControlMode::Galvanostatic {
            let i = c.current_density_ma_cm2;
            check_why(
                "control.current_density_ma_cm2",
                i,
                Range::closed(-100.0, 100.0),
                "galvanostatic mode passes this current: positive plates, negative strips",
            )?;
            if i == 0.0 {
                return Err(Error::config(
                    "control.current_density_ma_cm2",
                    "is 0, which passes no current: allowed are [-100, 0) (stripping) and \
                     (0, 100] (plating), in mA/cm²",
                ));
            }
        } else {
            check(
                "control.current_density_ma_cm2",
                c.current_density_ma_cm2,
                Range::ANY,
            )?;
        }
        check(
            "control.applied_potential_v",
            c.applied_potential_v,
            Range::closed(-5.0, 5.0),
        )?;
        check_why(
            "control.max_overpotential_v",
            c.max_overpotential_v,
            Range::lo_open(0.0, 1000.0),
            "the galvanostatic control keeps |E| within it",
        )?;
        if c.mode == ControlMode::Potentiostatic {
            check_why(
                "control.applied_potential_v",
                c.applied_potential_v,
                Range::closed(-c.max_overpotential_v, c.max_overpotential_v),
                "|E| is bounded by control.max_overpotential_v",
            )?;
        }
        Ok(())
    }

    /// Checks the preset's values with the user's keys laid over them, so a bad override is
    /// reported under the key the user wrote.
    fn validate_interphase(&self) -> Result<()> {
        let s = self.interphase.resolve();
        // Checked where it was given even under a sub-grid interphase, which never reads it
        // (the presets' thicknesses are ≥ 0; `none` has 0, no layer).
        if let Some(thickness) = self.interphase.thickness_um {
            check_why(
                "interphase.thickness_um",
                thickness,
                Range::POSITIVE,
                "a layer has a positive thickness; leave the key out for the preset's",
            )?;
        }
        check(
            "interphase.asr_ohm_cm2",
            s.asr_ohm_cm2,
            Range::closed(0.0, 1e6),
        )?;
        check_why(
            "interphase.parasitic_current_ma_cm2",
            s.parasitic_current_ma_cm2,
            Range::closed(0.0, 100.0),
            "a current per unit of metal surface spent re-forming the layer while plating",
        )?;
        check(
            "interphase.exchange_current_multiplier",
            s.exchange_current_multiplier,
            Range::lo_open(0.0, 100.0),
        )?;
        check_why(
            "interphase.blocked_fraction",
            s.blocked_fraction,
            Range::closed(0.0, 0.95),
            "at least 5 % of the surface must stay active for current to pass",
        )?;
        check(
            "interphase.heterogeneity_sigma_ln",
            s.heterogeneity_sigma_ln,
            Range::closed(0.0, 3.0),
        )?;
        check(
            "interphase.correlation_length_um",
            s.correlation_length_um,
            Range::POSITIVE,
        )?;
        // A lab-frame field is sampled wherever ξ is between 0 and 1: patches shorter than the
        // interface would be met several µm ahead of the front, where a conductive one grows a
        // bump of its own and η stops converging as δ shrinks (docs/model.md, "How the
        // interface samples the layer"). A lateral field is the same through the interface.
        let heterogeneous = s.heterogeneity_sigma_ln > 0.0 || s.blocked_fraction > 0.0;
        let width = LAB_FRAME_MIN_CORRELATION_PER_DELTA * self.interface.width_um;
        if heterogeneous && s.attachment == Attachment::LabFrame {
            check_why(
                "interphase.correlation_length_um",
                s.correlation_length_um,
                Range::hi_open(width, f64::INFINITY),
                &format!(
                    "a lab-frame layer's patches must be no shorter than the interface's 10–90 % \
                     width 4.39·interface.width_um = {} µm, or the front samples them ahead of \
                     itself (docs/model.md, \"How the interface samples the layer\"); raise the \
                     correlation length, or lower interface.width_um to at most {} (with \
                     grid.dx_um at most half of it)",
                    bound(width),
                    floor_3_digits(s.correlation_length_um / LAB_FRAME_MIN_CORRELATION_PER_DELTA),
                ),
            )?;
        }
        check(
            "interphase.diffusivity_ratio",
            s.diffusivity_ratio,
            Range::lo_open(0.0, 1.0),
        )?;
        if let Some(ratio) = s.conductivity_ratio {
            check(
                "interphase.conductivity_ratio",
                ratio,
                Range::lo_open(0.0, 1.0),
            )?;
        }
        check_int(
            "interphase.refresh_every_steps",
            s.refresh_every_steps,
            1,
            u64::MAX,
        )?;
        if let Some(eps) = s.kinetic_anisotropy_2fold {
            check_kinetic_2fold("interphase.kinetic_anisotropy_2fold", eps)?;
        }
        if s.representation == Representation::Resolved {
            let min = 2.0 * self.grid.dx_um;
            let gap = self.domain_length_um() - self.initial.deposit_height_um;
            if !(s.thickness_um >= min && s.thickness_um < gap) {
                return Err(out_of_range(
                    "interphase.thickness_um",
                    s.thickness_um,
                    Range::hi_open(min, gap),
                    &format!(
                        "representation = \"resolved\" needs a band at least 2 cells thick \
                         (2·grid.dx_um) so the grid resolves it, and thinner than the electrolyte \
                         gap (grid.nx·grid.dx_um − initial.deposit_height_um = {}); use \
                         representation = \"subgrid\" for thinner layers",
                        num(gap)
                    ),
                ));
            }
        }
        Ok(())
    }

    fn validate_initial(&self) -> Result<()> {
        let init = &self.initial;
        let length = self.domain_length_um();
        check_why(
            "initial.deposit_height_um",
            init.deposit_height_um,
            Range::hi_open(0.0, 0.5 * length),
            &format!(
                "the starting deposit must be below half the domain length grid.nx·grid.dx_um = {} µm",
                num(length)
            ),
        )?;
        if init.deposit_height_um == 0.0 && init.nucleus_radius_um <= 0.0 {
            return Err(Error::config(
                "initial.deposit_height_um",
                "= 0 leaves no metal to grow on: give a deposit height in (0, half the domain) or \
                 initial.nucleus_radius_um > 0 for isolated nuclei on the bare collector",
            ));
        }
        let room = length - init.deposit_height_um;
        check_why(
            "initial.nucleus_radius_um",
            init.nucleus_radius_um,
            Range::hi_open(0.0, room),
            "a nucleus sits on the deposit and must fit below the far boundary",
        )?;
        let width = self.domain_width_um();
        for (index, &y) in init.nucleus_positions_um.iter().enumerate() {
            check_why(
                &format!("initial.nucleus_positions_um[{index}]"),
                y,
                Range::hi_open(0.0, width),
                &format!(
                    "lateral positions lie in the periodic width grid.ny·grid.dx_um = {} µm",
                    num(width)
                ),
            )?;
        }
        if !init.nucleus_c_axes.is_empty() {
            let nuclei = match (
                init.nucleus_radius_um > 0.0,
                init.nucleus_positions_um.len(),
            ) {
                (false, _) => 0,
                (true, 0) => 1,
                (true, n) => n,
            };
            if self.grid.nz == 1 || nuclei != init.nucleus_c_axes.len() {
                return Err(Error::config(
                    "initial.nucleus_c_axes",
                    format!(
                        "has {} c-axes for {nuclei} nuclei (grid.nz = {}): per-nucleus grains are \
                         3D only (grid.nz > 1), with one c-axis per nucleus (initial.nucleus_radius_um \
                         > 0, one per initial.nucleus_positions_um, or one in the middle)",
                        init.nucleus_c_axes.len(),
                        self.grid.nz
                    ),
                ));
            }
            for (index, c) in init.nucleus_c_axes.iter().enumerate() {
                check_direction(&format!("initial.nucleus_c_axes[{index}]"), c)?;
            }
        }
        Ok(())
    }

    fn validate_numerics(&self) -> Result<()> {
        let n = &self.numerics;
        check_why(
            "numerics.time_step_safety",
            n.time_step_safety,
            Range::lo_open(0.0, 1.0),
            "dt = S · min(stability bounds), so S > 1 steps past the bound",
        )?;
        if let Some(dt) = n.dt_s {
            check("numerics.dt_s", dt, Range::POSITIVE)?;
        }
        check("numerics.max_dt_s", n.max_dt_s, Range::POSITIVE)?;
        if let Some(old) = n.solver_tolerance {
            return Err(Error::config(
                "numerics.solver_tolerance",
                format!("= {old}: this key was replaced by two, one per solve: numerics.potential_tolerance_v (the potential's estimated error in volts, default 1e-6; the Butler–Volmer rate moves by α·f·δφ ≈ 4e-5 per µV) and numerics.concentration_tolerance (the concentration's relative residual, default 1e-6)"),
            ));
        }
        check_why(
            "numerics.potential_tolerance_v",
            n.potential_tolerance_v,
            Range::closed(1e-12, 1e-2),
            "the potential solve stops when its estimated error is below it (V)",
        )?;
        check_why(
            "numerics.concentration_tolerance",
            n.concentration_tolerance,
            Range::closed(1e-12, 1e-2),
            "relative residual of the concentration solve",
        )?;
        check_int(
            "numerics.solver_max_cycles",
            n.solver_max_cycles.into(),
            1,
            10_000,
        )
    }
}

fn check_kinetic_2fold(key: &str, value: f64) -> Result<()> {
    check_why(
        key,
        value,
        Range::hi_open(0.0, 0.95),
        "a_k(θ) = 1 − ε_k2 cos 2(θ−θc) + ... must stay positive on the basal facet",
    )
}

/// An interval of allowed values, printed in interval notation ("[0, 0.0286)", "(0, ∞)").
#[derive(Debug, Clone, Copy)]
struct Range {
    lo: f64,
    lo_closed: bool,
    hi: f64,
    hi_closed: bool,
}

impl Range {
    const ANY: Range = Range::open(f64::NEG_INFINITY, f64::INFINITY);
    const POSITIVE: Range = Range::open(0.0, f64::INFINITY);
    const NON_NEGATIVE: Range = Range::hi_open(0.0, f64::INFINITY);

    /// [lo, hi]
    const fn closed(lo: f64, hi: f64) -> Range {
        Range {
            lo,
            lo_closed: true,
            hi,
            hi_closed: true,
        }
    }
    /// (lo, hi)
    const fn open(lo: f64, hi: f64) -> Range {
        Range {
            lo,
            lo_closed: false,
            hi,
            hi_closed: false,
        }
    }
    /// (lo, hi]
    const fn lo_open(lo: f64, hi: f64) -> Range {
        Range {
            lo,
            lo_closed: false,
            hi,
            hi_closed: true,
        }
    }
    /// [lo, hi)
    const fn hi_open(lo: f64, hi: f64) -> Range {
        Range {
            lo,
            lo_closed: true,
            hi,
            hi_closed: false,
        }
    }

    /// Finite and inside; NaN and ±∞ are never allowed.
    fn contains(&self, v: f64) -> bool {
        v.is_finite()
            && (if self.lo_closed {
                v >= self.lo
            } else {
                v > self.lo
            })
            && (if self.hi_closed {
                v <= self.hi
            } else {
                v < self.hi
            })
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}, {}{}",
            if self.lo_closed { '[' } else { '(' },
            bound(self.lo),
            bound(self.hi),
            if self.hi_closed { ']' } else { ')' }
        )
    }
}

fn check(key: &str, value: f64, range: Range) -> Result<()> {
    if range.contains(value) {
        Ok(())
    } else {
        Err(out_of_range(key, value, range, ""))
    }
}

fn check_why(key: &str, value: f64, range: Range, reason: &str) -> Result<()> {
    if range.contains(value) {
        Ok(())
    } else {
        Err(out_of_range(key, value, range, reason))
    }
}

fn check_int(key: &str, value: u64, lo: u64, hi: u64) -> Result<()> {
    if (lo..=hi).contains(&value) {
        return Ok(());
    }
    let hi = if hi == u64::MAX {
        "∞)".to_string()
    } else {
        format!("{hi}]")
    };
    Err(Error::config(
        key,
        format!("= {value} is outside the allowed range [{lo}, {hi}"),
    ))
}

/// "= <value> is outside the allowed range <range>[: <reason>]"; non-finite values say so.
fn out_of_range(key: &str, value: f64, range: Range, reason: &str) -> Error {
    let mut message = format!("= {} is outside the allowed range {range}", num(value));
    if !value.is_finite() {
        message.push_str(": not a finite number");
    } else if !reason.is_empty() {
        message.push_str(": ");
        message.push_str(reason);
    }
    Error::config(key, message)
}

/// A value as the user would write it: shortest round-trip form, exponent outside [1e-3, 1e6).
fn num(v: f64) -> String {
    let magnitude = v.abs();
    if !v.is_finite() || v == 0.0 || (1e-3..1e6).contains(&magnitude) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

/// `v` rounded down to 3 significant digits (a bound the user can write and meet).
fn floor_3_digits(v: f64) -> String {
    if !(v.is_finite() && v > 0.0) {
        return num(v);
    }
    let scale = 10f64.powi(2 - v.log10().floor() as i32);
    num(((v * scale).floor() / scale * 1e12).round() / 1e12)
}

/// A range bound: like [`num`] but rounded to 3 significant digits when long (1/35 → 0.0286).
fn bound(v: f64) -> String {
    if v == f64::INFINITY {
        return "∞".into();
    }
    if v == f64::NEG_INFINITY {
        return "-∞".into();
    }
    let exact = num(v);
    if exact.len() <= 8 {
        return exact;
    }
    let magnitude = v.abs();
    if (1e-3..1e6).contains(&magnitude) {
        let decimals = (2 - magnitude.log10().floor() as i32).max(0) as usize;
        let rounded = format!("{v:.decimals$}");
        if rounded.contains('.') {
            rounded
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string()
        } else {
            rounded
        }
    } else {
        format!("{v:.2e}")
    }
}
