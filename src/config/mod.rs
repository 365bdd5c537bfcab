//! Typed, unit-bearing run configuration (TOML).
//!
//! Every dimensional key carries its unit in its name (`dx_um`, `current_density_ma_cm2`, ...).
//! Conversion to the solver's internal units (µm, s, V, c/c0) happens once, in
//! [`crate::model::params::Params::from_config`].

pub mod inert;
pub mod load;
pub mod metal;
pub mod presets;
pub mod systems;
pub mod validate;

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::marker::PhantomData;

/// Whole run configuration, as read from TOML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(deserialize_with = "table")]
    pub grid: GridConfig,
    /// Optional as a table (a `[cycling]` schedule is an end condition), not as an end: without
    /// a schedule, validation asks for one of its end conditions.
    #[serde(default, deserialize_with = "table")]
    pub run: RunConfig,
    #[serde(default, deserialize_with = "table")]
    pub metal: MetalConfig,
    #[serde(default, deserialize_with = "table")]
    pub electrolyte: ElectrolyteConfig,
    #[serde(default, deserialize_with = "table")]
    pub interface: InterfaceConfig,
    #[serde(default, deserialize_with = "table")]
    pub noise: NoiseConfig,
    #[serde(default, deserialize_with = "table")]
    pub control: ControlConfig,
    #[serde(default, deserialize_with = "table")]
    pub anisotropy: AnisotropyConfig,
    #[serde(default, deserialize_with = "table")]
    pub interphase: InterphaseConfig,
    #[serde(default, deserialize_with = "table")]
    pub initial: InitialConfig,
    #[serde(default, deserialize_with = "table")]
    pub numerics: NumericsConfig,
    /// Plating/stripping cycles; absent, the run passes `[control]`'s current to its end.
    #[serde(
        default,
        deserialize_with = "optional_table",
        skip_serializing_if = "Option::is_none"
    )]
    pub cycling: Option<CyclingConfig>,
    /// What a reviewed system reports (configs/systems/); the run does not read it.
    #[serde(
        default,
        deserialize_with = "optional_table",
        skip_serializing_if = "Option::is_none"
    )]
    pub system: Option<SystemConfig>,
}

/// `[system]`: a reviewed electrolyte/interphase system's reported figures (configs/systems/),
/// for `mgpf systems`, the calibration and the tests that hold the config to them. Figures the
/// review does not give are left out; a bound ("CE > 98 %") is a bound key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SystemConfig {
    /// The system, as the review names it.
    pub name: String,
    /// The current the figures were reported at; None where the review gives none (the
    /// config's `[cycling]` current is then an assumption, said in `notes`).
    pub current_ma_cm2: Option<f64>,
    /// Deposition (plating) and stripping polarisation, V (negative while plating).
    pub plating_overpotential_v: Option<f64>,
    pub stripping_overpotential_v: Option<f64>,
    /// |polarisation| below this, V (a bound the review gives).
    pub overpotential_below_v: Option<f64>,
    /// Coulombic efficiency, a fraction.
    pub ce: Option<f64>,
    /// CE above this (a bound the review gives).
    pub ce_above: Option<f64>,
    /// The morphology the review reports.
    pub morphology: String,
    /// The keys `mgpf calibrate` fitted to these figures; the rest came out unfitted.
    pub fitted: Vec<String>,
    /// What else the review reports, and what is assumed here.
    pub notes: String,
}
/// [`table`] for an optional section.
fn optional_table<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    table(deserializer).map(Some)
}

/// What stands for the current collector under a cycling schedule (`cycling.collector`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Collector {
    /// The initial deposit is an inert working electrode (Pt, Cu, stainless steel): metal
    /// plated on it strips, it does not; stripping ends at the cut-off once the plated metal
    /// that is still joined to it is gone. Coulombic efficiency as measured in a half cell.
    #[default]
    Inert,
    /// The initial deposit is the metal itself (a foil): stripping may dissolve it.
    Metal,
}

/// `[cycling]`: plating/stripping cycles at constant current (docs/model.md, "Cycling"). Each
/// cycle plates `plating_capacity_mah_cm2` at `plating_current_ma_cm2`, rests `rest_s`, strips
/// at `stripping_current_ma_cm2` until `stripping_capacity_mah_cm2` has passed or the electrode
/// reaches `cutoff_voltage_v`, and rests again. Currents are magnitudes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CyclingConfig {
    /// Number of plating/stripping cycles.
    pub cycles: u32,
    /// Plating current (its magnitude).
    pub plating_current_ma_cm2: f64,
    /// Charge plated per cycle.
    pub plating_capacity_mah_cm2: f64,
    /// Stripping current (its magnitude).
    pub stripping_current_ma_cm2: f64,
    /// Charge stripped per cycle at most; None: strip until the cut-off.
    pub stripping_capacity_mah_cm2: Option<f64>,
    /// The electrode potential (vs the bulk electrolyte, > 0) at which stripping ends.
    pub cutoff_voltage_v: f64,
    /// Open-circuit rest after each half-cycle (0: none).
    pub rest_s: f64,
    /// What the initial deposit stands for: "inert" (a working electrode) or "metal".
    pub collector: Collector,
}

impl Default for CyclingConfig {
    fn default() -> Self {
        CyclingConfig {
            cycles: 1,
            plating_current_ma_cm2: 0.5,
            plating_capacity_mah_cm2: 0.5,
            stripping_current_ma_cm2: 0.5,
            stripping_capacity_mah_cm2: None,
            cutoff_voltage_v: 1.0,
            rest_s: 0.0,
            collector: Collector::Inert,
        }
    }
}

/// Reads a section from a TOML table only. serde's derive also fills a struct from an array by
/// position, so `grid = [48, 64, 0.5]` or `--set initial=[1,2]` would set keys nobody named.
fn table<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<T, D::Error> {
    struct TableOnly<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for TableOnly<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a table of keys")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
    deserializer.deserialize_map(TableOnly(PhantomData))
}

/// `[grid]`: uniform cell-centred grid. x (nx cells) is the growth axis, normal to the current
/// collector at x = 0; y (ny cells) and z (nz cells) are lateral and periodic; nz = 1 (the
/// default) is a 2D run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridConfig {
    pub nx: usize,
    pub ny: usize,
    /// 1 for a 2D run, else even and at least 8.
    #[serde(default = "one")]
    pub nz: usize,
    pub dx_um: f64,
}

fn one() -> usize {
    1
}

/// `[anisotropy]`: the crystal's orientation and the hcp terms of 3D runs (docs/model.md,
/// "Anisotropy in 3D"). The strengths δ6, ε_k2 and ε_k6 are `[interface]`'s, shared with 2D;
/// 2D runs use `[interface]`'s in-plane forms and ignore this section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnisotropyConfig {
    /// The c-axis ĉ: a vector `[x, y, z]` (normalised) or `{ polar_deg, azimuth_deg }` (the
    /// polar angle from x, the growth axis, and the azimuth about x from y). None: in the x–y
    /// plane at `interface.c_axis_angle_deg` from x, as in 2D.
    pub c_axis: Option<CAxis>,
    /// δ_c of ε(n̂) = ε0 [1 + δ6 Re((n_a + i n_b)⁶) + δ_c n_c²]: negative makes the basal facets
    /// (normal along ĉ) the low-energy ones, as for Mg.
    pub c_axis_energy_strength: f64,
    /// Rotation of the basal directions â, b̂ about ĉ (â at 0 is the basal direction closest to
    /// y, or to z when ĉ is along y).
    pub basal_rotation_deg: f64,
}

impl Default for AnisotropyConfig {
    fn default() -> Self {
        AnisotropyConfig {
            c_axis: None,
            c_axis_energy_strength: -0.02,
            basal_rotation_deg: 0.0,
        }
    }
}

/// The c-axis of `[anisotropy]`, as a vector or as angles.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum CAxis {
    Vector([f64; 3]),
    Angles { polar_deg: f64, azimuth_deg: f64 },
}

impl CAxis {
    /// The (unnormalised) direction in the lab frame.
    pub fn direction(&self) -> [f64; 3] {
        match *self {
            CAxis::Vector(v) => v,
            CAxis::Angles {
                polar_deg,
                azimuth_deg,
            } => {
                let (t, p) = (polar_deg.to_radians(), azimuth_deg.to_radians());
                [t.cos(), t.sin() * p.cos(), t.sin() * p.sin()]
            }
        }
    }
}

/// `[run]`: how long, how many frames, which seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Optional hard cap on the number of steps.
    #[serde(default)]
    pub max_steps: Option<u64>,
    /// Number of PNG frames written over the run (evenly spaced in the end quantity).
    #[serde(default = "default_frames")]
    pub frames: u32,
    /// End condition: charge passed per projected area (galvanostatic or potentiostatic), either
    /// way: a stripping run ends when this much has been stripped.
    #[serde(default)]
    pub end_charge_mah_cm2: Option<f64>,
    /// End condition: simulated time.
    #[serde(default)]
    pub end_time_s: Option<f64>,
    /// Seed of the noise and heterogeneity generators.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// A metrics row every this many steps (frames always get a row too).
    #[serde(default = "default_metrics_every")]
    pub metrics_every_steps: u64,
    /// A checkpoint (checkpoint.bin in the output directory) every this many steps; 0: none
    /// on a step count.
    #[serde(default = "default_checkpoint_steps")]
    pub checkpoint_every_steps: u64,
    /// A checkpoint at the first step after this many minutes of wall time since the last;
    /// 0: none on a clock.
    #[serde(default = "default_checkpoint_minutes")]
    pub checkpoint_every_minutes: f64,
    /// The field files written with every frame: "vti" (fields/frame_NNNNNN.vti and
    /// fields.pvd, for ParaView), "vtk" (fields/frame_NNNNNN.vtk, legacy binary VTK, and
    /// final.vtk: for meshio, which reads no .vti) and "npy" (fields/frame_NNNNNN_<field>.npy,
    /// for numpy); empty: none. final.vti is written either way.
    #[serde(default = "default_save_fields")]
    pub save_fields: Vec<FieldFormat>,
    /// The colour-mapped panels of each frame, right of the morphology, in order (at most
    /// three, each once): "plating_rate" (Δx·∂ξ/∂t in µm/s, on a scale fixed for the run),
    /// "concentration" (c/c0, 0–1.2) and "potential" (φ in V, the frame's own range); empty:
    /// the morphology alone.
    #[serde(default = "default_frame_panels")]
    pub frame_panels: Vec<FramePanel>,
    /// What colours the deposit surface in a 3D run's frames: "height" (over the box's height)
    /// or "plating_rate" (Δx·∂ξ/∂t in µm/s on the plating-rate panel's scale, fixed for the run).
    #[serde(default)]
    pub surface_colour: SurfaceColouring,
}

impl Config {
    /// i0 of clean metal (mA/cm²): `electrolyte.exchange_current_ma_cm2` where given, else
    /// `interface.exchange_current_ma_cm2`.
    pub fn exchange_current_ma_cm2(&self) -> f64 {
        self.electrolyte
            .exchange_current_ma_cm2
            .unwrap_or(self.interface.exchange_current_ma_cm2)
    }
}

impl Default for RunConfig {
    /// Every key's default, no end condition.
    fn default() -> Self {
        RunConfig {
            max_steps: None,
            frames: default_frames(),
            end_charge_mah_cm2: None,
            end_time_s: None,
            seed: default_seed(),
            metrics_every_steps: default_metrics_every(),
            checkpoint_every_steps: default_checkpoint_steps(),
            checkpoint_every_minutes: default_checkpoint_minutes(),
            save_fields: default_save_fields(),
            frame_panels: default_frame_panels(),
            surface_colour: SurfaceColouring::default(),
        }
    }
}

/// What colours the 3D surface (`run.surface_colour`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurfaceColouring {
    #[default]
    Height,
    PlatingRate,
}

/// A colour-mapped panel of the frames (`run.frame_panels`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FramePanel {
    PlatingRate,
    Concentration,
    Potential,
}

impl FramePanel {
    /// The name in `run.frame_panels`.
    pub fn name(self) -> &'static str {
        match self {
            FramePanel::PlatingRate => "plating_rate",
            FramePanel::Concentration => "concentration",
            FramePanel::Potential => "potential",
        }
    }
}

/// At most this many entries in `run.frame_panels`.
pub const MAX_FRAME_PANELS: usize = 3;

fn default_frame_panels() -> Vec<FramePanel> {
    vec![FramePanel::PlatingRate]
}

/// A format of the per-frame field files (`run.save_fields`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldFormat {
    Vti,
    Vtk,
    Npy,
}

fn default_save_fields() -> Vec<FieldFormat> {
    vec![FieldFormat::Vti]
}

/// `[metal]`: the depositing metal. `preset` (mg, li, zn) fills every unset key; the charge
/// number and the molar volume (or, instead of it, the site density) given here override it.
/// Everything else (f = nF/RT, C_s, the charge per volume, Mode A's σ_l) follows from these in
/// [`crate::model::metal::Metal`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MetalConfig {
    pub preset: metal::MetalPreset,
    /// Electrons per deposited atom n (the cation's charge number: Mg²⁺ 2, Li⁺ 1).
    pub charge_number: Option<f64>,
    /// Molar volume V_m = M/ρ (Mg 13.98, Li 13.09, Zn 9.157).
    pub molar_volume_cm3_mol: Option<f64>,
    /// Site density C_s = ρ/M = 1/V_m, instead of `molar_volume_cm3_mol`.
    pub site_density_mol_m3: Option<f64>,
}

/// `[electrolyte]`: bulk electrolyte and metal transport (Mode A, t+ = 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ElectrolyteConfig {
    pub temperature_k: f64,
    /// Bulk cation concentration c0.
    pub concentration_mol_m3: f64,
    /// Cation diffusivity D_l in the electrolyte.
    pub diffusivity_m2_s: f64,
    /// D_s / D_l (numerical diffusivity inside the metal).
    pub metal_diffusivity_ratio: f64,
    /// Charge-transfer coefficient α.
    pub transfer_coefficient: f64,
    /// i0 of clean metal in this electrolyte; given, it replaces `interface.exchange_current_ma_cm2`
    /// (an electrolyte's kinetics belong with it: configs/systems/).
    pub exchange_current_ma_cm2: Option<f64>,
    /// σ_l, the electrolyte's ionic conductivity as measured; given, it sets D_l = σ_l RT/(n²F²c0)
    /// (Mode A, t+ = 1: migration and Ohmic current agree at c0) in place of `diffusivity_m2_s`.
    pub conductivity_s_m: Option<f64>,
    /// Moved to `[metal]` (`metal.site_density_mol_m3`): accepted only to be refused with a
    /// message naming the new key.
    #[serde(default, skip_serializing)]
    pub metal_site_density_mol_m3: Option<f64>,
    /// Moved to `[metal]` (`metal.charge_number`): accepted only to be refused with a message
    /// naming the new key.
    #[serde(default, skip_serializing)]
    pub charge_number: Option<f64>,
}

/// `[interface]`: metal/electrolyte interface energy, width, kinetics and anisotropy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InterfaceConfig {
    /// γ, interface energy.
    pub energy_j_m2: f64,
    /// δ, interface width parameter (10–90 % width = 4.39 δ).
    pub width_um: f64,
    /// i0 of clean Mg in this electrolyte.
    pub exchange_current_ma_cm2: f64,
    /// δ6, six-fold surface-energy anisotropy strength, < 1/35.
    pub anisotropy_strength: f64,
    /// θ0, orientation of the six-fold anisotropy.
    pub anisotropy_angle_deg: f64,
    /// ε_k2, two-fold kinetic anisotropy (basal vs prism).
    pub kinetic_anisotropy_2fold: f64,
    /// ε_k6, six-fold kinetic anisotropy.
    pub kinetic_anisotropy_6fold: f64,
    /// θ_c, in-plane angle of the hcp c-axis (0: c-axis along x, basal planes parallel to the collector).
    pub c_axis_angle_deg: f64,
    /// Λ_t, target interface stiffness L_η|B_ref|/(L_σ W) that sets L_σ (physics.md §1.6).
    pub stiffness_lambda: f64,
    /// η_ref, overpotential at which |B_ref| is taken for L_σ.
    pub reference_overpotential_v: f64,
    /// Optional explicit L_σ; overrides the Λ_t rule.
    #[serde(default)]
    pub mobility_m3_j_s: Option<f64>,
}

/// `[noise]`: interface-confined noise `A_n r h'(xi)/max h' sqrt(dt_ref/dt)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoiseConfig {
    pub amplitude_per_s: f64,
    pub reference_dt_s: f64,
}

/// Electrical control mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ControlMode {
    Galvanostatic,
    Potentiostatic,
}

/// `[control]`: galvanostatic (target current) or potentiostatic (applied potential).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ControlConfig {
    pub mode: ControlMode,
    /// Target current density in galvanostatic mode: positive plates, negative strips.
    pub current_density_ma_cm2: f64,
    /// Applied collector potential vs the bulk electrolyte (negative = plating), potentiostatic mode.
    pub applied_potential_v: f64,
    /// Largest |E| the galvanostatic control may apply (V): a target that needs more stops the
    /// run with that message instead of driving E to whatever it takes.
    pub max_overpotential_v: f64,
}

/// How the interphase is represented (physics.md §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Representation {
    /// R1: sub-grid area-specific resistance, blocked fraction and i0 multiplier in the BV term.
    Subgrid,
    /// R2: a resolved band of thickness L_SEI attached to the metal surface.
    Resolved,
}

/// How the heterogeneity field is attached (physics.md §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Attachment {
    /// Frozen in the lab frame (re-forming SEI): G(x, y).
    LabFrame,
    /// Depends on the lateral coordinate only (lifted coating): G(y).
    Lateral,
}

/// `[interphase]`: the layer on the metal. `preset` fills every unset key from the table of
/// physics.md §3.3; any key given here overrides the preset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct InterphaseConfig {
    pub preset: presets::Preset,
    pub representation: Option<Representation>,
    pub thickness_um: Option<f64>,
    pub asr_ohm_cm2: Option<f64>,
    pub exchange_current_multiplier: Option<f64>,
    pub blocked_fraction: Option<f64>,
    pub heterogeneity_sigma_ln: Option<f64>,
    pub correlation_length_um: Option<f64>,
    pub attachment: Option<Attachment>,
    /// R2 only: D in the layer / D_l.
    pub diffusivity_ratio: Option<f64>,
    /// R2 only: σ in the layer / σ_l; by default L_SEI/(ASR σ_l).
    pub conductivity_ratio: Option<f64>,
    /// R2 only: the band is recomputed from the signed distance every this many steps.
    pub refresh_every_steps: Option<u64>,
    /// Overrides of the preset's interface anisotropy (ε_k2) — None keeps `[interface]`'s value
    /// unless the preset sets one.
    pub kinetic_anisotropy_2fold: Option<f64>,
    /// i_p: current per unit area of the metal surface (the ξ = ½ surface, not the projected
    /// area) spent re-forming the layer while plating, depositing no metal (physics.md decision
    /// 16): a re-forming layer's loss of Coulombic efficiency. 0 for every preset.
    pub parasitic_current_ma_cm2: Option<f64>,
}

/// `[initial]`: planar deposit of height `deposit_height_um`, optional semicircular nuclei on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InitialConfig {
    pub deposit_height_um: f64,
    /// Radius of the nuclei (0 = none).
    pub nucleus_radius_um: f64,
    /// Lateral centres of the nuclei (µm); empty with a radius > 0 means one in the middle.
    pub nucleus_positions_um: Vec<f64>,
    /// 3D: the c-axis of each nucleus's grain (as `anisotropy.c_axis`), one per nucleus; empty:
    /// every grain has `anisotropy.c_axis`. Each nucleus seeds a columnar grain, the lateral
    /// region nearer its centre than any other's (docs/model.md, "Grains").
    #[serde(default)]
    pub nucleus_c_axes: Vec<CAxis>,
}

/// `numerics.potential_coupling`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PotentialCoupling {
    #[default]
    Auto,
    Explicit,
    Implicit,
}

/// `[numerics]`: time step and solver controls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NumericsConfig {
    /// S in dt = S · min(bounds).
    pub time_step_safety: f64,
    /// Optional fixed time step; an error if above the stability bound.
    #[serde(default)]
    pub dt_s: Option<f64>,
    /// Upper cap on the adaptive time step.
    pub max_dt_s: f64,
    /// The potential solve stops when its estimated error (from the last correction and the
    /// measured contraction) is below this, in volts.
    pub potential_tolerance_v: f64,
    /// Relative residual the concentration solve reaches (after at least one V-cycle).
    pub concentration_tolerance: f64,
    /// V-cycle cap per solve.
    pub solver_max_cycles: u32,
    /// How a step couples the potential to the reaction under potentiostatic control:
    /// "explicit" (the potential's source is the last step's rate), "implicit" (Newton on the
    /// two together until the potential moves less than `potential_tolerance_v`; CPU backend)
    /// or "auto" (implicit where the start's planar R·∂i/∂E ≥ 0.5, docs/model.md, "Control").
    pub potential_coupling: PotentialCoupling,
    /// Replaced by `potential_tolerance_v` and `concentration_tolerance`: accepted only to be
    /// refused with a message naming them.
    #[serde(default, skip_serializing)]
    pub solver_tolerance: Option<f64>,
}

fn default_frames() -> u32 {
    24
}
fn default_seed() -> u64 {
    42
}
fn default_metrics_every() -> u64 {
    10
}
pub(crate) fn default_checkpoint_steps() -> u64 {
    1000
}
pub(crate) fn default_checkpoint_minutes() -> f64 {
    10.0
}

impl Default for ElectrolyteConfig {
    fn default() -> Self {
        Self {
            temperature_k: 298.15,
            concentration_mol_m3: 500.0,
            diffusivity_m2_s: 3.0e-10,
            metal_diffusivity_ratio: 1.0e-3,
            transfer_coefficient: 0.5,
            exchange_current_ma_cm2: None,
            conductivity_s_m: None,
            metal_site_density_mol_m3: None,
            charge_number: None,
        }
    }
}

impl Default for InterfaceConfig {
    fn default() -> Self {
        Self {
            energy_j_m2: 0.5,
            width_um: 1.0,
            exchange_current_ma_cm2: 0.5,
            anisotropy_strength: 0.02,
            anisotropy_angle_deg: 0.0,
            kinetic_anisotropy_2fold: 0.0,
            kinetic_anisotropy_6fold: 0.0,
            c_axis_angle_deg: 0.0,
            stiffness_lambda: 0.1,
            reference_overpotential_v: 0.02,
            mobility_m3_j_s: None,
        }
    }
}

impl Default for NoiseConfig {
    fn default() -> Self {
        Self {
            amplitude_per_s: 0.001,
            reference_dt_s: 1.0,
        }
    }
}

impl Default for ControlConfig {
    fn default() -> Self {
        Self {
            mode: ControlMode::Galvanostatic,
            current_density_ma_cm2: 0.5,
            applied_potential_v: -0.1,
            max_overpotential_v: 10.0,
        }
    }
}

impl Default for InitialConfig {
    fn default() -> Self {
        Self {
            deposit_height_um: 4.0,
            nucleus_radius_um: 0.0,
            nucleus_positions_um: Vec::new(),
            nucleus_c_axes: Vec::new(),
        }
    }
}

impl Default for NumericsConfig {
    fn default() -> Self {
        Self {
            time_step_safety: 0.8,
            dt_s: None,
            max_dt_s: 50.0,
            potential_tolerance_v: 1.0e-6,
            concentration_tolerance: 1.0e-6,
            solver_max_cycles: 60,
            potential_coupling: PotentialCoupling::Auto,
            solver_tolerance: None,
        }
    }
}
