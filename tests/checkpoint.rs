//! Checkpoints, resume and interruption (issue 4): a resumed run ends bit-identical to an
//! uninterrupted one; a changed config is refused; SIGINT (SIGTERM) exits 130 (143) with a checkpoint and the
//! run can be finished with `--resume`; a run stopped by run.max_steps resumes with a higher cap
//! to the end of an uncapped one.

use mgpf::config::presets::Preset;
use mgpf::config::Config;
use mgpf::simulation::{RunOptions, StopReason};
use mgpf::Error;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A short run that exercises noise, the galvanostatic control and both solves.
fn short_config(steps: u64) -> Config {
    let mut cfg = Config::default_demo();
    cfg.grid.nx = 32;
    cfg.grid.ny = 48;
    cfg.initial.deposit_height_um = 3.0;
    cfg.run.max_steps = Some(steps);
    cfg.run.end_charge_mah_cm2 = Some(10.0);
    cfg.run.frames = 4;
    cfg.run.metrics_every_steps = 7;
    cfg.run.checkpoint_every_steps = 25;
    cfg
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn resumed_run_is_bit_identical_to_an_uninterrupted_one() {
    let cfg = short_config(120);
    let root = tempfile::tempdir().unwrap();
    let (straight, split) = (root.path().join("straight"), root.path().join("split"));
    run(&cfg, &RunOptions::new(&straight)).expect("uninterrupted run");

    let opts = RunOptions {
        stop_after_steps: Some(60),
        ..RunOptions::new(&split)
    };
    match run(&cfg, &opts) {
        Err(Error::Interrupted { signal: 2, .. }) => {}
        other => panic!("expected an interruption after 60 steps, got {other:?}"),
    }
    assert!(split.join("checkpoint.bin").is_file());
    let partial = String::from_utf8(read(&split.join("metrics.csv"))).unwrap();
    let last_step: u64 = partial
        .lines()
        .last()
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    println!("interrupted run: metrics.csv ends at step {last_step} (< 60 expected)");
    assert!(last_step < 60);

    let summary = resume(None, &RunOptions::new(&split)).expect("resumed run");
    println!("resumed to step {} (expected 120)", summary.steps);
    assert_eq!(summary.steps, 120);
    let mut files = vec!["metrics.csv".to_string(), "final.vti".to_string()];
    for entry in std::fs::read_dir(straight.join("frames")).unwrap() {
        files.push(format!(
            "frames/{}",
            entry.unwrap().file_name().to_string_lossy()
        ));
    }
    assert!(files.len() > 2, "no frames written");
    for file in &files {
        let (a, b) = (read(&straight.join(file)), read(&split.join(file)));
        println!(
            "{file}: {} vs {} bytes, identical: {}",
            a.len(),
            b.len(),
            a == b
        );
        assert!(
            a == b,
            "{file} differs between the straight and the resumed run"
        );
    }
}

/// A frame due at the very step a run resumes from shows the reaction field of the step before
/// it (the plating-rate panel): the checkpoint carries that field, so the resumed run draws the
/// uninterrupted run's frame (before, it drew a plating rate of 0 there: found by the SIGKILL
/// test below, whose random moment decides whether it lands on such a step).
/// The time loop turned a batch at a time with pauses (as the Python package steps a run: at a
/// step count, a time, a charge) takes the steps and writes the outputs of a run turned in one go.
#[test]
fn a_run_paused_between_steps_ends_bit_identical_to_one_run_straight() {
    use mgpf::backend::cpu::CpuBackend;
    use mgpf::model::params::Params;
    use mgpf::simulation::{Pause, Tick, TimeLoop};
    let cfg = short_config(120);
    let root = tempfile::tempdir().unwrap();
    let (straight, paused) = (root.path().join("straight"), root.path().join("paused"));
    let whole = run(&cfg, &RunOptions::new(&straight)).expect("run in one go");
    // Rows every 7 steps: row 5 is step 35, row 8 step 56.
    let (t35, q56) = (whole.rows[5].time_s, whole.rows[8].charge_c_m2);
    assert_eq!((whole.rows[5].step, whole.rows[8].step), (35, 56));

    let p = Params::from_config(&cfg).unwrap();
    let mut backend = CpuBackend::new(&p, &cfg.initial);
    let mut time_loop = TimeLoop::fresh(&cfg, &p, &RunOptions::new(&paused)).unwrap();
    let pauses = [
        (
            Pause {
                at_step: Some(13),
                ..Pause::NEVER
            },
            13,
        ),
        (
            Pause {
                at_step: Some(14),
                ..Pause::NEVER
            },
            14,
        ),
        (
            Pause {
                at_time_s: Some(t35),
                ..Pause::NEVER
            },
            35,
        ),
        (
            Pause {
                at_charge_c_m2: Some(q56),
                ..Pause::NEVER
            },
            56,
        ),
    ];
    for (pause, expected_step) in pauses {
        while time_loop.tick(&mut backend, &pause).unwrap() == Tick::Stepped {}
        println!("paused at step {} ({pause:?})", time_loop.progress().step);
        assert_eq!(time_loop.progress().step, expected_step, "{pause:?}");
        // Standing at the pause does nothing.
        assert_eq!(time_loop.tick(&mut backend, &pause).unwrap(), Tick::Paused);
    }
    assert!(time_loop.finish(&backend).is_err(), "finish before the end");
    while time_loop.tick(&mut backend, &Pause::NEVER).unwrap() == Tick::Stepped {}
    assert_eq!(time_loop.stopped(), Some(StopReason::MaxSteps));
    let ended = time_loop.finish(&backend).unwrap();
    assert_eq!(ended.steps, whole.steps);
    assert!(time_loop.finish(&backend).is_err(), "finished twice");
    for file in [
        "metrics.csv",
        "final.vti",
        "frames/frame_000001.png",
        "growth.gif",
    ] {
        assert!(
            read(&straight.join(file)) == read(&paused.join(file)),
            "{file} differs between the run paused four times and the run in one go"
        );
    }
}

#[test]
fn a_frame_due_where_the_run_resumes_is_the_uninterrupted_runs() {
    let mut cfg = capped_config(10_000);
    cfg.run.metrics_every_steps = 1;
    let root = tempfile::tempdir().unwrap();
    let (straight, split) = (root.path().join("straight"), root.path().join("split"));
    let whole = run(&cfg, &RunOptions::new(&straight)).expect("uninterrupted run");
    // Frame 1 is due at the first step whose charge reaches half the end charge.
    let half = 0.5 * cfg.run.end_charge_mah_cm2.unwrap() * mgpf::model::units::MAH_CM2_IN_C_M2;
    let at = whole
        .rows
        .iter()
        .find(|r| r.charge_c_m2 >= half - 1e-12 * half)
        .expect("the run passes half its charge")
        .step;
    let opts = RunOptions {
        stop_after_steps: Some(at),
        ..RunOptions::new(&split)
    };
    assert!(matches!(run(&cfg, &opts), Err(Error::Interrupted { .. })));
    assert!(!split.join("frames/frame_000001.png").exists());
    resume(None, &RunOptions::new(&split)).expect("resumed run");
    let (a, b) = (
        read(&straight.join("frames/frame_000001.png")),
        read(&split.join("frames/frame_000001.png")),
    );
    println!(
        "frame 1 due at step {at}, where the run resumed: identical {}",
        a == b
    );
    assert!(a == b, "frame 1 differs");
}

/// A 91-step passivating run to 0.005 mAh/cm² (dt capped at 0.4 s): frames at 0, ½ and the
/// end charge, a metrics row every 7 steps, a checkpoint every 25.
fn capped_config(max_steps: u64) -> Config {
    let mut cfg = Config::default_demo();
    cfg.grid.nx = 32;
    cfg.grid.ny = 32;
    cfg.initial.deposit_height_um = 3.0;
    cfg.interphase.preset = Preset::Passivating;
    cfg.numerics.max_dt_s = 0.4;
    cfg.run.end_charge_mah_cm2 = Some(0.005);
    cfg.run.max_steps = Some(max_steps);
    cfg.run.frames = 3;
    cfg.run.metrics_every_steps = 7;
    cfg.run.checkpoint_every_steps = 25;
    cfg
}

fn frame_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("frames"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn run_json(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&read(&dir.join("run.json"))).unwrap()
}

#[test]
fn a_run_capped_by_max_steps_resumes_with_a_higher_cap_as_if_never_capped() {
    // Step 66: past half the charge (the second half's mean is under way), between the frames
    // at ½ and at the end, off the metrics and checkpoint schedules.
    let cap = 66;
    let root = tempfile::tempdir().unwrap();
    let (straight, capped) = (root.path().join("straight"), root.path().join("capped"));
    let whole = run(&capped_config(10_000), &RunOptions::new(&straight)).expect("uncapped run");
    println!(
        "uncapped: {} steps, stopped by {:?}",
        whole.steps, whole.stopped_by
    );
    assert_eq!(whole.stopped_by, StopReason::EndCondition);
    assert!(whole.steps > cap + 10, "the end must lie well past the cap");

    let first = run(&capped_config(cap), &RunOptions::new(&capped)).expect("capped run");
    let json = run_json(&capped);
    println!(
        "capped: {} steps, stopped by {:?}; run.json stopped_by {}, frames {:?}",
        first.steps,
        first.stopped_by,
        json["stopped_by"],
        frame_names(&capped)
    );
    assert_eq!((first.steps, first.stopped_by), (cap, StopReason::MaxSteps));
    assert_eq!(json["stopped_by"], "max_steps");
    assert_eq!(run_json(&straight)["stopped_by"], "end_condition");
    // Frames at 0 and ½ as scheduled, plus the cap's own; every final output; a checkpoint at
    // the cap.
    assert_eq!(
        frame_names(&capped),
        ["frame_000000.png", "frame_000001.png", "frame_000002.png"]
    );
    for file in ["growth.gif", "voltage.png", "final.vti", "metrics.csv"] {
        assert!(capped.join(file).is_file(), "{file} missing after the cap");
    }
    let ck = mgpf::simulation::checkpoint::read(&capped).unwrap();
    println!(
        "checkpoint at step {} (expected {cap}), frame index {} (expected 2: the cap's frame is outside the schedule)",
        ck.progress.step, ck.progress.frame_index
    );
    assert_eq!((ck.progress.step, ck.progress.frame_index), (cap, 2));

    let overrides = ["run.max_steps=10000".to_string()];
    let resumed = resume_with(None, &overrides, &RunOptions::new(&capped)).expect("resumed run");
    println!(
        "resumed from step {} to {} (uncapped: {}), stopped by {:?}",
        resumed.first_step, resumed.steps, whole.steps, resumed.stopped_by
    );
    assert_eq!(
        (resumed.first_step, resumed.steps, resumed.stopped_by),
        (cap, whole.steps, StopReason::EndCondition)
    );
    // The cap's frame was overwritten by the frame due there: frames, metrics and fields are
    // the uncapped run's, byte for byte.
    let mut files = vec!["metrics.csv".to_string(), "final.vti".to_string()];
    files.extend(
        frame_names(&straight)
            .into_iter()
            .map(|f| format!("frames/{f}")),
    );
    assert_eq!(frame_names(&straight), frame_names(&capped));
    for file in &files {
        let (a, b) = (read(&straight.join(file)), read(&capped.join(file)));
        println!("{file}: identical {}", a == b);
        assert!(
            a == b,
            "{file} differs between the uncapped and the resumed run"
        );
    }
    let (a, b) = (run_json(&straight), run_json(&capped));
    println!(
        "final η {} vs {}; mean η, 2nd half {} vs {}",
        a["final"]["overpotential_v"],
        b["final"]["overpotential_v"],
        a["final"]["mean_overpotential_second_half_v"],
        b["final"]["mean_overpotential_second_half_v"]
    );
    assert_eq!(a["final"], b["final"]);
    assert_eq!(a["config"], b["config"]);
    assert_eq!(b["stopped_by"], "end_condition");
    assert_eq!(b["resumed_from_step"], cap);
    assert_eq!(
        whole.mean_overpotential_second_half_v.map(f64::to_bits),
        resumed.mean_overpotential_second_half_v.map(f64::to_bits)
    );
}

#[test]
fn resume_changes_only_the_cap_and_the_checkpoint_schedule() {
    let dir = tempfile::tempdir().unwrap();
    run(&capped_config(10), &RunOptions::new(dir.path())).expect("capped run");
    let msg = resume_with(
        None,
        &["grid.nx=64".to_string()],
        &RunOptions::new(dir.path()),
    )
    .expect_err("grid.nx cannot change")
    .to_string();
    println!("{msg}");
    assert!(
        msg.contains("--set grid.nx=64") && msg.contains("run.max_steps"),
        "{msg}"
    );
    // The run's config with another cap is still the run's config.
    let summary = resume_with(
        Some(&capped_config(12)),
        &["run.checkpoint_every_steps=5".to_string()],
        &RunOptions::new(dir.path()),
    )
    .expect("a config differing in run.max_steps resumes");
    println!("resumed to step {} (cap 12)", summary.steps);
    assert_eq!(summary.steps, 12);
}

/// f64 the default serde_json parser reads back one ulp off (found by a million-value sweep):
/// a checkpoint must give a resumed run its time, charge and second-half integral exactly.
#[test]
fn checkpoint_progress_round_trips_every_f64_bit() {
    let awkward = [
        3.9430133835633675e5,
        2.1291890726713459e-4,
        5.555682251934807e-8,
    ];
    let cfg = capped_config(10);
    let progress = mgpf::simulation::checkpoint::Progress {
        step: 7,
        time_s: awkward[0],
        charge_c_m2: awkward[1],
        inflow: awkward[2],
        frame_index: 1,
        last: None,
        rows: Vec::new(),
        csv: String::new(),
        second_half: Some(mgpf::simulation::SecondHalfCharge {
            potential_charge_v_c_m2: -awkward[0],
            charge_c_m2: awkward[1],
        }),
        field_frames: vec![(0, awkward[2]), (1, awkward[0])],
        cycling: Some(mgpf::simulation::cycling::CyclingState {
            phase_charge_c_m2: -awkward[1],
            plating_e_dq: awkward[0],
            ..Default::default()
        }),
    };
    let state = mgpf::backend::BackendState {
        fields: vec![("order_parameter".into(), mgpf::Field::zeros((8, 8, 1)))],
        scalars: vec![("dt".into(), awkward[2])],
    };
    let dir = tempfile::tempdir().unwrap();
    mgpf::simulation::checkpoint::write(dir.path(), &cfg, &progress, &state).unwrap();
    let back = mgpf::simulation::checkpoint::read(dir.path()).unwrap();
    let bits = |p: &mgpf::simulation::checkpoint::Progress| {
        let s = p.second_half.unwrap();
        [
            p.time_s,
            p.charge_c_m2,
            p.inflow,
            s.potential_charge_v_c_m2,
            s.charge_c_m2,
        ]
        .map(f64::to_bits)
    };
    println!(
        "written {:?}\nread    {:?}",
        bits(&progress),
        bits(&back.progress)
    );
    assert_eq!(bits(&progress), bits(&back.progress));
    assert_eq!(back.state.scalars, state.scalars);
    let frame_bits = |p: &mgpf::simulation::checkpoint::Progress| {
        p.field_frames
            .iter()
            .map(|&(n, t)| (n, t.to_bits()))
            .collect::<Vec<_>>()
    };
    assert_eq!(frame_bits(&progress), frame_bits(&back.progress));
}

#[test]
fn resume_refuses_a_different_config() {
    let cfg = short_config(40);
    let dir = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        stop_after_steps: Some(20),
        ..RunOptions::new(dir.path())
    };
    assert!(matches!(run(&cfg, &opts), Err(Error::Interrupted { .. })));
    let mut other = cfg.clone();
    other.noise.amplitude_per_s *= 2.0;
    let err = resume(Some(&other), &RunOptions::new(dir.path())).expect_err("config changed");
    let msg = err.to_string();
    println!("{msg}");
    assert!(
        msg.contains("the config differs from the one the run"),
        "{msg}"
    );
    // The run's own config (or the same one) is accepted.
    resume(Some(&cfg), &RunOptions::new(dir.path())).expect("same config resumes");
}

#[test]
fn a_damaged_checkpoint_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("checkpoint.bin"),
        b"not a checkpoint at all",
    )
    .unwrap();
    let msg = resume(None, &RunOptions::new(dir.path()))
        .unwrap_err()
        .to_string();
    println!("{msg}");
    assert!(msg.contains("not an mgpf checkpoint"), "{msg}");
    let empty = tempfile::tempdir().unwrap();
    let msg = resume(None, &RunOptions::new(empty.path()))
        .unwrap_err()
        .to_string();
    println!("{msg}");
    assert!(msg.contains("checkpoint.bin"), "{msg}");
}

#[test]
fn sigint_checkpoints_exits_130_and_the_run_resumes() {
    interrupt_and_resume("-INT", 130);
}

#[test]
fn sigterm_checkpoints_exits_143_and_the_run_resumes() {
    interrupt_and_resume("-TERM", 143);
}

fn interrupt_and_resume(signal: &str, code: i32) {
    let bin = env!("CARGO_BIN_EXE_mgpf");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/none.toml");
    let mut child = Command::new(bin)
        .args([
            "run",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args([
            "--set",
            "run.end_charge_mah_cm2=0.3",
            "--set",
            "run.frames=40",
        ])
        .spawn()
        .expect("start mgpf");
    // Wait until the time loop runs (its first frame is on disk), then interrupt it.
    let started = Instant::now();
    while !out.join("frames/frame_000001.png").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args([signal, &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    println!("exit status after kill {signal}: {status:?} (expected {code})");
    assert_eq!(status.code(), Some(code));
    assert!(
        out.join("checkpoint.bin").is_file(),
        "no checkpoint after {signal}"
    );
    let before = std::fs::read_to_string(out.join("metrics.csv"))
        .unwrap()
        .lines()
        .count();

    let resumed = Command::new(bin)
        .args(["run", "--resume", out.to_str().unwrap()])
        .output()
        .expect("resume mgpf");
    println!("resume: {}", String::from_utf8_lossy(&resumed.stdout));
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let last = csv.lines().last().unwrap();
    let charge: f64 = last.split(',').nth(2).unwrap().parse().unwrap();
    println!(
        "rows {before} before resume, {} after; final charge {charge:.1} C/m² (0.3 mAh/cm² = 10800)",
        csv.lines().count()
    );
    assert!(csv.lines().count() > before);
    assert!(
        (0.0..2e-3).contains(&(charge / 10800.0 - 1.0)),
        "final charge {charge}"
    );
    assert!(out.join("growth.gif").is_file() && out.join("run.json").is_file());
}

#[test]
fn truncated_or_corrupted_checkpoints_never_panic() {
    let cfg = short_config(12);
    let dir = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        stop_after_steps: Some(10),
        ..RunOptions::new(dir.path())
    };
    assert!(matches!(run(&cfg, &opts), Err(Error::Interrupted { .. })));
    let path = dir.path().join("checkpoint.bin");
    let good = read(&path);
    let scratch = tempfile::tempdir().unwrap();
    let mut failures = 0;
    // Every length from 0 to the header's end plus a sample of the data, and flipped bytes.
    let header_end = 20 + u64::from_le_bytes(good[12..20].try_into().unwrap()) as usize;
    let mut cases: Vec<Vec<u8>> = (0..header_end + 8).map(|n| good[..n].to_vec()).collect();
    cases.push(good[..good.len() - 1].to_vec());
    for k in (0..header_end).step_by(7) {
        let mut bad = good.clone();
        bad[k] ^= 0x5a;
        cases.push(bad);
    }
    for bytes in &cases {
        std::fs::write(scratch.path().join("checkpoint.bin"), bytes).unwrap();
        let outcome =
            std::panic::catch_unwind(|| mgpf::simulation::checkpoint::read(scratch.path()));
        match outcome {
            Err(_) => panic!("checkpoint reader panicked on {} bytes", bytes.len()),
            Ok(Err(_)) => failures += 1,
            Ok(Ok(_)) => {}
        }
    }
    println!(
        "{} damaged checkpoints, {failures} refused, none panicked",
        cases.len()
    );
    // The header's checksum covers every byte after the magic: no flip there is read.
    assert_eq!(
        failures,
        cases.len(),
        "every damaged checkpoint must be refused"
    );
}

/// An interrupted short run in `dir`: (the checkpoint's bytes, the fields it holds).
fn interrupted_checkpoint(dir: &Path) -> (Vec<u8>, Vec<String>) {
    let opts = RunOptions {
        stop_after_steps: Some(10),
        ..RunOptions::new(dir)
    };
    assert!(matches!(
        run(&short_config(12), &opts),
        Err(Error::Interrupted { .. })
    ));
    let names = mgpf::simulation::checkpoint::read(dir)
        .expect("a fresh checkpoint reads")
        .state
        .fields
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    (read(&dir.join("checkpoint.bin")), names)
}

#[test]
fn one_flipped_bit_in_any_section_is_refused_naming_the_section() {
    let dir = tempfile::tempdir().unwrap();
    let (good, names) = interrupted_checkpoint(dir.path());
    let json_end = 20 + u64::from_le_bytes(good[12..20].try_into().unwrap()) as usize;
    let data_start = json_end + 32;
    let field_len = (good.len() - data_start) / names.len();
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = |below: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % below as u64) as usize
    };
    // (section, byte) pairs: a byte of the header, of its checksum, and of each field.
    let mut cases = vec![
        ("header".to_string(), 20 + next(json_end - 20)),
        ("header".to_string(), json_end + next(32)),
    ];
    for (k, name) in names.iter().enumerate() {
        cases.push((
            format!("field `{name}`"),
            data_start + k * field_len + next(field_len),
        ));
    }
    let scratch = tempfile::tempdir().unwrap();
    for (section, byte) in cases {
        let bit = next(8);
        let mut bad = good.clone();
        bad[byte] ^= 1 << bit;
        std::fs::write(scratch.path().join("checkpoint.bin"), &bad).unwrap();
        let msg = match resume(None, &RunOptions::new(scratch.path())) {
            Ok(_) => panic!("bit {bit} of byte {byte} ({section}) flipped, and the run resumed"),
            Err(e) => e.to_string(),
        };
        println!("byte {byte} bit {bit} ({section}): {msg}");
        let expected = format!("damaged: the {section} fails its SHA-256 check");
        assert!(msg.contains(&expected), "expected `{expected}` in: {msg}");
    }
}

#[test]
fn every_f64_of_a_checkpoint_reads_back_bit_for_bit() {
    // serde_json's default float parser may land one ulp off (seen: the electrode potential
    // -0.013219489316512005 read back as ...007, so a resumed run drifted from the straight one).
    let dir = tempfile::tempdir().unwrap();
    interrupted_checkpoint(dir.path());
    let mut ck = mgpf::simulation::checkpoint::read(dir.path()).unwrap();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let values: Vec<f64> = std::iter::from_fn(|| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        Some(f64::from_bits(rng))
    })
    .filter(|v| v.is_finite())
    .take(2000)
    .chain([-0.013219489316512005])
    .collect();
    ck.state.scalars = values
        .iter()
        .enumerate()
        .map(|(k, &v)| (format!("s{k}"), v))
        .collect();
    ck.progress.time_s = -0.013219489316512005;
    let cfg = Config::from_toml_str(&ck.config_toml, "checkpoint").unwrap();
    mgpf::simulation::checkpoint::write(dir.path(), &cfg, &ck.progress, &ck.state).unwrap();
    let back = mgpf::simulation::checkpoint::read(dir.path()).unwrap();
    let off: Vec<(f64, f64)> = ck
        .state
        .scalars
        .iter()
        .zip(&back.state.scalars)
        .filter(|(a, b)| a.1.to_bits() != b.1.to_bits())
        .map(|(a, b)| (a.1, b.1))
        .collect();
    println!(
        "{} of {} values came back changed: {:?}",
        off.len(),
        values.len(),
        &off[..off.len().min(3)]
    );
    assert!(off.is_empty());
    assert_eq!(back.progress.time_s.to_bits(), ck.progress.time_s.to_bits());
}

#[test]
fn a_format_1_checkpoint_without_checksums_is_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let (good, _) = interrupted_checkpoint(dir.path());
    // Format 1: no field checksums in the header, no header checksum after it.
    let scratch = tempfile::tempdir().unwrap();
    edit_checkpoint_header(scratch.path(), &good, |_| {});
    let (new, old) = (
        mgpf::simulation::checkpoint::read(dir.path()).expect("format 2"),
        mgpf::simulation::checkpoint::read(scratch.path()).expect("format 1 is read, unchecked"),
    );
    println!(
        "format 1: {} bytes, step {}; format 2: {} bytes, step {}",
        std::fs::metadata(scratch.path().join("checkpoint.bin"))
            .unwrap()
            .len(),
        old.progress.step,
        good.len(),
        new.progress.step
    );
    assert_eq!(old.progress, new.progress);
    assert_eq!(old.state.fields, new.state.fields);
}

/// Rewrites the checkpoint in `dir` as format 1 (no checksums) with its header JSON edited.
fn edit_checkpoint_header(dir: &Path, good: &[u8], edit: impl FnOnce(&mut serde_json::Value)) {
    let json_end = 20 + u64::from_le_bytes(good[12..20].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&good[20..json_end]).unwrap();
    header.as_object_mut().unwrap().remove("field_sha256");
    edit(&mut header);
    let json = serde_json::to_vec(&header).unwrap();
    let mut old = b"MGPFCKPT".to_vec();
    old.extend_from_slice(&1u32.to_le_bytes());
    old.extend_from_slice(&(json.len() as u64).to_le_bytes());
    old.extend_from_slice(&json);
    old.extend_from_slice(&good[json_end + 32..]);
    std::fs::write(dir.join("checkpoint.bin"), &old).unwrap();
}

/// The morphology columns, appended after the areal Mg.
const MORPHOLOGY_COLUMNS: usize = 4;
/// The columns appended after them (`half_cycle`, `current_sign`).
const LATER_COLUMNS: usize = 2;

#[test]
fn a_checkpoint_from_before_the_morphology_columns_resumes_under_one_header() {
    let dir = tempfile::tempdir().unwrap();
    let (good, _) = interrupted_checkpoint(dir.path());
    // What an mgpf before the morphology metrics wrote: no `morphology` in the rows, four
    // columns fewer in metrics.csv (and none of the later two).
    edit_checkpoint_header(dir.path(), &good, |header| {
        let progress = &mut header["progress"];
        for row in progress["rows"].as_array_mut().unwrap() {
            row.as_object_mut().unwrap().remove("morphology");
        }
        let csv: String = progress["csv"]
            .as_str()
            .unwrap()
            .lines()
            .map(|line| {
                let fields: Vec<&str> = line.split(',').collect();
                fields[..fields.len() - MORPHOLOGY_COLUMNS - LATER_COLUMNS].join(",") + "\n"
            })
            .collect();
        progress["csv"] = csv.into();
    });
    let summary = resume(None, &RunOptions::new(dir.path())).expect("resumed run");
    let header = mgpf::simulation::METRICS_HEADER;
    let columns = header.split(',').count();
    let csv = std::fs::read_to_string(dir.path().join("metrics.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(header));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let widths: Vec<usize> = rows.iter().map(Vec::len).collect();
    println!("{} rows, widths {widths:?} (header {columns})", rows.len());
    assert!(widths.iter().all(|&w| w == columns));
    // Rows before the checkpoint (step 10): morphology empty in the csv, NaN in the summary;
    // rows after it: recorded.
    for (row, record) in rows.iter().zip(&summary.rows) {
        let step: u64 = row[0].parse().unwrap();
        let tail = &row[columns - MORPHOLOGY_COLUMNS - LATER_COLUMNS..columns - LATER_COLUMNS];
        println!("step {step}: {tail:?}, {:?}", record.morphology);
        assert_eq!(record.step, step);
        if step < 10 {
            assert!(tail.iter().all(|v| v.is_empty()));
            assert!(record.morphology.values().iter().all(|v| v.is_nan()));
        } else {
            let ratio: f64 = tail[0].parse().unwrap();
            assert!(ratio >= 1.0, "surface area ratio {ratio}");
            // Written with ten significant digits.
            assert!((ratio / record.morphology.surface_area_ratio - 1.0).abs() < 1e-9);
        }
    }
    assert!(rows.iter().any(|r| r[0].parse::<u64>().unwrap() >= 10));
}

#[test]
fn a_checkpoint_whose_metrics_columns_are_foreign_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (good, _) = interrupted_checkpoint(dir.path());
    edit_checkpoint_header(dir.path(), &good, |header| {
        let csv = header["progress"]["csv"]
            .as_str()
            .unwrap()
            .replacen("time_s", "when", 1);
        header["progress"]["csv"] = csv.into();
    });
    let before = std::fs::read(dir.path().join("metrics.csv")).unwrap();
    let err = resume(None, &RunOptions::new(dir.path()))
        .expect_err("a foreign header is refused")
        .to_string();
    println!("{err}");
    assert!(
        err.contains("metrics.csv") && err.contains("step,when"),
        "{err}"
    );
    assert_eq!(
        before,
        std::fs::read(dir.path().join("metrics.csv")).unwrap()
    );
}

#[test]
fn resume_removes_the_temporary_files_a_killed_run_left() {
    let dir = tempfile::tempdir().unwrap();
    interrupted_checkpoint(dir.path());
    // What SIGKILL in the middle of writing leaves: half a checkpoint and half a frame.
    let leftovers = ["checkpoint.bin.tmp", "frames/frame_000003.png.tmp"];
    for name in leftovers {
        std::fs::write(dir.path().join(name), b"half-writ").unwrap();
    }
    resume(None, &RunOptions::new(dir.path())).expect("resumed run");
    for name in leftovers {
        println!(
            "{name} after resume: exists = {}",
            dir.path().join(name).exists()
        );
        assert!(
            !dir.path().join(name).exists(),
            "{name} outlived the resume"
        );
    }
}

/// The seed of the kill moment: MGPF_KILL_SEED if set, else the clock.
fn kill_seed() -> u64 {
    std::env::var("MGPF_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
}

/// The files under `dir`, relative, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap();
                files.push(relative.to_string_lossy().into_owned());
            }
        }
    }
    files.sort();
    files
}

/// Every output a killed run left under its real name is whole: the checkpoint reads, each
/// frame decodes, every metrics row is complete.
fn assert_no_half_written_output(dir: &Path) {
    mgpf::simulation::checkpoint::read(dir).expect("the checkpoint a killed run left reads");
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap_or_default();
    let columns = mgpf::simulation::METRICS_HEADER.split(',').count();
    assert!(
        csv.is_empty() || csv.ends_with('\n'),
        "metrics.csv ends mid-row"
    );
    for line in csv.lines() {
        assert_eq!(line.split(',').count(), columns, "incomplete row: {line}");
    }
    for name in listing(dir) {
        if name.starts_with("frames/") && name.ends_with(".png") {
            image::open(dir.join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}

#[test]
fn sigkill_at_a_random_moment_then_resume_ends_bit_identical() {
    let bin = env!("CARGO_BIN_EXE_mgpf");
    let root = tempfile::tempdir().unwrap();
    // ~330 steps to 0.15 mAh/cm², a checkpoint every 10 and 8 frames over the run: a kill lands
    // between, or inside, writes of every kind.
    let mut cfg = short_config(2000);
    cfg.run.end_charge_mah_cm2 = Some(0.15);
    cfg.run.checkpoint_every_steps = 10;
    cfg.run.frames = 8;
    let config = root.path().join("kill.toml");
    std::fs::write(&config, cfg.to_toml_string()).unwrap();
    let start = |out: &Path| {
        Command::new(bin)
            .args(["run", config.to_str().unwrap(), "--out"])
            .arg(out)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start mgpf")
    };
    let straight = root.path().join("straight");
    let began = Instant::now();
    assert!(start(&straight).wait().unwrap().success());
    let wall = began.elapsed();

    let seed = kill_seed();
    println!("kill seed {seed} (MGPF_KILL_SEED={seed} replays it); straight run {wall:?}");
    let mut rng = seed | 1;
    let mut fraction = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng >> 11) as f64 / (1u64 << 53) as f64
    };
    // A moment after the first checkpoint (before it there is nothing to resume), a seeded
    // random fraction of the straight run's remaining time; if the run ends first, again.
    let mut split = root.path().join("split");
    let mut killed = false;
    for attempt in 0..4 {
        split = root.path().join(format!("split{attempt}"));
        let began = Instant::now();
        let mut child = start(&split);
        while !split.join("checkpoint.bin").exists() {
            assert!(began.elapsed() < Duration::from_secs(120), "no checkpoint");
            std::thread::sleep(Duration::from_millis(1));
        }
        let first_checkpoint = began.elapsed();
        let delay = wall
            .saturating_sub(first_checkpoint)
            .mul_f64(0.9 * fraction() / (1 << attempt) as f64);
        std::thread::sleep(delay);
        child.kill().unwrap();
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        println!(
            "attempt {attempt}: SIGKILL {delay:?} after the first checkpoint \
             ({first_checkpoint:?}): {status:?}"
        );
        if status.signal() == Some(9) {
            killed = true;
            break;
        }
    }
    assert!(killed, "the run always ended before the kill");
    let left = listing(&split);
    println!(
        "left by the killed run: {} files, temporary: {:?}",
        left.len(),
        left.iter()
            .filter(|f| f.ends_with(".tmp"))
            .collect::<Vec<_>>()
    );
    assert_no_half_written_output(&split);

    let resumed = Command::new(bin)
        .args(["run", "--resume"])
        .arg(&split)
        .output()
        .unwrap();
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let files = listing(&straight);
    assert_eq!(listing(&split), files, "the resumed run's files");
    for file in files.iter().filter(|f| *f != "run.json") {
        let (a, b) = (read(&straight.join(file)), read(&split.join(file)));
        println!("{file}: {} bytes, identical: {}", a.len(), a == b);
        assert!(a == b, "{file} differs after SIGKILL and --resume");
    }
    let summary = |dir: &Path| -> serde_json::Value {
        let json: serde_json::Value = serde_json::from_slice(&read(&dir.join("run.json"))).unwrap();
        serde_json::json!([json["steps"], json["final"]])
    };
    assert_eq!(
        summary(&split),
        summary(&straight),
        "run.json's final figures"
    );
}

/// A run on the CPU backend.
fn run(
    cfg: &mgpf::config::Config,
    opts: &RunOptions,
) -> mgpf::Result<mgpf::simulation::RunSummary> {
    mgpf::cli::run(cfg, mgpf::cli::BackendKind::Cpu, opts)
}

/// Resumes a run on the CPU backend.
fn resume(
    cfg: Option<&mgpf::config::Config>,
    opts: &RunOptions,
) -> mgpf::Result<mgpf::simulation::RunSummary> {
    resume_with(cfg, &[], opts)
}

/// Resumes a run on the CPU backend with `--set` overrides.
fn resume_with(
    cfg: Option<&mgpf::config::Config>,
    overrides: &[String],
    opts: &RunOptions,
) -> mgpf::Result<mgpf::simulation::RunSummary> {
    mgpf::cli::resume(cfg, overrides, mgpf::cli::BackendKind::Cpu, opts)
}

/// A checkpoint from before the heterogeneity was keyed by position cannot continue a run with
/// a heterogeneous layer (its field would change under the run); one with a uniform layer can.
#[test]
fn a_checkpoint_from_before_the_field_keyed_by_position_is_refused_where_it_matters() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = short_config(12);
    cfg.interphase.preset = mgpf::config::presets::Preset::Passivating;
    let opts = RunOptions {
        stop_after_steps: Some(10),
        ..RunOptions::new(dir.path())
    };
    assert!(matches!(run(&cfg, &opts), Err(Error::Interrupted { .. })));
    let good = read(&dir.path().join("checkpoint.bin"));
    edit_checkpoint_header(dir.path(), &good, |header| {
        header
            .as_object_mut()
            .unwrap()
            .remove("heterogeneity_by_position");
    });
    let err = resume(None, &RunOptions::new(dir.path()))
        .expect_err("refused")
        .to_string();
    println!("{err}");
    assert!(
        err.contains("keyed the interphase's heterogeneity by cell index"),
        "{err}"
    );
    // The same edit on a uniform layer's checkpoint (the tests above) resumes.
    let uniform = tempfile::tempdir().unwrap();
    let (good, _) = interrupted_checkpoint(uniform.path());
    edit_checkpoint_header(uniform.path(), &good, |header| {
        header
            .as_object_mut()
            .unwrap()
            .remove("heterogeneity_by_position");
    });
    resume(None, &RunOptions::new(uniform.path())).expect("a uniform layer resumes");
}
