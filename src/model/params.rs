//! Parameters in the solver's internal units (µm, s, V, c/c0), converted from the config once.

use crate::config::presets::InterphaseSpec;
use crate::config::{Attachment, Config, ControlMode, Representation};
use crate::error::{Error, Result};
use crate::grid::Grid;
use crate::model::hcp::{CrystalFrame, HcpAnisotropy};
use crate::model::metal::Metal;

/// Faraday constant (C/mol).
pub const FARADAY: f64 = 96_485.332_12;
/// Gas constant (J/(mol K)).
pub const GAS_CONSTANT: f64 = 8.314_462_618;
/// Length unit l0 in metres (µm).
pub const LENGTH_UNIT_M: f64 = 1.0e-6;
/// max |h''(xi)| = 30·√3/9 for h = xi³(6xi² − 15xi + 10) (physics.md §1.3).
pub const MAX_H_SECOND_DERIVATIVE: f64 = 5.773_502_691_896_258;
/// max h'(xi) = 30/16, at xi = ½.
pub const MAX_H_PRIME: f64 = 1.875;
/// Symmetry order of the surface-energy anisotropy (hcp basal section).
pub const ANISOTROPY_ORDER: f64 = 6.0;
/// Normals on the sphere over which a 3D run's least surface stiffness is sought.
pub const STIFFNESS_NORMALS: usize = 20_000;

/// Electrical control in internal units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Control {
    /// Target plating current density (A/m², positive = plating).
    Galvanostatic { current_density_a_m2: f64 },
    /// Fixed collector potential (V).
    Potentiostatic { applied_potential_v: f64 },
}

/// Interphase parameters in SI/internal units.
#[derive(Debug, Clone, PartialEq)]
pub struct InterphaseParams {
    pub spec: InterphaseSpec,
    pub representation: Representation,
    pub attachment: Attachment,
    /// Layer thickness L_SEI (µm).
    pub thickness: f64,
    /// Mean area-specific resistance (Ω m²); R1 only (R2 resolves it as a band).
    pub asr_ohm_m2: f64,
    pub exchange_current_multiplier: f64,
    pub blocked_fraction: f64,
    pub sigma_ln: f64,
    /// Correlation length ℓ_c (µm).
    pub correlation_length: f64,
    /// R2: D_SEI / D_l and σ_SEI / σ_l.
    pub diffusivity_ratio: f64,
    pub conductivity_ratio: f64,
    pub refresh_every_steps: u64,
}

impl InterphaseParams {
    /// Whether a resolved band (R2) exists; without one s = 0 everywhere.
    pub fn has_resolved_band(&self) -> bool {
        self.representation == Representation::Resolved && self.thickness > 0.0
    }
}

/// Every coefficient the kernels need, in internal units.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub grid: Grid,
    /// E0 = R T c0 (J/m³), the energy-density unit.
    pub energy_unit_j_m3: f64,
    /// f = nF/(RT) (1/V), of the metal at the electrolyte's temperature.
    pub f: f64,
    /// α.
    pub alpha: f64,
    /// The depositing metal: n, C_s and what follows from them.
    pub metal: Metal,
    /// c0 (mol/m³).
    pub c0_mol_m3: f64,
    /// C_s / c0: the sink coefficient of the concentration equation.
    pub cs_over_c0: f64,
    /// δ (µm), W and κ0 (E0 units), L_σ (1/s in E0 units), L_η (1/s).
    pub delta: f64,
    pub w: f64,
    pub kappa: f64,
    pub l_sigma: f64,
    pub l_eta: f64,
    /// i0 (A/m²) of clean Mg.
    pub i0_a_m2: f64,
    /// Anisotropy δ6, θ0 (rad); kinetic ε_k2, ε_k6, θ_c (rad).
    pub aniso_strength: f64,
    pub aniso_angle: f64,
    pub kinetic_2fold: f64,
    pub kinetic_6fold: f64,
    pub c_axis_angle: f64,
    /// 3D runs: the hcp coefficients (ε0 = √κ0, δ6, δ_c, ε_k2, ε_k6) and the crystal's frame.
    pub hcp: HcpAnisotropy,
    pub crystal: CrystalFrame,
    /// 3D: the frame of each nucleus's grain (`initial.nucleus_c_axes`, `anisotropy.basal_rotation_deg`
    /// about each); empty: one grain, `crystal`.
    pub nucleus_frames: Vec<CrystalFrame>,
    /// D_l and D_s (µm²/s).
    pub d_liquid: f64,
    pub d_solid: f64,
    /// σ_l (S/m) = n²F²D_l c0/(RT).
    pub sigma_liquid_s_m: f64,
    /// nF C_s l0²/t0 / σ_l (V/s per unit ∂xi/∂t): the source of the normalised potential equation
    /// −∇·((σ/σ_l)∇φ) = −q ∂xi/∂t.
    pub potential_source: f64,
    /// A_n (1/s) and dt_ref (s).
    pub noise_amplitude: f64,
    pub noise_dt_ref: f64,
    pub control: Control,
    /// |E| ≤ this under galvanostatic control (V).
    pub max_overpotential_v: f64,
    pub interphase: InterphaseParams,
    pub seed: u64,
    /// Colour-mapped panels per frame (`run.frame_panels`): the frames' size, for the memory
    /// estimate.
    pub frame_panels: usize,
    pub time_step_safety: f64,
    pub fixed_dt: Option<f64>,
    pub max_dt: f64,
    /// The potential solve's estimated error bound (V) and the concentration solve's relative
    /// residual.
    pub potential_tolerance_v: f64,
    pub concentration_tolerance: f64,
    pub solver_max_cycles: u32,
    /// Whether a step solves the potential and the reaction together (Newton; potentiostatic
    /// control only), resolved from `numerics.potential_coupling` ([`crate::model::coupling`]).
    pub implicit_coupling: bool,
    /// Whether metal cut off from the collector is found and held dead (`model::dead_metal`):
    /// in a run that strips (a negative galvanostatic current, a positive applied potential, a
    /// `[cycling]` schedule), where pieces are cut off; a plating run's metal stays joined.
    pub tracks_dead_metal: bool,
    /// Whether the initial deposit is an inert collector that does not dissolve
    /// (`cycling.collector = "inert"`).
    pub inert_collector: bool,
    /// i_p (A/m² of metal surface), `interphase.parasitic_current_ma_cm2`: drawn while plating,
    /// depositing no metal.
    pub parasitic_current_a_m2: f64,
}

impl Params {
    /// Converts a (validated) config to internal units. The only place units are converted.
    pub fn from_config(cfg: &Config) -> Result<Params> {
        let e = &cfg.electrolyte;
        let itf = &cfg.interface;
        let grid = Grid {
            nx: cfg.grid.nx,
            ny: cfg.grid.ny,
            nz: cfg.grid.nz,
            dx: cfg.grid.dx_um,
        };
        let metal: Metal = cfg.metal.resolve().into();
        let energy_unit = GAS_CONSTANT * e.temperature_k * e.concentration_mol_m3;
        let f = metal.f(e.temperature_k);
        let delta_m = itf.width_um * LENGTH_UNIT_M;
        // W = 3γ/δ, κ0 = 6γδ (physics.md §1.6).
        let w_si = 3.0 * itf.energy_j_m2 / delta_m;
        let kappa_si = 6.0 * itf.energy_j_m2 * delta_m;
        let i0 = cfg.exchange_current_ma_cm2() * 10.0;
        // D_l from a measured conductivity where one is given (Mode A: σ_l = n²F²D_l c0/(RT)).
        let d_liquid_m2_s = match e.conductivity_s_m {
            Some(sigma) => {
                sigma / metal.mode_a_conductivity_s_m(1.0, e.concentration_mol_m3, e.temperature_k)
            }
            None => e.diffusivity_m2_s,
        };
        // L_η = i0 / (6 δ n F C_s).
        let l_eta = i0 / (6.0 * delta_m * metal.charge_density_c_m3());
        let alpha = e.transfer_coefficient;
        let w = w_si / energy_unit;
        let l_sigma = match itf.mobility_m3_j_s {
            Some(m) => m * energy_unit,
            None => {
                // L_σ = L_η |B_ref| / (Λ_t W) at c = c0, η = −η_ref.
                let eta = -itf.reference_overpotential_v;
                let b_ref = ((1.0 - alpha) * f * eta).exp() - (-alpha * f * eta).exp();
                l_eta * b_ref.abs() / (itf.stiffness_lambda * w)
            }
        };
        let sigma_l =
            metal.mode_a_conductivity_s_m(d_liquid_m2_s, e.concentration_mol_m3, e.temperature_k);
        let spec = cfg.interphase.resolve();
        let asr_ohm_m2 = spec.asr_ohm_cm2 * 1.0e-4;
        let thickness = spec.thickness_um;
        let conductivity_ratio = match spec.conductivity_ratio {
            Some(r) => r,
            // σ_SEI = L_SEI / ASR (physics.md §3.3), relative to σ_l.
            None if asr_ohm_m2 > 0.0 => {
                ((thickness * LENGTH_UNIT_M / asr_ohm_m2) / sigma_l).min(1.0)
            }
            None => 1.0,
        };
        let interphase = InterphaseParams {
            representation: spec.representation,
            attachment: spec.attachment,
            thickness,
            asr_ohm_m2: if spec.representation == Representation::Subgrid {
                asr_ohm_m2
            } else {
                0.0
            },
            exchange_current_multiplier: spec.exchange_current_multiplier,
            blocked_fraction: spec.blocked_fraction,
            sigma_ln: spec.heterogeneity_sigma_ln,
            correlation_length: spec.correlation_length_um,
            diffusivity_ratio: spec.diffusivity_ratio,
            conductivity_ratio,
            refresh_every_steps: spec.refresh_every_steps,
            spec: spec.clone(),
        };
        let control = match cfg.control.mode {
            ControlMode::Galvanostatic => Control::Galvanostatic {
                current_density_a_m2: cfg.control.current_density_ma_cm2 * 10.0,
            },
            ControlMode::Potentiostatic => Control::Potentiostatic {
                applied_potential_v: cfg.control.applied_potential_v,
            },
        };
        let kappa = kappa_si / (energy_unit * LENGTH_UNIT_M * LENGTH_UNIT_M);
        let kinetic_2fold = spec
            .kinetic_anisotropy_2fold
            .unwrap_or(itf.kinetic_anisotropy_2fold);
        let params = Params {
            grid,
            energy_unit_j_m3: energy_unit,
            f,
            alpha,
            metal,
            c0_mol_m3: e.concentration_mol_m3,
            cs_over_c0: metal.site_density_mol_m3 / e.concentration_mol_m3,
            delta: itf.width_um,
            w,
            kappa,
            l_sigma,
            l_eta,
            i0_a_m2: i0,
            aniso_strength: itf.anisotropy_strength,
            aniso_angle: itf.anisotropy_angle_deg.to_radians(),
            kinetic_2fold,
            kinetic_6fold: itf.kinetic_anisotropy_6fold,
            c_axis_angle: itf.c_axis_angle_deg.to_radians(),
            hcp: HcpAnisotropy {
                eps0: kappa.sqrt(),
                delta6: itf.anisotropy_strength,
                delta_c: cfg.anisotropy.c_axis_energy_strength,
                kinetic_2fold,
                kinetic_6fold: itf.kinetic_anisotropy_6fold,
            },
            crystal: CrystalFrame::from_c_axis(
                cfg.anisotropy.c_axis.map_or_else(
                    || {
                        let t = itf.c_axis_angle_deg.to_radians();
                        [t.cos(), t.sin(), 0.0]
                    },
                    |c| c.direction(),
                ),
                cfg.anisotropy.basal_rotation_deg,
            ),
            nucleus_frames: cfg
                .initial
                .nucleus_c_axes
                .iter()
                .map(|c| {
                    CrystalFrame::from_c_axis(c.direction(), cfg.anisotropy.basal_rotation_deg)
                })
                .collect(),
            d_liquid: d_liquid_m2_s / (LENGTH_UNIT_M * LENGTH_UNIT_M),
            d_solid: d_liquid_m2_s * e.metal_diffusivity_ratio / (LENGTH_UNIT_M * LENGTH_UNIT_M),
            sigma_liquid_s_m: sigma_l,
            potential_source: metal.charge_density_c_m3() * LENGTH_UNIT_M * LENGTH_UNIT_M / sigma_l,
            noise_amplitude: cfg.noise.amplitude_per_s,
            noise_dt_ref: cfg.noise.reference_dt_s,
            control,
            max_overpotential_v: cfg.control.max_overpotential_v,
            interphase,
            seed: cfg.run.seed,
            frame_panels: cfg.run.frame_panels.len(),
            time_step_safety: cfg.numerics.time_step_safety,
            fixed_dt: cfg.numerics.dt_s,
            max_dt: cfg.numerics.max_dt_s,
            potential_tolerance_v: cfg.numerics.potential_tolerance_v,
            concentration_tolerance: cfg.numerics.concentration_tolerance,
            solver_max_cycles: cfg.numerics.solver_max_cycles,
            implicit_coupling: false,
            parasitic_current_a_m2: cfg.interphase.resolve().parasitic_current_ma_cm2 * 10.0,
            inert_collector: cfg
                .cycling
                .as_ref()
                .is_some_and(|c| c.collector == crate::config::Collector::Inert),
            tracks_dead_metal: cfg.cycling.is_some()
                || match control {
                    Control::Galvanostatic {
                        current_density_a_m2,
                    } => current_density_a_m2 < 0.0,
                    Control::Potentiostatic {
                        applied_potential_v,
                    } => applied_potential_v > 0.0,
                },
        };
        let mut params = params;
        params.implicit_coupling = crate::model::coupling::resolve(&params, cfg)?;
        if !(params.l_sigma.is_finite() && params.l_sigma > 0.0) {
            return Err(Error::config(
                "interface.stiffness_lambda",
                format!("gives a non-finite or zero L_σ = {}", params.l_sigma),
            ));
        }
        if grid.nz > 1 {
            params.check_convex_surface_energy()?;
        }
        Ok(params)
    }

    /// Refuses an hcp surface energy that is not convex (3D runs): the least surface stiffness
    /// over [`STIFFNESS_NORMALS`] normals must be positive; the error names the worst normal.
    pub fn check_convex_surface_energy(&self) -> Result<()> {
        let s = self.hcp.least_stiffness(&self.crystal, STIFFNESS_NORMALS);
        if s.value > 0.0 {
            return Ok(());
        }
        let f = |v: [f64; 3]| format!("({:.3}, {:.3}, {:.3})", v[0], v[1], v[2]);
        Err(Error::config(
            "anisotropy.c_axis_energy_strength",
            format!(
                "= {} with interface.anisotropy_strength = {} makes the 3D surface energy \
                 non-convex: the least stiffness (γ + γ'')/γ0 is {:.4} at the normal {} along the \
                 tangent {} (lab frame x, y, z; crystal frame n_a, n_b, n_c = {}); the front would \
                 facet with orientations the model cannot represent. Lower either strength",
                self.hcp.delta_c,
                self.hcp.delta6,
                s.value,
                f(s.normal),
                f(s.tangent),
                f(self.crystal.components(s.normal)),
            ),
        ))
    }

    /// Butler–Volmer factor B(η, c) = exp((1−α) f η) − c exp(−α f η) (physics.md E1).
    pub fn butler_volmer(&self, eta: f64, c: f64) -> f64 {
        ((1.0 - self.alpha) * self.f * eta).exp() - c * (-self.alpha * self.f * eta).exp()
    }

    /// Planar front velocity (µm/s) of a plating current density i (A/m²): v = i/(nF C_s).
    pub fn velocity_of_current(&self, current_a_m2: f64) -> f64 {
        self.metal.thickness_um_of_charge(current_a_m2)
    }

    /// Σ ∂xi/∂t over the cells that carries the galvanostatic target current (v · A / dx³, A the
    /// collector's area; in 2D v · L_y / dx²);
    /// None under potentiostatic control.
    pub fn target_rate_sum(&self) -> Option<f64> {
        match self.control {
            Control::Galvanostatic {
                current_density_a_m2,
            } => Some(self.rate_sum_of_current(current_density_a_m2)),
            Control::Potentiostatic { .. } => None,
        }
    }

    /// Σ ∂xi/∂t over the cells that carries a metal current density `current_a_m2` (the inverse
    /// of [`Params::current_of_rate_sum`]).
    pub fn rate_sum_of_current(&self, current_a_m2: f64) -> f64 {
        self.velocity_of_current(current_a_m2) * self.grid.layer_cells() as f64 / self.grid.dx
    }

    /// The metal surface per projected area of the front whose |∇xi| sum over the cells is
    /// `grad_sum` (1/µm): Σ|∇xi| dV / A (∫|∇xi| dV is the area of a diffuse surface).
    pub fn surface_area_ratio(&self, grad_sum: f64) -> f64 {
        grad_sum * self.grid.cell_measure() / self.grid.collector_measure()
    }

    /// The parasitic current density (A/m² of collector) of a front whose |∇xi| sums to
    /// `grad_sum`, while it plates (`plating`); 0 otherwise.
    pub fn parasitic_current(&self, grad_sum: f64, plating: bool) -> f64 {
        if plating && self.parasitic_current_a_m2 > 0.0 {
            self.parasitic_current_a_m2 * self.surface_area_ratio(grad_sum)
        } else {
            0.0
        }
    }

    /// The current density (A/m²) that Σ ∂xi/∂t = `rate_sum` over the cells carries (the inverse
    /// of [`Params::target_rate_sum`]).
    pub fn current_of_rate_sum(&self, rate_sum: f64) -> f64 {
        self.current_of_velocity(rate_sum * self.grid.dx / self.grid.layer_cells() as f64)
    }

    /// The electrode potential E before the first step: the applied one, or 0 (galvanostatic,
    /// where the control finds it).
    pub fn initial_electrode_potential(&self) -> f64 {
        match self.control {
            Control::Potentiostatic {
                applied_potential_v,
            } => applied_potential_v,
            Control::Galvanostatic { .. } => 0.0,
        }
    }

    /// The planar thickness deposited per unit time (µm/s) by a step of length `dt` that changed
    /// xi by Σ Δxi = `dxi_sum` over the cells: ΣΔξ dV over the collector's area (ΣΔξ Δx³/(L_y L_z)
    /// = ΣΔξ Δx²/L_y/nz; in 2D ΣΔξ Δx²/L_y). Both backends' step reports.
    pub fn velocity_of_change(&self, dxi_sum: f64, dt: f64) -> f64 {
        let g = self.grid;
        dxi_sum * g.dx * g.dx / g.ly() / g.nz as f64 / dt
    }

    /// The two solves of every step (`numerics.*_tolerance`, `numerics.solver_max_cycles`), for
    /// both backends: the CPU runs the plans, the device their fixed counts.
    pub fn step_solves(&self) -> crate::numerics::StepSolves {
        crate::numerics::StepSolves::new(
            self.potential_tolerance_v,
            self.concentration_tolerance,
            self.solver_max_cycles,
        )
    }

    /// Current density (A/m²) carried by a deposit growing at v (µm/s).
    pub fn current_of_velocity(&self, v: f64) -> f64 {
        v * LENGTH_UNIT_M * self.metal.charge_density_c_m3()
    }

    /// Λ = L_η|B|/(L_σ W) for a given |B|.
    pub fn stiffness_lambda(&self, b_abs: f64) -> f64 {
        self.l_eta * b_abs / (self.l_sigma * self.w)
    }

    /// Damköhler number Da = i0 ℓ/(nF D c0) over the electrolyte gap ℓ (µm).
    pub fn damkohler(&self, gap_um: f64) -> f64 {
        self.i0_a_m2 * gap_um * LENGTH_UNIT_M
            / (self.metal.charge_number
                * FARADAY
                * self.d_liquid
                * LENGTH_UNIT_M
                * LENGTH_UNIT_M
                * self.c0_mol_m3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A measured conductivity sets D_l by Mode A (Mg[Al(HFIP)₄]₂/DME: 6.50 mS/cm at 0.25 M gives
    /// D_l = σ RT/(n²F²c0) = 1.731e-10 m²/s), σ_l comes back as given; the electrolyte's i0
    /// replaces the interface's.
    #[test]
    fn an_electrolyte_sets_its_diffusivity_from_its_conductivity_and_its_own_i0() {
        let mut cfg = Config::default_demo();
        cfg.electrolyte.concentration_mol_m3 = 250.0;
        cfg.electrolyte.conductivity_s_m = Some(0.65);
        cfg.electrolyte.exchange_current_ma_cm2 = Some(2.0);
        cfg.validate().unwrap();
        let p = Params::from_config(&cfg).unwrap();
        let d_m2_s = p.d_liquid * LENGTH_UNIT_M * LENGTH_UNIT_M;
        let expected = 0.65 * GAS_CONSTANT * 298.15 / (4.0 * FARADAY * FARADAY * 250.0);
        println!(
            "D_l = {d_m2_s:e} m²/s (expected {expected:e}), σ_l = {} S/m, i0 = {} A/m²",
            p.sigma_liquid_s_m, p.i0_a_m2
        );
        assert!((d_m2_s / expected - 1.0).abs() < 1e-12);
        assert!((expected / 1.731e-10 - 1.0).abs() < 1e-3);
        assert!((p.sigma_liquid_s_m / 0.65 - 1.0).abs() < 1e-12);
        assert_eq!(p.i0_a_m2, 20.0);
        let inert: Vec<_> = {
            cfg.interface.exchange_current_ma_cm2 = 1.0;
            cfg.inert_keys().into_iter().map(|k| k.key).collect()
        };
        assert!(
            inert.contains(&"interface.exchange_current_ma_cm2"),
            "{inert:?}"
        );
    }
}
