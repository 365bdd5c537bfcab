"""What Python costs on top of the Rust loop (issue 20's report):

1. `sim.step(1)` called N times from Python against `sim.step(N)` (the Rust loop turning N
   steps in one call), on a small grid where a step is cheap, so the per-call cost shows;
2. `sim.fields()` at 2048² (six float32 fields of 16 MiB, new arrays each call) against numpy
   copying the same arrays into new ones (`a.copy()`: what a copy of the fields costs) and into
   arrays it has already (`np.copyto`: the floor, no memory to fault in).

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
    # A call that takes no step: what a call from Python costs by itself (the wrapper, the
    # lock, releasing and taking back the GIL, the loop's look at its pause).
    calls = 20 * steps
    t_call = median_time(lambda: [sim.step(0) for _ in range(calls)], repeats) / calls
    # The same steps taken both ways, interleaved so that both see the same stretch of the run.
    batch, single = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        sim.step(steps)
        batch.append((time.perf_counter() - t) / steps)
        t = time.perf_counter()
        for _ in range(steps):
            sim.step(1)
        single.append((time.perf_counter() - t) / steps)
    spread = lambda ts: f"{1e6 * min(ts):.0f}–{1e6 * max(ts):.0f}"  # noqa: E731
    print(
        f"step on 32 × 16 cells ({sim.backend}): median {1e6 * statistics.median(batch):.1f} µs "
        f"per step in one sim.step({steps}) call (repeats {spread(batch)} µs), median "
        f"{1e6 * statistics.median(single):.1f} µs per sim.step(1) call (repeats "
        f"{spread(single)} µs); a call that takes no step, sim.step(0): {1e6 * t_call:.2f} µs "
        f"({100 * t_call / statistics.median(batch):.2f} % of a step)"
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
    t_new = median_time(lambda: [s.copy() for s in sources], repeats)
    print(
        f"fields() at {n}² ({len(fields)} float32 fields, {nbytes / 2**20:.0f} MiB, "
        f"{sim.backend}): {1e3 * t_fields:.1f} ms; numpy copying the same arrays into new "
        f"ones: {1e3 * t_new:.1f} ms (ratio {t_fields / t_new:.2f}), into arrays it has "
        f"already: {1e3 * t_copy:.1f} ms ({nbytes / t_copy / 1e9:.1f} GB/s, ratio "
        f"{t_fields / t_copy:.2f})"
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
