//! `mgpf bench`: one row per case in bench.csv (the contract's header first) and bench.json, each
//! row's throughput the cells × steps over its wall time, its phase times within that wall time;
//! bad `--sizes` and `--presets` refused with the flag and what is allowed; one tiny case on the
//! GPU backend where an adapter exists.

mod gpu_common;

use std::path::Path;
use std::process::{Command, Output};

/// The columns bench.csv must begin with (a contract: columns may be added, never renamed).
const HEADER: &str = "backend,adapter,preset,variant,representation,nx,ny,nz,cells,steps,wall_s,\
                      mcell_steps_per_s,update_s,control_s,potential_solve_s,\
                      concentration_solve_s,other_s,copy_gb_s";

fn mgpf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mgpf"))
        .args(args)
        .output()
        .expect("mgpf runs")
}

/// The lines of a CSV file split on commas outside quotes.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let split = |line: &str| -> Vec<String> {
        let (mut fields, mut field, mut quoted) = (Vec::new(), String::new(), false);
        for ch in line.chars() {
            match ch {
                '"' => quoted = !quoted,
                ',' if !quoted => fields.push(std::mem::take(&mut field)),
                _ => field.push(ch),
            }
        }
        fields.push(field);
        fields
    };
    let mut lines = text.lines();
    let header = split(lines.next().expect("a header"));
    (header, lines.map(split).collect())
}

/// Runs the bench on `backend` and checks bench.csv and bench.json: one row per expected
/// (preset, variant), each consistent with itself; returns the CSV rows.
fn check_bench(backend: &str, presets: &str, expected: &[(&str, &str)]) -> Vec<Vec<String>> {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bench");
    let o = mgpf(&[
        "bench",
        "--backend",
        backend,
        "--sizes",
        "32",
        "--presets",
        presets,
        "--steps",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("M cell-steps/s") && stdout.contains("copy GB/s"),
        "{stdout}"
    );

    let (header, rows) = read_csv(&out.join("bench.csv"));
    assert!(
        header.join(",").starts_with(HEADER),
        "bench.csv header: {}",
        header.join(",")
    );
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let num = |row: &[String], name: &str| -> f64 {
        row[col(name)]
            .parse()
            .unwrap_or_else(|_| panic!("{name} = {}", row[col(name)]))
    };
    let got: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r[col("preset")].clone(), r[col("variant")].clone()))
        .collect();
    let want: Vec<(String, String)> = expected
        .iter()
        .map(|&(p, v)| (p.to_string(), v.to_string()))
        .collect();
    assert_eq!(got, want);
    for row in &rows {
        assert_eq!(row[col("backend")], backend);
        assert_eq!(row[col("representation")], "R1");
        assert_eq!(
            (num(row, "nx"), num(row, "ny"), num(row, "nz")),
            (32.0, 32.0, 1.0)
        );
        assert_eq!(num(row, "cells"), 1024.0);
        assert_eq!(num(row, "steps"), 3.0);
        let wall = num(row, "wall_s");
        let rate = num(row, "mcell_steps_per_s");
        assert!(wall > 0.0 && rate > 0.0, "{row:?}");
        let expected_rate = 1024.0 * 3.0 / wall / 1e6;
        assert!(
            (rate - expected_rate).abs() <= 1e-4 * expected_rate,
            "mcell_steps_per_s {rate} against cells·steps/wall_s/1e6 = {expected_rate}"
        );
        let phases: f64 = [
            "update_s",
            "control_s",
            "potential_solve_s",
            "concentration_solve_s",
            "other_s",
        ]
        .iter()
        .map(|name| {
            let t = num(row, name);
            assert!(t >= 0.0, "{name} = {t}");
            t
        })
        .sum();
        assert!(
            phases <= wall * 1.001 + 1e-6,
            "the phases sum to {phases} s, the wall time is {wall} s"
        );
        assert!(num(row, "copy_gb_s") > 0.0);
    }

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("bench.json")).unwrap()).unwrap();
    assert_eq!(json["mgpf_version"], env!("CARGO_PKG_VERSION"));
    assert!(json["date"].as_str().unwrap().ends_with('Z'));
    assert!(json["threads"].as_u64().unwrap() >= 1);
    assert_eq!(json["options"]["steps"], 3);
    assert_eq!(json["options"]["backend"], backend);
    let json_rows = json["rows"].as_array().unwrap();
    assert_eq!(json_rows.len(), rows.len());
    for (j, row) in json_rows.iter().zip(&rows) {
        for name in ["backend", "adapter", "preset", "variant", "representation"] {
            assert_eq!(j[name].as_str().unwrap(), row[col(name)], "{name}");
        }
        for name in [
            "cells",
            "steps",
            "wall_s",
            "mcell_steps_per_s",
            "update_s",
            "other_s",
            "copy_gb_s",
        ] {
            let (a, b) = (j[name].as_f64().unwrap(), num(row, name));
            assert!(
                (a - b).abs() <= 1e-6 * a.abs() + 1e-6,
                "{name}: {a} in bench.json, {b} in bench.csv"
            );
        }
    }
    rows
}

#[test]
fn cpu_bench_writes_one_row_per_case() {
    let rows = check_bench(
        "cpu",
        "none,passivating",
        &[
            ("none", "uniform"),
            ("passivating", "heterogeneous"),
            ("passivating", "uniform"),
        ],
    );
    assert!(rows
        .iter()
        .all(|r| r[1].starts_with("cpu: rayon, ") && r[1].ends_with(" threads")));
}

#[test]
fn gpu_bench_runs_a_tiny_case() {
    let Some(ctx) = gpu_common::gpu() else {
        return;
    };
    let rows = check_bench("gpu", "none", &[("none", "uniform")]);
    assert_eq!(rows[0][1], ctx.describe());
}

#[test]
fn bad_sizes_and_presets_are_refused_naming_the_flag() {
    let sizes = |bad: &str| {
        format!(
            "error: config error: `--sizes` = {bad} is not a grid size: N (an N × N grid), \
             NXxNY, Nc (an N × N × N cube) or NXxNYxNZ, each extent an even number in [16, \
             16384], e.g. --sizes 128,256,64c\n"
        )
    };
    let presets = "error: config error: `--presets` = foo is not a preset: one of none, \
                   passivating, bromine-rich, zeolite, bi-alloy\n";
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("never");
    let out = out.to_str().unwrap();
    for (args, message) in [
        (vec!["--sizes", "7"], sizes("7")),
        (vec!["--sizes", "abc"], sizes("abc")),
        (vec!["--sizes", "64,abc"], sizes("abc")),
        (vec!["--presets", "foo"], presets.to_string()),
        (
            vec!["--steps", "0"],
            "error: config error: `--steps` = 0 is outside the allowed range [1, ∞)\n".into(),
        ),
    ] {
        let mut all = vec!["bench", "--out", out];
        all.extend(&args);
        let o = mgpf(&all);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&o.stderr), message, "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
    assert!(!Path::new(out).exists(), "a refused bench writes nothing");
}
