//! Whole-run parity (issue 3): each preset for a few hundred steps on a 64² grid on the CPU and
//! GPU backends; the final metrics agree within 1e-3 relative. And `mgpf run --backend gpu`
//! writes the CPU run's outputs, run.json naming the adapter.
//!
//! On lavapipe (CI) the GPU evaluates the same f32 expressions as the CPU in the same order, but
//! its sums are f32 trees where the CPU accumulates in f64, its exp/log differ by ~1e-6, and its
//! solves run a fixed count where the CPU stops at its tolerance: per step the fields differ
//! at ~1e-6, and over 200 steps the metrics by well under 1e-3 (measured ≤ 8e-6).
//!
//! The ions entered through the bulk face are held to 1e-5, total Mg to 1e-6. Both backends end
//! each concentration solve by projecting the residual's sum Σ r (ions made or lost) out; without
//! that projection the device's three V-cycles left a one-signed Σ r, an inflow 2.3–3.1e-4 below
//! the CPU's and an Mg balance error of 5.2e-6–1.0e-5 per run. With it (measured on lavapipe)
//! the inflow agrees to ≤ 3.1e-7 and each backend's Mg balance error over the run, printed and
//! held to 1e-7, is ≤ 1.4e-9 (CPU 7.5e-10–1.4e-9, device 4.4e-10–1.3e-9).

mod gpu_common;

use mgpf::backend::cpu::CpuBackend;
use mgpf::backend::gpu::kernels::FusedAllenCahn;
use mgpf::backend::gpu::GpuBackend;
use mgpf::backend::{Backend, BackendState};
use mgpf::config::presets::Preset;
use mgpf::config::Config;
use mgpf::model::params::Params;
use mgpf::run::{run_with_backend, RunOptions, RunSummary};
use std::process::Command;

const STEPS: u64 = 200;

fn config(preset: Preset) -> Config {
    let mut cfg = Config::default_demo();
    cfg.grid.nx = 64;
    cfg.grid.ny = 64;
    cfg.initial.deposit_height_um = 6.0;
    cfg.interphase.preset = preset;
    cfg.run.max_steps = Some(STEPS);
    cfg.run.end_charge_mah_cm2 = Some(10.0);
    cfg.run.frames = 2;
    cfg.run.metrics_every_steps = 50;
    cfg
}

fn relative(gpu: f64, cpu: f64) -> f64 {
    (gpu - cpu).abs() / cpu.abs().max(1e-30)
}

#[test]
fn every_preset_matches_the_cpu_after_200_steps() {
    let Some(ctx) = gpu_common::gpu() else { return };
    let mut worst = 0.0f64;
    for preset in Preset::ALL {
        let cfg = config(preset);
        let p = Params::from_config(&cfg).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let run = |backend: &mut dyn mgpf::backend::Backend, name: &str| -> RunSummary {
            run_with_backend(&cfg, &p, backend, &RunOptions::new(dir.path().join(name)))
                .unwrap_or_else(|e| panic!("{preset:?} on {name}: {e}"))
        };
        let cpu = run(&mut CpuBackend::new(&p, &cfg.initial), "cpu");
        let mut gpu_backend = GpuBackend::new(ctx, &p, &cfg.initial).expect("gpu backend");
        let gpu = run(&mut gpu_backend, "gpu");
        let (c, g) = (cpu.last(), gpu.last());
        assert_eq!(c.step, g.step);
        // The metrics to issue 3's 1e-3; the ions' bookkeeping tighter, as the mass projection
        // holds it (measured on lavapipe: total Mg ≤ 1.3e-8, inflow ≤ 3.0e-7 apart).
        for (what, got, want, tol) in [
            (
                "mean height",
                g.front.mean_height,
                c.front.mean_height,
                1e-3,
            ),
            ("roughness", g.front.roughness, c.front.roughness, 1e-3),
            ("overpotential", g.overpotential_v, c.overpotential_v, 1e-3),
            ("charge", g.charge_c_m2, c.charge_c_m2, 1e-3),
            ("total Mg", g.mg_total_mol_m, c.mg_total_mol_m, 1e-6),
            ("inflow", gpu.inflow_mol_m, cpu.inflow_mol_m, 1e-5),
        ] {
            let rel = relative(got, want);
            worst = worst.max(rel);
            println!(
                "{:<13} {what:<13}: cpu {want:.6e}, gpu {got:.6e}, relative difference {rel:.2e} (tolerance {tol:.0e})",
                preset.name()
            );
            assert!(rel <= tol, "{preset:?}: {what} differs by {rel:.2e}");
        }
        // Total Mg (ions + metal) changes only by the inflow through the bulk face.
        for (name, run) in [("cpu", &cpu), ("gpu", &gpu)] {
            let (first, last) = (&run.rows[0], run.last());
            let drift = (last.mg_total_mol_m - first.mg_total_mol_m - run.inflow_mol_m)
                / first.mg_total_mol_m;
            println!(
                "{:<13} {name}: total Mg {:.9e} → {:.9e} mol/m, inflow {:.6e} mol/m, relative balance error {drift:.2e} (tolerance 1e-7)",
                preset.name(), first.mg_total_mol_m, last.mg_total_mol_m, run.inflow_mol_m
            );
            // Measured ≤ 1.4e-9 on both backends (the device's was 5e-6–1e-5 before it
            // projected Σ r out of each concentration solve).
            assert!(
                drift.abs() <= 1e-7,
                "{preset:?} on {name}: Mg balance {drift:.2e}"
            );
        }
    }
    println!("largest relative difference over the presets: {worst:.2e}");
}

/// The step runs whichever fused Allen–Cahn kernel suits the adapter (lavapipe: streaming; a
/// hardware GPU: tiled, which CI's lavapipe would otherwise never step with). The two evaluate
/// the same f32 expressions, so runs with either are the same bit for bit.
#[test]
fn tiled_and_streaming_allen_cahn_steps_are_bit_identical() {
    let Some(ctx) = gpu_common::gpu() else { return };
    // 40 × 50: tiles cut by the grid's edges in both directions (16 × 16 workgroups).
    let mut cfg = config(Preset::Zeolite);
    cfg.grid.nx = 40;
    cfg.grid.ny = 50;
    let p = Params::from_config(&cfg).unwrap();
    let run = |fused: FusedAllenCahn| {
        let mut gpu =
            GpuBackend::with_fused_allen_cahn(ctx, &p, &cfg.initial, fused).expect("gpu backend");
        gpu.advance(0, 20).unwrap();
        gpu.save_state()
    };
    let (streaming, tiled) = (run(FusedAllenCahn::Streaming), run(FusedAllenCahn::Tiled));
    for (name, field) in &streaming.fields {
        let other = tiled.field(name).unwrap();
        let differ = field
            .iter()
            .zip(other.iter())
            .filter(|(a, b)| a.to_bits() != b.to_bits())
            .count();
        println!("{name}: {differ} cells differ after 20 steps (expected 0)");
        assert_eq!(differ, 0, "{name}");
    }
}

/// A CPU state continues on the device (checkpoints are backend-agnostic): the GPU saves the
/// CPU's field names, gives back the concentration excess u = c/c0 − 1 bit for bit, and c = 1 + u
/// as the CPU rounds it; a state without "concentration_excess" (written before the excess was
/// the state) restores u = c − 1, within half an ulp of 1 of the saved u.
#[test]
fn a_cpu_state_restores_on_the_gpu_with_or_without_the_excess() {
    let Some(ctx) = gpu_common::gpu() else { return };
    let mut cfg = config(Preset::Passivating);
    cfg.grid.nx = 32;
    cfg.grid.ny = 40;
    let p = Params::from_config(&cfg).unwrap();
    let mut cpu = CpuBackend::new(&p, &cfg.initial);
    cpu.advance(0, 5).unwrap();
    let state = cpu.save_state();
    let mut gpu = GpuBackend::new(ctx, &p, &cfg.initial).expect("gpu backend");
    gpu.restore_state(&state).unwrap();
    let back = gpu.save_state();
    let names = |s: &BackendState| s.fields.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    println!(
        "fields saved: cpu {:?}, gpu {:?}",
        names(&state),
        names(&back)
    );
    assert_eq!(names(&back), names(&state));
    let bits = |s: &BackendState, name: &str| -> Vec<u32> {
        s.field(name).unwrap().iter().map(|v| v.to_bits()).collect()
    };
    for name in ["concentration_excess", "concentration"] {
        println!("{name}: restored and saved again bit for bit (expected)");
        assert_eq!(bits(&back, name), bits(&state, name), "{name}");
    }

    let mut older = state.clone();
    older
        .fields
        .retain(|(name, _)| name != "concentration_excess");
    gpu.restore_state(&older).unwrap();
    let back = gpu.save_state();
    let (u, c) = (
        back.field("concentration_excess").unwrap(),
        state.field("concentration").unwrap(),
    );
    let from_c = c.mapv(|c| c - 1.0);
    assert!(u
        .iter()
        .zip(&from_c)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
    let saved = state.field("concentration_excess").unwrap();
    let worst = u
        .iter()
        .zip(saved)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    println!(
        "without the excess: u = c − 1 restored, max |u − u_saved| = {worst:e} (at most {:e}, half an ulp of 1)",
        f32::EPSILON / 2.0
    );
    assert!(worst <= f32::EPSILON / 2.0);
}

#[test]
fn run_with_the_gpu_backend_writes_the_same_outputs() {
    if gpu_common::gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gpu");
    let o = Command::new(env!("CARGO_BIN_EXE_mgpf"))
        .args(["run", "configs/bromine-rich.toml", "--backend", "gpu"])
        .args(["--out", out.to_str().unwrap()])
        .args([
            "--set",
            "grid.nx=32",
            "--set",
            "grid.ny=48",
            "--set",
            "run.max_steps=40",
        ])
        .args([
            "--set",
            "run.frames=3",
            "--set",
            "initial.deposit_height_um=3",
        ])
        .output()
        .unwrap();
    println!("{}", String::from_utf8_lossy(&o.stdout));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for file in [
        "metrics.csv",
        "growth.gif",
        "voltage.png",
        "run.json",
        "final.vti",
        "frames/frame_000000.png",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let json = std::fs::read_to_string(out.join("run.json")).unwrap();
    let backend = json
        .lines()
        .find(|l| l.contains("\"backend\""))
        .unwrap()
        .to_string();
    println!("run.json: {backend}");
    assert!(backend.contains("gpu: "), "{backend}");
}
