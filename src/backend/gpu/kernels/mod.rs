//! The WGSL kernels of one step, built once, and bound to buffers ahead of time so a run can
//! record many kernels (many steps) per submit.
//!
//! Each kernel is named as its CPU twin in `src/backend/cpu/` and takes its buffers in the twin's
//! argument order (the run constants first, at binding 0). A scalar argument that the device
//! computes (E, dt, the noise amplitude and mean, the step number) is read from the
//! `step_scalars` buffer instead, at the position of the CPU argument; its slots are
//! [`step_scalar`]. Where the CPU twin returns a reduction (maxima, sums), the WGSL twin writes
//! its per-cell operand into a field and a [`Reduction`] finishes it into a `step_scalars` slot.
//!
//! Binding a kernel returns a [`Dispatch`] (pipeline, bind group, workgroup count); encode it
//! into a compute pass with [`Encode::encode`]. Bind once per run (ping-pong buffers: one set of
//! dispatches per parity), then record any number of steps per submit.
//!
//! WGSL has no includes: each kernel is its own module, assembled here from the prelude
//! (`context::wgsl_prelude`), the model constants, whole library files (`common.wgsl`,
//! `noise.wgsl`, `kinetics.wgsl`), the shared head of its family file and its own
//! `// ---- kernel: name` section, which declares that kernel's bindings.
//!
//! One step in the CPU backend's order, every scalar staying on the device:
//! (every `interphase.refresh_every_steps` steps, R2) [`LayerRefresh`] → transport_coefficients → potential solve (multigrid) →
//! allen_cahn_rate_streaming or _tiled (also a_k, |∇xi|) → Σ into AC_RATE_SUM → (galvanostatic) [`ShiftSolve`] →
//! reaction_field + max into REACTION_FACTOR_MAX, FRONT_SPEED_MAX → max_migration_speed + max into
//! MIGRATION_SPEED_MAX → time_step (DT, NOISE_AMPLITUDE) → interface_noise + Σ into NOISE_SUM,
//! H_PRIME_SUM → noise_mean → update_order_parameter + Σ into DXI_SUM → concentration_rhs →
//! copy excess to excess_old → concentration solve → boundary_inflow + Σ into BOUNDARY_INFLOW →
//! [`CheckFields`] (the first bad cell of a blown-up step, into the field-guard buffer) →
//! advance STEP.

use super::buffers::{bind_group, layer_workgroups, point_uniforms};
use super::context::{step_scalar, GpuContext};
use super::points::Points;
use crate::error::{Error, Result};
use crate::grid::{Grid, Real};
use crate::model::anisotropy::KINETIC_FACTOR_MIN;
use crate::model::coefficients::{
    OrderParameterConstants, TransportConstants, FLUSH_TO_ZERO, INTERFACE_THRESHOLD,
};
use crate::model::control::{
    SearchStatus, BRACKET_FLOOR_V, FIRST_REACH_V, MAX_EVALUATIONS, RELATIVE_TOLERANCE,
};
use crate::model::kinetics::{MAX_EXPONENT, NEWTON_STEPS};
use crate::model::noise::{key, STREAM_NOISE};
use crate::model::params::MAX_H_PRIME;
use std::sync::Arc;

mod control;
mod guards;
mod interphase;
mod order_parameter;
mod reduce;
mod step_glue;
mod transport;

pub use control::{indirect_args_buffer, ControlKernels, ShiftSolve, StepControl};
pub use guards::{
    clear_field_guard, clear_point_field_guard, field_guard, field_guard_buffer, first_failure,
    points_field_guard_buffer, CheckFields, GuardKernels,
};
pub use interphase::{band_reach, InterphaseKernels, LayerRefresh, BAND_FLOOR, MAX_BAND_REACH};
pub use order_parameter::{FusedAllenCahn, OrderParameterKernels, ReactionInputs};
pub use reduce::{Reduction, Reductions, MAX_PARTIALS};
pub use step_glue::{StepGlue, StepGlueKernels};
pub use transport::TransportKernels;

const COMMON_WGSL: &str = include_str!("../../../../shaders/common.wgsl");
const NOISE_WGSL: &str = include_str!("../../../../shaders/noise.wgsl");
const KINETICS_WGSL: &str = include_str!("../../../../shaders/kinetics.wgsl");
const ORDER_PARAMETER_WGSL: &str = include_str!("../../../../shaders/order_parameter.wgsl");
const TRANSPORT_WGSL: &str = include_str!("../../../../shaders/transport.wgsl");
const REDUCE_WGSL: &str = include_str!("../../../../shaders/reduce.wgsl");
const CONTROL_WGSL: &str = include_str!("../../../../shaders/control.wgsl");
const STEP_WGSL: &str = include_str!("../../../../shaders/step.wgsl");
const INTERPHASE_WGSL: &str = include_str!("../../../../shaders/interphase.wgsl");
const GUARDS_WGSL: &str = include_str!("../../../../shaders/guards.wgsl");

/// Marks the start of one kernel's section in a family file; the text before the first marker is
/// shared by every kernel of the family.
const SECTION_MARKER: &str = "// ---- kernel: ";

/// Storage buffers of the widest kernel (reaction_field: 9). wgpu's default limit is 8; the
/// context asks for the adapter's own limits (lavapipe, NVIDIA, AMD, Metal and DX12 allow more).
pub const STORAGE_BUFFERS_PER_KERNEL: u32 = 9;

/// Refuses an adapter that cannot bind the widest kernel's buffers, naming both numbers.
pub fn check_limits(ctx: &GpuContext) -> Result<()> {
    let have = ctx.limits.max_storage_buffers_per_shader_stage;
    if have < STORAGE_BUFFERS_PER_KERNEL {
        return Err(Error::Gpu(format!(
            "the adapter {} binds {have} storage buffers per shader stage, the reaction_field kernel needs {STORAGE_BUFFERS_PER_KERNEL}",
            ctx.adapter_info.name
        )));
    }
    Ok(())
}

/// Run constants of the order-parameter, transport and interphase kernels: the WGSL
/// `RunConstants` of `shaders/common.wgsl`, field by field (52 four-byte scalars, 208 bytes, a
/// multiple of 16; the hcp frame's vectors are three scalars each in WGSL).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct RunConstants {
    pub nx: u32,
    pub ny: u32,
    pub nz: u32,
    pub inv_dx: f32,
    pub l_sigma: f32,
    pub w: f32,
    pub l_eta: f32,
    pub i0: f32,
    pub exchange_multiplier: f32,
    pub eps0: f32,
    pub strength: f32,
    pub cos6_t0: f32,
    pub sin6_t0: f32,
    pub kinetic_2fold: f32,
    pub kinetic_6fold: f32,
    pub cos2_tc: f32,
    pub sin2_tc: f32,
    pub cos6_tc: f32,
    pub sin6_tc: f32,
    pub grad_sq_min: f32,
    pub bv_f: f32,
    pub bv_alpha: f32,
    /// |∇xi| above which reaction_field counts a front speed (the CPU's `grad_min` argument).
    pub front_grad_min: f32,
    pub d_liquid: f32,
    pub d_solid: f32,
    /// f = nF/RT of the migration flux (TransportConstants::f).
    pub transport_f: f32,
    pub cs_over_c0: f32,
    /// 1 / max h', rounded as the CPU's interface_noise rounds it.
    pub inv_max_h_prime: f32,
    /// key(seed, STREAM_NOISE).
    pub noise_key: u32,
    /// The resolved band (R2): Δx (µm), its thickness L and width δ_s (µm), and the window R
    /// (cells) of the device's distance transform ([`band_reach`]); set by
    /// [`RunConstants::with_band`].
    pub dx: f32,
    pub layer_thickness: f32,
    pub layer_width: f32,
    pub band_reach: u32,
    /// The hcp form of 3D ([`crate::model::hcp::HcpConstants`]): ε0, δ6, δ_c, ε_k2, ε_k6, the
    /// |∇xi|² floor and the crystal frame â, b̂, ĉ (lab frame), component by component.
    pub hcp_eps0: f32,
    pub hcp_delta6: f32,
    pub hcp_delta_c: f32,
    pub hcp_kinetic_2fold: f32,
    pub hcp_kinetic_6fold: f32,
    pub hcp_grad_sq_min: f32,
    pub hcp_a: [f32; 3],
    pub hcp_b: [f32; 3],
    pub hcp_c: [f32; 3],
    /// R2: the band is refreshed on the steps that are multiples of this (set by
    /// [`RunConstants::from_params`]; 1 otherwise).
    pub refresh_every: u32,
    pub _pad: [u32; 3],
}

impl RunConstants {
    /// From the CPU kernels' constants, the front-speed gradient floor and the noise key (no
    /// resolved band: see [`RunConstants::with_band`]).
    pub fn new(
        op: &OrderParameterConstants,
        tr: &TransportConstants,
        front_grad_min: Real,
        noise_key: u32,
    ) -> RunConstants {
        let a = &op.aniso;
        RunConstants {
            nx: op.grid.nx as u32,
            ny: op.grid.ny as u32,
            nz: op.grid.nz as u32,
            inv_dx: op.inv_dx,
            l_sigma: op.l_sigma,
            w: op.w,
            l_eta: op.l_eta,
            i0: op.i0,
            exchange_multiplier: op.exchange_multiplier,
            eps0: a.eps0,
            strength: a.strength,
            cos6_t0: a.cos6_t0,
            sin6_t0: a.sin6_t0,
            kinetic_2fold: a.kinetic_2fold,
            kinetic_6fold: a.kinetic_6fold,
            cos2_tc: a.cos2_tc,
            sin2_tc: a.sin2_tc,
            cos6_tc: a.cos6_tc,
            sin6_tc: a.sin6_tc,
            grad_sq_min: a.grad_sq_min,
            bv_f: op.bv.f,
            bv_alpha: op.bv.alpha,
            front_grad_min,
            d_liquid: tr.d_liquid,
            d_solid: tr.d_solid,
            transport_f: tr.f,
            cs_over_c0: tr.cs_over_c0,
            inv_max_h_prime: 1.0 / MAX_H_PRIME as Real,
            noise_key,
            dx: 1.0 / op.inv_dx,
            layer_thickness: 0.0,
            layer_width: 1.0,
            band_reach: 0,
            hcp_eps0: op.hcp.eps0,
            hcp_delta6: op.hcp.delta6,
            hcp_delta_c: op.hcp.delta_c,
            hcp_kinetic_2fold: op.hcp.kinetic_2fold,
            hcp_kinetic_6fold: op.hcp.kinetic_6fold,
            hcp_grad_sq_min: op.hcp.grad_sq_min,
            hcp_a: op.hcp.a,
            hcp_b: op.hcp.b,
            hcp_c: op.hcp.c,
            refresh_every: 1,
            _pad: [0; 3],
        }
    }

    /// With the resolved band of thickness `thickness` and width `width` (µm) on `grid`.
    pub fn with_band(self, grid: Grid, thickness: f64, width: f64) -> RunConstants {
        RunConstants {
            dx: grid.dx as f32,
            layer_thickness: thickness as f32,
            layer_width: width as f32,
            band_reach: band_reach(grid, thickness, width),
            ..self
        }
    }

    /// The constants of a run of `p`, as the CPU backend derives them (the band's width is δ,
    /// as `CpuBackend::refresh_layer` passes it).
    pub fn from_params(p: &crate::model::Params) -> RunConstants {
        RunConstants::new(
            &OrderParameterConstants::from_params(p),
            &TransportConstants::from_params(p),
            (0.1 / p.delta) as Real,
            key(p.seed, STREAM_NOISE),
        )
        .with_band(p.grid, p.interphase.thickness, p.delta)
        .with_refresh_every(p.interphase.refresh_every_steps)
    }

    /// With the band refreshed every `steps` steps (at least 1).
    pub fn with_refresh_every(self, steps: u64) -> RunConstants {
        RunConstants {
            refresh_every: steps.clamp(1, u32::MAX as u64) as u32,
            ..self
        }
    }

    /// The uniform array every order-parameter and transport kernel binds at 0, for a lone run
    /// (this block for point 0).
    pub fn buffer(&self, ctx: &GpuContext) -> wgpu::Buffer {
        RunConstants::points_buffer(ctx, std::slice::from_ref(self))
    }

    /// The uniform array of a batch: point p's constants at p.
    pub fn points_buffer(ctx: &GpuContext, points: &[RunConstants]) -> wgpu::Buffer {
        point_uniforms(ctx, "run constants", points)
    }
}

/// Model constants the kernels share with the CPU code, as WGSL (f32 literals with the `f`
/// suffix, so they round as the Rust constants do).
fn model_constants() -> String {
    format!(
        "// Generated by src/backend/gpu/kernels.rs from the model's Rust constants.\n\
         const INTERFACE_THRESHOLD: f32 = {INTERFACE_THRESHOLD:e}f;\n\
         const FLUSH_TO_ZERO: f32 = {FLUSH_TO_ZERO:e}f;\n\
         const KINETIC_FACTOR_MIN: f32 = {KINETIC_FACTOR_MIN:e}f;\n\
         const MAX_EXPONENT: f32 = {MAX_EXPONENT:e}f;\n\
         const NEWTON_STEPS: u32 = {NEWTON_STEPS}u;\n\
         const CONTROL_TOLERANCE: f32 = {:e}f;\n\
         const CONTROL_FIRST_REACH_V: f32 = {:e}f;\n\
         const CONTROL_BRACKET_FLOOR_V: f32 = {:e}f;\n\
         const CONTROL_RELATIVE_RESOLUTION: f32 = {:e}f;\n\
         const CONTROL_MAX_EVALUATIONS: u32 = {MAX_EVALUATIONS}u;\n\
         const CONTROL_SEARCHING: u32 = {}u;\n\
         const CONTROL_CONVERGED: u32 = {}u;\n\
         const CONTROL_NOT_CONVERGED: u32 = {}u;\n\
         const CONTROL_BEYOND_LIMIT: u32 = {}u;\n\
         const CONTROL_NOT_FINITE: u32 = {}u;\n",
        RELATIVE_TOLERANCE as f32,
        FIRST_REACH_V as f32,
        BRACKET_FLOOR_V as f32,
        // `model::control::resolution`: two f32 ulps of E.
        2.0 * f32::EPSILON,
        SearchStatus::Searching as u32,
        SearchStatus::Converged as u32,
        SearchStatus::NotConverged as u32,
        SearchStatus::BeyondLimit as u32,
        SearchStatus::NotFinite as u32,
    )
}

/// The wall rules of [`crate::model::boundary`] as WGSL, so that the kernels take each field's
/// ghost from the same place as the CPU's: the ghost past a wall of a field whose wall value is
/// 0 is `sign · inside`, and the value an upwind flux takes from beyond a wall is the Dirichlet
/// value, or the cell's own under zero flux.
fn boundary_rules() -> String {
    use crate::model::boundary::{CONCENTRATION_EXCESS, ORDER_PARAMETER, POTENTIAL};
    use crate::numerics::Boundary;
    let face_value = |name: &str, b: Boundary| match b {
        Boundary::Dirichlet(g) => format!("fn {name}(inside: f32) -> f32 {{ return {g:e}f; }}\n"),
        Boundary::Neumann => format!("fn {name}(inside: f32) -> f32 {{ return inside; }}\n"),
    };
    format!(
        "// Generated from src/model/boundary.rs: the walls of each field.\n\
         const ORDER_PARAMETER_BULK_GHOST_SIGN: f32 = {:e}f;\n\
         fn potential_collector_ghost(inside: f32) -> f32 {{ return {:e}f * inside; }}\n\
         fn potential_bulk_ghost(inside: f32) -> f32 {{ return {:e}f * inside; }}\n\
         {}",
        ORDER_PARAMETER.x_hi.ghost_sign(),
        POTENTIAL.x_lo.ghost_sign(),
        POTENTIAL.x_hi.ghost_sign(),
        face_value("excess_bulk_face", CONCENTRATION_EXCESS.x_hi),
    )
}

/// The shared head of a family file and the section of `entry`.
fn family_parts<'a>(family: &'a str, entry: &str) -> (&'a str, &'a str) {
    let first = family
        .find(SECTION_MARKER)
        .expect("a kernel family file has sections");
    let head = &family[..first];
    let section = family[first..]
        .split(SECTION_MARKER)
        .find(|s| s.lines().next().map(str::trim) == Some(entry))
        .unwrap_or_else(|| panic!("no section for kernel {entry}"));
    (head, section)
}

/// The WGSL module of one kernel: `libraries` (whole files), the family's head and its section
/// (the context prepends the prelude).
fn kernel_module(
    ctx: &GpuContext,
    libraries: &[&str],
    family: &str,
    entry: &str,
) -> wgpu::ComputePipeline {
    kernel_entry(ctx, libraries, family, entry, entry)
}

/// [`kernel_module`] for an entry point `entry` of the section named `section` (a section may
/// hold variants of its kernel).
fn kernel_entry(
    ctx: &GpuContext,
    libraries: &[&str],
    family: &str,
    section: &str,
    entry: &str,
) -> wgpu::ComputePipeline {
    let (head, section) = family_parts(family, section);
    let mut source = model_constants();
    source.push_str(&boundary_rules());
    for lib in libraries {
        source.push_str(lib);
        source.push('\n');
    }
    source.push_str(head);
    source.push_str(SECTION_MARKER);
    source.push_str(section);
    ctx.compute_pipeline(entry, &source, entry)
}

/// Something that records GPU work into a compute pass.
pub trait Encode {
    fn encode(&self, pass: &mut wgpu::ComputePass<'_>);
}

/// One kernel bound to its buffers: encode it any number of times.
///
/// Every kernel runs each live point of its [`Points`] (the batch axis): the workgroup count's z
/// is multiplied by the live points at encoding time, and the point table is bound at group 1.
#[derive(Clone)]
pub struct Dispatch {
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    /// Workgroups of one point.
    workgroups: (u32, u32, u32),
    /// Workgroup counts read from this buffer (written by an earlier kernel, the z count the
    /// live points) instead.
    indirect: Option<wgpu::Buffer>,
    /// One dispatch of `workgroups` for all points (a kernel that loops over the live points
    /// itself), not one z layer per point.
    once: bool,
    points: Arc<Points>,
    point_group: wgpu::BindGroup,
}

impl Dispatch {
    /// A kernel of a lone run (the single point's table); [`Dispatch::with_points`] binds a
    /// batch's.
    pub fn new(
        ctx: &GpuContext,
        label: &str,
        pipeline: &wgpu::ComputePipeline,
        buffers: &[&wgpu::Buffer],
        workgroups: (u32, u32, u32),
    ) -> Dispatch {
        let points = Points::single(ctx);
        Dispatch {
            pipeline: pipeline.clone(),
            bind_group: bind_group(ctx, label, pipeline, buffers),
            workgroups,
            indirect: None,
            once: false,
            point_group: points.bind_group(ctx, pipeline),
            points,
        }
    }

    /// One workgroup for all points: the kernel reads the point table itself.
    pub fn once(
        ctx: &GpuContext,
        label: &str,
        pipeline: &wgpu::ComputePipeline,
        buffers: &[&wgpu::Buffer],
    ) -> Dispatch {
        Dispatch {
            once: true,
            ..Dispatch::new(ctx, label, pipeline, buffers, (1, 1, 1))
        }
    }

    /// The same kernel over the points of `points` (its buffers must hold that many).
    pub fn with_points(&self, ctx: &GpuContext, points: &Arc<Points>) -> Dispatch {
        Dispatch {
            point_group: points.bind_group(ctx, &self.pipeline),
            points: Arc::clone(points),
            ..self.clone()
        }
    }

    /// The same kernel dispatched with the workgroup counts in `args` (three u32, written by
    /// a kernel before it: 0 workgroups skips it without a host round trip).
    pub fn indirect(&self, args: &wgpu::Buffer) -> Dispatch {
        Dispatch {
            indirect: Some(args.clone()),
            ..self.clone()
        }
    }

    /// A kernel over the grid (the grid rule of `context::GRID_RULE`: x layers by their cells).
    fn grid(
        ctx: &GpuContext,
        label: &str,
        pipeline: &wgpu::ComputePipeline,
        buffers: &[&wgpu::Buffer],
        grid: Grid,
    ) -> Dispatch {
        let (x, y) = layer_workgroups(grid);
        Dispatch::new(ctx, label, pipeline, buffers, (x, y, 1))
    }
}

impl std::fmt::Debug for Dispatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatch")
            .field("workgroups", &self.workgroups)
            .field("indirect", &self.indirect.is_some())
            .field("points", &self.points.capacity())
            .finish()
    }
}

impl Encode for Dispatch {
    fn encode(&self, pass: &mut wgpu::ComputePass<'_>) {
        let live = self.points.live();
        if live == 0 {
            return;
        }
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.set_bind_group(1, &self.point_group, &[]);
        match &self.indirect {
            Some(args) => pass.dispatch_workgroups_indirect(args, 0),
            None => {
                let (x, y, z) = self.workgroups;
                let layers = if self.once { 1 } else { live };
                pass.dispatch_workgroups(x, y, z * layers);
            }
        }
    }
}

/// Records `work` into one compute pass and submits it (tests, or a run's batch of steps).
pub fn submit(ctx: &GpuContext, work: &[&dyn Encode]) {
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("mgpf kernels"),
        });
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("mgpf kernels"),
            timestamp_writes: None,
        });
        for w in work {
            w.encode(&mut pass);
        }
    }
    ctx.queue.submit([encoder.finish()]);
}

/// A zeroed `step_scalars` buffer of [`step_scalar::COUNT`] slots.
pub fn step_scalars_buffer(ctx: &GpuContext) -> wgpu::Buffer {
    super::buffers::zeroed_buffer(ctx, "step scalars", step_scalar::COUNT as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_constants_are_a_whole_number_of_16_byte_rows() {
        assert_eq!(std::mem::size_of::<RunConstants>() % 16, 0);
        assert_eq!(std::mem::size_of::<StepControl>(), 64);
    }

    #[test]
    fn every_kernel_has_a_section() {
        for (family, entries) in [
            (
                ORDER_PARAMETER_WGSL,
                &[
                    "interface_orientation_field",
                    "allen_cahn_rate",
                    "allen_cahn_rate_streaming",
                    "allen_cahn_rate_tiled",
                    "reaction_field",
                    "reaction_maxima",
                    "interface_noise",
                    "update_order_parameter",
                ][..],
            ),
            (
                TRANSPORT_WGSL,
                &[
                    "transport_coefficients",
                    "concentration_rhs",
                    "max_migration_speed",
                    "boundary_inflow",
                ][..],
            ),
            (
                REDUCE_WGSL,
                &[
                    "sum_partials",
                    "max_partials",
                    "sum_finish",
                    "max_finish",
                    "noise_mean",
                ][..],
            ),
            (
                INTERPHASE_WGSL,
                &[
                    "distance_from_metal_along_x",
                    "distance_from_metal_along_y",
                    "layer_indicator",
                ][..],
            ),
            (GUARDS_WGSL, &["check_fields", "check_fields_finish"][..]),
            (
                CONTROL_WGSL,
                &[
                    "time_step",
                    "solve_shift_start",
                    "solve_shift_iteration",
                    "advance_step",
                ][..],
            ),
        ] {
            for e in entries {
                let (head, section) = family_parts(family, e);
                assert!(!head.contains(SECTION_MARKER));
                assert!(section.contains(&format!("fn {e}(")), "{e}");
            }
        }
    }

    #[test]
    fn model_constants_are_exact_f32_literals() {
        let s = model_constants();
        println!("{s}");
        assert!(s.contains("const INTERFACE_THRESHOLD: f32 = 1e-6f;"));
        assert!(s.contains("const MAX_EXPONENT: f32 = 6e1f;"));
    }

    #[test]
    fn the_boundary_rules_are_the_models() {
        let s = boundary_rules();
        println!("{s}");
        assert!(s.contains("const ORDER_PARAMETER_BULK_GHOST_SIGN: f32 = -1e0f;"));
        assert!(
            s.contains("fn potential_bulk_ghost(inside: f32) -> f32 { return -1e0f * inside; }")
        );
        assert!(s.contains(
            "fn potential_collector_ghost(inside: f32) -> f32 { return 1e0f * inside; }"
        ));
        assert!(s.contains("fn excess_bulk_face(inside: f32) -> f32 { return 0e0f; }"));
    }
}
