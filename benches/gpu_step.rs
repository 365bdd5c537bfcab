//! GPU throughput of the mgpf step: whole steps (batched submits) and each phase, per grid
//! size, with a copy kernel's bandwidth from the same run as the roofline.
//!
//! ```text
//! cargo bench --bench gpu_step                               # sizes by adapter (see below)
//! MGPF_GPU_BENCH_SIZES=256,1024,2048,4096,64c,256c cargo bench --bench gpu_step
//! MGPF_GPU_BENCH_PRESET=zeolite cargo bench --bench gpu_step   # with the resolved band
//! ```
//!
//! A size N is an N × N grid, Nc an N × N × N one (3D). Sizes default to 256², 1024², 2048²,
//! 4096², 64³, 128³, 256³, 512³ on a hardware GPU and 64², 128², 256², 32³, 64³ on a software
//! one (lavapipe runs ~50× slower than the CPU backend: its figures are a regression baseline
//! only). States: `Config::default_demo()` on the grid, deposit N·dx/4 high, preset none (or
//! `MGPF_GPU_BENCH_PRESET`), a few warm-up steps. Columns: M cell-updates/s of a whole step (32
//! steps per submit, read-back included), ms per step of each phase (each recorded in its own
//! submit), ms per refresh of the resolved band (every `interphase.refresh_every_steps` steps;
//! "-" without one), dispatches per step outside the multigrid. Then a second table: the
//! Allen–Cahn rate alone on the same state (ms per evaluation: the two-pass kernels
//! interface_orientation_field + allen_cahn_rate, 2D only, and the two fused kernels,
//! allen_cahn_rate_streaming and the tiled kernel of the grid's dimension), the GB/s of the fused kernel the step
//! runs on this adapter (16 B per cell: xi in; rate, a_k, |∇xi| out), a copy kernel's GB/s (8 B
//! per element: one read, one write) and the first as a percentage of the second (issue 3's
//! floor: ≥ 60 % at 4096² on a hardware GPU), and the CPU backend's ms per step on the same
//! state with all cores (`MGPF_GPU_BENCH_CPU_STEPS` steps after 2 warm-up, default 4; 0 skips
//! it) with the GPU's whole step's speed-up over it (floor: ≥ 20× on the same machine). Last,
//! each kernel and reduction of the update and reduction phases alone: ms per dispatch and
//! M cell/s, per size.

use mgpf::backend::cpu::CpuBackend;
use mgpf::backend::gpu::bandwidth::copy_bandwidth;
use mgpf::backend::gpu::buffers::{storage_buffer, zeroed_buffer};
use mgpf::backend::gpu::kernels::{
    submit, Encode, FusedAllenCahn, OrderParameterKernels, RunConstants,
};
use mgpf::backend::gpu::{GpuBackend, GpuContext};
use mgpf::backend::Backend;
use mgpf::config::presets::Preset;
use mgpf::config::Config;
use mgpf::model::params::Params;
use std::time::Instant;

/// A bench size: N × N, or N × N × N (`Nc`).
#[derive(Clone, Copy)]
struct Size {
    n: usize,
    cube: bool,
}

impl Size {
    fn parse(s: &str) -> Size {
        let s = s.trim();
        match s.strip_suffix('c') {
            Some(n) => Size {
                n: n.parse().expect("a size is N or Nc"),
                cube: true,
            },
            None => Size {
                n: s.parse().expect("a size is N or Nc"),
                cube: false,
            },
        }
    }

    fn cells(self) -> usize {
        if self.cube {
            self.n.pow(3)
        } else {
            self.n * self.n
        }
    }

    fn label(self) -> String {
        format!("{}{}", self.n, if self.cube { "³" } else { "²" })
    }
}

fn config(size: Size, preset: Preset) -> Config {
    let n = size.n;
    let mut cfg = Config::default_demo();
    cfg.grid.nx = n;
    cfg.grid.ny = n;
    if size.cube {
        cfg.grid.nz = n;
    }
    cfg.initial.deposit_height_um = n as f64 * cfg.grid.dx_um / 4.0;
    cfg.interphase.preset = preset;
    cfg
}

/// Seconds per evaluation of the Allen–Cahn rate of `xi` on the grid of `p`: the two-pass
/// interface_orientation_field + allen_cahn_rate (2D; NaN in 3D), then each fused kernel
/// (streaming, tiled), each the best of 3 submits of `reps` evaluations.
fn allen_cahn_times(ctx: &GpuContext, p: &Params, xi: &[f32], reps: usize) -> [f64; 3] {
    let grid = p.grid;
    let n = xi.len();
    let op = OrderParameterKernels::new(ctx);
    let k = RunConstants::from_params(p).buffer(ctx);
    let xi = storage_buffer(ctx, "xi", xi);
    let field = |label| zeroed_buffer(ctx, label, n);
    let (eps_sq, eps_deriv, kinetic_factor, grad_norm, rate) = (
        field("eps_sq"),
        field("eps_deriv"),
        field("kinetic_factor"),
        field("grad_norm"),
        field("rate"),
    );
    let orientation = op.interface_orientation_field(
        ctx,
        grid,
        &k,
        &xi,
        &eps_sq,
        &eps_deriv,
        &kinetic_factor,
        &grad_norm,
    );
    let two_pass = op.allen_cahn_rate(ctx, grid, &k, &xi, &eps_sq, &eps_deriv, &rate);
    let fused = |kind| {
        op.allen_cahn_rate_fused(ctx, kind, grid, &k, &xi, &rate, &kinetic_factor, &grad_norm)
    };
    let (streaming, tiled) = (
        fused(FusedAllenCahn::Streaming),
        fused(FusedAllenCahn::Tiled),
    );
    let time = |one: &[&dyn Encode]| {
        let work: Vec<&dyn Encode> = one.iter().copied().cycle().take(one.len() * reps).collect();
        (0..4)
            .map(|_| {
                let t = Instant::now();
                submit(ctx, &work);
                ctx.device
                    .poll(wgpu::PollType::wait_indefinitely())
                    .expect("poll");
                t.elapsed().as_secs_f64() / reps as f64
            })
            .skip(1)
            .fold(f64::INFINITY, f64::min)
    };
    [
        if grid.nz == 1 {
            time(&[&orientation, &two_pass])
        } else {
            f64::NAN
        },
        time(&[&streaming]),
        time(&[&tiled]),
    ]
}

/// Seconds per step of the CPU backend on the same state (`steps` after 2 warm-up steps, all
/// cores), for the GPU's speed-up over it.
fn cpu_step_time(p: &Params, cfg: &Config, steps: u64) -> f64 {
    let mut cpu = CpuBackend::new(p, &cfg.initial);
    cpu.advance(0, 2).expect("cpu warm-up");
    let t = Instant::now();
    cpu.advance(2, steps).expect("cpu steps");
    t.elapsed().as_secs_f64() / steps as f64
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let ctx = match GpuContext::shared() {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("gpu_step bench: {e}");
            return;
        }
    };
    let software = ctx.adapter_info.device_type == wgpu::DeviceType::Cpu;
    let sizes: Vec<Size> = std::env::var("MGPF_GPU_BENCH_SIZES")
        .unwrap_or_else(|_| {
            if software {
                "64,128,256,32c,64c".into()
            } else {
                "256,1024,2048,4096,64c,128c,256c,512c".into()
            }
        })
        .split(',')
        .map(Size::parse)
        .collect();
    let preset = match std::env::var("MGPF_GPU_BENCH_PRESET") {
        Ok(name) => Preset::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .expect("MGPF_GPU_BENCH_PRESET names a preset"),
        Err(_) => Preset::None,
    };
    println!(
        "== mgpf GPU bench on {}, preset {} ==",
        ctx.describe(),
        preset.name()
    );
    println!(
        "{:>6} {:>12} {:>9} | ms per step: {:>8} {:>8} {:>8} {:>9} {:>9} | {:>8} | {:>10}",
        "N",
        "M cell/s",
        "ms/step",
        "update",
        "reduce",
        "control",
        "potential",
        "conc.",
        "band",
        "dispatches",
    );
    let step_kernel = FusedAllenCahn::for_adapter(&ctx.adapter_info);
    let cpu_steps: u64 = std::env::var("MGPF_GPU_BENCH_CPU_STEPS")
        .map(|v| v.parse().expect("MGPF_GPU_BENCH_CPU_STEPS is a step count"))
        .unwrap_or(4);
    let mut roofline = vec![format!(
        "{:>6} | AC ms: {:>8} {:>9} {:>8} | {:>10} {:>10} {:>7} | {:>12} {:>8}",
        "N",
        "2-pass",
        "streaming",
        "tiled",
        "AC GB/s",
        "copy GB/s",
        "% copy",
        "CPU ms/step",
        "GPU ×",
    )];
    let mut per_kernel: Vec<(Size, Vec<(&'static str, f64)>)> = Vec::new();
    for size in sizes {
        let (n, cells) = (size.label(), size.cells() as f64);
        let cfg = config(size, preset);
        let p = Params::from_config(&cfg).expect("bench params");
        let mut backend = GpuBackend::new(ctx, &p, &cfg.initial).expect("gpu backend");
        backend.advance(0, 8).expect("warm-up");
        let steps = if software { 32 } else { 128 };
        let t = Instant::now();
        let mut done = 0;
        while done < steps {
            done += backend.advance(8 + done, 32).expect("steps").len() as u64;
        }
        let step_s = t.elapsed().as_secs_f64() / steps as f64;
        let prof = backend.profile(if software { 4 } else { 20 });
        let xi: Vec<f32> = backend.snapshot().order_parameter.iter().copied().collect();
        drop(backend);
        per_kernel.push((size, prof.kernels.clone()));
        let [two_pass_s, streaming_s, tiled_s] =
            allen_cahn_times(ctx, &p, &xi, if software { 20 } else { 200 });
        let ms = |s: f64| s * 1e3;
        let band = if prof.layer_refresh_s > 0.0 {
            format!("{:.3}", ms(prof.layer_refresh_s))
        } else {
            "-".into()
        };
        println!(
            "{n:>6} {:>12.1} {:>9.3} | {:>25.3} {:>8.3} {:>8.3} {:>9.3} {:>9.3} | {band:>8} | {:>10}",
            cells / step_s / 1e6,
            ms(step_s),
            ms(prof.update_s),
            ms(prof.reductions_s),
            ms(prof.control_s),
            ms(prof.potential_solve_s),
            ms(prof.concentration_solve_s),
            prof.dispatches_outside_multigrid,
        );
        // The step's fused kernel moves 16 B per cell: xi in; rate, a_k, |∇xi| out.
        let fused_s = match step_kernel {
            FusedAllenCahn::Streaming => streaming_s,
            FusedAllenCahn::Tiled => tiled_s,
        };
        let fused_gbs = 16.0 * cells / fused_s / 1e9;
        let copy_gbs = copy_bandwidth(ctx, size.cells());
        let (cpu, speed_up) = if cpu_steps > 0 {
            let cpu_s = cpu_step_time(&p, &cfg, cpu_steps);
            (
                format!("{:.1}", ms(cpu_s)),
                format!("{:.1}", cpu_s / step_s),
            )
        } else {
            ("-".into(), "-".into())
        };
        roofline.push(format!(
            "{n:>6} | {:>14.3} {:>9.3} {:>8.3} | {fused_gbs:>10.1} {copy_gbs:>10.1} {:>7.0} | {cpu:>12} {speed_up:>8}",
            ms(two_pass_s),
            ms(streaming_s),
            ms(tiled_s),
            100.0 * fused_gbs / copy_gbs,
        ));
    }
    println!(
        "\nThe Allen–Cahn rate alone and the roofline (the step runs the {} kernel: {} in 2D, {} in 3D; CPU backend: {} threads)",
        match step_kernel {
            FusedAllenCahn::Streaming => "streaming",
            FusedAllenCahn::Tiled => "tiled",
        },
        step_kernel.kernel(mgpf::Grid::new(2, 2, 1.0)),
        step_kernel.kernel(mgpf::Grid {
            nx: 2,
            ny: 2,
            nz: 2,
            dx: 1.0
        }),
        rayon::current_num_threads()
    );
    for line in roofline {
        println!("{line}");
    }
    println!("\nEach kernel alone, ms per dispatch (M cell/s) (a reduction: both its passes)");
    print!("{:>26}", "kernel");
    for (size, _) in &per_kernel {
        print!(" {:>22}", size.label());
    }
    println!();
    let names: Vec<&str> = per_kernel
        .first()
        .map(|(_, k)| k.iter().map(|&(name, _)| name).collect())
        .unwrap_or_default();
    for (row, name) in names.iter().enumerate() {
        print!("{name:>26}");
        for (size, kernels) in &per_kernel {
            let s = kernels[row].1;
            let rate = format!("{:.3} ({:.0})", s * 1e3, size.cells() as f64 / s / 1e6);
            print!(" {rate:>22}");
        }
        println!();
    }
}
