//! The field files of a run (`run.save_fields`): fields/frame_NNNNNN.vti with fields.pvd,
//! fields/frame_NNNNNN.vtk with final.vtk (legacy, for meshio), and
//! fields/frame_NNNNNN_<field>.npy, in 2D and 3D. Checked here against the run's own state, and
//! by tests/python/check_fields.py with the Python `vtk` and `meshio` packages and numpy
//! (installed by .ci/run; without them the Python part is skipped with a message, unless CI is
//! set).

use mgpf::cli::BackendKind;
use mgpf::config::{Config, FieldFormat};
use mgpf::simulation::RunOptions;
use std::path::Path;
use std::process::Command;

fn small(nz: usize) -> Config {
    let mut cfg = Config::default_demo();
    cfg.grid.nx = 24;
    cfg.grid.ny = 16;
    cfg.grid.nz = nz;
    cfg.initial.deposit_height_um = 3.0;
    cfg.initial.nucleus_radius_um = 2.0;
    cfg.run.max_steps = Some(30);
    cfg.run.end_charge_mah_cm2 = Some(10.0);
    cfg.run.frames = 3;
    cfg.run.save_fields = vec![FieldFormat::Vti, FieldFormat::Vtk, FieldFormat::Npy];
    cfg
}

/// The .npy values as f32 (after the header, whose length is at bytes 8..10).
fn npy_values(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap();
    let header = 10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    bytes[header..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
fn field_files_hold_the_run_state_in_2d_and_3d() {
    for nz in [1, 8] {
        let cfg = small(nz);
        let out = tempfile::tempdir().unwrap();
        let dir = out.path();
        let summary = mgpf::cli::run(&cfg, BackendKind::Cpu, &RunOptions::new(dir));
        assert!(matches!(summary, Ok(ref s) if s.steps == 30), "{summary:?}");
        let pvd = std::fs::read_to_string(dir.join("fields.pvd")).unwrap();
        // The frames: at the start, due ones, and the cap's (the last slot).
        let listed = pvd.matches("<DataSet ").count();
        println!("nz = {nz}: fields.pvd lists {listed} frames:\n{pvd}");
        assert!(listed >= 2);
        for n in 0..listed {
            assert!(dir.join(format!("fields/frame_{n:06}.vti")).is_file());
            assert!(dir.join(format!("fields/frame_{n:06}.vtk")).is_file());
            assert!(dir
                .join(format!("fields/frame_{n:06}_potential.npy"))
                .is_file());
        }
        // The last frame is the cap's, at the checkpoint's step: its .npy equal the
        // checkpoint's fields bit for bit.
        let ck = mgpf::simulation::checkpoint::read(dir).unwrap();
        let last = listed - 1;
        for (npy, field) in [
            ("order_parameter", "order_parameter"),
            ("potential", "potential"),
        ] {
            let got = npy_values(&dir.join(format!("fields/frame_{last:06}_{npy}.npy")));
            let want = ck.state.field(field).unwrap();
            let differing = got
                .iter()
                .zip(want.iter())
                .filter(|(a, b)| a.to_bits() != b.to_bits())
                .count();
            println!("nz = {nz}: {npy}.npy against the checkpoint: {differing} of {} values differ (expected 0)", got.len());
            assert_eq!(got.len(), want.len());
            assert_eq!(differing, 0);
        }
        assert!(dir.join("final.vtk").is_file());
        python_check(dir, &cfg);
    }
}

/// Runs tests/python/check_fields.py on the run; skipped (with a message) where python3, numpy
/// or vtk are missing, unless CI is set.
fn python_check(dir: &Path, cfg: &Config) {
    let have = Command::new("python3")
        .args(["-c", "import numpy, vtk, meshio"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI requires python3 with numpy, vtk and meshio (.ci/run installs them with pip)"
        );
        println!("skipped the Python check: python3 with numpy, vtk and meshio not found");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_fields.py");
    let g = &cfg.grid;
    let o = Command::new("python3")
        .arg(&script)
        .arg(dir)
        .args([g.nx, g.ny, g.nz].map(|n| n.to_string()))
        .arg((g.dx_um * 1e-6).to_string())
        .output()
        .unwrap();
    println!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "check_fields.py failed");
}

/// `snapshot_into` (the Python package's fields(), into memory it owns) copies what `snapshot`
/// returns, bit for bit, in 2D and 3D: the CPU's own copy (c/c0 from the stored excess) and
/// the trait's default one.
#[test]
fn snapshot_into_copies_the_snapshot_bit_for_bit() {
    use mgpf::backend::cpu::CpuBackend;
    use mgpf::backend::{Backend, Snapshot, SnapshotViews};
    use mgpf::model::params::Params;
    /// Six NaN-filled fields' memory, and views of it.
    fn fill(
        shape: (usize, usize, usize),
        copy: impl FnOnce(&mut SnapshotViews<'_>),
    ) -> Vec<Vec<u32>> {
        let mut memory = vec![vec![f32::NAN; shape.0 * shape.1 * shape.2]; 6];
        let [a, b, c, d, e, f] = memory.as_mut_slice() else {
            unreachable!("six fields")
        };
        let view = |v| ndarray::ArrayViewMut3::from_shape(shape, v).unwrap();
        copy(&mut SnapshotViews {
            order_parameter: view(a),
            concentration: view(b),
            potential: view(c),
            plating_rate: view(d),
            layer: view(e),
            blocked: view(f),
        });
        memory
            .iter()
            .map(|v| v.iter().map(|x| x.to_bits()).collect())
            .collect()
    }
    for nz in [1, 8] {
        let cfg = small(nz);
        let p = Params::from_config(&cfg).unwrap();
        let mut backend = CpuBackend::new(&p, &cfg.initial);
        for step in 0..3 {
            backend.step(step).unwrap();
        }
        let snap = backend.snapshot();
        let expected: Vec<Vec<u32>> = {
            let s: &Snapshot = &snap;
            [
                &s.order_parameter,
                &s.concentration,
                &s.potential,
                &s.plating_rate,
                &s.layer,
                &s.blocked,
            ]
            .iter()
            .map(|f| f.iter().map(|x| x.to_bits()).collect())
            .collect()
        };
        let shape = snap.order_parameter.dim();
        let cpu = fill(shape, |views| backend.snapshot_into(views));
        for (n, (want, got)) in expected.iter().zip(&cpu).enumerate() {
            assert!(
                want == got,
                "nz = {nz}: field {n} differs from the snapshot's"
            );
        }
        // The trait's default, as the GPU backend uses it.
        let default = fill(shape, |views| views.assign(&snap));
        assert!(default == expected, "nz = {nz}: the default copy differs");
    }
}
