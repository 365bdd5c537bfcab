//! The device multigrid on 3D grids (nz > 1) against its CPU twin (`backend::cpu::multigrid`):
//! the face coefficients and their restriction level by level, each kernel, one V-cycle, the
//! per-cycle residual reduction, whole solves (the potential with a 1e4-conducting metal between
//! two Dirichlet walls, a Neumann | Dirichlet implicit step with the mass projection), PCG, and
//! the coarsest level's solve when its periodic sides are odd.
//!
//! Grids: 16 × 12 × 8 (three levels, 8 × 6 × 4 and a 4 × 3 × 2 coarsest whose y side is odd)
//! and 16 × 12 × 6, whose z axis stops halving early (two levels, an 8 × 6 × 3 coarsest). Every
//! field varies along z (the deposit's front moves with z as with y, the random fields are
//! random in every cell), so a wrong z stride, z face or z neighbour fails the comparisons.
//!
//! Tolerances (f32, ε = 1.2e-7), relative to the largest CPU value, as in tests/gpu_multigrid.rs:
//! kernels doing the same operations in the same order 1e-6 (a few ulps); the residual, a
//! difference of O(1) terms, 1e-5; the statistics (f32 sums against f64) 1e-4; whole cycles and
//! solves as each test explains.
//!
//! In CI (`CI` set) a missing adapter fails these tests; elsewhere they skip with a message.

mod gpu_common;

use gpu_common::{concentration_bcs, noise, potential_bcs};

use mgpf::backend::cpu::multigrid::kernels::{
    face_coefficients, prolong_bilinear, residual, residual_statistics, restrict_face_coefficients,
    restrict_full_weighting, right_hand_side_norms, smooth_red_black, Operator,
};
use mgpf::backend::cpu::multigrid::Multigrid;
use mgpf::backend::gpu::buffers::{read_back, storage_buffer};
use mgpf::backend::gpu::multigrid::{GpuMultigrid, StatisticsSlot};
use mgpf::backend::gpu::GpuContext;
use mgpf::numerics::{Bcs, Boundary, SolvePlan};
use mgpf::{Grid, Real};

const DX: f64 = 0.5;
/// Relative tolerance of kernels doing the same f32 operations in the same order.
const KERNEL_TOL: f64 = 1e-6;
/// Solver tolerance of the whole solves (as the CPU's `solve`).
const SOLVE_TOL: f64 = 1e-6;

fn grid(nx: usize, ny: usize, nz: usize) -> Grid {
    Grid { nx, ny, nz, dx: DX }
}

/// Three levels: 16 × 12 × 8 → 8 × 6 × 4 → 4 × 3 × 2.
fn three_levels() -> Grid {
    grid(16, 12, 8)
}

/// z stops halving early: 16 × 12 × 6 → 8 × 6 × 3.
fn short_z() -> Grid {
    grid(16, 12, 6)
}

fn all_bcs() -> [(&'static str, Bcs); 3] {
    [
        ("potential (Neumann | Dirichlet 0)", potential_bcs()),
        ("concentration (Neumann | Dirichlet 1)", concentration_bcs()),
        (
            "Dirichlet -0.1 | Dirichlet 0.3",
            Bcs {
                x_lo: Boundary::Dirichlet(-0.1),
                x_hi: Boundary::Dirichlet(0.3),
            },
        ),
    ]
}

fn random_field(g: Grid, seed: u64) -> Vec<Real> {
    (0..g.cells()).map(|n| noise(n, seed)).collect()
}

/// `value(x, y, z)` at the cell centres, in units of the domain's sides, in the grid's order.
fn field(g: Grid, value: impl Fn(f64, f64, f64) -> f64) -> Vec<Real> {
    (0..g.cells())
        .map(|n| {
            let [i, j, k] = g.cell(n);
            let x = (i as f64 + 0.5) / g.nx as f64;
            let y = (j as f64 + 0.5) / g.ny as f64;
            let z = (k as f64 + 0.5) / g.nz as f64;
            value(x, y, z) as Real
        })
        .collect()
}

/// Distance in cells from the deposit's front at x = 0.3 + 0.05 sin 2πy + 0.06 cos 2πz (the
/// front moves along z everywhere, not only where sin 2πy ≠ 0).
fn front_distance(g: Grid, x: f64, y: f64, z: f64) -> f64 {
    use std::f64::consts::PI;
    (x - 0.3 - 0.05 * (2.0 * PI * y).sin() - 0.06 * (2.0 * PI * z).cos()) * g.nx as f64
}

/// Metal (k = `metal_k`) below the front, electrolyte (k = 1) beyond, mixed in log k over ~3
/// cells.
fn deposit_conductivity(g: Grid, metal_k: f64) -> Vec<Real> {
    field(g, |x, y, z| {
        let metal = 0.5 * (1.0 - (front_distance(g, x, y, z) / 1.5).tanh());
        (metal * metal_k.ln()).exp()
    })
}

/// The potential's source: a Gaussian band at the front (f = −q Δξ, as the backends).
fn front_source(g: Grid) -> Vec<Real> {
    field(g, |x, y, z| {
        -1e-2 * (-(front_distance(g, x, y, z) / 2.0).powi(2)).exp()
    })
}

fn upload(ctx: &GpuContext, label: &str, values: &[Real]) -> wgpu::Buffer {
    storage_buffer(ctx, label, values)
}

fn download(ctx: &GpuContext, buffer: &wgpu::Buffer, len: usize) -> Vec<Real> {
    read_back(ctx, buffer, len)
}

fn max_abs(v: &[Real]) -> f64 {
    v.iter().map(|&c| f64::from(c).abs()).fold(0.0, f64::max)
}

/// max |x − y|, infinite where either holds a NaN or an infinity (so that they fail checks).
fn max_abs_difference(x: &[Real], y: &[Real]) -> f64 {
    assert_eq!(x.len(), y.len(), "lengths");
    x.iter()
        .zip(y)
        .map(|(&a, &b)| {
            let d = (f64::from(a) - f64::from(b)).abs();
            if d.is_finite() {
                d
            } else {
                f64::INFINITY
            }
        })
        .fold(0.0, f64::max)
}

/// max |gpu − cpu| / max |cpu|, printed with the tolerance; fails above it.
fn check(what: &str, gpu: &[Real], cpu: &[Real], tol: f64) -> f64 {
    let diff = max_abs_difference(gpu, cpu);
    let scale = max_abs(cpu);
    let rel = if scale > 0.0 { diff / scale } else { diff };
    println!(
        "{what}: expected max|gpu − cpu|/max|cpu| ≤ {tol:.0e}, got {rel:.2e} (max|cpu| = {scale:.3e})"
    );
    assert!(rel <= tol, "{what}: {rel:.3e} > {tol:.0e}");
    rel
}

fn submit(ctx: &GpuContext, record: impl FnOnce(&mut wgpu::CommandEncoder)) {
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    record(&mut encoder);
    ctx.queue.submit([encoder.finish()]);
}

/// A GPU multigrid on `g` with coefficients a, k set on the device, and the CPU operator of
/// every level built by the CPU kernels on the device's level grids (finest first).
fn with_coefficients(
    ctx: &'static GpuContext,
    g: Grid,
    a: &[Real],
    k: &[Real],
) -> (GpuMultigrid, Vec<Operator>) {
    let mut mg = GpuMultigrid::new(ctx, g);
    let (a_buf, k_buf) = (upload(ctx, "a", a), upload(ctx, "k", k));
    submit(ctx, |e| mg.set_coefficients(e, &a_buf, &k_buf));
    let mut fine = Operator::new(g);
    fine.a.copy_from_slice(a);
    face_coefficients(k, &mut fine);
    let mut cpu = vec![fine];
    for l in 1..mg.levels() {
        let f = &cpu[l - 1];
        let mut c = Operator::new(mg.level(l).grid());
        restrict_full_weighting(f.grid, &f.a, c.grid, &mut c.a);
        restrict_face_coefficients(f, &mut c);
        cpu.push(c);
    }
    (mg, cpu)
}

#[test]
fn coefficients_match_cpu_on_every_level() {
    let Some(ctx) = gpu_common::gpu() else { return };
    for (g, levels) in [(three_levels(), 3), (short_z(), 2)] {
        let k = deposit_conductivity(g, 1e-4);
        let a: Vec<Real> = random_field(g, 1).iter().map(|v| 0.5 + 0.4 * v).collect();
        let (mg, cpu) = with_coefficients(ctx, g, &a, &k);
        let shapes: Vec<_> = (0..mg.levels())
            .map(|l| mg.level(l).grid().shape())
            .collect();
        println!("{:?}: expected {levels} levels, got {shapes:?}", g.shape());
        assert_eq!(mg.levels(), levels);
        assert_eq!(mg.levels(), Multigrid::new(g).levels());
        for (l, op) in cpu.iter().enumerate() {
            let level = mg.level(l);
            assert_eq!(level.grid(), op.grid);
            let cells = op.grid.cells();
            let tag = |name: &str| format!("{:?} level {l} {name}", op.grid.shape());
            check(
                &tag("a"),
                &download(ctx, &level.a, cells),
                &op.a,
                KERNEL_TOL,
            );
            let gkx = download(ctx, &level.kx, op.kx.len());
            check(&tag("kx_faces"), &gkx, &op.kx, KERNEL_TOL);
            check(
                &tag("ky_faces"),
                &download(ctx, &level.ky, cells),
                &op.ky,
                KERNEL_TOL,
            );
            assert_eq!(op.kz.len(), cells);
            check(
                &tag("kz_faces"),
                &download(ctx, &level.kz, cells),
                &op.kz,
                KERNEL_TOL,
            );
        }
    }
}

/// Records the device's residual statistics of (u, f) and checks them against the CPU's of the
/// same operator (f32 sums against f64: 1e-4 of each one's scale, Σ r of ‖r‖·cells).
fn check_statistics(
    ctx: &GpuContext,
    mg: &mut GpuMultigrid,
    op: &Operator,
    (u, f): (&[Real], &[Real]),
    (u_buf, f_buf): (&wgpu::Buffer, &wgpu::Buffer),
    bcs: Bcs,
) {
    submit(ctx, |e| {
        mg.encode_residual_statistics(e, u_buf, f_buf, bcs, StatisticsSlot::End)
    });
    let got = mg.read_statistics().end;
    let want = residual_statistics(op, u, f, bcs);
    let (b2, b_abs_sum) = right_hand_side_norms(op, f, bcs, 0.0);
    let cells = op.grid.cells() as f64;
    for (what, g, w, scale) in [
        ("Σ r²", got.r2, want.r2, want.r2),
        ("Σ b²", got.b2, b2, b2),
        ("Σ r", got.r_sum, want.r_sum, want.r2.sqrt() * cells),
        ("Σ |b|", got.b_abs_sum, b_abs_sum, b_abs_sum),
        ("Σ scale²", got.scale2, want.scale2, want.scale2),
    ] {
        let rel = (g - w).abs() / scale;
        println!(
            "statistics {what}: cpu {w:.6e}, gpu {g:.6e}, expected rel. diff ≤ 1e-4, got {rel:.2e}"
        );
        assert!(rel <= 1e-4, "{what}");
    }
}

/// Each kernel of the finest level against the CPU's: the smoothing colours (red-black on the
/// parity of i + j + k), the residual, the 8-child restriction, the trilinear prolongation of a
/// random coarse correction, and the residual statistics, with each pair of walls.
#[test]
fn kernels_match_cpu() {
    let Some(ctx) = gpu_common::gpu() else { return };
    for g in [three_levels(), short_z()] {
        let k = deposit_conductivity(g, 1e-4);
        let a = vec![0.0; g.cells()];
        let (mut mg, cpu) = with_coefficients(ctx, g, &a, &k);
        let op = &cpu[0];
        let n = g.cells();
        for (name, bcs) in all_bcs() {
            println!("-- {:?} {name}", g.shape());
            let mut u = random_field(g, 2);
            let f: Vec<Real> = random_field(g, 3).iter().map(|v| 1e-3 * v).collect();
            let (u_buf, f_buf) = (upload(ctx, "u", &u), upload(ctx, "f", &f));
            for (pass, colour) in [0, 1, 1, 0].into_iter().enumerate() {
                submit(ctx, |e| {
                    mg.encode_smooth_red_black(e, &u_buf, &f_buf, bcs, colour)
                });
                smooth_red_black(op, &mut u, &f, bcs, colour);
                let what = format!("smooth_red_black colour {colour} (pass {pass})");
                check(&what, &download(ctx, &u_buf, n), &u, KERNEL_TOL);
            }

            submit(ctx, |e| mg.encode_residual(e, &u_buf, &f_buf, bcs));
            let mut r = vec![0.0; n];
            residual(op, &u, &f, bcs, &mut r);
            let got = download(ctx, &mg.level(0).r, n);
            check("residual", &got, &r, 1e-5);

            submit(ctx, |e| mg.encode_restrict_residual(e));
            let coarse = cpu[1].grid;
            let mut r1 = vec![0.0; coarse.cells()];
            restrict_full_weighting(g, &got, coarse, &mut r1);
            let got1 = download(ctx, &mg.level(1).f, coarse.cells());
            check("restrict_full_weighting", &got1, &r1, KERNEL_TOL);

            let e1 = random_field(coarse, 4);
            ctx.queue
                .write_buffer(&mg.level(1).u, 0, bytemuck::cast_slice(&e1));
            submit(ctx, |e| mg.encode_prolong_bilinear(e, &u_buf, &f_buf, bcs));
            prolong_bilinear(coarse, &e1, g, &mut u, bcs.homogeneous());
            check(
                "prolong_bilinear",
                &download(ctx, &u_buf, n),
                &u,
                KERNEL_TOL,
            );

            check_statistics(ctx, &mut mg, op, (&u, &f), (&u_buf, &f_buf), bcs);
        }
    }
}

/// Residual histories ‖r_c‖/‖r_{c−1}‖ of `cycles` V-cycles from u = 0 on the device and on the
/// CPU, and both final u.
#[allow(clippy::type_complexity)]
fn cycle_factors(
    ctx: &'static GpuContext,
    g: Grid,
    (a, k, f): (&[Real], &[Real], &[Real]),
    bcs: Bcs,
    cycles: usize,
) -> (Vec<f64>, Vec<f64>, Vec<Real>, Vec<Real>) {
    let mut cpu = Multigrid::new(g);
    cpu.set_coefficients(a, k);
    let mut u = vec![0.0; g.cells()];
    let (mut r_prev, _) = cpu.residual_norms(&u, f, bcs);
    let mut cpu_factors = Vec::new();
    for _ in 0..cycles {
        cpu.v_cycle(&mut u, f, bcs);
        let (r, _) = cpu.residual_norms(&u, f, bcs);
        cpu_factors.push(r / r_prev);
        r_prev = r;
    }
    let (mut mg, _) = with_coefficients(ctx, g, a, k);
    let u_buf = upload(ctx, "u", &vec![0.0; g.cells()]);
    let f_buf = upload(ctx, "f", f);
    submit(ctx, |e| {
        mg.encode_residual_statistics(e, &u_buf, &f_buf, bcs, StatisticsSlot::End)
    });
    let mut r_prev = mg.read_statistics().end.r2.sqrt();
    let mut gpu_factors = Vec::new();
    for _ in 0..cycles {
        submit(ctx, |e| {
            mg.encode_solve(e, &u_buf, &f_buf, bcs, 1);
            mg.encode_residual_statistics(e, &u_buf, &f_buf, bcs, StatisticsSlot::End);
        });
        let r = mg.read_statistics().end.r2.sqrt();
        gpu_factors.push(r / r_prev);
        r_prev = r;
    }
    let u_gpu = download(ctx, &u_buf, g.cells());
    (gpu_factors, cpu_factors, u_gpu, u)
}

/// Reduction factors per V-cycle, from u = 0, counted until the residual is 1e-6 of its start
/// (past that the f32 floor decides).
fn until_floor(factors: &[f64]) -> &[f64] {
    let mut product = 1.0;
    let n = factors
        .iter()
        .take_while(|&&g| {
            let before = product;
            product *= g;
            before > 1e-6
        })
        .count();
    &factors[..n]
}

fn show(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.3}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A problem of the cycle tests: (name, a, k, f, walls).
type Case = (&'static str, Vec<Real>, Vec<Real>, Vec<Real>, Bcs);

/// The problems of the cycle tests.
fn cases(g: Grid) -> Vec<Case> {
    let zeros = vec![0.0; g.cells()];
    let concentration_f: Vec<Real> = random_field(g, 5)
        .iter()
        .map(|v| 4.0 * (1.0 + 0.1 * v))
        .collect();
    vec![
        (
            "potential, metal k 1e-3",
            zeros.clone(),
            deposit_conductivity(g, 1e-3),
            front_source(g),
            potential_bcs(),
        ),
        (
            "potential, metal k 1e-4",
            zeros.clone(),
            deposit_conductivity(g, 1e-4),
            front_source(g),
            potential_bcs(),
        ),
        (
            "concentration, a = 4",
            vec![4.0; g.cells()],
            deposit_conductivity(g, 1e-3),
            concentration_f,
            concentration_bcs(),
        ),
        (
            "potential, metal k 1e4 between Dirichlet walls",
            zeros,
            deposit_conductivity(g, 1e4),
            front_source(g),
            metal_bcs(),
        ),
    ]
}

/// The electrode's potential on the metal side, the far field at 0.
fn metal_bcs() -> Bcs {
    Bcs {
        x_lo: Boundary::Dirichlet(-0.2),
        x_hi: Boundary::Dirichlet(0.0),
    }
}

/// Six V-cycles from u = 0: the device's residual reduction per cycle equals the CPU's (the same
/// cycle; the coarsest level is solved by SOR sweeps to f32 round-off instead of a Cholesky
/// factor) to ~2 digits: |gpu − cpu| ≤ 0.005 + 0.02 cpu, until the residual reaches the f32
/// floor (1e-6 of its start). Measured: equal to 3 digits (0.001 at most) on every case.
#[test]
fn v_cycle_reduces_the_residual_as_on_the_cpu() {
    let Some(ctx) = gpu_common::gpu() else { return };
    for g in [three_levels(), short_z()] {
        for (name, a, k, f, bcs) in cases(g) {
            let (gpu, cpu, _, _) = cycle_factors(ctx, g, (&a, &k, &f), bcs, 6);
            println!(
                "{:?} {name}: V-cycle factors gpu [{}], cpu [{}]",
                g.shape(),
                show(&gpu),
                show(&cpu)
            );
            for (c, (&gf, &cf)) in until_floor(&gpu).iter().zip(&cpu).enumerate() {
                assert!(
                    (gf - cf).abs() <= 0.005 + 0.02 * cf,
                    "{name} cycle {c}: gpu factor {gf:.4}, cpu {cf:.4}"
                );
            }
        }
    }
}

/// One V-cycle from u = 0, the device's u against the CPU's. The two cycles do the same f32
/// operations in the same order (every kernel matches bit for bit, `kernels_match_cpu`) except
/// the coarsest solve (f64 Cholesky on the CPU, f32 SOR to round-off here), whose difference,
/// ~ε times the coarse operator's conditioning relative to the correction, the prolongation and
/// smoothing pass on: measured 5e-8–1.5e-7 of max |u| (k = 1e-3, 1e-4 potentials, the a = 4
/// step) and 2e-7–6e-7 (the k = 1e4 metal); tolerance 1e-5.
#[test]
fn one_v_cycle_matches_the_cpu() {
    let Some(ctx) = gpu_common::gpu() else { return };
    for g in [three_levels(), short_z()] {
        for (name, a, k, f, bcs) in cases(g) {
            let (_, _, u_gpu, u_cpu) = cycle_factors(ctx, g, (&a, &k, &f), bcs, 1);
            let what = format!("{:?} {name}: u after one V-cycle", g.shape());
            check(&what, &u_gpu, &u_cpu, 1e-5);
        }
    }
}

/// Whole solves to tol 1e-6 on both sides, solutions compared: the potential with a metal
/// conducting 1e4 times better than the electrolyte, pinned by the electrode's Dirichlet wall,
/// and an implicit step of the concentration (a = 1/dt, Neumann | Dirichlet 1) with the mass
/// projection (Σ r taken out to f32 rounding on the device, |Σ r|/Σ|b| ≤ 1e-7).
#[test]
fn solves_agree_with_the_cpu() {
    let Some(ctx) = gpu_common::gpu() else { return };
    for g in [three_levels(), short_z()] {
        let dt = 0.25;
        let c_old = field(g, |x, y, z| {
            0.8 + 0.2 * x + 0.02 * (2.0 * std::f64::consts::PI * (y + 2.0 * z)).sin()
        });
        // (name, a, k, f, bcs, conserving, solution tolerance). The metal potential is
        // well-conditioned (the metal is pinned by its wall): both solutions are within
        // ~tol·cond of the exact one; 1e-4 of max |u| (measured 7.5e-8). The step converges on
        // both: 20 × tol (measured 0, the same bits).
        let cases = [
            (
                "potential, metal k 1e4, Dirichlet | Dirichlet",
                vec![0.0; g.cells()],
                deposit_conductivity(g, 1e4),
                front_source(g),
                metal_bcs(),
                false,
                1e-4,
            ),
            (
                "implicit step, Neumann | Dirichlet 1",
                vec![(1.0 / dt) as Real; g.cells()],
                deposit_conductivity(g, 1e-3),
                c_old.iter().map(|c| c / dt as Real).collect(),
                concentration_bcs(),
                true,
                20.0 * SOLVE_TOL,
            ),
        ];
        for (name, a, k, f, bcs, conserving, solution_tol) in cases {
            let name = format!("{:?} {name}", g.shape());
            let mut cpu = Multigrid::new(g);
            cpu.set_coefficients(&a, &k);
            if conserving {
                cpu.conserve_mass();
            }
            let mut u_cpu = vec![0.0; g.cells()];
            let plan = SolvePlan::v_cycles(SOLVE_TOL, 50);
            let cpu_stats = cpu.solve(&mut u_cpu, &f, bcs, plan);
            let (mut mg, levels) = with_coefficients(ctx, g, &a, &k);
            if conserving {
                mg.conserve_mass();
            }
            let u_buf = upload(ctx, "u", &vec![0.0; g.cells()]);
            let f_buf = upload(ctx, "f", &f);
            let gpu_stats = mg.solve(&u_buf, &f_buf, bcs, SOLVE_TOL, 50);
            println!("{name}: cpu {cpu_stats:?}");
            println!("{name}: gpu {gpu_stats:?}");
            let floor = SOLVE_TOL.max(2.0 * cpu_stats.residual_rel);
            println!(
                "{name}: expected gpu residual ≤ max(tol, 2 × cpu) = {floor:.2e}, got {:.2e}",
                gpu_stats.residual_rel
            );
            assert!(gpu_stats.residual_rel <= floor, "{name}: gpu solve stalled");
            let u_gpu = download(ctx, &u_buf, g.cells());
            // The device's solution judged by the CPU operator.
            let (r, b) = cpu.residual_norms(&u_gpu, &f, bcs);
            println!(
                "{name}: gpu solution, CPU-evaluated ||r||/||b|| = {:.2e}",
                r / b
            );
            assert!(
                r / b <= floor,
                "{name}: CPU-evaluated residual {:.2e}",
                r / b
            );
            if conserving {
                let rs = cpu.residual_statistics(&u_gpu, &f, bcs);
                let b_abs_sum = right_hand_side_norms(&levels[0], &f, bcs, 0.0).1;
                let defect = rs.r_sum.abs() / b_abs_sum;
                println!(
                    "{name}: |Σ r| / Σ |b| of the gpu solution: expected ≤ 1e-7, got {defect:.2e}"
                );
                assert!(defect <= 1e-7, "{name}: mass defect {defect:.2e}");
            }
            check(&format!("{name}: solution"), &u_gpu, &u_cpu, solution_tol);
        }
    }
}

/// Flexible PCG with a fixed count against the CPU's `SolvePlan::Pcg` (the k = 1e-4 potential,
/// where PCG is what the device uses): the dot products sum in f32 on the device and in f64 on
/// the CPU, and α, β feed back into later iterations: 1e-5 of max |u|, as in 2D.
#[test]
fn pcg_iterations_match_the_cpu() {
    let Some(ctx) = gpu_common::gpu() else { return };
    let g = three_levels();
    let k = deposit_conductivity(g, 1e-4);
    let a = vec![0.0; g.cells()];
    let f = front_source(g);
    let bcs = potential_bcs();
    let mut cpu = Multigrid::new(g);
    cpu.set_coefficients(&a, &k);
    let (mut mg, _) = with_coefficients(ctx, g, &a, &k);
    for iterations in [1u32, 3, 6] {
        let mut u_cpu = vec![0.0; g.cells()];
        let cpu_stats = cpu.solve(&mut u_cpu, &f, bcs, SolvePlan::pcg(0.0, iterations));
        let u_buf = upload(ctx, "u", &vec![0.0; g.cells()]);
        let f_buf = upload(ctx, "f", &f);
        submit(ctx, |e| {
            mg.encode_residual_statistics(e, &u_buf, &f_buf, bcs, StatisticsSlot::Start);
            mg.encode_pcg(e, &u_buf, &f_buf, bcs, iterations);
            mg.encode_residual_statistics(e, &u_buf, &f_buf, bcs, StatisticsSlot::End);
        });
        let gpu_rel = mg.read_statistics().residual_rel();
        println!(
            "{iterations} PCG iterations: cpu residual {:.3e} ({} iterations), gpu {gpu_rel:.3e}",
            cpu_stats.residual_rel, cpu_stats.cycles
        );
        let what = format!("{iterations} PCG iterations: u");
        check(&what, &download(ctx, &u_buf, g.cells()), &u_cpu, 1e-5);
    }
}

/// Single-level grids (an odd side stops the coarsening at once) whose periodic sides are odd
/// along y, z or both: one V-cycle is the coarsest_solve kernel, whose colours keep the wrapped
/// planes apart. One call must reach the f32 floor: backward error ‖r‖/(‖b‖ + ‖|D||u|‖) below
/// 1e-6 (a few ε times the stencil's terms), and a second call must not lower ‖r‖ 2-fold.
#[test]
fn single_level_grids_are_solved_by_the_coarsest_kernel() {
    let Some(ctx) = gpu_common::gpu() else { return };
    let bcs = Bcs {
        x_lo: Boundary::Dirichlet(1.0),
        x_hi: Boundary::Neumann,
    };
    for g in [grid(6, 5, 4), grid(6, 4, 3), grid(6, 5, 5), grid(5, 5, 3)] {
        let k = field(g, |x, y, z| {
            1.0 + 4.0 * (x * 7.0 + y * 3.0 + z * 5.0).fract()
        });
        let a = vec![0.5; g.cells()];
        let f = field(g, |x, y, z| 4.0 * x - 2.0 * y + 3.0 * z);
        let (mut mg, _) = with_coefficients(ctx, g, &a, &k);
        assert_eq!(mg.levels(), 1);
        assert_eq!(Multigrid::new(g).levels(), 1);
        let mut cpu = Multigrid::new(g);
        cpu.set_coefficients(&a, &k);
        let u_buf = upload(ctx, "u", &vec![0.0; g.cells()]);
        let f_buf = upload(ctx, "f", &f);
        let mut measured = Vec::new();
        for _ in 0..2 {
            submit(ctx, |e| mg.encode_solve(e, &u_buf, &f_buf, bcs, 1));
            let u = download(ctx, &u_buf, g.cells());
            let s = cpu.residual_statistics(&u, &f, bcs);
            let (r, b, scale) = (s.r2.sqrt(), s.b2.sqrt(), s.scale2.sqrt());
            measured.push((r / b, r / (b + scale)));
        }
        let [(rel1, backward1), (rel2, _)] = measured[..] else {
            unreachable!()
        };
        println!(
            "{:?}, one coarsest_solve ({} sweeps): ||r||/||b|| {rel1:.2e}, backward error {backward1:.2e} (expected < 1e-6); after a second {rel2:.2e} (expected > {:.2e})",
            g.shape(),
            mgpf::backend::gpu::multigrid::coarsest_sweeps_of(g),
            0.5 * rel1
        );
        assert!(
            backward1 < 1e-6,
            "{:?}: backward error {backward1:.2e}",
            g.shape()
        );
        assert!(
            rel2 > 0.5 * rel1,
            "{:?}: not converged after one call",
            g.shape()
        );
    }
}
