"""Shared fixtures: the mgpf command line the Python runs are compared with, and small configs."""

import os
import subprocess
from pathlib import Path

import pytest

import mgpf

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def mgpf_bin() -> Path:
    """The `mgpf` binary of this checkout: $MGPF_BIN, else the newer of target/{release,debug}/mgpf,
    else built with `cargo build --bin mgpf`."""
    if os.environ.get("MGPF_BIN"):
        return Path(os.environ["MGPF_BIN"])
    built = [REPO / "target" / p / "mgpf" for p in ("release", "debug")]
    built = [b for b in built if b.is_file()]
    if built:
        return max(built, key=lambda b: b.stat().st_mtime)  # the newer build
    subprocess.run(["cargo", "build", "--bin", "mgpf"], cwd=REPO, check=True)
    return REPO / "target" / "debug" / "mgpf"


def cli(mgpf_bin: Path, *args: str) -> subprocess.CompletedProcess:
    """Runs the mgpf command line; returns its result (not checked)."""
    return subprocess.run(
        [str(mgpf_bin), *map(str, args)], capture_output=True, text=True, cwd=REPO
    )


def small_config(end_charge_mah_cm2: float = 0.1) -> mgpf.Config:
    """A short 2D run beneath the bromine-rich layer (noise, the galvanostatic search, both
    solves): 32 × 48 cells to `end_charge_mah_cm2`, rows every 5 steps, 4 frames with .npy
    fields."""
    return (
        mgpf.Config.from_preset("bromine-rich")
        .set("grid.nx", 32)
        .set("grid.ny", 48)
        .set("initial.deposit_height_um", 3.0)
        .set("run.end_charge_mah_cm2", end_charge_mah_cm2)
        .set("run.frames", 4)
        .set("run.metrics_every_steps", 5)
        .set("run.save_fields", ["vti", "npy"])
    )
