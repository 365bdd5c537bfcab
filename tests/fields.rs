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
    for nz in [1, 8] {
        let cfg = small(nz);
        let p = Params::from_config(&cfg).unwrap();
        let mut backend = CpuBackend::new(&p, &cfg.initial);
        for step in 0..3 {
            backend.step(step).unwrap();
        }
        let snap = backend.snapshot();
        let shape = snap.order_parameter.dim();
        let mut buffers: Vec<Vec<f32>> = vec![vec![f32::NAN; shape.0 * shape.1 * shape.2]; 6];
        let [a, b, c, d, e, f] = buffers.as_mut_slice() else {
            unreachable!()
        };
        fn view(shape: (usize, usize, usize), v: &mut [f32]) -> ndarray::ArrayViewMut3<'_, f32> {
            ndarray::ArrayViewMut3::from_shape(shape, v).unwrap()
        }
        let mut views = SnapshotViews {
            order_parameter: view(shape, a),
            concentration: view(shape, b),
            potential: view(shape, c),
            plating_rate: view(shape, d),
            layer: view(shape, e),
            blocked: view(shape, f),
        };
        backend.snapshot_into(&mut views);
        let fields = |s: &Snapshot| {
            [
                s.order_parameter.clone(),
                s.concentration.clone(),
                s.potential.clone(),
                s.plating_rate.clone(),
                s.layer.clone(),
                s.blocked.clone(),
            ]
        };
        for (n, (field, copied)) in fields(&snap).iter().zip(&buffers).enumerate() {
            let same = field
                .iter()
                .zip(copied)
                .all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "nz = {nz}: field {n} differs from the snapshot's");
        }
        // The trait's default, as the GPU backend uses it.
        let mut again: Vec<Vec<f32>> = vec![vec![f32::NAN; shape.0 * shape.1 * shape.2]; 6];
        let [a, b, c, d, e, f] = again.as_mut_slice() else {
            unreachable!()
        };
        SnapshotViews {
            order_parameter: view(shape, a),
            concentration: view(shape, b),
            potential: view(shape, c),
            plating_rate: view(shape, d),
            layer: view(shape, e),
            blocked: view(shape, f),
        }
        .assign(&snap);
        let bits = |v: &Vec<Vec<f32>>| -> Vec<Vec<u32>> {
            v.iter()
                .map(|f| f.iter().map(|x| x.to_bits()).collect())
                .collect()
        };
        assert!(
            bits(&again) == bits(&buffers),
            "nz = {nz}: the default copy differs"
        );
    }
}
