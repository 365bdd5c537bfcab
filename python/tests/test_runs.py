"""A run through Python is the run of the command line, bit for bit: stepped in pieces, saved,
resumed, interrupted with Ctrl-C, or run with mgpf.run; and mgpf.sweep is mgpf sweep."""

import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import mgpf
from conftest import cli, small_config

FIELD_FILES = ("order_parameter", "concentration", "potential", "plating_rate")


def same_bytes(a: Path, b: Path) -> bool:
    return a.read_bytes() == b.read_bytes()


def assert_same_run(reference: Path, other: Path, label: str) -> None:
    """metrics.csv, final.vti and every frame's .npy fields byte for byte."""
    assert same_bytes(reference / "metrics.csv", other / "metrics.csv"), f"{label}: metrics.csv"
    assert same_bytes(reference / "final.vti", other / "final.vti"), f"{label}: final.vti"
    npys = sorted(p.name for p in (reference / "fields").glob("*.npy"))
    assert len(npys) == 4 * len(FIELD_FILES)
    assert npys == sorted(p.name for p in (other / "fields").glob("*.npy")), label
    for name in npys:
        assert same_bytes(reference / "fields" / name, other / "fields" / name), f"{label}: {name}"


@pytest.fixture(scope="module")
def reference(tmp_path_factory, mgpf_bin):
    """The small config's run by `mgpf run CONFIG --out DIR`."""
    root = tmp_path_factory.mktemp("reference")
    config = small_config().save(root / "small.toml")
    out = root / "cli"
    done = cli(mgpf_bin, "run", config, "--out", out)
    assert done.returncode == 0, done.stderr
    rows = (out / "metrics.csv").read_text().count("\n") - 1
    print(f"reference run: {rows} metrics rows; {done.stdout.strip()}")
    return config, out


def test_mgpf_run_writes_what_the_cli_writes(reference, tmp_path):
    config, cli_out = reference
    summary = mgpf.run(config, out=tmp_path / "py", progress=False)
    assert summary["steps"] > 0
    assert_same_run(cli_out, tmp_path / "py", "mgpf.run")


def test_a_simulation_stepped_in_pieces_and_saved_is_the_cli_run(reference, tmp_path):
    config, cli_out = reference
    sim = mgpf.Simulation(mgpf.Config.from_file(config))
    assert sim.step(7) == 7 and sim.step_index == 7
    assert sim.step(0) == 0
    sim.run_until(charge_mah_cm2=0.05, progress=False)
    assert sim.charge_mah_cm2 >= 0.05 and not sim.done
    half = sim.step_index
    sim.run_until(time_s=sim.time_s * 1.5, progress=False)
    assert sim.step_index > half
    sim.run_until(progress=True)  # to the end, with the progress display on
    assert sim.done and sim.stop_reason == "end_condition"
    with pytest.raises(RuntimeError, match="has ended"):
        sim.step(1)
    saved = sim.save(tmp_path / "saved")
    assert_same_run(cli_out, saved, "Simulation stepped in pieces")
    # fields() at the end is the last frame's fields (the frame due at the end).
    fields = sim.fields()
    for name in FIELD_FILES:
        on_disk = np.load(cli_out / "fields" / f"frame_000003_{name}.npy")
        assert np.array_equal(fields[name], on_disk[:, :, 0]), name
    # metrics() holds metrics.csv's columns and values.
    m = sim.metrics(dataframe=False)
    header = (cli_out / "metrics.csv").read_text().splitlines()[0].split(",")
    assert list(m) == header
    table = np.genfromtxt(cli_out / "metrics.csv", delimiter=",", names=True, dtype=None)
    assert np.array_equal(m["step"], table["step"]) and m["step"].dtype == np.int64
    assert np.array_equal(m["overpotential_v"], table["overpotential_v"])
    assert sim.summary()["final"]["mean_height_m"] > 0


def test_save_then_resume_goes_on_to_the_cli_run_in_python_and_on_the_cli(
    reference, tmp_path, mgpf_bin
):
    config, cli_out = reference
    sim = mgpf.Simulation(mgpf.Config.from_file(config))
    sim.step(43)
    saved = sim.save(tmp_path / "mid")
    assert (saved / "checkpoint.bin").is_file()
    with pytest.raises(FileExistsError, match="force=True"):
        sim.save(saved)  # refused: a saved run is there
    copy = sim.save(tmp_path / "mid-copy")
    # Python resumes one copy, the command line the other.
    resumed = mgpf.Simulation.resume(saved)
    assert resumed.step_index == 43
    resumed.run_until(progress=False)
    assert_same_run(cli_out, saved, "Simulation.resume")
    done = cli(mgpf_bin, "run", "--resume", copy)
    assert done.returncode == 0, done.stderr
    assert_same_run(cli_out, copy, "mgpf run --resume of a Python save")
    # The simulation that was saved goes on as well.
    sim.run_until(progress=False)
    assert_same_run(cli_out, sim.out_dir, "the saved simulation, gone on")


def test_ctrl_c_stops_run_until_between_steps_and_the_run_goes_on_unchanged(
    tmp_path, mgpf_bin
):
    # A run of some 600 steps, so that Ctrl-C lands in the middle of run_until.
    config = small_config(0.6).save(tmp_path / "longer.toml")
    done = cli(mgpf_bin, "run", config, "--out", tmp_path / "cli")
    assert done.returncode == 0, done.stderr
    sim = mgpf.Simulation(mgpf.Config.from_file(config))
    sim.step(30)

    def ctrl_c() -> None:
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=ctrl_c, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        sim.run_until(progress=False)
    stopped_at = sim.step_index
    steps = json.loads((tmp_path / "cli" / "run.json").read_text())["steps"]
    print(f"Ctrl-C stopped run_until at step {stopped_at} of {steps}")
    assert 30 < stopped_at < steps and not sim.done
    assert np.isfinite(sim.fields()["order_parameter"]).all()
    sim.run_until(progress=False)
    assert sim.done and sim.step_index == steps
    assert_same_run(tmp_path / "cli", sim.out_dir, "interrupted by Ctrl-C, then gone on")


def test_mgpf_sweep_writes_what_the_cli_writes(tmp_path, mgpf_bin):
    config = small_config(0.005).set("run.frames", 2).save(tmp_path / "small.toml")
    vary = "interphase.asr_ohm_cm2=10,1000"
    done = cli(mgpf_bin, "sweep", config, "--vary", vary, "--out", tmp_path / "cli")
    assert done.returncode == 0, done.stderr
    table = mgpf.sweep(config, vary, out=tmp_path / "py", dataframe=False)
    assert list(table["interphase.asr_ohm_cm2"]) == [10.0, 1000.0]
    assert list(table["status"]) == ["finished", "finished"]
    # sweep.csv as the CLI writes it, but for the points' wall times.
    def without_wall_time(path: Path) -> list:
        rows = [line.split(",") for line in path.read_text().splitlines()]
        n = rows[0].index("wall_time_s")
        return [r[:n] + r[n + 1 :] for r in rows]

    assert without_wall_time(tmp_path / "cli" / "sweep.csv") == without_wall_time(
        tmp_path / "py" / "sweep.csv"
    )
    for point in ("0", "1"):
        for name in ("metrics.csv", "final.vti"):
            a = tmp_path / "cli" / "points" / point / name
            b = tmp_path / "py" / "points" / point / name
            assert same_bytes(a, b), f"point {point}: {name}"
