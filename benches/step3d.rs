//! Kernels of a step on cubes beside the same kernels on the 2D grid of as many cells, so the 3D
//! cost per cell reads against the 2D one: the Allen–Cahn rate (one pass: orientation with the
//! hcp form about ĉ = x in 3D, the six-fold in-plane form in 2D; on a rough front, so no layer is
//! uniform and every cell is computed), the concentration's right-hand side (the explicit
//! transport kernel) and one V-cycle of the concentration's implicit step, M cell-updates/s and
//! ns per cell. (benches/step.rs times whole steps and the order-parameter update in 3D, where the
//! share of cells at the interface differs between a cube and a square.)
//!
//! `cargo bench --bench step3d` (sizes `MGPF_BENCH_3D=64,128,256`, the default 64,128); the
//! fields are a wavy deposit front with the model's contrasts (D 1e-3 in the metal, 1 in the
//! electrolyte, a potential falling across the front).

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use mgpf::backend::cpu::multigrid::Multigrid;
use mgpf::backend::cpu::order_parameter::allen_cahn_rate_streaming;
use mgpf::backend::cpu::transport::concentration_rhs;
use mgpf::config::{CAxis, Config};
use mgpf::model::boundary;
use mgpf::model::coefficients::OrderParameterConstants;
use mgpf::model::coefficients::TransportConstants;
use mgpf::model::noise::uniform_signed;
use mgpf::model::Params;
use mgpf::{Grid, Real};

/// The fields of a wavy front on `grid`: (u, φ, D, Δξ).
fn fields(grid: Grid) -> [Vec<Real>; 4] {
    let n = grid.cells();
    let (mut u, mut phi, mut d, mut dxi) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    for m in 0..n {
        let [i, j, k] = grid.cell(m);
        let (y, z) = (j as f64 / grid.ny as f64, k as f64 / grid.nz as f64);
        let front = 0.3 * grid.nx as f64 * (1.0 + 0.2 * (6.3 * y).sin() * (6.3 * z).cos());
        let metal = (i as f64) < front;
        let near = ((i as f64) - front).abs() < 2.0;
        u[m] = if metal {
            -0.9
        } else {
            -0.1 * (-(i as f64 - front) / 20.0).exp()
        } as Real;
        phi[m] = (-0.01 * (1.0 - i as f64 / grid.nx as f64)) as Real;
        d[m] = if metal { 1e-3 } else { 1.0 };
        dxi[m] = if near { 1e-4 } else { 0.0 };
    }
    [u, phi, d, dxi]
}

fn constants(grid: Grid) -> TransportConstants {
    TransportConstants {
        grid,
        inv_dx: (1.0 / grid.dx) as Real,
        d_liquid: 1.0,
        d_solid: 1e-3,
        f: 38.9,
        cs_over_c0: 72.0,
    }
}

/// The order-parameter constants of the demo config on `grid` (ĉ along x in 3D).
fn order_parameter_constants(grid: Grid) -> OrderParameterConstants {
    let mut cfg = Config::default_demo();
    cfg.grid.nx = grid.nx;
    cfg.grid.ny = grid.ny;
    cfg.grid.nz = grid.nz;
    cfg.grid.dx_um = grid.dx;
    cfg.anisotropy.c_axis = Some(CAxis::Vector([1.0, 0.0, 0.0]));
    OrderParameterConstants::from_params(&Params::from_config(&cfg).expect("bench config"))
}

/// A rough front everywhere: a tanh profile across the whole growth axis with a 1 % random
/// perturbation per cell (no layer uniform, every gradient above the orientation threshold).
fn rough_front(grid: Grid) -> Vec<Real> {
    (0..grid.cells())
        .map(|m| {
            let [i, j, k] = grid.cell(m);
            let (y, z) = (j as f64 / grid.ny as f64, k as f64 / grid.nz as f64);
            let front = 0.5 * grid.nx as f64 * (1.0 + 0.2 * (6.3 * y).sin() * (6.3 * z).cos());
            let d = (i as f64 - front) / (0.25 * grid.nx as f64);
            (0.5 * (1.0 - d.tanh()) + 0.01 * f64::from(uniform_signed(5, 0, m as u32))) as Real
        })
        .collect()
}

/// One case: a grid, its fields and a multigrid set up for the concentration's step.
struct Case {
    op: OrderParameterConstants,
    xi: Vec<Real>,
    ac: Vec<Real>,
    k: TransportConstants,
    fields: [Vec<Real>; 4],
    rhs: Vec<Real>,
    u: Vec<Real>,
    mg: Multigrid,
}

impl Case {
    fn new(grid: Grid) -> Case {
        let fields = fields(grid);
        let mut mg = Multigrid::new(grid);
        let dt = 0.5;
        mg.set_coefficients_with_uniform_a((1.0 / dt) as Real, &fields[2]);
        Case {
            op: order_parameter_constants(grid),
            xi: rough_front(grid),
            ac: vec![0.0; grid.cells()],
            k: constants(grid),
            rhs: vec![0.0; grid.cells()],
            u: fields[0].clone(),
            fields,
            mg,
        }
    }

    fn allen_cahn(&mut self) {
        allen_cahn_rate_streaming(&self.op, &self.xi, &mut self.ac);
    }

    fn right_hand_side(&mut self) {
        let [u, phi, d, dxi] = &self.fields;
        concentration_rhs(&self.k, u, phi, d, dxi, 0.5, &mut self.rhs);
    }

    fn v_cycle(&mut self) {
        self.mg
            .v_cycle(&mut self.u, &self.rhs, boundary::CONCENTRATION_EXCESS);
    }
}

/// Median seconds of `run` over repetitions filling about half a second.
fn median_s(case: &mut Case, run: fn(&mut Case)) -> f64 {
    run(case);
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 5 || (start.elapsed() < Duration::from_millis(500) && times.len() < 200) {
        let t = Instant::now();
        run(case);
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let sizes: Vec<usize> = std::env::var("MGPF_BENCH_3D")
        .ok()
        .map(|v| {
            v.split(',')
                .map(|s| {
                    s.trim()
                        .parse()
                        .expect("MGPF_BENCH_3D: comma-separated sizes")
                })
                .collect()
        })
        .unwrap_or_else(|| vec![64, 128]);
    let testing = !std::env::args().any(|a| a == "--bench");
    let sizes = if testing { vec![16] } else { sizes };
    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    println!(
        "mgpf 3D bench: rayon threads = {}, cubes {sizes:?} beside 2D squares of as many cells, f32",
        rayon::current_num_threads()
    );
    let mut rows = Vec::new();
    for &n in &sizes {
        let cube = Grid {
            nx: n,
            ny: n,
            nz: n,
            dx: 0.5,
        };
        // The 2D square of the same cell count (rounded to an even side).
        let side = (((n * n * n) as f64).sqrt() as usize / 2) * 2;
        let square = Grid::new(side, side, 0.5);
        for (label, grid) in [("3d", cube), ("2d", square)] {
            let mut case = Case::new(grid);
            let cells = grid.cells() as u64;
            let mut group = criterion.benchmark_group(format!("{label}/{n}"));
            group.sampling_mode(SamplingMode::Flat);
            group.throughput(Throughput::Elements(cells));
            group.bench_function(BenchmarkId::new("allen_cahn_rate", cells), |b| {
                b.iter(|| case.allen_cahn())
            });
            group.bench_function(BenchmarkId::new("concentration_rhs", cells), |b| {
                b.iter(|| case.right_hand_side())
            });
            case.right_hand_side();
            group.bench_function(BenchmarkId::new("v_cycle", cells), |b| {
                b.iter(|| case.v_cycle())
            });
            group.finish();
            if !testing {
                let ac = median_s(&mut case, Case::allen_cahn);
                let rhs = median_s(&mut case, Case::right_hand_side);
                let cycle = median_s(&mut case, Case::v_cycle);
                rows.push((label, n, grid, ac, rhs, cycle));
            }
        }
    }
    criterion.final_summary();
    if rows.is_empty() {
        return;
    }
    println!("== 3D against 2D of as many cells (medians of own timing loops) ==");
    println!(
        "grid               cells |  AC M cell/s  ns/cell |  rhs M cell/s  ns/cell | V-cycle M cell/s  ns/cell"
    );
    for (label, n, grid, ac, rhs, cycle) in rows {
        let cells = grid.cells() as f64;
        let shape = if label == "3d" {
            format!("{n}³")
        } else {
            format!("{}² (vs {n}³)", grid.nx)
        };
        println!(
            "{shape:<16} {cells:>9.0} | {:>12.1} {:>8.2} | {:>12.1} {:>8.2} | {:>16.1} {:>8.2}",
            cells / ac / 1e6,
            ac / cells * 1e9,
            cells / rhs / 1e6,
            rhs / cells * 1e9,
            cells / cycle / 1e6,
            cycle / cells * 1e9
        );
    }
}
