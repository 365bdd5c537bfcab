//! CPU throughput of the mgpf kernels and of whole steps, against the memory roofline measured in
//! the same run.
//!
//! ```text
//! cargo bench --bench step                        # everything (≈ 4–6 min on 2 quiet cores)
//! cargo bench --bench step -- --quick             # shorter criterion sampling
//! cargo bench --bench step -- order_parameter     # criterion filter; the summary keeps the rows
//!                                                 # whose id contains the filter as a substring
//! MGPF_BENCH_SIZES=256,1024 cargo bench --bench step   # grid sizes (default 256,1024,2048)
//! MGPF_BENCH_SIZES=2048,64c,128c,256c cargo bench --bench step  # "Nc": an N³ cube (3D)
//! MGPF_BENCH_SUMMARY=0 cargo bench --bench step        # criterion only, no summary table
//! ```
//!
//! Rayon uses every core by default (set RAYON_NUM_THREADS to change it); the header prints the
//! count. Criterion ids, each with `Throughput::Elements(cells)` (cell updates/s):
//!
//! - `triad/f32/33554432`: STREAM triad a = b + s·c over 2^25 f32 (128 MiB per array), rayon;
//!   `Throughput::Bytes(12 n)` (each array counted once; +4 B/element with write-allocate).
//! - `order_parameter/{none,passivating}/N`: one full pass of what a step does for xi, without
//!   the galvanostatic root find and the dt bounds (electrode potential and dt frozen from the
//!   warm-up): orientation and Allen–Cahn rate in one pass, interface-cell list, a_k and |∇xi|
//!   there, reaction rate over the interface cells (with the R1 interphase Newton under
//!   `passivating`), noise, update.
//! - `concentration/none/N`: explicit part of the concentration step, transport coefficients
//!   (`transport_coefficients_without_band`, the backend's path without a resolved band) +
//!   concentration_rhs.
//! - `sweep/none/N`: one red-black Gauss–Seidel sweep (red then black) of the concentration system
//!   a = 1/dt, k = D (the same kernel smooths the potential).
//! - `v_cycle/none/N`: one V(2,2) cycle of the same system (repeated sweeps and cycles converge c,
//!   the work per call stays the same).
//! - `explicit_step/{none,passivating}/N`: order-parameter update + concentration update + one
//!   sweep.
//! - `step/{none,passivating}/N`: `CpuBackend::step` (both multigrid solves, control, dt), for
//!   N ≤ 1024, and 2048 when one step of the warm-up took under 2 s.
//!
//! States: `Config::default_demo()` on an N × N grid, or an N × N × N cube for a size "Nc"
//! (ids `…/Nc`; 3D: the hcp anisotropy about ĉ along x, the 3D configs' default) (dx 0.5 µm),
//! deposit N·dx/4 high with four nuclei (hemispheres in 3D) of radius N·dx/16, preset none or passivating, advanced [`WARM_STEPS`] steps by a
//! `CpuBackend` so that φ, c and the controlled electrode potential are those of a real run. The
//! two updates that write xi restart from that xi before every call (copy not timed), so every
//! iteration sees the same state. The interface (h'(xi) ≥ 1e-6) is ~17 % of the cells at 256²,
//! ~2 % at 2048²; the passivating preset blocks 60 % of it, so the R1 Newton runs on ~1 % of the
//! cells at 2048² (the `iface` column of the summary).
//!
//! Floors (f32, 2 threads, 2048², M cell-updates/s) the summary prints next to the measurement:
//! order-parameter update with six-fold anisotropy 300, 90 with the R1 Newton; concentration
//! update 650; one red-black sweep 470; explicit step 120, 60 with R1. Target: both solves
//! together ≤ 3× the explicit update, per step.
//!
//! Bytes per cell: every f32 array a kernel reads or writes counted once per pass over it (4 B),
//! what a perfectly cached pass would move; the summary divides that by the measured time and by
//! the triad bandwidth (same convention, 12 B/element). Working sets under the 32 MiB L3 (256²,
//! partly 1024²) can exceed 100 %.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use mgpf::backend::cpu::multigrid::kernels::{face_coefficients, smooth_red_black_sweep, Operator};
use mgpf::backend::cpu::multigrid::Multigrid;
use mgpf::backend::cpu::order_parameter::{
    allen_cahn_rate_streaming, clear_cells, interface_cells, interface_cells_into,
    interface_noise_sums, interface_orientation_cells, reaction_field, reaction_maxima,
    update_order_parameter_drawing, NoiseDraw,
};
use mgpf::backend::cpu::transport::{concentration_rhs, transport_coefficients_without_band};
use mgpf::backend::cpu::CpuBackend;
use mgpf::backend::{Backend, PhaseTimes, StepReport};
use mgpf::config::presets::Preset;
use mgpf::config::{Config, GridConfig};
use mgpf::model::coefficients::{OrderParameterConstants, TransportConstants};
use mgpf::model::interphase::InterphaseFields;
use mgpf::model::noise::{key, STREAM_NOISE};
use mgpf::model::Params;
use mgpf::numerics::{Bcs, Boundary};
use mgpf::{Field, Real};
use rayon::prelude::*;

const DX_UM: f64 = 0.5;
const WARM_STEPS: u64 = 3;
const TRIAD_LEN: usize = 1 << 25;
/// Whole steps at a size are benchmarked only if one warm-up step took less than this.
const STEP_TIME_LIMIT_S: f64 = 2.0;

/// [`STEP_TIME_LIMIT_S`], or `MGPF_BENCH_STEP_LIMIT_S` where set.
fn step_time_limit_s() -> f64 {
    std::env::var("MGPF_BENCH_STEP_LIMIT_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(STEP_TIME_LIMIT_S)
}
/// Own-timing budget per summary row (median of the repetitions).
const SUMMARY_BUDGET: Duration = Duration::from_millis(700);
const PRESETS: [Preset; 2] = [Preset::None, Preset::Passivating];

/// f32 arrays moved per cell (see the module doc); `interface` is the interface-cell fraction.
#[derive(Clone, Copy)]
enum Kernel {
    OrderParameter,
    Concentration,
    Sweep,
    VCycle,
    ExplicitStep,
}

impl Kernel {
    fn name(self) -> &'static str {
        match self {
            Kernel::OrderParameter => "order_parameter",
            Kernel::Concentration => "concentration",
            Kernel::Sweep => "sweep",
            Kernel::VCycle => "v_cycle",
            Kernel::ExplicitStep => "explicit_step",
        }
    }

    fn arrays_per_cell(self, interface: f64) -> f64 {
        // orientation + Allen–Cahn in one pass: xi → rate (2); interface list: xi (1); bv_rate
        // checked for zero (1); a_k, |∇xi| at interface cells: xi → a_k, |∇xi| (3 × fraction);
        // reaction there: xi, c, φ, a_k, ASR, blocked, rate, |∇xi| → bv (9 × fraction); noise
        // sums: xi (1); update drawing the noise: xi, rate, bv → xi, Δxi (5).
        let order_parameter = 10.0 + 12.0 * interface;
        // transport coefficients without a band: xi → D (2); rhs: u, φ, D, Δxi → rhs (5).
        let concentration = 7.0;
        // Per colour: u, f, a, kx, ky read, u written (6); two colours.
        let sweep = 12.0;
        match self {
            Kernel::OrderParameter => order_parameter,
            Kernel::Concentration => concentration,
            Kernel::Sweep => sweep,
            // Per level: 4 sweeps (48), residual (6), restriction r → f/4 (1.25), coarse u zeroed
            // (0.25), prolongation (2.25) = 57.75; the coarser levels add 1/3 (counted as if
            // they came from memory, though they sit in cache).
            Kernel::VCycle => 57.75 * 4.0 / 3.0,
            Kernel::ExplicitStep => order_parameter + concentration + sweep,
        }
    }

    /// Floor at 2048², M cell-updates/s (none given for the V-cycle).
    fn floor(self, preset: Preset) -> Option<f64> {
        let r1 = preset == Preset::Passivating;
        match self {
            Kernel::OrderParameter => Some(if r1 { 90.0 } else { 300.0 }),
            Kernel::Concentration => Some(650.0),
            Kernel::Sweep => Some(470.0),
            Kernel::VCycle => None,
            Kernel::ExplicitStep => Some(if r1 { 60.0 } else { 120.0 }),
        }
    }

    fn presets(self) -> &'static [Preset] {
        match self {
            Kernel::OrderParameter | Kernel::ExplicitStep => &PRESETS,
            _ => &PRESETS[..1],
        }
    }
}

const KERNELS: [Kernel; 5] = [
    Kernel::OrderParameter,
    Kernel::Concentration,
    Kernel::Sweep,
    Kernel::VCycle,
    Kernel::ExplicitStep,
];

fn sl(f: &Field) -> &[Real] {
    f.as_slice().expect("standard layout")
}

fn sl_mut(f: &mut Field) -> &mut [Real] {
    f.as_slice_mut().expect("standard layout")
}

/// Frozen inputs of the kernels, taken from a warmed-up backend.
struct Inputs {
    op: OrderParameterConstants,
    tr: TransportConstants,
    interphase: InterphaseFields,
    xi: Field,
    /// The concentration state u = c/c0 − 1.
    excess: Field,
    phi: Field,
    electrode: Real,
    dt: f64,
    noise_amplitude: Real,
    noise_key: u32,
    step: u32,
    grad_min: f64,
}

/// Scratch fields the kernels write, and the concentration multigrid.
struct Work {
    /// xi the timed updates advance, restored from `Inputs::xi` (untimed) before each.
    xi_work: Field,
    kinetic_factor: Field,
    grad_norm: Field,
    ac_rate: Field,
    bv_rate: Field,
    /// Interface-cell list (buffer reused, as in the backend).
    cells: Vec<u32>,
    /// Per-row sums of the reaction field (its scratch).
    row_sums: Vec<(f64, f64)>,
    dxi: Field,
    diffusivity: Field,
    rhs: Field,
    inv_dt: Field,
    /// The operator of the sweeps: a = 1/dt, faces from D.
    op: Operator,
    c_solve: Field,
    mg: Multigrid,
}

/// One size and preset: inputs, scratch, and the backend itself for whole steps.
struct State {
    inputs: Inputs,
    work: Work,
    backend: CpuBackend,
    next_step: u64,
    warm_step_s: f64,
    interface_fraction: f64,
}

/// A bench grid: an n × n square, or an n × n × n cube.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Size {
    n: usize,
    cube: bool,
}

impl Size {
    fn nz(self) -> usize {
        if self.cube {
            self.n
        } else {
            1
        }
    }

    fn cells(self) -> usize {
        self.n * self.n * self.nz()
    }

    /// "256" or "64c" (the ids' last part).
    fn label(self) -> String {
        if self.cube {
            format!("{}c", self.n)
        } else {
            self.n.to_string()
        }
    }

    fn parse(text: &str) -> Size {
        let t = text.trim();
        let (digits, cube) = match t.strip_suffix('c') {
            Some(d) => (d, true),
            None => (t, false),
        };
        Size {
            n: digits
                .parse()
                .expect("MGPF_BENCH_SIZES: comma-separated sizes N (N²) or Nc (N³)"),
            cube,
        }
    }
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

fn config(size: Size, preset: Preset) -> Config {
    let n = size.n;
    let mut cfg = Config::default_demo();
    cfg.grid = GridConfig {
        nx: n,
        ny: n,
        nz: size.nz(),
        dx_um: DX_UM,
    };
    if size.cube {
        cfg.anisotropy.c_axis = Some(mgpf::config::CAxis::Vector([1.0, 0.0, 0.0]));
    }
    let length = n as f64 * DX_UM;
    cfg.initial.deposit_height_um = length / 4.0;
    cfg.initial.nucleus_radius_um = length / 16.0;
    cfg.initial.nucleus_positions_um = (0..4).map(|k| (k as f64 + 0.5) * length / 4.0).collect();
    cfg.interphase.preset = preset;
    cfg.validate().expect("bench config is valid");
    cfg
}

fn concentration_bcs() -> Bcs {
    Bcs {
        x_lo: Boundary::Neumann,
        x_hi: Boundary::Dirichlet(0.0),
    }
}

impl State {
    fn build(size: Size, preset: Preset) -> State {
        let started = Instant::now();
        let cfg = config(size, preset);
        let p = Params::from_config(&cfg).expect("bench params");
        let mut backend = CpuBackend::new(&p, &cfg.initial);
        let mut report: Option<StepReport> = None;
        let mut warm_step_s = 0.0;
        for step in 0..WARM_STEPS {
            let t = Instant::now();
            report = Some(backend.step(step).expect("warm-up step"));
            warm_step_s = t.elapsed().as_secs_f64();
        }
        let dt = report.expect("at least one warm-up step").dt;
        let g = p.grid;
        let inputs = Inputs {
            op: OrderParameterConstants::from_params(&p),
            tr: TransportConstants::from_params(&p),
            interphase: backend.interphase_fields().clone(),
            xi: backend.xi.clone(),
            excess: backend.excess.clone(),
            phi: backend.phi.clone(),
            electrode: backend.applied_potential() as Real,
            dt,
            noise_amplitude: (p.noise_amplitude * (p.noise_dt_ref / dt).sqrt()) as Real,
            noise_key: key(p.seed, STREAM_NOISE),
            step: WARM_STEPS as u32,
            grad_min: 0.1 / p.delta,
        };
        let mut work = Work {
            cells: Vec::new(),
            row_sums: Vec::new(),
            xi_work: inputs.xi.clone(),
            kinetic_factor: g.field(1.0),
            grad_norm: g.field(0.0),
            ac_rate: g.field(0.0),
            bv_rate: g.field(0.0),
            dxi: g.field(0.0),
            diffusivity: g.field(0.0),
            rhs: g.field(0.0),
            inv_dt: g.field((1.0 / dt) as Real),
            op: Operator::new(g),
            c_solve: inputs.excess.clone(),
            mg: Multigrid::new(g),
        };
        // One pass fills Δxi, D and the right-hand side; then the operator of the sweeps.
        restore_xi(&inputs, &mut work);
        order_parameter_update(&inputs, &mut work);
        concentration_update(&inputs, &mut work);
        work.op.a.copy_from_slice(sl(&work.inv_dt));
        face_coefficients(sl(&work.diffusivity), &mut work.op);
        work.mg
            .set_coefficients(sl(&work.inv_dt), sl(&work.diffusivity));
        let interface_fraction = interface_cells(sl(&inputs.xi)).len() as f64 / size.cells() as f64;
        println!(
            "  state {size} {}: {WARM_STEPS} warm-up steps, last {:.3} s, dt {:.3e} s, E {:.3} V, \
             interface cells {:.1} %, memory {:.0} B per cell (the CPU run's fields and solvers, \
             mgpf::simulation::memory), built in {:.1} s",
            preset.name(),
            warm_step_s,
            dt,
            inputs.electrode,
            100.0 * interface_fraction,
            mgpf::simulation::memory::MemoryNeed::of(&p).state_bytes as f64 / size.cells() as f64,
            started.elapsed().as_secs_f64()
        );
        State {
            inputs,
            work,
            backend,
            next_step: WARM_STEPS,
            warm_step_s,
            interface_fraction,
        }
    }

    /// Median time of one `kernel` call (own timing loop), xi restored before each.
    fn median_time(&mut self, kernel: Kernel) -> f64 {
        let (s, w) = (&self.inputs, &mut self.work);
        median_time(w, |w| restore_xi(s, w), |w| run(s, w, kernel))
    }
}

fn restore_xi(s: &Inputs, w: &mut Work) {
    w.xi_work.assign(&s.xi);
}

fn run(s: &Inputs, w: &mut Work, kernel: Kernel) {
    match kernel {
        Kernel::OrderParameter => {
            black_box(order_parameter_update(s, w));
        }
        Kernel::Concentration => concentration_update(s, w),
        Kernel::Sweep => sweep(w),
        Kernel::VCycle => v_cycle(w),
        Kernel::ExplicitStep => explicit_step(s, w),
    }
}

/// The xi part of `CpuBackend::step` at a frozen electrode potential and dt (the galvanostatic
/// root find left out). Returns Σ Δxi.
fn order_parameter_update(s: &Inputs, w: &mut Work) -> f64 {
    let xi = &mut w.xi_work;
    allen_cahn_rate_streaming(&s.op, sl(xi), sl_mut(&mut w.ac_rate));
    clear_cells(&w.cells, s.op.grid.layer_cells(), sl_mut(&mut w.bv_rate));
    interface_cells_into(sl(xi), &mut w.cells);
    interface_orientation_cells(
        &s.op,
        &w.cells,
        sl(xi),
        sl_mut(&mut w.kinetic_factor),
        sl_mut(&mut w.grad_norm),
    );
    reaction_field(
        &s.op,
        &w.cells,
        sl(xi),
        sl(&s.excess),
        sl(&s.phi),
        s.electrode,
        sl(&w.kinetic_factor),
        sl(&s.interphase.asr),
        sl(&s.interphase.blocked),
        None,
        sl_mut(&mut w.bv_rate),
        &mut w.row_sums,
    );
    let maxima = reaction_maxima(
        &s.op,
        &w.cells,
        sl(xi),
        sl(&w.bv_rate),
        sl(&w.ac_rate),
        sl(&w.grad_norm),
        s.grad_min as Real,
    );
    black_box(maxima);
    let draw = NoiseDraw {
        amplitude: s.noise_amplitude,
        key: s.noise_key,
        step: s.step,
        frozen: None,
    };
    let (noise_sum, hp_sum) = interface_noise_sums(draw, sl(xi));
    let noise_mean = if hp_sum > 0.0 {
        (noise_sum / hp_sum) as Real
    } else {
        0.0
    };
    update_order_parameter_drawing(
        sl_mut(xi),
        sl(&w.ac_rate),
        sl(&w.bv_rate),
        draw,
        noise_mean,
        s.dt as Real,
        sl_mut(&mut w.dxi),
    )
}

/// Explicit part of the concentration step: D, σ and the right-hand side.
fn concentration_update(s: &Inputs, w: &mut Work) {
    // The benched presets have no resolved band: the backend's path for them.
    transport_coefficients_without_band(&s.tr, sl(&s.xi), sl_mut(&mut w.diffusivity));
    concentration_rhs(
        &s.tr,
        sl(&s.excess),
        sl(&s.phi),
        sl(&w.diffusivity),
        sl(&w.dxi),
        s.dt as Real,
        sl_mut(&mut w.rhs),
    );
}

/// One red-black Gauss–Seidel sweep (red, then black, in one pass) of (1/dt − ∇·D∇) c = rhs.
fn sweep(w: &mut Work) {
    smooth_red_black_sweep(
        &w.op,
        sl_mut(&mut w.c_solve),
        sl(&w.rhs),
        concentration_bcs(),
        0,
    );
}

fn v_cycle(w: &mut Work) {
    w.mg.v_cycle(sl_mut(&mut w.c_solve), sl(&w.rhs), concentration_bcs());
}

fn explicit_step(s: &Inputs, w: &mut Work) {
    black_box(order_parameter_update(s, w));
    concentration_update(s, w);
    sweep(w);
}

/// a = b + s·c, rayon over the elements.
fn triad(a: &mut [Real], b: &[Real], c: &[Real], s: Real) {
    a.par_iter_mut()
        .zip(b.par_iter())
        .zip(c.par_iter())
        .for_each(|((a, &b), &c)| *a = b + s * c);
}

/// Median wall time of `routine` over repetitions (at least 5, then until the budget), after
/// `setup` (untimed) before each.
fn median_time<C>(
    ctx: &mut C,
    mut setup: impl FnMut(&mut C),
    mut routine: impl FnMut(&mut C),
) -> f64 {
    setup(ctx);
    routine(ctx);
    let started = Instant::now();
    let mut times = Vec::new();
    while times.len() < 5 || (started.elapsed() < SUMMARY_BUDGET && times.len() < 2000) {
        setup(ctx);
        let t = Instant::now();
        routine(ctx);
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Criterion timing of `kernel` with the same untimed restore of xi as the summary.
fn bench_kernel(b: &mut criterion::Bencher, s: &Inputs, w: &mut Work, kernel: Kernel) {
    b.iter_custom(|iters| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            restore_xi(s, w);
            let t = Instant::now();
            run(s, w, kernel);
            total += t.elapsed();
        }
        total
    });
}

fn triad_arrays(slot: &mut Option<[Vec<Real>; 3]>) -> &mut [Vec<Real>; 3] {
    slot.get_or_insert_with(|| {
        [
            vec![0.0; TRIAD_LEN],
            vec![1.0; TRIAD_LEN],
            vec![2.0; TRIAD_LEN],
        ]
    })
}

/// The state of size `n` and `preset`, built on first use (so a filtered run builds only what
/// it needs).
fn state(slots: &mut [Option<State>; 2], size: Size, preset: Preset) -> &mut State {
    let k = PRESETS.iter().position(|&p| p == preset).expect("preset");
    slots[k].get_or_insert_with(|| State::build(size, preset))
}

fn run_triad(arrays: &mut [Vec<Real>; 3]) {
    let [a, b, c] = arrays;
    triad(a, b, c, black_box(3.0));
}

/// Settings taken from the environment and the command line.
struct Options {
    sizes: Vec<Size>,
    summary: bool,
    /// `--list`: criterion only prints the ids, no state is built.
    listing: bool,
    /// The criterion filter, if any, matched as a plain substring by the summary.
    filter: Option<String>,
}

impl Options {
    fn from_env() -> Options {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let has = |flag: &str| args.iter().any(|a| a == flag);
        let listing = has("--list");
        // `cargo test --benches` runs this binary without --bench: criterion then runs each
        // benchmark once; keep that cheap (256² only, no summary).
        let testing = !listing && (!has("--bench") || has("--test"));
        let default_sizes = if testing {
            vec!["256"]
        } else {
            vec!["256", "1024", "2048"]
        };
        let sizes = std::env::var("MGPF_BENCH_SIZES")
            .ok()
            .map(|v| v.split(',').map(Size::parse).collect())
            .unwrap_or_else(|| default_sizes.into_iter().map(Size::parse).collect());
        let summary =
            !testing && !listing && std::env::var("MGPF_BENCH_SUMMARY").map_or(true, |v| v != "0");
        Options {
            sizes,
            summary,
            listing,
            filter: positional_filter(&args),
        }
    }

    fn selects(&self, id: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| id.contains(f))
    }
}

/// The first argument that is neither an option nor an option's value.
fn positional_filter(args: &[String]) -> Option<String> {
    const WITH_VALUE: [&str; 16] = [
        "--color",
        "--save-baseline",
        "--baseline",
        "--baseline-lenient",
        "--format",
        "--profile-time",
        "--load-baseline",
        "--sample-size",
        "--warm-up-time",
        "--measurement-time",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--plotting-backend",
        "--output-format",
    ];
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a.starts_with('-') {
            if WITH_VALUE.contains(&a.as_str()) || a == "-c" || a == "-s" || a == "-b" {
                it.next();
            }
        } else {
            return Some(a.clone());
        }
    }
    None
}

/// One row of the kernel summary.
struct KernelRow {
    id: String,
    kernel: Kernel,
    preset: Preset,
    cells: usize,
    seconds: f64,
    interface_fraction: f64,
}

/// One row of the whole-step summary.
struct StepRow {
    id: String,
    cells: usize,
    steps: u64,
    seconds: f64,
    times: PhaseTimes,
    potential_cycles: f64,
    concentration_cycles: f64,
    /// Median time of the explicit update (order-parameter + concentration kernels), if measured.
    explicit_s: Option<f64>,
}

fn main() {
    let options = Options::from_env();
    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    println!(
        "mgpf CPU bench: rayon threads = {} (all cores by default; RAYON_NUM_THREADS changes it), \
         sizes {:?}, f32",
        rayon::current_num_threads(),
        options.sizes
    );

    // Triad first, so the summary has its bandwidth whatever the filter.
    let mut triad_slot = None;
    {
        let mut group = criterion.benchmark_group("triad");
        group.sampling_mode(SamplingMode::Flat);
        group.throughput(Throughput::Bytes(12 * TRIAD_LEN as u64));
        group.bench_function(BenchmarkId::new("f32", TRIAD_LEN), |b| {
            let arrays = triad_arrays(&mut triad_slot);
            b.iter(|| run_triad(arrays))
        });
        group.finish();
    }
    let triad_s = options
        .summary
        .then(|| median_time(triad_arrays(&mut triad_slot), |_| {}, run_triad));
    drop(triad_slot);

    let mut kernel_rows = Vec::new();
    let mut step_rows = Vec::new();
    for &size in &options.sizes {
        let cells = size.cells();
        let mut states: [Option<State>; 2] = [None, None];

        for kernel in KERNELS {
            let mut group = criterion.benchmark_group(kernel.name());
            group.sampling_mode(SamplingMode::Flat);
            group.throughput(Throughput::Elements(cells as u64));
            for &preset in kernel.presets() {
                group.bench_function(BenchmarkId::new(preset.name(), size), |b| {
                    let st = state(&mut states, size, preset);
                    bench_kernel(b, &st.inputs, &mut st.work, kernel)
                });
            }
            group.finish();
        }

        // Whole steps: the state keeps advancing, so each iteration is a fresh step. Above
        // 1024² only when a warm-up step was fast enough (that needs the state built first).
        {
            let mut group = criterion.benchmark_group("step");
            group.sampling_mode(SamplingMode::Flat);
            group.throughput(Throughput::Elements(cells as u64));
            for preset in PRESETS {
                let id = format!("step/{}/{size}", preset.name());
                if cells > 1 << 20 && !options.listing {
                    if !options.selects(&id) {
                        continue;
                    }
                    let warm = state(&mut states, size, preset).warm_step_s;
                    if warm >= step_time_limit_s() {
                        println!(
                            "{id}: skipped, a warm-up step took {warm:.2} s \
                             (≥ {} s)",
                            step_time_limit_s()
                        );
                        continue;
                    }
                }
                group.bench_function(BenchmarkId::new(preset.name(), size), |b| {
                    let st = state(&mut states, size, preset);
                    b.iter(|| {
                        let report = st.backend.step(st.next_step).expect("step");
                        st.next_step += 1;
                        report
                    })
                });
            }
            group.finish();
        }

        if options.summary {
            summarise_size(
                &options,
                size,
                &mut states,
                &mut kernel_rows,
                &mut step_rows,
            );
        }
    }

    criterion.final_summary();
    if options.summary {
        print_summary(triad_s, &kernel_rows, &step_rows);
    }
}

/// Own timing of the kernels and of a few whole steps at size `n`, for the summary table.
fn summarise_size(
    options: &Options,
    size: Size,
    states: &mut [Option<State>; 2],
    kernel_rows: &mut Vec<KernelRow>,
    step_rows: &mut Vec<StepRow>,
) {
    let cells = size.cells();
    for kernel in KERNELS {
        for &preset in kernel.presets() {
            let id = format!("{}/{}/{size}", kernel.name(), preset.name());
            if !options.selects(&id) {
                continue;
            }
            let st = state(states, size, preset);
            kernel_rows.push(KernelRow {
                id,
                kernel,
                preset,
                cells,
                seconds: st.median_time(kernel),
                interface_fraction: st.interface_fraction,
            });
        }
    }
    for preset in PRESETS {
        let id = format!("step/{}/{size}", preset.name());
        if !options.selects(&id) {
            continue;
        }
        let st = state(states, size, preset);
        if cells > 1 << 20 && st.warm_step_s >= step_time_limit_s() {
            continue;
        }
        let steps = match cells {
            0..=65_536 => 20,
            65_537..=1_048_576 => 5,
            _ => 3,
        };
        let before = st.backend.phase_times();
        let (mut potential_cycles, mut concentration_cycles) = (0u64, 0u64);
        let started = Instant::now();
        for _ in 0..steps {
            let report = st.backend.step(st.next_step).expect("step");
            st.next_step += 1;
            potential_cycles += u64::from(report.potential_solve.cycles);
            concentration_cycles += u64::from(report.concentration_solve.cycles);
        }
        let seconds = started.elapsed().as_secs_f64();
        let after = st.backend.phase_times();
        // The explicit update of this preset: its order-parameter update plus the concentration
        // update (measured on `none`; the kernels are the same for both presets).
        let measured = |id: String| kernel_rows.iter().find(|r| r.id == id).map(|r| r.seconds);
        let explicit_s = measured(format!("order_parameter/{}/{size}", preset.name()))
            .zip(measured(format!("concentration/none/{size}")))
            .map(|(a, b)| a + b);
        step_rows.push(StepRow {
            id,
            cells,
            steps,
            seconds,
            times: PhaseTimes {
                update_s: after.update_s - before.update_s,
                potential_solve_s: after.potential_solve_s - before.potential_solve_s,
                concentration_solve_s: after.concentration_solve_s - before.concentration_solve_s,
                control_s: after.control_s - before.control_s,
                other_s: after.other_s - before.other_s,
            },
            potential_cycles: potential_cycles as f64 / steps as f64,
            concentration_cycles: concentration_cycles as f64 / steps as f64,
            explicit_s,
        });
    }
}

fn print_summary(triad_s: Option<f64>, kernels: &[KernelRow], steps: &[StepRow]) {
    println!();
    println!(
        "== mgpf CPU summary: rayon threads = {}, f32, medians of own timing loops ==",
        rayon::current_num_threads()
    );
    let triad_gbs = triad_s.map(|t| 12.0 * TRIAD_LEN as f64 / t / 1e9);
    if let (Some(bw), Some(t)) = (triad_gbs, triad_s) {
        println!(
            "triad a = b + s·c, 2^25 f32 per array: {bw:.1} GB/s (12 B/element), {:.1} GB/s \
             counting write-allocate (16 B/element)",
            16.0 * TRIAD_LEN as f64 / t / 1e9
        );
    }
    if !kernels.is_empty() {
        println!(
            "{:<34} {:>10} {:>8} {:>7} {:>8} {:>14} {:>7}",
            "kernel", "M cell/s", "B/cell", "GB/s", "% triad", "floor@2048²", "iface"
        );
    }
    for r in kernels {
        let rate = r.cells as f64 / r.seconds / 1e6;
        let bytes = 4.0 * r.kernel.arrays_per_cell(r.interface_fraction);
        let gbs = rate * 1e6 * bytes / 1e9;
        let fraction =
            triad_gbs.map_or("–".to_string(), |bw| format!("{:.0} %", 100.0 * gbs / bw));
        let floor = r
            .kernel
            .floor(r.preset)
            .map_or("–".to_string(), |f| format!("{f:.0} ({:.2}×)", rate / f));
        println!(
            "{:<34} {:>10.1} {:>8.1} {:>7.1} {:>8} {:>14} {:>6.1}%",
            r.id,
            rate,
            bytes,
            gbs,
            fraction,
            floor,
            100.0 * r.interface_fraction
        );
    }
    if !steps.is_empty() {
        println!(
            "whole steps (CpuBackend::step; phase_times: update = transport coefficients + xi \
             update + dt bounds, concentration solve includes its rhs):"
        );
    }
    for r in steps {
        let per = |s: f64| 1e3 * s / r.steps as f64;
        let t = &r.times;
        let solves = t.potential_solve_s + t.concentration_solve_s;
        let kernels_ratio = r.explicit_s.map_or(String::new(), |e| {
            format!(
                "; solves / explicit kernels (order_parameter + concentration) = {:.2}",
                solves / r.steps as f64 / e
            )
        });
        println!(
            "{:<26} {:>8.1} ms/step = {:>7.1} M cell/s | update {:.1} ms, control {:.1} ms, \
             potential solve {:.1} ms ({:.1} cycles), concentration solve {:.1} ms ({:.1} cycles) \
             | solves / update = {:.2} (target ≤ 3){kernels_ratio}",
            r.id,
            per(r.seconds),
            r.cells as f64 * r.steps as f64 / r.seconds / 1e6,
            per(t.update_s),
            per(t.control_s),
            per(t.potential_solve_s),
            r.potential_cycles,
            per(t.concentration_solve_s),
            r.concentration_cycles,
            solves / t.update_s,
        );
    }
}
