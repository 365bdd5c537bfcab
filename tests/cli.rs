//! The command line as a user meets it: outputs of a run, refusals, error messages, exit codes.

use mgpf::config::presets::Preset;
use std::path::Path;
use std::process::{Command, Output};

fn mgpf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mgpf"))
        .args(args)
        .output()
        .expect("mgpf runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A small, fast run of the none preset: 32 x 32 cells, a few frames.
const SMALL: &[&str] = &[
    "--set",
    "grid.nx=32",
    "--set",
    "grid.ny=32",
    "--set",
    "initial.deposit_height_um=3.0",
    "--set",
    "run.frames=3",
    "--set",
    "run.end_charge_mah_cm2=0.002",
];

#[test]
fn presets_lists_all_five() {
    let o = mgpf(&["presets"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for name in ["none", "passivating", "bromine-rich", "zeolite", "bi-alloy"] {
        assert!(
            text.lines().any(|l| l.starts_with(name)),
            "preset {name} missing from:\n{text}"
        );
    }
}

/// Each preset's line states its ASR in the unit of its key, `asr_ohm_cm2`, at the value the
/// preset resolves to.
#[test]
fn presets_state_the_asr_in_ohm_cm2_as_the_key_does() {
    let o = mgpf(&["presets"]);
    let text = String::from_utf8_lossy(&o.stdout);
    for preset in Preset::ALL.into_iter().filter(|&p| p != Preset::None) {
        let line = text.lines().find(|l| l.starts_with(preset.name())).unwrap();
        let expected = format!("ASR {} Ω cm²", preset.defaults().asr_ohm_cm2);
        println!("{line}\n  expected to contain `{expected}`");
        assert!(line.contains(&expected), "{line}");
    }
    assert!(!text.contains("ohm m2"), "{text}");
}

#[test]
fn check_prints_groups_and_time_step() {
    let o = mgpf(&["check", "configs/passivating.toml"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", stderr(&o));
    for needle in ["Δx/δ", "Damköhler", "stable dt", "memory", "config OK"] {
        assert!(
            out.contains(needle),
            "`{needle}` missing from check output:\n{out}"
        );
    }
}

/// The resolved interphase is a table in the config's keys and units, not a debug dump.
#[test]
fn check_prints_the_resolved_interphase_in_the_configs_units() {
    let o = mgpf(&["check", "configs/passivating.toml"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", stderr(&o));
    let table: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("# resolved interphase"))
        .take_while(|l| !l.is_empty())
        .collect();
    println!("{}", table.join("\n"));
    let d = Preset::Passivating.defaults();
    for (key, value) in [
        ("asr_ohm_cm2", format!("{} Ω cm²", d.asr_ohm_cm2)),
        ("thickness_um", format!("{} µm", d.thickness_um)),
        ("blocked_fraction", format!("{}", d.blocked_fraction)),
        (
            "exchange_current_multiplier",
            format!("{}", d.exchange_current_multiplier),
        ),
    ] {
        let row = table
            .iter()
            .find(|l| l.trim_start().starts_with(key))
            .unwrap_or_else(|| panic!("no row for {key}"));
        let got = row.trim_start()[key.len()..].trim_start();
        println!("{key}: expected `{value}` first, got `{got}`");
        assert!(got.starts_with(&value), "{row}");
    }
    assert!(
        !out.contains("InterphaseSpec"),
        "debug dump left in:\n{out}"
    );
}

#[test]
fn check_warns_about_a_key_that_cannot_take_effect() {
    let o = mgpf(&["check", "configs/passivating.toml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    let o = mgpf(&[
        "check",
        "configs/passivating.toml",
        "--set",
        "interphase.thickness_um=0.5",
    ]);
    let err = stderr(&o);
    println!("stderr: {err}");
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(
            "warning: `interphase.thickness_um` has no effect: the interphase is sub-grid"
        ),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("config OK"));
}

#[test]
fn bad_config_exits_nonzero_naming_the_key_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    let o = mgpf(&[
        "run",
        "tests/bad_configs/odd-nx.toml",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = stderr(&o);
    println!("stderr: {err}");
    assert!(!o.status.success());
    assert!(err.contains("grid.nx"), "error must name the key: {err}");
    assert!(!err.contains("panicked"), "must not panic: {err}");
    assert!(
        !out.exists(),
        "a rejected config must not create the output directory"
    );
}

/// A potentiostatic run whose electrolyte's Ohmic drop outweighs its kinetics (V6's Li set:
/// −0.45 V over 180 µm with fast kinetics) would oscillate under the step's explicit coupling of
/// potential and reaction: with `numerics.potential_coupling = "explicit"` `run` refuses it
/// before anything is written, naming the numbers and the implicit coupling; `check` prints
/// the coupling number (and "auto" resolves to the implicit coupling, tests/potential_coupling.rs).
#[test]
fn a_migration_limited_potentiostatic_run_is_refused_with_its_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("li.toml");
    std::fs::write(
        &config,
        "[grid]\nnx = 400\nny = 8\ndx_um = 0.5\n[run]\nend_time_s = 10.0\n[metal]\npreset = \"li\"\n\
         [electrolyte]\ntemperature_k = 300.0\nconcentration_mol_m3 = 932.8\ndiffusivity_m2_s = 3.179e-10\n\
         [interface]\nexchange_current_ma_cm2 = 20000.0\n\
         [control]\nmode = \"potentiostatic\"\napplied_potential_v = -0.45\n\
         [initial]\ndeposit_height_um = 20.0\n",
    )
    .unwrap();
    let out = dir.path().join("never");
    let explicit = "numerics.potential_coupling=explicit";
    let o = mgpf(&[
        "run",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--set",
        explicit,
    ]);
    let err = stderr(&o);
    println!("stderr: {err}");
    assert!(!o.status.success());
    assert!(
        err.contains("`control.applied_potential_v` = -0.45 V drives a planar current of 276.4"),
        "{err}"
    );
    assert!(
        err.contains("numerics.potential_coupling = \"implicit\""),
        "{err}"
    );
    assert!(!out.exists());
    let o = mgpf(&["check", config.to_str().unwrap(), "--set", explicit]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(!o.status.success());
    assert!(
        text.contains("potentiostatic coupling at the start"),
        "{text}"
    );
    let o = mgpf(&["check", config.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        text.contains("R·∂i/∂E = 1258.27 (implicit coupling)"),
        "{text}"
    );
    // A potentiostatic Mg run at the demo's setting is far from the limit.
    let o = mgpf(&[
        "check",
        "configs/none.toml",
        "--set",
        "control.mode=potentiostatic",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("R·∂i/∂E = 0.0"));
}

#[test]
fn missing_config_file_is_a_clear_error() {
    let o = mgpf(&["check", "configs/does-not-exist.toml"]);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(err.contains("does-not-exist.toml"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn fixed_time_step_above_the_bound_is_refused_with_the_bound() {
    let o = mgpf(&["check", "configs/none.toml", "--set", "numerics.dt_s=100.0"]);
    let err = stderr(&o);
    println!("stderr: {err}");
    assert!(!o.status.success());
    assert!(
        err.contains("numerics.dt_s") && err.contains("stable time step"),
        "{err}"
    );
}

#[test]
fn run_writes_every_output_and_refuses_a_non_empty_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let out_s = out.to_str().unwrap();
    let mut args = vec!["run", "configs/none.toml", "--out", out_s];
    args.extend_from_slice(SMALL);
    let o = mgpf(&args);
    assert!(o.status.success(), "run failed: {}", stderr(&o));
    let summary = String::from_utf8_lossy(&o.stdout);
    println!("{summary}");
    for label in [
        "final: charge",
        " η ",
        "mean η over the 2nd half of the charge",
    ] {
        assert!(summary.contains(label), "`{label}` missing: {summary}");
    }
    for f in [
        "frames/frame_000000.png",
        "frames/frame_000002.png",
        "growth.gif",
        "metrics.csv",
        "voltage.png",
        "run.json",
        "final.vti",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(header.starts_with(
        "step,time_s,charge_c_m2,current_density_a_m2,overpotential_v,mean_height_m,max_height_m,roughness_m,mg_total_mol_m"
    ));
    assert!(csv.lines().count() >= 3);
    let morphology = [
        "surface_area_ratio",
        "fractal_dimension",
        "porosity",
        "tip_to_mean",
    ];
    assert!(
        header.ends_with(&format!("{},half_cycle,current_sign", morphology.join(","))),
        "{header}"
    );
    // A run without [cycling]: half-cycle 0, the sign of each row's current (0 before a step).
    let signs: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap())
        .collect();
    assert_eq!(signs[0], "0");
    assert!(signs[1..].iter().all(|&s| s == "1"), "{signs:?}");
    assert!(csv
        .lines()
        .skip(1)
        .all(|l| l.split(',').nth_back(1) == Some("0")));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    for name in morphology {
        println!("run.json final.{name} = {}", json["final"][name]);
        assert!(json["final"][name].is_number(), "final.{name}");
    }
    assert!(json["backend"].as_str().unwrap().starts_with("cpu"));
    assert_eq!(json["seed"], 42);
    assert!(json["wall_time_s"]["potential_solve"].is_number());
    assert!(no_tmp_files(&out), "temporary files left behind");

    // Same directory again without --force: refused, nothing touched.
    let before = std::fs::read(out.join("metrics.csv")).unwrap();
    let o = mgpf(&args);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(err.contains("--force"), "{err}");
    assert_eq!(before, std::fs::read(out.join("metrics.csv")).unwrap());
    // With --force it runs.
    args.push("--force");
    assert!(mgpf(&args).status.success());
}

/// The files under `dir`, relative, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = walk(dir)
        .iter()
        .map(|p| p.strip_prefix(dir).unwrap().to_string_lossy().into_owned())
        .collect();
    files.sort();
    files
}

#[test]
fn force_removes_an_earlier_runs_outputs_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    // An earlier run, interrupted with a checkpoint, and the user's own files beside it.
    let mut cfg = mgpf::config::Config::default_demo();
    (cfg.grid.nx, cfg.grid.ny) = (32, 32);
    cfg.initial.deposit_height_um = 3.0;
    cfg.run.frames = 40;
    cfg.run.checkpoint_every_steps = 10;
    let opts = mgpf::simulation::RunOptions {
        stop_after_steps: Some(30),
        ..mgpf::simulation::RunOptions::new(&out)
    };
    assert!(matches!(
        mgpf::cli::run(&cfg, mgpf::cli::BackendKind::Cpu, &opts),
        Err(mgpf::Error::Interrupted { .. })
    ));
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    std::fs::write(out.join("frames/sketch.png"), "mine too").unwrap();
    let before = listing(&out);
    println!("before: {before:?}");
    assert!(before.contains(&"checkpoint.bin".to_string()));

    // A --force run that fails validation deletes nothing.
    let o = mgpf(&[
        "run",
        "tests/bad_configs/odd-nx.toml",
        "--out",
        out.to_str().unwrap(),
        "--force",
    ]);
    assert!(!o.status.success());
    assert_eq!(
        listing(&out),
        before,
        "a refused config changed the directory"
    );

    // A --force run too short for a checkpoint of its own.
    let mut args = vec!["run", "configs/none.toml", "--out", out.to_str().unwrap()];
    args.extend_from_slice(SMALL);
    args.push("--force");
    let o = mgpf(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let after = listing(&out);
    println!("after:  {after:?}");
    let expected = [
        "fields.pvd",
        "fields/frame_000000.vti",
        "fields/frame_000001.vti",
        "fields/frame_000002.vti",
        "final.vti",
        "frames/frame_000000.png",
        "frames/frame_000001.png",
        "frames/frame_000002.png",
        "frames/sketch.png",
        "growth.gif",
        "metrics.csv",
        "notes.txt",
        "run.json",
        "voltage.png",
    ];
    assert_eq!(
        after, expected,
        "the earlier run's outputs must go, the user's stay"
    );
    assert_eq!(std::fs::read(out.join("notes.txt")).unwrap(), b"mine");
    assert_eq!(
        std::fs::read(out.join("frames/sketch.png")).unwrap(),
        b"mine too"
    );

    // So --resume has no earlier run to continue over the new one's outputs.
    let metrics = std::fs::read(out.join("metrics.csv")).unwrap();
    let o = mgpf(&["run", "--resume", out.to_str().unwrap()]);
    println!("resume: {}", stderr(&o));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("checkpoint.bin"), "{}", stderr(&o));
    assert_eq!(std::fs::read(out.join("metrics.csv")).unwrap(), metrics);
}

#[test]
fn demo_refuses_a_non_empty_directory_without_force() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let o = mgpf(&["demo", "--out", dir.path().to_str().unwrap()]);
    println!("exit {:?}: {}", o.status.code(), stderr(&o));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("is not empty (use --force"),
        "{}",
        stderr(&o)
    );
    assert_eq!(listing(dir.path()), ["notes.txt"]);
}

#[test]
fn demo_force_removes_an_earlier_demos_outputs_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    // An earlier demo's files (made here: the demo itself takes minutes), and the user's.
    let written = [
        "compare.gif",
        "compare.png",
        "voltage.png",
        "voltage.png.tmp",
        "none/metrics.csv",
        "none/run.json",
        "none/frames/frame_000000.png",
        "bi-alloy/checkpoint.bin",
        "bi-alloy/frames/frame_000012.png.tmp",
    ];
    let own = ["notes.txt", "none/mine.txt", "zeolite/frames/mine.png"];
    for name in written.iter().chain(&own) {
        let path = demo.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, name).unwrap();
    }
    let err = mgpf::simulation::rundir::prepare_demo_dir(&demo, false).expect_err("non-empty");
    println!("{err}");
    assert!(matches!(err, mgpf::Error::OutputNotEmpty(_)), "{err:?}");
    mgpf::simulation::rundir::prepare_demo_dir(&demo, true).expect("--force");
    let left = listing(&demo);
    println!("left: {left:?}");
    assert_eq!(
        left,
        ["none/mine.txt", "notes.txt", "zeolite/frames/mine.png"]
    );
    assert!(
        !demo.join("bi-alloy").exists(),
        "an emptied preset folder stays"
    );
}

fn no_tmp_files(dir: &Path) -> bool {
    walk(dir)
        .iter()
        .all(|p| !p.to_string_lossy().ends_with(".tmp"))
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(walk(&p));
        } else {
            v.push(p);
        }
    }
    v
}

#[test]
fn an_unwritable_output_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // A regular file where the output directory should go: creating it fails (as a read-only
    // or full disk would), and the error names the path instead of panicking.
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, b"").unwrap();
    let out = blocker.join("run");
    let o = mgpf(&["run", "configs/none.toml", "--out", out.to_str().unwrap()]);
    let err = stderr(&o);
    println!("exit {:?}: {err}", o.status.code());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("blocker") && !err.contains("panicked"),
        "{err}"
    );
}

#[test]
fn resume_needs_a_checkpoint_and_rejects_set_beyond_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let o = mgpf(&["run", "--resume", dir.path().to_str().unwrap()]);
    let err = stderr(&o);
    println!("{err}");
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("checkpoint.bin"), "{err}");
    let o = mgpf(&[
        "run",
        "--resume",
        dir.path().to_str().unwrap(),
        "--set",
        "grid.nx=8",
    ]);
    let err = stderr(&o);
    println!("{err}");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("--set grid.nx=8") && err.contains("run.max_steps"),
        "{err}"
    );
}

/// A run stopped by run.max_steps says so, exits 0, and `--resume DIR --set run.max_steps=N`
/// finishes it.
#[test]
fn a_run_stopped_by_max_steps_says_so_and_resumes_with_a_higher_cap() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("capped");
    let out_s = out.to_str().unwrap();
    let mut args = vec!["run", "configs/none.toml", "--out", out_s];
    args.extend_from_slice(SMALL);
    args.extend_from_slice(&["--set", "numerics.max_dt_s=1.0", "--set", "run.max_steps=3"]);
    let o = mgpf(&args);
    let err = stderr(&o);
    println!(
        "exit {:?}\n{err}{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(
        err.contains("stopped at run.max_steps = 3 before the end condition"),
        "{err}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(json["stopped_by"], "max_steps");
    let o = mgpf(&["run", "--resume", out_s, "--set", "run.max_steps=100000"]);
    let text = String::from_utf8_lossy(&o.stdout);
    println!("{}{text}", stderr(&o));
    assert!(o.status.success());
    assert!(text.contains("after resuming at step 3"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(json["stopped_by"], "end_condition");
}

/// Without a terminal (stderr piped, as in a log file or CI) a run prints plain progress lines.
#[test]
fn progress_without_a_terminal_is_plain_lines() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut args = vec!["run", "configs/none.toml", "--out", out.to_str().unwrap()];
    args.extend_from_slice(SMALL);
    args.extend_from_slice(&["--set", "numerics.max_dt_s=0.5"]);
    let o = Command::new(env!("CARGO_BIN_EXE_mgpf"))
        .args(&args)
        .env("MGPF_PROGRESS_INTERVAL_S", "0")
        .output()
        .expect("mgpf runs");
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("step ")).collect();
    println!(
        "{} progress lines, first and last:\n{}\n{}",
        lines.len(),
        lines[0],
        lines[lines.len() - 1]
    );
    assert!(lines.len() >= 10, "{err}");
    let mut last_step = 0;
    for line in &lines {
        // step N, t = T s, charge Q mAh/cm² (P % of 0.002), ETA ...
        let step: u64 = line["step ".len()..line.find(',').unwrap()]
            .parse()
            .unwrap();
        assert!(step > last_step, "{line}");
        last_step = step;
        for part in [", t = ", " s, charge ", " mAh/cm² (", " % of 0.002), ETA "] {
            assert!(line.contains(part), "`{part}` missing from `{line}`");
        }
    }
}

/// Mesa's device-select layer prints `error: XDG_RUNTIME_DIR is invalid…` twice where that
/// variable is unset; mgpf leaves the layer out, so `mgpf info` shows no such error.
#[test]
fn info_prints_no_error_without_xdg_runtime_dir() {
    let o = Command::new(env!("CARGO_BIN_EXE_mgpf"))
        .arg("info")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("NODEVICE_SELECT")
        .output()
        .expect("mgpf runs");
    let out = String::from_utf8_lossy(&o.stdout);
    let err = stderr(&o);
    println!("stdout:\n{out}stderr:\n{err}");
    assert!(o.status.success());
    if out.contains("no GPU adapter found") {
        eprintln!("skipping: no Vulkan driver, nothing loads the layer");
        return;
    }
    assert!(
        !err.lines().any(|l| l.starts_with("error:")),
        "an error line from a layer: {err}"
    );
}
