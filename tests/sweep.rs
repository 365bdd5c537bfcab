//! `mgpf sweep` (issue 18, "What must hold"): a 2 × 2 sweep writes four ordinary point runs
//! and a sweep.csv whose rows are the points' own final metrics; re-running runs nothing, and
//! deleting one point re-runs only it; an interrupted sweep continues to the uninterrupted
//! result; `--plan`, two listed commands by hand and `--collect` give the same rows; an
//! ensemble's mean and spread in ensemble.csv are those of its runs' own metrics.csv.

use mgpf::cli::sweep::{self, SweepOptions};
use mgpf::study::points::Study;
use mgpf::study::spec::parse_vary;
use mgpf::study::stats::t_975;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tiny passivating run: 24 × 16 cells of 0.5 µm to 0.02 mAh/cm² (~30 steps), 3 frames.
const SMALL: &str = r#"
[grid]
nx = 24
ny = 16
dx_um = 0.5
[run]
end_charge_mah_cm2 = 0.02
frames = 3
[control]
mode = "galvanostatic"
current_density_ma_cm2 = 0.5
[interphase]
preset = "passivating"
"#;

const VARIES: [&str; 2] = [
    "interphase.asr_ohm_cm2=10,100",
    "control.current_density_ma_cm2=0.5,1",
];

fn config(dir: &Path) -> PathBuf {
    let path = dir.join("small.toml");
    std::fs::write(&path, SMALL).unwrap();
    path
}

fn study(config: &Path, varies: &[&str], seeds: Option<u32>) -> Study {
    let varies = varies.iter().map(|v| parse_vary(v).unwrap()).collect();
    Study::new(config, vec![], varies, false, seeds).unwrap()
}

/// A CSV as rows of (column → text).
fn read_csv(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(String::from))
                .collect()
        })
        .collect()
}

fn number(row: &std::collections::HashMap<String, String>, key: &str) -> f64 {
    row[key]
        .parse()
        .unwrap_or_else(|_| panic!("{key} = {:?} is not a number", row[key]))
}

/// The last row of a point's metrics.csv.
fn last_metrics(point_dir: &Path) -> std::collections::HashMap<String, String> {
    read_csv(&point_dir.join("metrics.csv")).pop().unwrap()
}

fn assert_close(what: &str, got: f64, want: f64, rel: f64) {
    assert!(
        (got - want).abs() <= rel * want.abs().max(1e-300),
        "{what}: {got} vs {want} (relative tolerance {rel:e})"
    );
}

/// The metrics sweep.csv and metrics.csv share, compared to metrics.csv's 10 digits.
const SHARED: [&str; 6] = [
    "time_s",
    "charge_c_m2",
    "overpotential_v",
    "mean_height_m",
    "max_height_m",
    "roughness_m",
];

fn modified(path: &Path) -> std::time::SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

#[test]
fn a_two_by_two_sweep_is_four_runs_and_reruns_only_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let s = study(&config(tmp.path()), &VARIES, None);
    let out = tmp.path().join("sweep");
    let opts = SweepOptions {
        jobs: 2,
        ..SweepOptions::new(&out)
    };
    let report = sweep::sweep(&s, &opts).unwrap();
    assert_eq!((report.ran, report.skipped), (4, 0));
    let rows = read_csv(&out.join("sweep.csv"));
    assert_eq!(rows.len(), 4);
    for (n, row) in rows.iter().enumerate() {
        let dir = out.join(format!("points/{n}"));
        for file in [
            "config.toml",
            "run.json",
            "metrics.csv",
            "growth.gif",
            "frames/frame_000002.png",
        ] {
            assert!(
                dir.join(file).exists(),
                "{} is missing",
                dir.join(file).display()
            );
        }
        assert_eq!(row["status"], "finished");
        assert_eq!(row["dir"], format!("points/{n}"));
        let last = last_metrics(&dir);
        assert_eq!(row["steps"], last["step"], "point {n}");
        for key in SHARED {
            assert_close(
                &format!("point {n} {key}"),
                number(row, key),
                number(&last, key),
                1e-9,
            );
        }
    }
    // The grid: the last --vary fastest.
    let values: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["interphase.asr_ohm_cm2"].clone(),
                r["control.current_density_ma_cm2"].clone(),
            )
        })
        .collect();
    assert_eq!(
        values,
        [("10", "0.5"), ("10", "1"), ("100", "0.5"), ("100", "1")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    // The map and the montage open in an image reader; the GIF has a frame per frame of the runs.
    for picture in ["map.png", "montage.png", "montage.gif"] {
        let img = image::open(out.join(picture))
            .unwrap_or_else(|e| panic!("{picture}: {e}"))
            .to_rgb8();
        assert!(
            img.width() > 200 && img.height() > 150,
            "{picture}: {:?}",
            img.dimensions()
        );
    }
    let gif = std::fs::File::open(out.join("montage.gif")).unwrap();
    let decoder = image::codecs::gif::GifDecoder::new(std::io::BufReader::new(gif)).unwrap();
    let frames = image::AnimationDecoder::into_frames(decoder).count();
    assert_eq!(frames, 3, "montage.gif: one frame per frame of the runs");
    // Each point is an ordinary run: its config is the base with its values.
    let cfg = mgpf::config::Config::from_path(&out.join("points/3/config.toml")).unwrap();
    assert_eq!(cfg.interphase.asr_ohm_cm2, Some(100.0));
    assert_eq!(cfg.control.current_density_ma_cm2, 1.0);

    // Again: nothing runs, nothing is rewritten.
    let stamps: Vec<_> = (0..4)
        .map(|n| modified(&out.join(format!("points/{n}/run.json"))))
        .collect();
    let again = sweep::sweep(&s, &opts).unwrap();
    assert_eq!((again.ran, again.skipped), (0, 4));
    for (n, stamp) in stamps.iter().enumerate() {
        assert_eq!(
            modified(&out.join(format!("points/{n}/run.json"))),
            *stamp,
            "point {n}"
        );
    }
    // Without point 2's outputs, only point 2 runs, to the same result.
    std::fs::remove_dir_all(out.join("points/2")).unwrap();
    let third = sweep::sweep(&s, &opts).unwrap();
    assert_eq!((third.ran, third.skipped), (1, 3));
    for n in [0, 1, 3] {
        assert_eq!(
            modified(&out.join(format!("points/{n}/run.json"))),
            stamps[n],
            "point {n}"
        );
    }
    let rerun = read_csv(&out.join("sweep.csv"));
    for key in SHARED {
        assert_eq!(
            rerun[2][key], rows[2][key],
            "point 2 {key} after its re-run"
        );
    }

    // Another study in the same directory is refused, naming the point that differs.
    let other = study(
        &config(tmp.path()),
        &["interphase.asr_ohm_cm2=10,1000", VARIES[1]],
        None,
    );
    let e = sweep::sweep(&other, &opts).unwrap_err().to_string();
    assert!(
        e.contains("is not the config of point 2 (interphase.asr_ohm_cm2=1000, control.current_density_ma_cm2=0.5) in this study"),
        "{e}"
    );
}

#[test]
fn an_interrupted_sweep_continues_to_the_uninterrupted_result() {
    let tmp = tempfile::tempdir().unwrap();
    let s = study(&config(tmp.path()), &VARIES[..1], None);
    let reference = tmp.path().join("reference");
    sweep::sweep(&s, &SweepOptions::new(&reference)).unwrap();

    let out = tmp.path().join("interrupted");
    let stopped = SweepOptions {
        stop_after_steps: Some(12),
        ..SweepOptions::new(&out)
    };
    let e = sweep::sweep(&s, &stopped).unwrap_err();
    assert!(
        matches!(e, mgpf::Error::StudyInterrupted { signal: 2, .. }),
        "{e}"
    );
    // The first point checkpointed, the second never started.
    assert!(out.join("points/0/checkpoint.bin").exists());
    assert!(!out.join("points/0/run.json").exists());
    assert!(!out.join("points/1/metrics.csv").exists());
    let rows = read_csv(&out.join("sweep.csv"));
    assert_eq!(
        (rows[0]["status"].as_str(), rows[1]["status"].as_str()),
        ("interrupted", "pending")
    );

    let report = sweep::sweep(&s, &SweepOptions::new(&out)).unwrap();
    assert_eq!((report.ran, report.skipped), (2, 0));
    let want = read_csv(&reference.join("sweep.csv"));
    let got = read_csv(&out.join("sweep.csv"));
    for n in 0..2 {
        for key in SHARED.iter().chain(&["steps", "status"]) {
            assert_eq!(got[n][*key], want[n][*key], "point {n} {key}");
        }
    }
}

#[test]
fn a_plan_run_by_hand_and_collected_gives_the_sweeps_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(tmp.path());
    let s = study(&config, &VARIES, None);
    let reference = tmp.path().join("reference");
    sweep::sweep(&s, &SweepOptions::new(&reference)).unwrap();

    let out = tmp.path().join("planned");
    let mgpf = env!("CARGO_BIN_EXE_mgpf");
    let mut plan = Command::new(mgpf);
    plan.arg("sweep").arg(&config);
    for v in VARIES {
        plan.args(["--vary", v]);
    }
    let o = plan.arg("--plan").arg("--out").arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let commands = std::fs::read_to_string(out.join("commands.txt")).unwrap();
    let lines: Vec<&str> = commands.lines().collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines[1],
        format!(
            "mgpf run {0}/points/1/config.toml --out {0}/points/1 --force --backend cpu",
            out.display()
        )
    );
    let slurm = std::fs::read_to_string(out.join("slurm.sh")).unwrap();
    assert!(slurm.contains("#SBATCH --array=0-3"), "{slurm}");
    for n in [0, 2] {
        let words: Vec<&str> = lines[n].split_whitespace().collect();
        assert_eq!(words[0], "mgpf");
        let o = Command::new(mgpf).args(&words[1..]).output().unwrap();
        assert!(
            o.status.success(),
            "{}: {}",
            lines[n],
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let o = Command::new(mgpf)
        .args(["sweep", "--collect"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = read_csv(&reference.join("sweep.csv"));
    let got = read_csv(&out.join("sweep.csv"));
    for n in [0, 2] {
        for key in SHARED.iter().chain(&["steps", "status"]) {
            assert_eq!(got[n][*key], want[n][*key], "point {n} {key}");
        }
    }
    for n in [1, 3] {
        assert_eq!(got[n]["status"], "pending");
        assert_eq!(got[n]["roughness_m"], "");
    }
}

#[test]
fn an_ensembles_mean_and_spread_are_those_of_its_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let s = study(&config(tmp.path()), &VARIES[..1], Some(3));
    assert_eq!(s.points.len(), 6);
    let out = tmp.path().join("ensemble");
    sweep::sweep(
        &s,
        &SweepOptions {
            jobs: 2,
            ..SweepOptions::new(&out)
        },
    )
    .unwrap();
    let ensembles = read_csv(&out.join("ensemble.csv"));
    assert_eq!(ensembles.len(), 2);
    for (e, row) in ensembles.iter().enumerate() {
        assert_eq!((row["runs"].as_str(), row["finished"].as_str()), ("3", "3"));
        for key in ["roughness_m", "overpotential_v", "mean_height_m"] {
            // From the runs' own metrics.csv: points 3e, 3e + 1, 3e + 2 (seeds 42, 43, 44).
            let v: Vec<f64> = (0..3)
                .map(|k| {
                    number(
                        &last_metrics(&out.join(format!("points/{}", 3 * e + k))),
                        key,
                    )
                })
                .collect();
            let mean = v.iter().sum::<f64>() / 3.0;
            let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
            let ci = t_975(2) * std / 3f64.sqrt();
            assert_close(
                &format!("ensemble {e} {key} mean"),
                number(row, &format!("{key}_mean")),
                mean,
                1e-8,
            );
            assert_close(
                &format!("ensemble {e} {key} std"),
                number(row, &format!("{key}_std")),
                std,
                1e-6,
            );
            assert_close(
                &format!("ensemble {e} {key} ci95"),
                number(row, &format!("{key}_ci95")),
                ci,
                1e-6,
            );
            assert!(std > 0.0, "the seeds give different runs ({key}: {v:?})");
        }
    }
    let seeds: Vec<String> = read_csv(&out.join("sweep.csv"))
        .iter()
        .map(|r| r["run.seed"].clone())
        .collect();
    assert_eq!(seeds, ["42", "43", "44", "42", "43", "44"]);
    // One numeric key: the map is a line plot of the ensemble means.
    assert!(image::open(out.join("map.png")).is_ok());
}

#[test]
fn a_bad_point_is_reported_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bad");
    let mgpf = env!("CARGO_BIN_EXE_mgpf");
    let run = |args: &[&str]| {
        let o = Command::new(mgpf)
            .arg("sweep")
            .arg(config(tmp.path()))
            .args(args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2));
        String::from_utf8(o.stderr).unwrap()
    };
    let e = run(&["--vary", "grid.ny=16,0"]);
    assert!(
        e.starts_with("error: point 1 (grid.ny=0): config error: `grid.ny`"),
        "{e}"
    );
    let e = run(&["--vary", "interphase.asr=1"]);
    assert!(
        e.starts_with("error: point 0 (interphase.asr=1): config error in ")
            && e.contains("`interphase.asr`: unknown field `asr`"),
        "{e}"
    );
    let e = run(&["--vary", "grid.ny=lin:16..32"]);
    assert_eq!(
        e,
        "error: config error: `--vary grid.ny=lin:16..32` has a range that is not lin:START..END:COUNT (e.g. lin:0.1..2:5)\n"
    );
    let e = run(&["--vary", "grid.ny=16", "--metric", "height"]);
    assert!(
        e.starts_with("error: config error: `--metric` = height is not a sweep.csv metric"),
        "{e}"
    );
    assert!(!out.exists(), "nothing was written");
}

/// The physics the map must show (issue 18): at a fixed current, the deposit roughens as the
/// layer's resistance rises. The passivating layer's log-normal ASR (σ_ln = 1.5, ℓ_c = 4.4 µm,
/// blocking off to isolate the conductance) at 1, 30 and 1000 Ω cm² against the kinetic
/// resistance of its exchange current (~1300 Ω cm² near equilibrium): where the ASR is small the
/// current spreads evenly, where it dominates the current follows the layer's conductance.
/// 40 × 64 cells of 0.5 µm to 0.3 mAh/cm² at 0.5 mA/cm², 8 seeds per point: the ensembles' 95 %
/// intervals of the mean must be disjoint and in order. Measured over 1–10⁴ Ω cm²: 0.024 ± 0.011,
/// 0.196 ± 0.094, 0.653 ± 0.210 µm at these three; 0.516 ± 0.178 and 0.753 ± 0.243 µm at 300
/// and 10⁴ Ω cm², whose intervals overlap (the roughness saturates where the ASR dominates).
#[test]
fn roughness_rises_with_the_layers_asr_beyond_the_ensembles_spread() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("asr.toml");
    std::fs::write(
        &path,
        r#"
[grid]
nx = 40
ny = 64
dx_um = 0.5
[run]
end_charge_mah_cm2 = 0.3
frames = 2
checkpoint_every_steps = 0
[control]
mode = "galvanostatic"
current_density_ma_cm2 = 0.5
[interphase]
preset = "passivating"
blocked_fraction = 0.0
"#,
    )
    .unwrap();
    let s = study(&path, &["interphase.asr_ohm_cm2=1,30,1000"], Some(8));
    let out = tmp.path().join("asr");
    let report = sweep::sweep(
        &s,
        &SweepOptions {
            jobs: 2,
            ..SweepOptions::new(&out)
        },
    )
    .unwrap();
    let ensembles = mgpf::study::table::ensembles(&s, &report.rows);
    let k = mgpf::study::table::metric_index("roughness_m").unwrap();
    let spread: Vec<(f64, f64)> = ensembles
        .iter()
        .map(|e| {
            let m = &e.metrics[k];
            assert_eq!(e.finished, 8, "ASR {:?}: every seed finishes", e.values);
            (m.mean.unwrap() * 1e6, m.ci95_half_width.unwrap() * 1e6)
        })
        .collect();
    for (e, (mean, half)) in ensembles.iter().zip(&spread) {
        println!(
            "ASR {} Ω cm²: roughness {mean:.3} ± {half:.3} µm (mean of 8 seeds ± 95 % interval)",
            e.values[0]
        );
    }
    for pair in spread.windows(2) {
        let ((low, low_half), (high, high_half)) = (pair[0], pair[1]);
        assert!(
            high - high_half > low + low_half,
            "roughness {high:.3} ± {high_half:.3} µm does not exceed {low:.3} ± {low_half:.3} µm beyond the spread"
        );
    }
}
