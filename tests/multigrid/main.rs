//! Validation of the geometric multigrid (`mgpf::backend::cpu::multigrid`): second-order accuracy on
//! a manufactured solution, per-cycle residual reduction with the model's conductivity contrast,
//! the implicit-diffusion form, grid-independent cycle counts, and the trivial right-hand side;
//! the same properties in 3D in [`three_d`].

mod three_d;

use std::f64::consts::PI;
use std::time::Instant;

use mgpf::backend::cpu::multigrid::Multigrid;
use mgpf::numerics::{Bcs, Boundary, Criterion, SolvePlan, SolveStats};
use mgpf::{Grid, Real};
use ndarray::Array2;

/// A 2D test field, shape (nx, ny); the multigrid takes its flat slice.
type Field = Array2<Real>;

const TOL: f64 = 1e-6;
const DIFFUSION_TOL: f64 = 1e-9;

/// Field of `value(x, y)` at the cell centres ((i + ½)Δx, (j + ½)Δx) of an n × n unit square.
fn field(n: usize, value: impl Fn(f64, f64) -> f64) -> Field {
    let dx = 1.0 / n as f64;
    Array2::from_shape_fn((n, n), |(i, j)| {
        value((i as f64 + 0.5) * dx, (j as f64 + 0.5) * dx) as Real
    })
}

/// A field's values in the grid's flat order, as the multigrid takes them.
fn s(f: &Field) -> &[Real] {
    f.as_slice().expect("standard layout")
}

fn sm(f: &mut Field) -> &mut [Real] {
    f.as_slice_mut().expect("standard layout")
}

/// Per-cycle reduction factor (geometric mean): (r_final / r_0)^(1/cycles), r_0 = 1 from u = 0.
fn mean_factor(stats: &SolveStats) -> f64 {
    stats.residual_rel.powf(1.0 / stats.cycles.max(1) as f64)
}

/// Conductivity of the deposit geometry on an n × n unit square, mixed in log k: metal (k = 1e4)
/// for x below a sinusoidal front at 0.3 ± 0.05, electrolyte (k = 1) beyond, and optionally a
/// resistive band (k = 1e-3) of width 0.05 on the electrolyte side of the front; each interface
/// is a tanh over ~3 cells.
fn deposit_conductivity(n: usize, band: bool) -> Field {
    let w = 1.5 / n as f64;
    field(n, |x, y| {
        let d = x - (0.3 + 0.05 * (2.0 * PI * y).sin());
        let below = |d: f64| 0.5 * (1.0 - (d / w).tanh());
        let metal = below(d);
        let resistive = if band { below(d - 0.05) - metal } else { 0.0 };
        (metal * 1e4_f64.ln() + resistive * 1e-3_f64.ln()).exp()
    })
}

fn potential_bcs() -> Bcs {
    Bcs {
        x_lo: Boundary::Dirichlet(-0.1),
        x_hi: Boundary::Dirichlet(0.0),
    }
}

/// Residual history of plain V-cycles from u = 0 to `TOL` (or to the f32 floor: two cycles in a
/// row reducing less than 0.9×), in the `SolveStats` form.
fn plain_v_cycles(mg: &mut Multigrid, f: &Field, bcs: Bcs, max_cycles: u32) -> SolveStats {
    let mut u = Array2::zeros(f.dim());
    let (_, b) = mg.residual_norms(s(&u), s(f), bcs);
    let mut stats = SolveStats {
        residual_rel: 1.0,
        ..Default::default()
    };
    let mut stalled = 0;
    while stats.residual_rel > TOL && stats.cycles < max_cycles && stalled < 2 {
        mg.v_cycle(sm(&mut u), s(f), bcs);
        let rel = mg.residual_norms(s(&u), s(f), bcs).0 / b;
        let factor = rel / stats.residual_rel;
        stalled = if factor > 0.9 { stalled + 1 } else { 0 };
        stats.cycles += 1;
        if stats.cycles == 1 {
            stats.history_first_factor = factor;
        }
        stats.residual_rel = rel;
    }
    stats.converged = stats.residual_rel <= TOL;
    stats
}

/// Plain V-cycles, `SolvePlan::VCycles` and `SolvePlan::Pcg` on the potential problem (a = 0) of the deposit
/// geometry, each from u = 0 to `TOL`.
struct DepositRuns {
    v_cycles: SolveStats,
    solve: SolveStats,
    pcg: SolveStats,
}

fn deposit_potential(n: usize, band: bool) -> DepositRuns {
    let k = deposit_conductivity(n, band);
    let a = Array2::zeros((n, n));
    let source = field(n, |x, y| (PI * x).sin() * (1.0 + (2.0 * PI * y).cos()));
    let mut mg = Multigrid::new(Grid::new(n, n, 1.0 / n as f64));
    mg.set_coefficients(s(&a), s(&k));
    let v_cycles = plain_v_cycles(&mut mg, &source, potential_bcs(), 60);
    let mut u = Array2::zeros((n, n));
    let solve = mg.solve(
        sm(&mut u),
        s(&source),
        potential_bcs(),
        SolvePlan::v_cycles(TOL, 60),
    );
    let mut u = Array2::zeros((n, n));
    let pcg = mg.solve(
        sm(&mut u),
        s(&source),
        potential_bcs(),
        SolvePlan::pcg(TOL, 60),
    );
    for (name, s) in [("V-cycles", v_cycles), ("solve", solve), ("solve_pcg", pcg)] {
        println!(
            "{n:>4}² band={band:<5} {name:<9}: {:>2} cycles to {:.2e} (converged {}), mean \
             factor {:.3} ({:.1}× per cycle), first cycle {:.3}",
            s.cycles,
            s.residual_rel,
            s.converged,
            mean_factor(&s),
            1.0 / mean_factor(&s),
            s.history_first_factor
        );
    }
    DepositRuns {
        v_cycles,
        solve,
        pcg,
    }
}

#[test]
fn manufactured_solution_converges_at_second_order() {
    let bcs = Bcs {
        x_lo: Boundary::Dirichlet(0.0),
        x_hi: Boundary::Dirichlet(0.0),
    };
    let exact = |x: f64, y: f64| (PI * x).sin() * (2.0 * PI * y).cos();
    let mut errors = Vec::new();
    for n in [64, 128, 256] {
        let mut mg = Multigrid::new(Grid::new(n, n, 1.0 / n as f64));
        mg.set_coefficients(s(&Array2::zeros((n, n))), s(&Array2::ones((n, n))));
        // −∇²u = (π² + 4π²) u for the exact solution.
        let f = field(n, |x, y| 5.0 * PI * PI * exact(x, y));
        let mut u = Array2::zeros((n, n));
        // The stop test is the backward error ‖b − Au‖/(‖b‖ + ‖|D||u|‖): at 1e-6 it leaves a
        // forward error of up to cond(A)·1e-6, above the O(h²) error at 256². Asking for 1e-9
        // runs the cycles to the f32 floor (two cycles without progress), where u is as good as
        // f32 makes it.
        let stats = mg.solve(
            sm(&mut u),
            s(&f),
            bcs,
            SolvePlan::v_cycles(DIFFUSION_TOL, 40),
        );
        let err = (&u - &field(n, exact))
            .iter()
            .map(|e| e.abs())
            .fold(0.0, f32::max);
        println!(
            "{n}²: max error {err:.3e}; {} cycles to the f32 floor {:.1e}, first cycle factor {:.3}",
            stats.cycles, stats.residual_rel, stats.history_first_factor
        );
        assert!(
            stats.residual_rel < 1e-3,
            "{n}²: residual {:.1e}",
            stats.residual_rel
        );
        errors.push(err);
    }
    for (n, pair) in [64, 128].iter().zip(errors.windows(2)) {
        let ratio = pair[0] / pair[1];
        println!(
            "error ratio {n}² → {}²: expected ≈ 4 (> 3.3), got {ratio:.2}",
            2 * n
        );
        assert!(
            ratio > 3.3,
            "error ratio {ratio:.2} below 3.3: not second order"
        );
    }
}

#[test]
fn deposit_contrast_1e4_reduces_residual_5x_per_cycle() {
    for n in [64, 256, 1024] {
        let runs = deposit_potential(n, false);
        for (name, s) in [("V-cycles", runs.v_cycles), ("solve", runs.solve)] {
            let factor = mean_factor(&s);
            println!("{n}² {name}: expected mean factor ≤ 0.2 to {TOL:.0e}, got {factor:.3}");
            assert!(s.converged, "{n}² {name}: did not reach {TOL:.0e}");
            assert!(factor <= 0.2, "{n}² {name}: mean factor {factor:.3} > 0.2");
        }
    }
}

#[test]
fn deposit_with_resistive_band_contrast_1e7_converges() {
    for n in [64, 256, 1024] {
        let runs = deposit_potential(n, true);
        let (v, solve, pcg) = (
            mean_factor(&runs.v_cycles),
            mean_factor(&runs.solve),
            mean_factor(&runs.pcg),
        );
        println!(
            "{n}²: V-cycles alone {v:.3}; expected ≤ 0.2 from solve (got {solve:.3}) and, where \
             V-cycles alone exceed 0.2, from solve_pcg (got {pcg:.3})"
        );
        assert!(runs.solve.converged, "{n}²: solve did not reach {TOL:.0e}");
        assert!(solve <= 0.2, "{n}²: solve mean factor {solve:.3} > 0.2");
        if v > 0.2 {
            assert!(
                runs.pcg.converged && pcg <= 0.2,
                "{n}²: PCG mean factor {pcg:.3} > 0.2"
            );
        }
    }
}

#[test]
fn implicit_diffusion_keeps_uniform_state_exactly() {
    let n = 128;
    let bcs = Bcs {
        x_lo: Boundary::Neumann,
        x_hi: Boundary::Dirichlet(1.0),
    };
    // D jumps by 1e3 across a wavy front (metal-like region slow, electrolyte fast).
    let d = field(n, |x, y| {
        let s = 0.5 * (1.0 - ((x - 0.4 - 0.05 * (2.0 * PI * y).sin()) * n as f64 / 1.5).tanh());
        (s * 1e-3_f64.ln()).exp()
    });
    for dt in [1e3, 1e-3] {
        let a = Array2::from_elem((n, n), (1.0 / dt) as Real);
        let f = a.clone(); // a · 1: the exact solution is u ≡ 1.
        let mut mg = Multigrid::new(Grid::new(n, n, 1.0 / n as f64));
        mg.set_coefficients(s(&a), s(&d));
        let mut u = Array2::zeros((n, n));
        let stats = mg.solve(
            sm(&mut u),
            s(&f),
            bcs,
            SolvePlan::v_cycles(DIFFUSION_TOL, 40),
        );
        let err = u.iter().map(|v| (v - 1.0).abs()).fold(0.0, f32::max);
        println!(
            "dt = {dt:.0e}: {} cycles to {:.1e}, mean factor {:.3}, first {:.3}; expected \
             u = 1 ± 1e-5, max |u − 1| = {err:.2e}",
            stats.cycles,
            stats.residual_rel,
            mean_factor(&stats),
            stats.history_first_factor
        );
        assert!(stats.converged, "dt = {dt:.0e}: not converged");
        assert!(err < 1e-5, "dt = {dt:.0e}: max |u − 1| = {err:.2e}");
    }
}

/// `conserve_mass`: an implicit diffusion step of the concentration's kind (u = c/c0 − 1 with
/// u = 0 on a Dirichlet face, D dt/Δx² ~ 1e4 in the electrolyte, 1e-3 of it in a wavy metal)
/// solved to 1e-6 against the c-equation's b. Without the projection Σ r, the mass the step
/// creates, is what the last cycle left; with it, only the f32 rounding of u remains, while
/// ‖r‖ stays within the tolerance.
#[test]
fn conserve_mass_zeroes_the_residual_sum_within_the_tolerance() {
    let n = 256;
    let bcs = Bcs {
        x_lo: Boundary::Neumann,
        x_hi: Boundary::Dirichlet(0.0),
    };
    let dt = 4.0;
    let d = field(n, |x, y| {
        let s = 0.5 * (1.0 - ((x - 0.3 - 0.05 * (2.0 * PI * y).sin()) * n as f64 / 1.5).tanh());
        (s * 1e-3_f64.ln()).exp() * 0.2
    });
    // A depleted profile above the front, a sink at it (deposition), u/dt storage.
    let u_old = field(n, |x, y| {
        -0.6 * (1.0 - x) * (1.0 + 0.1 * (2.0 * PI * y).cos())
    });
    let sink = field(n, |x, y| {
        let d = (x - 0.3 - 0.05 * (2.0 * PI * y).sin()) * n as f64 / 1.5;
        -0.05 / d.cosh().powi(2)
    });
    let a = Array2::from_elem((n, n), (1.0 / dt) as Real);
    let f = Array2::from_shape_fn((n, n), |ij| u_old[ij] / dt as Real + sink[ij]);
    let mut sums = Vec::new();
    for conserving in [false, true] {
        let mut mg = Multigrid::new(Grid::new(n, n, 1.0 / n as f64));
        mg.set_coefficients(s(&a), s(&d));
        mg.set_reference_offset(1.0);
        if conserving {
            mg.conserve_mass();
        }
        let mut u = u_old.clone();
        let stats = mg.solve(sm(&mut u), s(&f), bcs, SolvePlan::v_cycles(TOL, 40));
        let rs = mg.residual_statistics(s(&u), s(&f), bcs);
        let relative = rs.r_sum.abs() / rs.b_abs_sum;
        println!(
            "conserve_mass {conserving}: {} cycles, ‖r‖/‖b_c‖ = {:.2e} (tol {TOL:.0e}),              |Σ r|/Σ|b| = {relative:.2e}",
            stats.cycles, stats.residual_rel
        );
        assert!(stats.converged, "residual above the tolerance");
        sums.push(relative);
    }
    // What is left is the f32 rounding of u + κ z, ~ε/√N relative.
    println!("expected: with the projection |Σ r|/Σ|b| ≤ 1e-8 and ≥ 1e4 × smaller than without");
    assert!(sums[1] <= 1e-8 && sums[1] * 1e4 <= sums[0]);
}

fn cycles_to_tolerance(n: usize) -> SolveStats {
    deposit_potential(n, false).solve
}

#[test]
fn cycles_to_tolerance_do_not_grow_with_grid() {
    let (small, large) = (cycles_to_tolerance(64), cycles_to_tolerance(512));
    println!(
        "cycles to {TOL:.0e}: 64² {}, 512² {} (allowed ≤ 64² + 2)",
        small.cycles, large.cycles
    );
    assert!(small.converged && large.converged);
    assert!(
        large.cycles <= small.cycles + 2,
        "cycle count grows with grid size"
    );
}

/// Wall time of one V-cycle per unknown, ns, on the deposit problem of size n² (best of 5).
fn ns_per_cycle_per_unknown(n: usize) -> (usize, f64) {
    let k = deposit_conductivity(n, false);
    let f = field(n, |x, _| x);
    let mut mg = Multigrid::new(Grid::new(n, n, 1.0 / n as f64));
    mg.set_coefficients(s(&Array2::zeros((n, n))), s(&k));
    let mut u = Array2::zeros((n, n));
    mg.v_cycle(sm(&mut u), s(&f), potential_bcs());
    // The fastest of 5 batches: the machine is shared, and interference only adds time.
    let cycles = (2 * 1024 * 1024 / (n * n)).clamp(2, 100);
    let per_cycle = (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..cycles {
                mg.v_cycle(sm(&mut u), s(&f), potential_bcs());
            }
            start.elapsed().as_secs_f64() / cycles as f64
        })
        .fold(f64::INFINITY, f64::min);
    (mg.levels(), per_cycle * 1e9 / (n * n) as f64)
}

/// The V-cycle's work per unknown is flat (±30 % of the mean, 64² to 1024²): measured on one
/// thread, where wall time is work. On all threads the small grids, which run serially below
/// `PARALLEL_MIN_CELLS`, cost more wall time per unknown than the parallel large ones; those
/// figures are printed for the record.
#[test]
#[ignore = "timing; run with --ignored --nocapture"]
fn time_per_cycle_per_unknown() {
    let sizes = [64, 128, 256, 512, 1024, 2048];
    let one_thread = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("one-thread pool");
    let mut work = Vec::new();
    for n in sizes {
        let (levels, serial) = one_thread.install(|| ns_per_cycle_per_unknown(n));
        let (_, parallel) = ns_per_cycle_per_unknown(n);
        println!(
            "{n:>5}²: {levels} levels, {serial:.1} ns per cycle per unknown on 1 thread, \
             {parallel:.1} ns wall on {} threads",
            rayon::current_num_threads()
        );
        if n <= 1024 {
            work.push(serial);
        }
    }
    assert_flat("64²–1024²", &work);
}

/// Asserts that the 1-thread cost per unknown `work` (ns) stays within ±30 % of its mean.
fn assert_flat(sizes: &str, work: &[f64]) {
    let mean = work.iter().sum::<f64>() / work.len() as f64;
    let spread = work
        .iter()
        .fold(0.0_f64, |m, &w| m.max((w / mean - 1.0).abs()));
    println!(
        "1-thread ns per unknown, {sizes}: mean {mean:.1}, largest deviation {:.0} % (allowed 30 %)",
        spread * 100.0
    );
    assert!(spread <= 0.30);
}

#[test]
fn zero_rhs_with_homogeneous_bcs_returns_at_once() {
    let n = 64;
    let mut mg = Multigrid::new(Grid::new(n, n, 1.0 / n as f64));
    mg.set_coefficients(s(&Array2::zeros((n, n))), s(&deposit_conductivity(n, true)));
    let bcs = Bcs {
        x_lo: Boundary::Dirichlet(0.0),
        x_hi: Boundary::Neumann,
    };
    let f = Array2::zeros((n, n));
    let mut u = Array2::zeros((n, n));
    let stats = mg.solve(sm(&mut u), s(&f), bcs, SolvePlan::v_cycles(TOL, 20));
    println!("expected 0 cycles, u = 0, converged; got {stats:?}");
    assert_eq!(stats.cycles, 0);
    assert!(stats.converged);
    assert!(u.iter().all(|&v| v == 0.0));
    let stats = mg.solve(sm(&mut u), s(&f), bcs, SolvePlan::pcg(TOL, 20));
    assert!(stats.converged && stats.cycles == 0 && u.iter().all(|&v| v == 0.0));
    // b = 0 but u ≠ 0: the residual is measured against the initial one and u → 0 (to a tight
    // tolerance: the initial residual is dominated by the k = 1e4 cells).
    let mut u = field(n, |x, y| x * y);
    let stats = mg.solve(sm(&mut u), s(&f), bcs, SolvePlan::v_cycles(1e-10, 30));
    let max = u.iter().fold(0.0, |m: Real, v| m.max(v.abs()));
    println!("from u = xy: expected u → 0, got max |u| = {max:.1e} after {stats:?}");
    assert!(stats.converged && max < 1e-5);
    // Singular (Neumann both sides, a = 0) with an inconsistent source: bounded, no panic.
    let neumann = Bcs {
        x_lo: Boundary::Neumann,
        x_hi: Boundary::Neumann,
    };
    let f = Array2::ones((n, n));
    let stats = mg.solve(sm(&mut u), s(&f), neumann, SolvePlan::v_cycles(TOL, 8));
    println!("singular system: {stats:?}");
    assert!(stats.cycles <= 8 && u.iter().all(|v| v.is_finite()));
}

/// Kernels against cell-by-cell reference implementations.
mod kernels {
    use super::*;
    use mgpf::backend::cpu::multigrid::kernels::*;

    /// ((A u)_ij − wall terms, diagonal of A) at (i, j) with harmonic faces, cell by cell.
    fn reference_stencil(
        u: &Array2<Real>,
        a: &Array2<Real>,
        k: &Array2<Real>,
        bcs: Bcs,
        dx: f64,
        i: usize,
        j: usize,
    ) -> (f64, f64) {
        let (nx, ny) = u.dim();
        let h = |p: Real, q: Real| 2.0 * f64::from(p) * f64::from(q) / f64::from(p + q);
        let mut faces = vec![
            (
                h(k[[i, j]], k[[i, (j + 1) % ny]]),
                f64::from(u[[i, (j + 1) % ny]]),
            ),
            (
                h(k[[i, j]], k[[i, (j + ny - 1) % ny]]),
                f64::from(u[[i, (j + ny - 1) % ny]]),
            ),
        ];
        for (inside, nb, wall) in [
            (i > 0, i.wrapping_sub(1), bcs.x_lo),
            (i + 1 < nx, i + 1, bcs.x_hi),
        ] {
            match (inside, wall) {
                (true, _) => faces.push((h(k[[i, j]], k[[nb, j]]), f64::from(u[[nb, j]]))),
                (false, Boundary::Dirichlet(g)) => {
                    faces.push((2.0 * f64::from(k[[i, j]]), f64::from(g)))
                }
                (false, Boundary::Neumann) => {}
            }
        }
        let uc = f64::from(u[[i, j]]);
        let flux: f64 = faces.iter().map(|&(w, v)| w * (v - uc)).sum();
        let diag: f64 = faces.iter().map(|&(w, _)| w).sum();
        let ai = f64::from(a[[i, j]]);
        (ai * uc - flux / (dx * dx), ai + diag / (dx * dx))
    }

    fn pattern(nx: usize, ny: usize, seed: usize, lo: Real, hi: Real) -> Array2<Real> {
        Array2::from_shape_fn((nx, ny), |(i, j)| {
            lo + (hi - lo) * ((i * 31 + j * 17 + seed * 7) % 23) as Real / 22.0
        })
    }

    #[test]
    fn red_black_sweep_matches_cell_by_cell_gauss_seidel() {
        let bcs = Bcs {
            x_lo: Boundary::Dirichlet(0.3),
            x_hi: Boundary::Neumann,
        };
        // 8 × 6 runs serially, 130 × 128 on rayon.
        for (nx, ny) in [(8, 6), (130, 128)] {
            let (a, k, f) = (
                pattern(nx, ny, 1, 0.0, 2.0),
                pattern(nx, ny, 2, 1e-3, 1e4),
                pattern(nx, ny, 3, -1.0, 1.0),
            );
            let op = operator(&a, &k, 0.5);
            let mut u = pattern(nx, ny, 4, -1.0, 1.0);
            let mut expected = u.clone();
            for colour in [0, 1] {
                smooth_red_black(&op, sm(&mut u), s(&f), bcs, colour);
                for i in 0..nx {
                    for j in (0..ny).filter(|j| (i + j) % 2 == colour) {
                        let (au, diag) = reference_stencil(&expected, &a, &k, bcs, 0.5, i, j);
                        expected[[i, j]] += ((f64::from(f[[i, j]]) - au) / diag) as Real;
                    }
                }
            }
            let err = (&u - &expected)
                .iter()
                .map(|e| e.abs())
                .fold(0.0, Real::max);
            println!("{nx}×{ny}: expected the reference sweep to f32 round-off, max difference {err:.2e}");
            assert!(err < 1e-4, "{nx}×{ny}: sweep differs by {err:.2e}");
        }
    }

    #[test]
    fn residual_and_operator_match_the_stencil() {
        let (nx, ny, dx) = (6, 4, 0.5);
        let bcs = Bcs {
            x_lo: Boundary::Neumann,
            x_hi: Boundary::Dirichlet(-2.0),
        };
        let (a, k, f, u) = (
            pattern(nx, ny, 1, 0.0, 2.0),
            pattern(nx, ny, 2, 0.1, 10.0),
            pattern(nx, ny, 3, -1.0, 1.0),
            pattern(nx, ny, 4, -1.0, 1.0),
        );
        let op = operator(&a, &k, dx);
        let (mut r, mut q) = (Array2::zeros((nx, ny)), Array2::zeros((nx, ny)));
        residual(&op, s(&u), s(&f), bcs, sm(&mut r));
        apply_operator(&op, s(&u), bcs, sm(&mut q));
        let mut r2 = 0.0;
        for (i, j) in (0..nx).flat_map(|i| (0..ny).map(move |j| (i, j))) {
            let expected = f64::from(f[[i, j]]) - reference_stencil(&u, &a, &k, bcs, dx, i, j).0;
            let hom = reference_stencil(&u, &a, &k, bcs.homogeneous(), dx, i, j).0;
            assert!(
                (f64::from(r[[i, j]]) - expected).abs() < 1e-4 * (1.0 + expected.abs()),
                "residual at ({i}, {j})"
            );
            assert!(
                (f64::from(q[[i, j]]) - hom).abs() < 1e-4 * (1.0 + hom.abs()),
                "operator at ({i}, {j})"
            );
            r2 += expected * expected;
        }
        let (got, _) = residual_norms_squared(&op, s(&u), s(&f), bcs);
        println!("Σ r²: expected {r2:.6e}, got {got:.6e}");
        assert!((got - r2).abs() < 1e-5 * r2);
    }

    #[test]
    fn transfers_keep_constants_and_lines() {
        let (nx, ny) = (8, 6);
        let (fg, cg) = (Grid::new(nx, ny, 1.0), Grid::new(nx / 2, ny / 2, 2.0));
        let fine = Array2::from_shape_fn((nx, ny), |(i, j)| (i * 10 + j) as Real);
        let mut coarse = Array2::zeros((nx / 2, ny / 2));
        restrict_full_weighting(fg, s(&fine), cg, sm(&mut coarse));
        assert_eq!(coarse[[1, 2]], 0.25 * (24.0 + 25.0 + 34.0 + 35.0));
        // A correction linear in x is interpolated exactly away from the walls; a constant with
        // Neumann walls stays constant, with Dirichlet walls it halves in the wall rows.
        let line = Array2::from_shape_fn((nx / 2, ny / 2), |(i, _)| 2.0 * i as Real + 1.0);
        let mut out = Array2::zeros((nx, ny));
        let neumann = Bcs {
            x_lo: Boundary::Neumann,
            x_hi: Boundary::Neumann,
        };
        prolong_bilinear(cg, s(&line), fg, sm(&mut out), neumann);
        for i in 1..nx - 1 {
            assert!(
                out.row(i)
                    .iter()
                    .all(|&v| (v - (i as Real + 0.5)).abs() < 1e-6),
                "row {i}: {}",
                out.row(i)
            );
        }
        let ones = Array2::ones((nx / 2, ny / 2));
        let mut out = Array2::zeros((nx, ny));
        let dirichlet = Bcs {
            x_lo: Boundary::Dirichlet(5.0),
            x_hi: Boundary::Neumann,
        };
        prolong_bilinear(cg, s(&ones), fg, sm(&mut out), dirichlet);
        assert!(out.row(0).iter().all(|&v| v == 0.5) && out.row(nx - 1).iter().all(|&v| v == 1.0));
    }

    #[test]
    fn face_coefficients_are_harmonic_and_coarsen_uniform_k_to_itself() {
        let k = Array2::from_shape_fn((2, 2), |(i, j)| if (i + j) % 2 == 0 { 1.0 } else { 3.0 });
        let op = operator(&Array2::zeros((2, 2)), &k, 1.0);
        // Flat (i, j) → i·ny + j with ny = 2: kx [1, 0], ky [0, 1], kx [0, 1], kx [2, 1].
        let (kx, ky) = (&op.kx, &op.ky);
        println!(
            "interior faces: expected 1.5, got kx {} ky {}",
            kx[2], ky[1]
        );
        assert_eq!((kx[2], ky[1], kx[1], kx[5]), (1.5, 1.5, 3.0, 1.0));
        let fine = operator(&Array2::zeros((8, 4)), &Array2::from_elem((8, 4), 7.0), 1.0);
        let mut coarse = Operator::new(Grid::new(4, 2, 2.0));
        restrict_face_coefficients(&fine, &mut coarse);
        assert!(coarse.kx.iter().chain(&coarse.ky).all(|&v| v == 7.0));
    }
}

/// The operator of a and k on their nx × ny grid of cell size dx, with harmonic faces.
fn operator(a: &Field, k: &Field, dx: f64) -> mgpf::backend::cpu::multigrid::kernels::Operator {
    use mgpf::backend::cpu::multigrid::kernels::{face_coefficients, Operator};
    let (nx, ny) = a.dim();
    let mut op = Operator::new(Grid::new(nx, ny, dx));
    op.a.copy_from_slice(s(a));
    face_coefficients(s(k), &mut op);
    op
}

#[test]
fn one_pass_sweep_equals_the_two_colour_passes_bit_for_bit() {
    use mgpf::backend::cpu::multigrid::kernels::{smooth_red_black, smooth_red_black_sweep};
    for (nx, ny, first) in [(200, 128, 0), (197, 130, 1), (64, 256, 0), (33, 40, 1)] {
        let value =
            |i: usize, j: usize, s: f64| ((i as f64 * 0.37 + j as f64 * 0.11 + s).sin()) as Real;
        let k = Array2::from_shape_fn((nx, ny), |(i, j)| {
            if i < nx / 3 {
                1e-3
            } else {
                1.0 + 0.5 * value(i, j, 1.0)
            }
        });
        let a = Array2::from_shape_fn((nx, ny), |(i, j)| 0.5 + 0.25 * value(i, j, 2.0));
        let f = Array2::from_shape_fn((nx, ny), |(i, j)| value(i, j, 3.0));
        let u0 = Array2::from_shape_fn((nx, ny), |(i, j)| value(i, j, 4.0));
        let bcs = Bcs {
            x_lo: Boundary::Neumann,
            x_hi: Boundary::Dirichlet(0.3),
        };
        let op = operator(&a, &k, 0.5);
        let mut two_pass = u0.clone();
        for colour in [first, 1 - first] {
            smooth_red_black(&op, sm(&mut two_pass), s(&f), bcs, colour);
        }
        let mut one_pass = u0.clone();
        smooth_red_black_sweep(&op, sm(&mut one_pass), s(&f), bcs, first);
        let differing = two_pass
            .iter()
            .zip(&one_pass)
            .filter(|(p, q)| p.to_bits() != q.to_bits())
            .count();
        println!("{nx}×{ny}, first colour {first}: {differing} cells differ (expected 0)");
        assert_eq!(differing, 0);
    }
}

/// The layered (y-independent) potential problem of a metal slab: k = `k_metal` for x < 0.3
/// (tanh over ~3 cells in log k), 1 beyond; a reaction-like source in the front cells; no flux
/// at the collector (x = 0), u = 0 at the bulk face. Returns (k, f, the exact solution of the
/// same discrete operator from a tridiagonal solve in f64).
fn metal_slab(nx: usize, ny: usize, k_metal: f64) -> (Field, Field, Vec<f64>) {
    let dx = 1.0 / nx as f64;
    let x = |i: usize| (i as f64 + 0.5) * dx;
    let k: Vec<Real> = (0..nx)
        .map(|i| {
            let metal = 0.5 * (1.0 - ((x(i) - 0.3) / (1.5 * dx)).tanh());
            (metal * k_metal.ln()).exp() as Real
        })
        .collect();
    let f: Vec<Real> = (0..nx)
        .map(|i| (-((x(i) - 0.3) / (2.0 * dx)).powi(2)).exp() as Real)
        .collect();
    // Face conductances as the solver forms them (harmonic mean in f32), then in f64.
    let face = |i: usize| {
        let (l, r) = (k[i - 1], k[i]);
        f64::from(2.0 * l * r / (l + r))
    };
    let inv_dx2 = 1.0 / (dx * dx);
    // Row i: −w_w u_{i−1} + (w_w + w_e) u_i − w_e u_{i+1} = f_i (Neumann at 0, u = 0 at nx).
    let (mut lower, mut diag, mut upper) = (vec![0.0; nx], vec![0.0; nx], vec![0.0; nx]);
    for i in 0..nx {
        let w_w = if i == 0 { 0.0 } else { face(i) * inv_dx2 };
        let w_e = if i + 1 == nx {
            2.0 * f64::from(k[i]) * inv_dx2
        } else {
            face(i + 1) * inv_dx2
        };
        (lower[i], diag[i], upper[i]) = (-w_w, w_w + w_e, -w_e);
    }
    let mut rhs: Vec<f64> = f.iter().map(|&v| f64::from(v)).collect();
    for i in 1..nx {
        let m = lower[i] / diag[i - 1];
        diag[i] -= m * upper[i - 1];
        rhs[i] -= m * rhs[i - 1];
    }
    let mut exact = vec![0.0; nx];
    exact[nx - 1] = rhs[nx - 1] / diag[nx - 1];
    for i in (0..nx - 1).rev() {
        exact[i] = (rhs[i] - upper[i] * exact[i + 1]) / diag[i];
    }
    let k2 = Array2::from_shape_fn((nx, ny), |(i, _)| k[i]);
    let f2 = Array2::from_shape_fn((nx, ny), |(i, _)| f[i]);
    (k2, f2, exact)
}

/// `SolvePlan::VCycles` and `SolvePlan::Refined` from u = 0 on a metal slab: (stats, max error / max |u_exact|)
/// of each.
fn slab_solves(k_metal: f64, tol: f64) -> [(SolveStats, f64); 2] {
    let (nx, ny) = (256, 16);
    let (k, f, exact) = metal_slab(nx, ny, k_metal);
    let bcs = Bcs {
        x_lo: Boundary::Neumann,
        x_hi: Boundary::Dirichlet(0.0),
    };
    let mut mg = Multigrid::new(Grid::new(nx, ny, 1.0 / nx as f64));
    mg.set_coefficients(s(&Array2::zeros((nx, ny))), s(&k));
    let scale = exact.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let error = |u: &Field| {
        let worst = (0..nx)
            .flat_map(|i| (0..ny).map(move |j| (i, j)))
            .fold(0.0_f64, |m, (i, j)| {
                m.max((f64::from(u[[i, j]]) - exact[i]).abs())
            });
        worst / scale
    };
    let mut plain = Array2::zeros((nx, ny));
    let plain_stats = mg.solve(sm(&mut plain), s(&f), bcs, SolvePlan::v_cycles(tol, 60));
    let mut refined = Array2::zeros((nx, ny));
    let refined_stats = mg.solve(
        sm(&mut refined),
        s(&f),
        bcs,
        SolvePlan::refined(Criterion::RelativeResidual(tol), 60),
    );
    let out = [
        (plain_stats, error(&plain)),
        (refined_stats, error(&refined)),
    ];
    for (name, (s, e)) in ["solve", "solve_refined"].iter().zip(out) {
        println!(
            "metal slab k = {k_metal:.0e}, tol {tol:.0e}, {name:<13}: ‖r‖/‖b‖ = {:.2e} after {} \
             cycles (converged {}), max error {e:.2e} of max |u|",
            s.residual_rel, s.cycles, s.converged
        );
    }
    out
}

#[test]
fn refined_solve_passes_the_f32_floor_and_matches_the_exact_discrete_solution() {
    // The model's ion-insulating metal (k = 1e-3): the f32 iterate's ‖r‖/‖b‖ stalls at ~2e-4
    // (ε·‖|A||u|‖/‖b‖), though u is as accurate there as f32 allows; `solve` spends cycles
    // finding that floor. The f64 iterate reaches the tolerance, with an error of its order.
    // Measured: 12 cycles to 2.2e-4 (error 3.8e-8) vs 9 cycles to 3.2e-7 (error 4.3e-7).
    let [(plain, plain_error), (refined, refined_error)] = slab_solves(1e-3, 1e-6);
    assert!(!plain.converged && plain.residual_rel > 1e-5, "{plain:?}");
    assert!(
        refined.converged && refined.cycles < plain.cycles,
        "{refined:?}"
    );
    assert!(plain_error < 2e-7 && refined_error < 1e-6);
    // A floating conductor (k = 1e4 under the no-flux collector): the f32 residual is rounding
    // noise from the start (ε·k·|u| ≫ ‖b‖: 1.6 after 2 cycles, then `solve` gives up with a
    // 1.3 % error); the refined solve reaches 1e-8 (16 cycles: V-cycles reduce the floating
    // level only ~2× each, CG takes over).
    let [(plain, plain_error), (refined, refined_error)] = slab_solves(1e4, 1e-8);
    assert!(!plain.converged && plain.residual_rel > 1e-3 && plain_error > 1e-3);
    assert!(refined.converged && refined.cycles <= 30, "{refined:?}");
    // What is left is the final rounding to f32 (ε/2 = 6e-8 relative per cell).
    assert!(refined_error < 2e-7, "error {refined_error:.2e}");
}

/// The potential problem as the model poses it on the deposit geometry: faces weighed by
/// σ/σ_l = D/D_l (the metal an ion insulator, 1e-3; the electrolyte 1; collector no-flux, bulk
/// face φ = 0) and a source at the front that the interface noise renews every step (a smooth
/// part plus ± noise of the same size, keyed by `seed`).
fn model_potential_problem(n: usize, seed: u64) -> (Multigrid, Field, Bcs) {
    let w = 1.5 / n as f64;
    let front = |x: f64, y: f64| x - (0.3 + 0.05 * (2.0 * PI * y).sin());
    let k = field(n, |x, y| {
        let metal = 0.5 * (1.0 - (front(x, y) / w).tanh());
        (metal * 1e-3_f64.ln()).exp()
    });
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut noise = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(2685821657736338717) >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut source = field(n, |x, y| {
        let d = front(x, y) / w;
        -1e3 / (d.cosh() * d.cosh())
    });
    source.mapv_inplace(|s| s * (1.0 + 2.0 * noise() as Real));
    let mut mg = Multigrid::new(Grid::new(n, n, 1.0 / n as f64));
    mg.set_coefficients(s(&Array2::zeros((n, n))), s(&k));
    let bcs = Bcs {
        x_lo: Boundary::Neumann,
        x_hi: Boundary::Dirichlet(0.0),
    };
    (mg, source, bcs)
}

/// `Criterion::EstimatedError`: the estimate ‖δ‖∞ ρ/(1 − ρ), ρ at least the V-cycle's
/// asymptotic contraction (power iteration), bounds the true error over the whole field, the
/// poorly conducting metal's floating level included (against a solve to a 1e-12 relative
/// residual in f64), at every tolerance, from zero (a full-multigrid start) and from the last
/// step's solution (the source renewed by the noise: no better than zero, so also a
/// full-multigrid start).
#[test]
fn the_estimated_error_bounds_the_true_error_of_the_potential() {
    let n = 256;
    let (mut mg, source, bcs) = model_potential_problem(n, 1);
    let rho = mg.measure_contraction(bcs);
    println!("V-cycle contraction (power iteration): {rho:.3}");
    let mut exact = Array2::zeros((n, n));
    let reference = mg.solve(
        sm(&mut exact),
        s(&source),
        bcs,
        SolvePlan::refined(Criterion::RelativeResidual(1e-12), 200),
    );
    assert!(reference.converged, "{reference:?}");
    let scale = exact.iter().fold(0.0f32, |m, v| m.max(v.abs())) as f64;
    let (_, previous_source, _) = model_potential_problem(n, 2);
    let mut previous = Array2::zeros((n, n));
    mg.solve(
        sm(&mut previous),
        s(&previous_source),
        bcs,
        SolvePlan::refined(Criterion::RelativeResidual(1e-12), 200),
    );
    let mut old_rule = Array2::zeros((n, n));
    let old = mg.solve(
        sm(&mut old_rule),
        s(&source),
        bcs,
        SolvePlan::refined(Criterion::RelativeResidual(1e-6), 60),
    );
    println!(
        "max |φ| = {scale:.3e}; a 1e-6 relative residual from zero: {} cycles",
        old.cycles
    );
    for relative in [1e-3, 1e-4, 1e-5, 1e-6] {
        let tol = relative * scale;
        for (start, warm) in [("zero", None), ("last step", Some(&previous))] {
            let mut u = warm.cloned().unwrap_or_else(|| Array2::zeros((n, n)));
            let s = mg.solve(
                sm(&mut u),
                s(&source),
                bcs,
                SolvePlan::refined(Criterion::EstimatedError(tol), 60),
            );
            let error = u
                .iter()
                .zip(&exact)
                .fold(0.0f64, |m, (a, b)| m.max((a - b).abs() as f64));
            println!(
                "tolerance {tol:.2e} ({relative:.0e} of max |φ|) from {start:<9}: {} cycles, estimate {:.2e}, true error {error:.2e}, ‖r‖/‖b‖ {:.1e}",
                s.cycles, s.error_estimate.unwrap(), s.residual_rel
            );
            assert!(
                s.converged && s.error_estimate.is_some_and(|e| e <= tol),
                "{s:?}"
            );
            // The estimate holds (f32 rounding of the result and of the reference aside).
            assert!(
                error <= tol + 2.0 * f32::EPSILON as f64 * scale,
                "true error {error:.2e}"
            );
        }
    }
}
