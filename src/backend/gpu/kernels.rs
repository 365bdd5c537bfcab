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
//! into a compute pass with [`Encode::encode`].

use super::buffers::{bind_group, grid_workgroups, linear_workgroups, uniform_buffer};
use super::context::{step_scalar, GpuContext, WORKGROUP_1D};
use crate::backend::cpu::order_parameter::{
    OrderParameterConstants, FLUSH_TO_ZERO, INTERFACE_THRESHOLD,
};
use crate::backend::cpu::transport::TransportConstants;
use crate::error::{Error, Result};
use crate::grid::Real;
use crate::model::anisotropy::KINETIC_FACTOR_MIN;
use crate::model::control::MAX_ITERATIONS as CONTROL_MAX_ITERATIONS;
use crate::model::kinetics::{MAX_EXPONENT, NEWTON_STEPS};
use crate::model::noise::{key, STREAM_NOISE};
use crate::model::params::{Control, MAX_H_PRIME, MAX_H_SECOND_DERIVATIVE};
use crate::model::timestep::{bounds, RateMaxima};

const COMMON_WGSL: &str = include_str!("../../../shaders/common.wgsl");
const NOISE_WGSL: &str = include_str!("../../../shaders/noise.wgsl");
const KINETICS_WGSL: &str = include_str!("../../../shaders/kinetics.wgsl");
const ORDER_PARAMETER_WGSL: &str = include_str!("../../../shaders/order_parameter.wgsl");
const TRANSPORT_WGSL: &str = include_str!("../../../shaders/transport.wgsl");
const REDUCE_WGSL: &str = include_str!("../../../shaders/reduce.wgsl");
const CONTROL_WGSL: &str = include_str!("../../../shaders/control.wgsl");

/// Marks the start of one kernel's section in a family file; the text before the first marker is
/// shared by every kernel of the family.
const SECTION_MARKER: &str = "// ---- kernel: ";

/// Largest number of workgroups of a reduction's first pass (each thread strides over the input,
/// so the finish pass reads at most this many partials).
pub const MAX_PARTIALS: u32 = 1024;

/// Storage buffers of the widest kernel (reaction_field: 12). wgpu's default limit is 8; the
/// context asks for the adapter's own limits (lavapipe, NVIDIA, AMD, Metal and DX12 allow more).
pub const STORAGE_BUFFERS_PER_KERNEL: u32 = 12;

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

/// Run constants of the order-parameter and transport kernels: the WGSL `RunConstants` of
/// `shaders/common.wgsl`, field by field (28 four-byte scalars, 112 bytes, a multiple of 16).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct RunConstants {
    pub nx: u32,
    pub ny: u32,
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
}

impl RunConstants {
    /// From the CPU kernels' constants, the front-speed gradient floor and the noise key.
    pub fn new(
        op: &OrderParameterConstants,
        tr: &TransportConstants,
        front_grad_min: Real,
        noise_key: u32,
    ) -> RunConstants {
        let a = &op.aniso;
        RunConstants {
            nx: op.nx as u32,
            ny: op.ny as u32,
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
        }
    }

    /// The constants of a run of `p`, as the CPU backend derives them.
    pub fn from_params(p: &crate::model::Params) -> RunConstants {
        RunConstants::new(
            &OrderParameterConstants::from_params(p),
            &TransportConstants::from_params(p),
            (0.1 / p.delta) as Real,
            key(p.seed, STREAM_NOISE),
        )
    }

    /// The uniform buffer every order-parameter and transport kernel binds at 0.
    pub fn buffer(&self, ctx: &GpuContext) -> wgpu::Buffer {
        uniform_buffer(ctx, "run constants", self)
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
         const CONTROL_MAX_ITERATIONS: u32 = {CONTROL_MAX_ITERATIONS}u;\n"
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
    let (head, section) = family_parts(family, entry);
    let mut source = model_constants();
    for lib in libraries {
        source.push_str(lib);
        source.push('\n');
    }
    source.push_str(head);
    source.push_str(SECTION_MARKER);
    source.push_str(section);
    let module = ctx.shader(entry, &source);
    ctx.pipeline(&module, entry)
}

/// Something that records GPU work into a compute pass.
pub trait Encode {
    fn encode(&self, pass: &mut wgpu::ComputePass<'_>);
}

/// One kernel bound to its buffers: encode it any number of times.
#[derive(Debug, Clone)]
pub struct Dispatch {
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    workgroups: (u32, u32, u32),
}

impl Dispatch {
    fn new(
        ctx: &GpuContext,
        label: &str,
        pipeline: &wgpu::ComputePipeline,
        buffers: &[&wgpu::Buffer],
        workgroups: (u32, u32, u32),
    ) -> Dispatch {
        Dispatch {
            pipeline: pipeline.clone(),
            bind_group: bind_group(ctx, label, pipeline, buffers),
            workgroups,
        }
    }

    /// A 2D kernel over the nx × ny grid.
    fn grid(
        ctx: &GpuContext,
        label: &str,
        pipeline: &wgpu::ComputePipeline,
        buffers: &[&wgpu::Buffer],
        (nx, ny): (usize, usize),
    ) -> Dispatch {
        let (x, y) = grid_workgroups(nx, ny);
        Dispatch::new(ctx, label, pipeline, buffers, (x, y, 1))
    }
}

impl Encode for Dispatch {
    fn encode(&self, pass: &mut wgpu::ComputePass<'_>) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        let (x, y, z) = self.workgroups;
        pass.dispatch_workgroups(x, y, z);
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

/// The order-parameter kernels (twins of `backend::cpu::order_parameter`).
pub struct OrderParameterKernels {
    interface_orientation_field: wgpu::ComputePipeline,
    allen_cahn_rate: wgpu::ComputePipeline,
    reaction_field: wgpu::ComputePipeline,
    reaction_sum: wgpu::ComputePipeline,
    interface_noise: wgpu::ComputePipeline,
    update_order_parameter: wgpu::ComputePipeline,
}

/// Buffers of the rate fields the reaction kernels read (one cell each).
pub struct ReactionInputs<'a> {
    pub xi: &'a wgpu::Buffer,
    pub c: &'a wgpu::Buffer,
    pub phi: &'a wgpu::Buffer,
    pub kinetic_factor: &'a wgpu::Buffer,
    pub asr: &'a wgpu::Buffer,
    pub blocked: &'a wgpu::Buffer,
}

impl OrderParameterKernels {
    pub fn new(ctx: &GpuContext) -> OrderParameterKernels {
        let libs = [COMMON_WGSL, NOISE_WGSL, KINETICS_WGSL];
        let build = |entry| kernel_module(ctx, &libs, ORDER_PARAMETER_WGSL, entry);
        OrderParameterKernels {
            interface_orientation_field: build("interface_orientation_field"),
            allen_cahn_rate: build("allen_cahn_rate"),
            reaction_field: build("reaction_field"),
            reaction_sum: build("reaction_sum"),
            interface_noise: build("interface_noise"),
            update_order_parameter: build("update_order_parameter"),
        }
    }

    /// ε², εε', a_k, |∇xi| of xi.
    #[allow(clippy::too_many_arguments)]
    pub fn interface_orientation_field(
        &self,
        ctx: &GpuContext,
        grid: (usize, usize),
        k: &wgpu::Buffer,
        xi: &wgpu::Buffer,
        eps_sq: &wgpu::Buffer,
        eps_deriv: &wgpu::Buffer,
        kinetic_factor: &wgpu::Buffer,
        grad_norm: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::grid(
            ctx,
            "interface_orientation_field",
            &self.interface_orientation_field,
            &[k, xi, eps_sq, eps_deriv, kinetic_factor, grad_norm],
            grid,
        )
    }

    /// The Allen–Cahn rate of xi into `rate`.
    #[allow(clippy::too_many_arguments)]
    pub fn allen_cahn_rate(
        &self,
        ctx: &GpuContext,
        grid: (usize, usize),
        k: &wgpu::Buffer,
        xi: &wgpu::Buffer,
        eps_sq: &wgpu::Buffer,
        eps_deriv: &wgpu::Buffer,
        rate: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::grid(
            ctx,
            "allen_cahn_rate",
            &self.allen_cahn_rate,
            &[k, xi, eps_sq, eps_deriv, rate],
            grid,
        )
    }

    /// The reaction rate at E = step_scalars[ELECTRODE_POTENTIAL] into `bv_rate`, and per cell
    /// the operands of its maxima (`reaction_factor`, `front_speed`: finish them with
    /// [`Reductions::max`] into REACTION_FACTOR_MAX and FRONT_SPEED_MAX).
    #[allow(clippy::too_many_arguments)]
    pub fn reaction_field(
        &self,
        ctx: &GpuContext,
        grid: (usize, usize),
        k: &wgpu::Buffer,
        inputs: &ReactionInputs,
        step_scalars: &wgpu::Buffer,
        ac_rate: &wgpu::Buffer,
        grad_norm: &wgpu::Buffer,
        bv_rate: &wgpu::Buffer,
        reaction_factor: &wgpu::Buffer,
        front_speed: &wgpu::Buffer,
    ) -> Dispatch {
        let r = inputs;
        Dispatch::grid(
            ctx,
            "reaction_field",
            &self.reaction_field,
            &[
                k,
                r.xi,
                r.c,
                r.phi,
                step_scalars,
                r.kinetic_factor,
                r.asr,
                r.blocked,
                ac_rate,
                grad_norm,
                bv_rate,
                reaction_factor,
                front_speed,
            ],
            grid,
        )
    }

    /// Per cell the reaction rate at E = step_scalars[ELECTRODE_POTENTIAL] and its E-derivative
    /// (finish with [`Reductions::sum`] into REACTION_SUM and REACTION_SUM_DERIVATIVE).
    #[allow(clippy::too_many_arguments)]
    pub fn reaction_sum(
        &self,
        ctx: &GpuContext,
        grid: (usize, usize),
        k: &wgpu::Buffer,
        inputs: &ReactionInputs,
        step_scalars: &wgpu::Buffer,
        rate: &wgpu::Buffer,
        rate_derivative: &wgpu::Buffer,
    ) -> Dispatch {
        let r = inputs;
        Dispatch::grid(
            ctx,
            "reaction_sum",
            &self.reaction_sum,
            &[
                k,
                r.xi,
                r.c,
                r.phi,
                step_scalars,
                r.kinetic_factor,
                r.asr,
                r.blocked,
                rate,
                rate_derivative,
            ],
            grid,
        )
    }

    /// Interface noise with amplitude step_scalars[NOISE_AMPLITUDE] at step
    /// step_scalars[STEP] (u32 bits), and h'(xi) per cell (finish both with [`Reductions::sum`]
    /// into NOISE_SUM and H_PRIME_SUM, then [`Reductions::noise_mean`]).
    #[allow(clippy::too_many_arguments)]
    pub fn interface_noise(
        &self,
        ctx: &GpuContext,
        grid: (usize, usize),
        k: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
        xi: &wgpu::Buffer,
        noise: &wgpu::Buffer,
        h_prime: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::grid(
            ctx,
            "interface_noise",
            &self.interface_noise,
            &[k, step_scalars, xi, noise, h_prime],
            grid,
        )
    }

    /// Forward-Euler update of xi with dt = step_scalars[DT] and n̄ = step_scalars[NOISE_MEAN];
    /// writes Δxi (finish with [`Reductions::sum`] into DXI_SUM).
    #[allow(clippy::too_many_arguments)]
    pub fn update_order_parameter(
        &self,
        ctx: &GpuContext,
        grid: (usize, usize),
        k: &wgpu::Buffer,
        xi: &wgpu::Buffer,
        ac_rate: &wgpu::Buffer,
        bv_rate: &wgpu::Buffer,
        noise: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
        dxi: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::grid(
            ctx,
            "update_order_parameter",
            &self.update_order_parameter,
            &[k, xi, ac_rate, bv_rate, noise, step_scalars, dxi],
            grid,
        )
    }
}

/// The transport kernels (twins of `backend::cpu::transport`).
pub struct TransportKernels {
    transport_coefficients: wgpu::ComputePipeline,
    concentration_rhs: wgpu::ComputePipeline,
    max_migration_speed: wgpu::ComputePipeline,
    boundary_inflow: wgpu::ComputePipeline,
}

impl TransportKernels {
    pub fn new(ctx: &GpuContext) -> TransportKernels {
        let libs = [COMMON_WGSL];
        let build = |entry| kernel_module(ctx, &libs, TRANSPORT_WGSL, entry);
        TransportKernels {
            transport_coefficients: build("transport_coefficients"),
            concentration_rhs: build("concentration_rhs"),
            max_migration_speed: build("max_migration_speed"),
            boundary_inflow: build("boundary_inflow"),
        }
    }

    /// D and σ/σ_l from xi and the layer fields.
    #[allow(clippy::too_many_arguments)]
    pub fn transport_coefficients(
        &self,
        ctx: &GpuContext,
        grid: (usize, usize),
        k: &wgpu::Buffer,
        xi: &wgpu::Buffer,
        layer: &wgpu::Buffer,
        layer_diffusivity_ratio: &wgpu::Buffer,
        layer_conductivity_ratio: &wgpu::Buffer,
        diffusivity: &wgpu::Buffer,
        conductivity: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::grid(
            ctx,
            "transport_coefficients",
            &self.transport_coefficients,
            &[
                k,
                xi,
                layer,
                layer_diffusivity_ratio,
                layer_conductivity_ratio,
                diffusivity,
                conductivity,
            ],
            grid,
        )
    }

    /// Right-hand side of the implicit concentration step with dt = step_scalars[DT].
    #[allow(clippy::too_many_arguments)]
    pub fn concentration_rhs(
        &self,
        ctx: &GpuContext,
        grid: (usize, usize),
        k: &wgpu::Buffer,
        c: &wgpu::Buffer,
        phi: &wgpu::Buffer,
        diffusivity: &wgpu::Buffer,
        dxi: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
        rhs: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::grid(
            ctx,
            "concentration_rhs",
            &self.concentration_rhs,
            &[k, c, phi, diffusivity, dxi, step_scalars, rhs],
            grid,
        )
    }

    /// Per cell the migration face speed (finish with [`Reductions::max`] into
    /// MIGRATION_SPEED_MAX).
    pub fn max_migration_speed(
        &self,
        ctx: &GpuContext,
        grid: (usize, usize),
        k: &wgpu::Buffer,
        phi: &wgpu::Buffer,
        diffusivity: &wgpu::Buffer,
        migration_speed: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::grid(
            ctx,
            "max_migration_speed",
            &self.max_migration_speed,
            &[k, phi, diffusivity, migration_speed],
            grid,
        )
    }

    /// Per bulk-face cell the ions entering in a step of dt = step_scalars[DT], into the first
    /// ny entries of `inflow` (finish with [`Reductions::sum`] over ny into BOUNDARY_INFLOW).
    #[allow(clippy::too_many_arguments)]
    pub fn boundary_inflow(
        &self,
        ctx: &GpuContext,
        grid: (usize, usize),
        k: &wgpu::Buffer,
        c_old: &wgpu::Buffer,
        c_new: &wgpu::Buffer,
        phi: &wgpu::Buffer,
        diffusivity: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
        inflow: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::new(
            ctx,
            "boundary_inflow",
            &self.boundary_inflow,
            &[k, c_old, c_new, phi, diffusivity, step_scalars, inflow],
            (linear_workgroups(grid.1), 1, 1),
        )
    }
}

/// Uniform block of one reduction (WGSL `ReduceParams`).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ReduceParams {
    count: u32,
    slot: u32,
    _pad: [u32; 2],
}

/// A sum or maximum of a field finished into one `step_scalars` slot: two dispatches (partials,
/// then one workgroup), deterministic order.
#[derive(Debug, Clone)]
pub struct Reduction {
    partials: Dispatch,
    finish: Dispatch,
}

impl Encode for Reduction {
    fn encode(&self, pass: &mut wgpu::ComputePass<'_>) {
        self.partials.encode(pass);
        self.finish.encode(pass);
    }
}

/// The reduction kernels of `shaders/reduce.wgsl`.
pub struct Reductions {
    sum_partials: wgpu::ComputePipeline,
    max_partials: wgpu::ComputePipeline,
    sum_finish: wgpu::ComputePipeline,
    max_finish: wgpu::ComputePipeline,
    noise_mean: wgpu::ComputePipeline,
}

impl Reductions {
    pub fn new(ctx: &GpuContext) -> Reductions {
        let build = |entry| kernel_module(ctx, &[], REDUCE_WGSL, entry);
        Reductions {
            sum_partials: build("sum_partials"),
            max_partials: build("max_partials"),
            sum_finish: build("sum_finish"),
            max_finish: build("max_finish"),
            noise_mean: build("noise_mean"),
        }
    }

    /// step_scalars[slot] = Σ of the first `count` elements of `input` (f32 accumulation).
    pub fn sum(
        &self,
        ctx: &GpuContext,
        input: &wgpu::Buffer,
        count: usize,
        step_scalars: &wgpu::Buffer,
        slot: u32,
    ) -> Reduction {
        self.plan(ctx, true, input, count, step_scalars, slot)
    }

    /// step_scalars[slot] = max(0, max of the first `count` elements of `input`).
    pub fn max(
        &self,
        ctx: &GpuContext,
        input: &wgpu::Buffer,
        count: usize,
        step_scalars: &wgpu::Buffer,
        slot: u32,
    ) -> Reduction {
        self.plan(ctx, false, input, count, step_scalars, slot)
    }

    /// step_scalars[NOISE_MEAN] = NOISE_SUM / H_PRIME_SUM (0 when H_PRIME_SUM = 0).
    pub fn noise_mean(&self, ctx: &GpuContext, step_scalars: &wgpu::Buffer) -> Dispatch {
        Dispatch::new(
            ctx,
            "noise_mean",
            &self.noise_mean,
            &[step_scalars],
            (1, 1, 1),
        )
    }

    fn plan(
        &self,
        ctx: &GpuContext,
        sum: bool,
        input: &wgpu::Buffer,
        count: usize,
        step_scalars: &wgpu::Buffer,
        slot: u32,
    ) -> Reduction {
        assert!(
            slot < step_scalar::COUNT,
            "step scalar slot {slot} out of range"
        );
        let groups = linear_workgroups(count).clamp(1, MAX_PARTIALS);
        let first = uniform_buffer(
            ctx,
            "reduce partials",
            &ReduceParams {
                count: count as u32,
                slot,
                _pad: [0; 2],
            },
        );
        let second = uniform_buffer(
            ctx,
            "reduce finish",
            &ReduceParams {
                count: groups,
                slot,
                _pad: [0; 2],
            },
        );
        let partials = super::buffers::zeroed_buffer(ctx, "partials", groups as usize);
        let (p, f) = if sum {
            (&self.sum_partials, &self.sum_finish)
        } else {
            (&self.max_partials, &self.max_finish)
        };
        debug_assert!(groups * WORKGROUP_1D >= 1);
        Reduction {
            partials: Dispatch::new(
                ctx,
                "partials",
                p,
                &[&first, input, &partials],
                (groups, 1, 1),
            ),
            finish: Dispatch::new(
                ctx,
                "finish",
                f,
                &[&second, &partials, step_scalars],
                (1, 1, 1),
            ),
        }
    }
}

/// Constants of the per-step control kernels (`shaders/control.wgsl`: WGSL `StepControl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct StepControl {
    pub gradient_bound: f32,
    pub reaction_base: f32,
    pub reaction_coefficient: f32,
    pub dx: f32,
    pub cap_bound: f32,
    pub safety: f32,
    /// numerics.dt_s, or 0 for the adaptive step.
    pub fixed_dt: f32,
    pub noise_amplitude: f32,
    pub noise_dt_ref: f32,
    /// Σ ∂xi/∂t of the galvanostatic current (0 when potentiostatic: do not record the solve).
    pub target_rate_sum: f32,
    pub control_tolerance: f32,
    _pad: u32,
}

impl StepControl {
    /// The constants of a run of `p`; `control_tolerance` is the relative tolerance of the
    /// galvanostatic root find (the CPU backend's CONTROL_TOLERANCE, 1e-5).
    pub fn from_params(p: &crate::model::Params, control_tolerance: f64) -> StepControl {
        // The state-independent bounds come from the CPU's own formula.
        let b = bounds(p, RateMaxima::default());
        let target = match p.control {
            Control::Galvanostatic {
                current_density_a_m2,
            } => p.velocity_of_current(current_density_a_m2) * p.grid.ny as f64 / p.grid.dx,
            Control::Potentiostatic { .. } => 0.0,
        };
        StepControl {
            gradient_bound: b[0].1 as f32,
            reaction_base: (2.0 * p.l_sigma * p.w) as f32,
            reaction_coefficient: (p.l_eta * MAX_H_SECOND_DERIVATIVE) as f32,
            dx: p.grid.dx as f32,
            cap_bound: b[4].1 as f32,
            safety: p.time_step_safety as f32,
            fixed_dt: p.fixed_dt.unwrap_or(0.0) as f32,
            noise_amplitude: p.noise_amplitude as f32,
            noise_dt_ref: p.noise_dt_ref as f32,
            target_rate_sum: target as f32,
            control_tolerance: control_tolerance as f32,
            _pad: 0,
        }
    }

    pub fn buffer(&self, ctx: &GpuContext) -> wgpu::Buffer {
        uniform_buffer(ctx, "step control", self)
    }
}

/// The galvanostatic root find recorded for a fixed budget of evaluations: start, then
/// `iterations` × (reaction_sum, its two sums, one Newton step). Steps after convergence return at
/// once (CONTROL_DONE); CONTROL_DONE = 0 afterwards means the budget ran out first.
pub struct ShiftSolve {
    start: Dispatch,
    reaction_sum: Dispatch,
    sum: Reduction,
    derivative_sum: Reduction,
    iteration: Dispatch,
    iterations: u32,
}

impl Encode for ShiftSolve {
    fn encode(&self, pass: &mut wgpu::ComputePass<'_>) {
        self.start.encode(pass);
        for _ in 0..self.iterations {
            self.reaction_sum.encode(pass);
            self.sum.encode(pass);
            self.derivative_sum.encode(pass);
            self.iteration.encode(pass);
        }
    }
}

/// Per-step control kernels (twins of `model::timestep::time_step` and `model::control::
/// solve_shift`), single invocations on step_scalars.
pub struct ControlKernels {
    time_step: wgpu::ComputePipeline,
    solve_shift_start: wgpu::ComputePipeline,
    solve_shift_iteration: wgpu::ComputePipeline,
}

impl ControlKernels {
    pub fn new(ctx: &GpuContext) -> ControlKernels {
        let build = |entry| kernel_module(ctx, &[], CONTROL_WGSL, entry);
        ControlKernels {
            time_step: build("time_step"),
            solve_shift_start: build("solve_shift_start"),
            solve_shift_iteration: build("solve_shift_iteration"),
        }
    }

    /// DT, STABLE_DT, TIME_STEP_BOUND and NOISE_AMPLITUDE from the maxima slots
    /// (REACTION_FACTOR_MAX, FRONT_SPEED_MAX, MIGRATION_SPEED_MAX).
    pub fn time_step(
        &self,
        ctx: &GpuContext,
        control: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::new(
            ctx,
            "time_step",
            &self.time_step,
            &[control, step_scalars],
            (1, 1, 1),
        )
    }

    /// Δ = 0, bracket (−∞, ∞), ELECTRODE_POTENTIAL = ELECTRODE_BASE.
    pub fn solve_shift_start(&self, ctx: &GpuContext, step_scalars: &wgpu::Buffer) -> Dispatch {
        Dispatch::new(
            ctx,
            "solve_shift_start",
            &self.solve_shift_start,
            &[step_scalars],
            (1, 1, 1),
        )
    }

    /// One Newton step from AC_RATE_SUM, REACTION_SUM and REACTION_SUM_DERIVATIVE.
    pub fn solve_shift_iteration(
        &self,
        ctx: &GpuContext,
        control: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
    ) -> Dispatch {
        Dispatch::new(
            ctx,
            "solve_shift_iteration",
            &self.solve_shift_iteration,
            &[control, step_scalars],
            (1, 1, 1),
        )
    }

    /// The whole root find: `reaction_sum` bound to (rate, rate_derivative) fields, summed by
    /// `reductions` into REACTION_SUM and REACTION_SUM_DERIVATIVE (AC_RATE_SUM and ELECTRODE_BASE
    /// set before), `iterations` evaluations at most.
    #[allow(clippy::too_many_arguments)]
    pub fn solve_shift(
        &self,
        ctx: &GpuContext,
        control: &wgpu::Buffer,
        step_scalars: &wgpu::Buffer,
        reaction_sum: &Dispatch,
        reductions: &Reductions,
        (rate, rate_derivative): (&wgpu::Buffer, &wgpu::Buffer),
        cells: usize,
        iterations: u32,
    ) -> ShiftSolve {
        ShiftSolve {
            start: self.solve_shift_start(ctx, step_scalars),
            reaction_sum: reaction_sum.clone(),
            sum: reductions.sum(ctx, rate, cells, step_scalars, step_scalar::REACTION_SUM),
            derivative_sum: reductions.sum(
                ctx,
                rate_derivative,
                cells,
                step_scalars,
                step_scalar::REACTION_SUM_DERIVATIVE,
            ),
            iteration: self.solve_shift_iteration(ctx, control, step_scalars),
            iterations,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_constants_are_a_whole_number_of_16_byte_rows() {
        assert_eq!(std::mem::size_of::<RunConstants>() % 16, 0);
        assert_eq!(std::mem::size_of::<ReduceParams>(), 16);
        assert_eq!(std::mem::size_of::<StepControl>(), 48);
    }

    #[test]
    fn every_kernel_has_a_section() {
        for (family, entries) in [
            (
                ORDER_PARAMETER_WGSL,
                &[
                    "interface_orientation_field",
                    "allen_cahn_rate",
                    "reaction_field",
                    "reaction_sum",
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
}
