//! Device set-up for the wgpu backend: one process-wide device, the adapter list for `mgpf info`,
//! the limits a grid needs, and WGSL modules assembled from `shaders/` with the constants every
//! kernel shares (defined once, here, and prepended to each shader file).
//!
//! WebGPU words, Vulkan words: an *adapter* is a physical device, a *device* a logical device, a
//! *workgroup* a local work group, a *storage buffer* an SSBO.

use super::points::Points;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

/// Invocations per workgroup along j (the contiguous, periodic axis) and along i.
pub const WORKGROUP_X: u32 = 16;
pub const WORKGROUP_Y: u32 = 16;
/// Invocations of the 1D kernels (reductions, interface lists).
pub const WORKGROUP_1D: u32 = 256;

/// Slots of the `step_scalars: array<f32>` storage buffer: the per-step scalars the device computes
/// and reads back itself (no host round trip), and the reductions' results. Emitted into WGSL by
/// [`wgsl_prelude`] under the same names.
pub mod step_scalar {
    /// Electrode (metal) potential E in V; η_a = E − φ. Galvanostatic control updates it in place.
    pub const ELECTRODE_POTENTIAL: u32 = 0;
    /// Time step dt (internal units).
    pub const DT: u32 = 1;
    /// Noise amplitude A·sqrt(dt_ref/dt) of this step.
    pub const NOISE_AMPLITUDE: u32 = 2;
    /// n̄ = ΣN/Σh' of this step (0 when Σh' = 0).
    pub const NOISE_MEAN: u32 = 3;
    /// The step number as the bits of a u32 (write `f32::from_bits(step)`; kernels that read or
    /// advance it bind step_scalars as `array<u32>`): the noise counter, exact past 2^24 steps.
    pub const STEP: u32 = 4;
    /// Σ ∂xi/∂t|_AC.
    pub const AC_RATE_SUM: u32 = 5;
    /// Σ ∂xi/∂t|_BV and Σ of its derivative with respect to E (galvanostatic Newton).
    pub const REACTION_SUM: u32 = 6;
    pub const REACTION_SUM_DERIVATIVE: u32 = 7;
    /// max |m (1−p_b) a_k B_eff| and the fastest front speed (reaction_field's maxima).
    pub const REACTION_FACTOR_MAX: u32 = 8;
    pub const FRONT_SPEED_MAX: u32 = 9;
    /// max D_f f |∂φ/∂n|.
    pub const MIGRATION_SPEED_MAX: u32 = 10;
    /// Σ N and Σ h'(xi) (zero-sum noise).
    pub const NOISE_SUM: u32 = 11;
    pub const H_PRIME_SUM: u32 = 12;
    /// Σ Δxi of the step.
    pub const DXI_SUM: u32 = 13;
    /// Ions entering through the bulk face during the step.
    pub const BOUNDARY_INFLOW: u32 = 14;
    /// Galvanostatic control (shaders/control.wgsl, `model::control::ShiftSearch`'s fields): E
    /// before the step's search (copied from ELECTRODE_POTENTIAL by solve_shift_start), the shift
    /// Δ, its bracket [lo, hi] (±1e30 stand for ±∞), the evaluations taken and the status (u32
    /// bits: `SearchStatus`); after STABLE_DT the reach of the next move, F at the last
    /// evaluation and the lengths of the last two moves.
    pub const ELECTRODE_BASE: u32 = 15;
    pub const CONTROL_SHIFT: u32 = 16;
    pub const CONTROL_LO: u32 = 17;
    pub const CONTROL_HI: u32 = 18;
    pub const CONTROL_EVALUATIONS: u32 = 19;
    pub const CONTROL_STATUS: u32 = 20;
    /// Which bound set dt (u32 bits: 0 gradient, 1 reaction, 2 migration, 3 motion, 4 cap,
    /// 5 fixed) and S·min(bounds), against which the host checks a fixed dt.
    pub const TIME_STEP_BOUND: u32 = 21;
    pub const STABLE_DT: u32 = 22;
    pub const CONTROL_REACH: u32 = 23;
    pub const CONTROL_RESIDUAL: u32 = 24;
    pub const CONTROL_STEP_LAST: u32 = 25;
    pub const CONTROL_STEP_BEFORE: u32 = 26;
    /// Length of the buffer (slot 27 is free: 112 bytes a step).
    pub const COUNT: u32 = 28;

    /// (name, slot) of every slot, for the WGSL prelude.
    pub const ALL: [(&str, u32); 27] = [
        ("ELECTRODE_POTENTIAL", ELECTRODE_POTENTIAL),
        ("DT", DT),
        ("NOISE_AMPLITUDE", NOISE_AMPLITUDE),
        ("NOISE_MEAN", NOISE_MEAN),
        ("STEP", STEP),
        ("AC_RATE_SUM", AC_RATE_SUM),
        ("REACTION_SUM", REACTION_SUM),
        ("REACTION_SUM_DERIVATIVE", REACTION_SUM_DERIVATIVE),
        ("REACTION_FACTOR_MAX", REACTION_FACTOR_MAX),
        ("FRONT_SPEED_MAX", FRONT_SPEED_MAX),
        ("MIGRATION_SPEED_MAX", MIGRATION_SPEED_MAX),
        ("NOISE_SUM", NOISE_SUM),
        ("H_PRIME_SUM", H_PRIME_SUM),
        ("DXI_SUM", DXI_SUM),
        ("BOUNDARY_INFLOW", BOUNDARY_INFLOW),
        ("ELECTRODE_BASE", ELECTRODE_BASE),
        ("CONTROL_SHIFT", CONTROL_SHIFT),
        ("CONTROL_LO", CONTROL_LO),
        ("CONTROL_HI", CONTROL_HI),
        ("CONTROL_EVALUATIONS", CONTROL_EVALUATIONS),
        ("CONTROL_STATUS", CONTROL_STATUS),
        ("TIME_STEP_BOUND", TIME_STEP_BOUND),
        ("STABLE_DT", STABLE_DT),
        ("CONTROL_REACH", CONTROL_REACH),
        ("CONTROL_RESIDUAL", CONTROL_RESIDUAL),
        ("CONTROL_STEP_LAST", CONTROL_STEP_LAST),
        ("CONTROL_STEP_BEFORE", CONTROL_STEP_BEFORE),
    ];
}

/// Prepended to every shader file: the shared constants, so WGSL and Rust cannot disagree.
pub fn wgsl_prelude() -> String {
    let mut s = format!(
        "// Generated by src/backend/gpu/context.rs: constants shared with the Rust side.\n\
         const WORKGROUP_X: u32 = {WORKGROUP_X}u;\n\
         const WORKGROUP_Y: u32 = {WORKGROUP_Y}u;\n\
         const WORKGROUP_1D: u32 = {WORKGROUP_1D}u;\n\
         const STEP_SCALAR_COUNT: u32 = {}u;\n\
         const MAX_POINTS: u32 = {}u;\n\
         const MAX_POINTS_VEC4: u32 = {}u;\n",
        step_scalar::COUNT,
        super::points::MAX_POINTS,
        super::points::MAX_POINTS / 4,
    );
    for (name, slot) in step_scalar::ALL {
        s.push_str(&format!("const {name}: u32 = {slot}u;\n"));
    }
    s.push_str(GRID_RULE);
    s.push_str(super::points::POINTS_RULE);
    s
}

/// The grid rule of [`crate::grid::Grid`] in WGSL, one definition for every kernel (per-step and
/// multigrid): cell (i, j, k) of an nx × ny × nz grid is i·(ny·nz) + j·nz + k, z fastest (a 2D
/// grid is nz = 1); x is bounded (each field's wall rule comes from `model::boundary`), y and z
/// periodic ([`crate::grid::Grid::TOPOLOGY`]).
///
/// A kernel over the grid takes `global_invocation_id.y` → i and `.x` → m = j·nz + k, the cell's
/// index within its x layer (contiguous in memory), dispatched by
/// [`super::buffers::layer_workgroups`]; the cell is `i * layer + m`.
pub const GRID_RULE: &str = "
// The grid rule of src/grid.rs (generated by src/backend/gpu/context.rs, GRID_RULE): cell (i, j, k)
// of an nx × ny × nz grid at i·(ny·nz) + j·nz + k, z fastest; a 2D grid is nz = 1. Kernels over
// the grid take global_invocation_id.y → i and .x → m = j·nz + k (the index within the x layer).

// The x layer below i, clamped at the collector (the caller applies its field's wall rule).
fn layer_below(i: u32) -> u32 {
    return select(i - 1u, 0u, i == 0u);
}

// The x layer above i, clamped at the bulk face (the caller applies its field's wall rule).
fn layer_above(i: u32, nx: u32) -> u32 {
    return select(i + 1u, i, i + 1u == nx);
}

// The periodic neighbours of layer index m = j·nz + k along y (j ∓ 1) and z (k ∓ 1), as layer
// indices; in 2D (nz = 1) the z neighbours are m itself.
struct LateralNeighbours {
    y_minus: u32,
    y_plus: u32,
    z_minus: u32,
    z_plus: u32,
}

fn lateral_neighbours(m: u32, ny: u32, nz: u32) -> LateralNeighbours {
    let layer = ny * nz;
    let kk = m % nz;
    return LateralNeighbours(
        select(m - nz, m + layer - nz, m < nz),
        select(m + nz, m + nz - layer, m + nz >= layer),
        select(m - 1u, m + nz - 1u, kk == 0u),
        select(m + 1u, m + 1u - nz, kk + 1u == nz),
    );
}
";

/// A device and its queue, with what the adapter told us about itself.
pub struct GpuContext {
    pub adapter_info: wgpu::AdapterInfo,
    /// Everything the adapter allows (the device is created with these, not wgpu's defaults).
    pub limits: wgpu::Limits,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    /// The kernels compiled so far ([`GpuContext::compute_pipeline`]), shared by every backend
    /// on this device.
    compiled: Mutex<Compiled>,
    /// The point table of a lone run ([`Points::single`]).
    single_point: OnceLock<Arc<Points>>,
}

/// Shader modules by their source, and compute pipelines by source and entry point. A kernel's
/// source holds no run's values (those are in its uniforms and buffers), so every run on the
/// device, and every member of an ensemble, uses one compiled pipeline per kernel.
#[derive(Default)]
struct Compiled {
    modules: HashMap<String, wgpu::ShaderModule>,
    pipelines: HashMap<(String, String), wgpu::ComputePipeline>,
}

/// What `mgpf info` prints about one adapter.
#[derive(Debug, Clone)]
pub struct AdapterSummary {
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    pub compute: bool,
}

fn instance() -> wgpu::Instance {
    // Honours WGPU_BACKEND (CI sets it to vulkan so a missing driver fails instead of falling back).
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

/// Every adapter wgpu finds, with its limits.
pub fn adapters() -> Vec<AdapterSummary> {
    let instance = instance();
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
        .into_iter()
        .map(|a| {
            let info = a.get_info();
            let compute = a
                .get_downlevel_capabilities()
                .flags
                .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS);
            AdapterSummary {
                info,
                limits: a.limits(),
                compute,
            }
        })
        .collect()
}

impl AdapterSummary {
    /// One line per adapter plus the limits that bound mgpf's grids.
    pub fn describe(&self) -> String {
        let i = &self.info;
        let l = &self.limits;
        format!(
            "{} ({:?}, {:?}, driver {} {})\n  compute shaders: {}\n  max_storage_buffer_binding_size: {} MiB (one field of at most {} cells)\n  max_buffer_size: {} MiB\n  max_compute_workgroups_per_dimension: {}\n  max_compute_invocations_per_workgroup: {}\n  max_storage_buffers_per_shader_stage: {}",
            i.name,
            i.backend,
            i.device_type,
            i.driver,
            i.driver_info,
            if self.compute { "yes" } else { "no" },
            l.max_storage_buffer_binding_size >> 20,
            max_field_cells(l),
            l.max_buffer_size >> 20,
            l.max_compute_workgroups_per_dimension,
            l.max_compute_invocations_per_workgroup,
            l.max_storage_buffers_per_shader_stage,
        )
    }
}

/// Cells of the largest f32 field one storage binding can hold.
pub fn max_field_cells(limits: &wgpu::Limits) -> u64 {
    limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size)
        / 4
}

static SHARED: LazyLock<std::result::Result<GpuContext, String>> = LazyLock::new(|| {
    // The message alone: `shared` wraps it in Error::Gpu again ("gpu: ..." once, not twice).
    GpuContext::new().map_err(|e| match e {
        Error::Gpu(message) => message,
        other => other.to_string(),
    })
});

impl GpuContext {
    /// Opens the highest-performance adapter that has compute shaders, with all its limits.
    pub fn new() -> Result<GpuContext> {
        let instance = instance();
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        }))
        .map_err(|e| {
            Error::Gpu(format!(
                "no GPU adapter found ({e}); on Linux install a Vulkan driver (e.g. apt-get install mesa-vulkan-drivers libvulkan1) or use --backend cpu"
            ))
        })?;
        let caps = adapter.get_downlevel_capabilities();
        let adapter_info = adapter.get_info();
        if !caps.flags.contains(wgpu::DownlevelFlags::COMPUTE_SHADERS) {
            return Err(Error::Gpu(format!(
                "adapter {} has no compute shaders",
                adapter_info.name
            )));
        }
        let limits = adapter.limits();
        // Timestamps between a step's phases, where the adapter has them (run.json's phases).
        let timestamps =
            wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("mgpf"),
            required_features: adapter.features() & timestamps,
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| {
            Error::Gpu(format!(
                "could not open a device on {}: {e}",
                adapter_info.name
            ))
        })?;
        Ok(GpuContext {
            adapter_info,
            limits,
            device,
            queue,
            compiled: Mutex::new(Compiled::default()),
            single_point: OnceLock::new(),
        })
    }

    /// The process-wide device (opened once: each lavapipe device starts its own thread pool).
    pub fn shared() -> Result<&'static GpuContext> {
        SHARED.as_ref().map_err(|e| Error::Gpu(e.clone()))
    }

    /// The point table of a lone run, created once per device.
    pub(super) fn single_point(&self) -> &Arc<Points> {
        self.single_point.get_or_init(|| Points::new(self, 1))
    }

    /// "name (backend, device type)" for run.json and the progress line.
    pub fn describe(&self) -> String {
        let i = &self.adapter_info;
        format!("gpu: {} ({:?}, {:?})", i.name, i.backend, i.device_type)
    }

    /// Refuses a grid whose fields do not fit one storage binding, or whose dispatches exceed
    /// the workgroup-count limit, naming both numbers and the largest grid that fits.
    ///
    /// The largest buffer of a run is the multigrid's x faces, (nx + 1)·ny·nz words; the grid
    /// kernels dispatch ny·nz/WORKGROUP_X workgroups along x and nx/WORKGROUP_Y along y.
    pub fn check_grid(&self, grid: crate::grid::Grid) -> Result<()> {
        let (nx, layer) = (grid.nx as u64, grid.layer_cells() as u64);
        let shape = if grid.nz > 1 {
            format!("{} × {} × {}", grid.nx, grid.ny, grid.nz)
        } else {
            format!("{} × {}", grid.nx, grid.ny)
        };
        let words = (nx + 1) * layer;
        let allowed = max_field_cells(&self.limits);
        if words > allowed {
            let largest_nx = (allowed / layer).saturating_sub(1);
            let largest = if grid.nz > 1 {
                let side = ((allowed as f64).cbrt().floor() as u64).saturating_sub(1);
                format!(
                    "nx ≤ {largest_nx} at ny × nz = {} × {} (or {side} × {side} × {side})",
                    grid.ny, grid.nz
                )
            } else {
                let side = ((allowed as f64).sqrt().floor() as u64).saturating_sub(1);
                format!("nx ≤ {largest_nx} at ny = {} (or {side} × {side})", grid.ny)
            };
            return Err(Error::Gpu(format!(
                "grid {shape} needs {} bytes in its largest buffer ((nx + 1)·ny·nz f32 faces), the adapter {} allows {} bytes per storage buffer: the largest grid that fits is {largest}",
                words * 4,
                self.adapter_info.name,
                allowed * 4
            )));
        }
        let max_groups = self.limits.max_compute_workgroups_per_dimension as u64;
        let groups_layer = layer.div_ceil(WORKGROUP_X as u64);
        let groups_i = nx.div_ceil(WORKGROUP_Y as u64);
        let groups_1d = (nx * layer).div_ceil(WORKGROUP_1D as u64);
        if groups_i > max_groups || groups_layer > max_groups || groups_1d > max_groups * max_groups
        {
            return Err(Error::Gpu(format!(
                "grid {shape} needs {} workgroups along one axis of a dispatch (x layers of ny·nz = {layer} cells over {WORKGROUP_X}, nx over {WORKGROUP_Y}), the adapter {} allows {max_groups}: the largest grid that fits has nx ≤ {} and ny·nz ≤ {}",
                groups_i.max(groups_layer),
                self.adapter_info.name,
                max_groups * WORKGROUP_Y as u64,
                max_groups * WORKGROUP_X as u64
            )));
        }
        Ok(())
    }

    /// A shader module from one `shaders/` file, with [`wgsl_prelude`] prepended.
    pub fn shader(&self, label: &str, source: &str) -> wgpu::ShaderModule {
        let code = format!("{}\n{source}", wgsl_prelude());
        self.device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(code.into()),
            })
    }

    /// The compute pipeline of `entry` in the module of `source` (with [`wgsl_prelude`]
    /// prepended), compiled the first time it is asked for on this device and shared after
    /// that: its bind-group layouts are derived from the shader, so each backend binds its own
    /// buffers to the one pipeline. On lavapipe a backend's ~80 kernels take seconds to compile;
    /// an ensemble's members, and the runs after the first, take them from here.
    pub fn compute_pipeline(
        &self,
        label: &str,
        source: &str,
        entry: &str,
    ) -> wgpu::ComputePipeline {
        let mut compiled = self.compiled.lock().unwrap_or_else(|e| e.into_inner());
        let key = (source.to_string(), entry.to_string());
        if let Some(pipeline) = compiled.pipelines.get(&key) {
            return pipeline.clone();
        }
        let module = match compiled.modules.get(source) {
            Some(module) => module.clone(),
            None => {
                let module = self.shader(label, source);
                compiled.modules.insert(source.to_string(), module.clone());
                module
            }
        };
        let pipeline = self.pipeline(&module, entry);
        compiled.pipelines.insert(key, pipeline.clone());
        pipeline
    }

    /// A compute pipeline for `entry` of `module`, its bind-group layout derived from the shader
    /// (compiled anew; [`GpuContext::compute_pipeline`] shares them).
    pub fn pipeline(&self, module: &wgpu::ShaderModule, entry: &str) -> wgpu::ComputePipeline {
        self.device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: None,
                module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
    }
}
