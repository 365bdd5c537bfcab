//! Blow-up guards: a run whose fields leave their physical range stops with a message naming the
//! step, the field, the cell and the value, and exits non-zero.

use std::process::Command;

#[test]
fn runaway_noise_stops_the_run_with_the_offending_cell() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("blow");
    // A noise rate of 1000 /s kicks xi far outside [−0.1, 1.1] in the first step.
    let o = Command::new(env!("CARGO_BIN_EXE_mgpf"))
        .args(["run", "configs/none.toml", "--out", out.to_str().unwrap()])
        .args([
            "--set",
            "noise.amplitude_per_s=1000",
            "--set",
            "grid.nx=32",
            "--set",
            "grid.ny=32",
        ])
        .args(["--set", "initial.deposit_height_um=4"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    println!("exit {:?}, stderr: {err}", o.status.code());
    assert!(!o.status.success());
    assert!(
        err.contains("step 0") && err.contains("order_parameter = ") && err.contains("cell (i = "),
        "{err}"
    );
    assert!(!err.contains("panicked"));
    // The rows before the failure are kept.
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(csv.starts_with("step,time_s,"));
}
