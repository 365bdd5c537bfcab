"""What Python costs on top of the Rust loop (issue 20's report):

1. `sim.step(1)` called N times from Python against `sim.step(N)` (the Rust loop turning N
   steps in one call), on a small grid where a step is cheap, so the per-call cost shows;
2. `sim.fields()` at 2048² (six float32 fields of 16 MiB) against numpy copying the same
   bytes (`np.copyto` into preallocated arrays), the floor a copy cannot beat.

    python python/benches/overhead.py [--repeats 3] [--steps 1000] [--size 2048]

Each figure is the median of the repeats, wall time on this machine; the grid and the thread
count (RAYON_NUM_THREADS) are printed with them.
"""

import argparse
import os
import statistics
import time

import numpy as np

import mgpf


def median_time(f, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def step_overhead(repeats, steps):
    cfg = mgpf.Config.from_preset("none").set(
        {
            "grid.nx": 32,
            "grid.ny": 16,
            "initial.deposit_height_um": 2.0,
            # Slow plating, so that the front stays in the box through every repeat.
            "control.current_density_ma_cm2": 0.01,
            "run.end_charge_mah_cm2": 100.0,
            "run.max_steps": 10_000_000,
            "run.frames": 1,
            "run.metrics_every_steps": 10_000_000,
        }
    )
    sim = mgpf.Simulation(cfg)
    sim.step(20)  # past the first step's set-up
    batch = median_time(lambda: sim.step(steps), repeats) / steps
    single = median_time(lambda: [sim.step(1) for _ in range(steps)], repeats) / steps
    print(
        f"step on 32 × 16 cells ({sim.backend}): {1e6 * batch:.1f} µs per step in one "
        f"sim.step({steps}) call, {1e6 * single:.1f} µs per sim.step(1) call from Python: "
        f"overhead {1e6 * (single - batch):.1f} µs per call ({100 * (single / batch - 1):.1f} %)"
    )


def fields_cost(repeats, n):
    cfg = mgpf.Config.from_preset("bromine-rich").set(
        {"grid.nx": n, "grid.ny": n, "run.frames": 1, "run.save_fields": []}
    )
    sim = mgpf.Simulation(cfg)
    fields = sim.fields()
    nbytes = sum(a.nbytes for a in fields.values())
    t_fields = median_time(sim.fields, repeats)
    sources = [a.copy() for a in fields.values()]
    targets = [np.empty_like(a) for a in sources]

    def copy():
        for s, t in zip(sources, targets):
            np.copyto(t, s)

    copy()
    t_copy = median_time(copy, repeats)
    print(
        f"fields() at {n}² ({len(fields)} float32 fields, {nbytes / 2**20:.0f} MiB): "
        f"{1e3 * t_fields:.1f} ms; numpy copying the same bytes: {1e3 * t_copy:.1f} ms "
        f"({nbytes / t_copy / 1e9:.1f} GB/s); ratio {t_fields / t_copy:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--size", type=int, default=2048)
    args = parser.parse_args()
    print(f"mgpf {mgpf.__version__}, RAYON_NUM_THREADS={os.environ.get('RAYON_NUM_THREADS', 'unset')}")
    step_overhead(args.repeats, args.steps)
    fields_cost(args.repeats, args.size)
