"""Configs, fields and errors: the documented shapes, dtypes and axis order; copies the caller
may change; the CLI's messages as ValueError; a missing GPU as RuntimeError."""

import os
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import mgpf
from conftest import REPO, cli, small_config


def test_fields_are_float32_copies_of_shape_nx_ny_with_x_the_growth_axis():
    cfg = small_config()
    sim = mgpf.Simulation(cfg)
    sim.step(3)
    fields = sim.fields()
    assert sorted(fields) == sorted(mgpf.FIELDS)
    nx, ny, nz = cfg.shape
    assert (nx, ny, nz) == (32, 48, 1)
    for name, a in fields.items():
        assert a.shape == (nx, ny) and a.dtype == np.float32, name
        assert a.flags["C_CONTIGUOUS"] and a.flags["WRITEABLE"], name
    xi = fields["order_parameter"]
    # Axis 0 runs from the collector (metal, ξ = 1) to the bulk face (electrolyte, ξ = 0).
    assert xi[0].min() > 0.9 and xi[-1].max() < 0.01
    assert np.all(np.diff(xi.mean(axis=1)) <= 1e-6)  # ξ falls from the collector outward
    front = (xi > 0.5).sum(axis=0) * cfg.dx_um  # metal height per lateral column (µm)
    assert abs(front.mean() - 3.0) < 0.5, front.mean()
    # c/c0 is 1 in the bulk.
    assert abs(fields["concentration"][-1].mean() - 1.0) < 1e-3
    # A copy: changing it leaves the simulation as it is.
    before = xi.copy()
    xi[:] = -7.0
    assert np.array_equal(sim.fields()["order_parameter"], before)


def test_fields_of_a_3d_run_have_shape_nx_ny_nz_and_match_its_npy_files(tmp_path):
    cfg = (
        mgpf.Config.from_file(REPO / "configs" / "3d" / "bromine-rich.toml")
        .set("grid.nx", 16)
        .set("grid.ny", 8)
        .set("grid.nz", 10)
        .set("initial.deposit_height_um", 1.5)
        .set("run.save_fields", ["npy"])
        .set("run.frames", 2)
    )
    sim = mgpf.Simulation(cfg, out=tmp_path / "run")
    sim.step(1)  # the first step writes frame 0 of the initial state before stepping
    fields = sim.fields()
    for name, a in fields.items():
        assert a.shape == (16, 8, 10) and a.dtype == np.float32, name
    frame0 = np.load(tmp_path / "run" / "fields" / "frame_000000_order_parameter.npy")
    assert frame0.shape == (16, 8, 10)
    xi = fields["order_parameter"]
    assert xi[0].min() > 0.9 and xi[-1].max() < 0.01
    assert np.all(np.diff(xi.mean(axis=(1, 2))) <= 1e-6)


def test_config_keys_and_values_are_checked_as_the_cli_checks_them(tmp_path, mgpf_bin):
    cfg = small_config()
    path = cfg.save(tmp_path / "small.toml")
    assert mgpf.Config.from_file(path).to_toml() == cfg.to_toml()
    assert cfg.get("grid.nx") == 32 and cfg.get("interphase.preset") == "bromine-rich"
    # A value out of range: the CLI's message, word for word.
    with pytest.raises(ValueError) as caught:
        cfg.set("interphase.asr_ohm_cm2", -1.0)
    done = cli(mgpf_bin, "check", path, "--set", "interphase.asr_ohm_cm2=-1.0")
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {caught.value}"
    assert "interphase.asr_ohm_cm2" in str(caught.value)
    # Refused changes leave the config as it was.
    assert cfg.get("interphase.asr_ohm_cm2") is None or cfg.get("interphase.asr_ohm_cm2") >= 0
    assert cfg.to_toml() == mgpf.Config.from_file(path).to_toml()
    with pytest.raises(ValueError, match="grid.nxx"):
        cfg.set("grid.nxx", 3)
    with pytest.raises(ValueError, match="grid.nx"):
        cfg.set("grid.nx", "many")
    with pytest.raises(ValueError, match="interphase.preset"):
        mgpf.Config.from_preset("granite")
    with pytest.raises(FileNotFoundError):
        mgpf.Config.from_file(tmp_path / "missing.toml")
    with pytest.raises(ValueError, match="backend"):
        mgpf.Simulation(cfg, backend="tpu")
    with pytest.raises(ValueError, match="allowed range"):
        mgpf.Simulation(cfg).step(-1)
    names = [name for name, _ in mgpf.presets()]
    assert names == ["none", "passivating", "bromine-rich", "zeolite", "bi-alloy"]


def test_a_simulation_refuses_an_output_directory_that_is_not_empty(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="force=True"):
        mgpf.Simulation(small_config(), out=tmp_path / "run")
    assert (tmp_path / "run" / "notes.txt").read_text() == "mine"


def test_a_missing_gpu_is_a_runtime_error():
    """With no Vulkan driver to be found, backend="gpu" raises RuntimeError naming the GPU."""
    code = (
        "import mgpf, sys\n"
        "from conftest import small_config\n"
        "try:\n"
        "    mgpf.Simulation(small_config(), backend='gpu')\n"
        "except RuntimeError as e:\n"
        "    print(e); sys.exit(0)\n"
        "sys.exit('no RuntimeError')\n"
    )
    env = dict(os.environ, VK_ICD_FILENAMES="/nonexistent/icd.json", VK_DRIVER_FILES="/nonexistent/icd.json", WGPU_BACKEND="vulkan")
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env,
        cwd=Path(__file__).parent,
    )
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("gpu: no GPU adapter found"), done.stdout
    assert 'backend="cpu"' in done.stdout


def gpu_or_skip(cfg):
    try:
        return mgpf.Simulation(cfg, backend="gpu")
    except RuntimeError as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no GPU adapter here ({e}); CI runs this on software Vulkan")


def test_the_gpu_backend_steps_from_python_as_the_cpu_does():
    cfg = small_config()
    gpu = gpu_or_skip(cfg)
    cpu = mgpf.Simulation(cfg)
    assert not gpu.backend.startswith("cpu"), gpu.backend
    gpu.step(5)
    cpu.step(5)
    g, c = gpu.fields(), cpu.fields()
    for name in ("order_parameter", "concentration"):
        assert g[name].shape == c[name].shape and g[name].dtype == np.float32
        diff = float(np.abs(g[name] - c[name]).max())
        print(f"{name}: max |gpu - cpu| after 5 steps = {diff:.2e} ({gpu.backend})")
        assert diff < 1e-3, name
    steps = gpu.metrics(dataframe=False)["step"]
    assert np.array_equal(steps, cpu.metrics(dataframe=False)["step"]) and steps[0] == 0


def test_auto_says_why_it_runs_on_the_cpu():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sim = mgpf.Simulation(small_config(), backend="auto")
    notices = [str(w.message) for w in caught if "backend='auto'" in str(w.message)]
    print(sim.backend, notices)
    if sim.backend.startswith("cpu"):
        assert len(notices) == 1 and notices[0].endswith("running on the CPU")
    else:
        assert notices == []


def test_run_until_says_so_when_the_run_ends_before_its_target():
    sim = mgpf.Simulation(small_config(0.01))
    with pytest.warns(UserWarning, match=r"ended \(end_condition.*before charge_mah_cm2 = 0.5"):
        sim.run_until(charge_mah_cm2=0.5, progress=False)
    assert sim.done and 0.01 <= sim.charge_mah_cm2 < 0.5


def test_a_run_that_fails_says_so_and_does_not_go_on(tmp_path):
    # 20 mA/cm² into a 8 µm box: the front reaches the bulk face and no potential within
    # control.max_overpotential_v carries the current any more.
    cfg = mgpf.Config.from_preset("none").set(
        {
            "grid.nx": 16,
            "grid.ny": 8,
            "initial.deposit_height_um": 3.5,
            "control.current_density_ma_cm2": 20.0,
            "run.end_charge_mah_cm2": 50.0,
            "run.max_steps": 100000,
        }
    )
    sim = mgpf.Simulation(cfg, out=tmp_path / "run")
    with pytest.raises(RuntimeError, match="solver failure at step") as failure:
        sim.run_until(progress=False)
    print(failure.value)
    assert not sim.done and (tmp_path / "run" / "metrics.csv").is_file()
    with pytest.raises(RuntimeError, match="cannot go on: solver failure at step"):
        sim.step(1)


def test_stepping_releases_the_gil():
    """Python threads run while a simulation steps on another one: the longest pause of a
    counting loop beside run_until stays far below a stepping call's 0.2 s."""
    sim = mgpf.Simulation(small_config(0.6))
    worker = threading.Thread(target=lambda: sim.run_until(progress=False))
    longest, count = 0.0, 0
    worker.start()
    last = time.perf_counter()
    while worker.is_alive():
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
        count += 1
    worker.join()
    print(f"counting loop beside run_until: {count} turns, longest pause {1e3 * longest:.1f} ms")
    assert sim.done and count > 1000
    assert longest < 0.1


def test_the_cpu_backend_takes_rayon_num_threads():
    code = "import mgpf; print(mgpf.Simulation(mgpf.Config.from_preset('none')).backend)"
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "cpu (rayon, 1 threads)"


def test_a_cycling_run_steps_from_python_and_refuses_a_charge_target(tmp_path):
    cfg = mgpf.Config.from_file(REPO / "configs" / "cycling.toml").set(
        {
            "grid.nx": 32,
            "grid.ny": 16,
            "initial.deposit_height_um": 3.0,
            "cycling.cycles": 1,
            "cycling.plating_capacity_mah_cm2": 0.02,
            "run.frames": 2,
        }
    )
    sim = mgpf.Simulation(cfg, out=tmp_path / "run")
    with pytest.raises(ValueError, match=r"\[cycling\]"):
        sim.run_until(charge_mah_cm2=0.01, progress=False)
    sim.run_until(progress=False)
    cycles = sim.cycles(dataframe=False)
    print({k: v.tolist() for k, v in cycles.items()})
    assert sim.done and cycles["cycle"].tolist() == [1]
    assert 0.5 < cycles["ce"][0] <= 1.0 + 1e-6


def test_a_gpu_run_stepped_in_pieces_is_the_gpu_run_straight():
    """Stopping between steps cuts the GPU's batches of steps short: the run stays the same."""
    cfg = small_config(0.03)
    straight = gpu_or_skip(cfg)
    straight.run_until(progress=False)
    pieces = gpu_or_skip(cfg)
    pieces.step(7)
    pieces.step(1)
    pieces.run_until(time_s=straight.time_s / 2, progress=False)
    pieces.step(3)
    pieces.run_until(progress=False)
    print(f"{straight.step_index} steps on {straight.backend}")
    assert pieces.step_index == straight.step_index
    for name in ("metrics.csv", "final.vti"):
        a, b = straight.out_dir / name, pieces.out_dir / name
        assert a.read_bytes() == b.read_bytes(), name
