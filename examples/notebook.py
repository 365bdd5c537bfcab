"""mgpf in a notebook: two interphase presets side by side.

Runs the built-in 2D defaults (48 × 128 cells of 0.5 µm, 0.5 mA/cm² to 0.5 mAh/cm²) beneath
the bromine-rich and the passivating layer, plots their voltage traces and final fields with
matplotlib and saves the figure. Each `# %%` cell runs on its own in Jupyter or VS Code; as a
script:

    pip install ./python matplotlib          # once
    python examples/notebook.py              # → outputs/notebook/presets.png
"""

# %% Runs
import sys
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")  # as a script: write the figure, show no window
import matplotlib.pyplot as plt
import numpy as np

import mgpf

presets = ["bromine-rich", "passivating"]
out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("outputs/notebook")
out.mkdir(parents=True, exist_ok=True)

runs = {}
for preset in presets:
    cfg = mgpf.Config.from_preset(preset)
    sim = mgpf.Simulation(cfg)  # backend="gpu" on a machine with one
    sim.run_until()  # to the config's end: 0.5 mAh/cm²
    runs[preset] = sim
    m = sim.metrics(dataframe=False)
    print(
        f"{preset:>13}: {sim.step_index} steps, final η {m['overpotential_v'][-1]:.3f} V, "
        f"final roughness {1e6 * m['roughness_m'][-1]:.2f} µm"
    )

# %% Figure: voltage traces; each run's final order parameter and c/c0 (one row per preset)
fig = plt.figure(figsize=(12, 5.5), layout="constrained")
grid = fig.add_gridspec(len(presets), 3, width_ratios=[1.1, 1.3, 1.3])
ax = fig.add_subplot(grid[:, 0])
for preset, sim in runs.items():
    m = sim.metrics(dataframe=False)
    q_mah_cm2 = m["charge_c_m2"] / 36e3  # 1 mAh/cm² = 36 000 C/m²
    ax.plot(q_mah_cm2[1:], m["overpotential_v"][1:], label=preset)
ax.set_xlabel("charge passed (mAh cm⁻²)")
ax.set_ylabel("electrode potential E (V)")
ax.set_title("galvanostatic plating at 0.5 mA cm⁻²")
ax.legend()

for row, (preset, sim) in enumerate(runs.items()):
    f = sim.fields()  # arrays (nx, ny): axis 0 the growth axis x, from the collector
    nx, ny, _ = sim.config.shape
    dx = sim.config.dx_um
    y, x = (np.arange(ny) + 0.5) * dx, (np.arange(nx) + 0.5) * dx  # cell centres (µm)
    xi = f["order_parameter"]
    c = np.ma.masked_where(xi > 0.5, f["concentration"])  # c/c0 in the electrolyte only
    for col, (field, cmap, label, fmt) in enumerate(
        [(xi, "viridis", "ξ (Mg = 1)", "%.1f"), (c, "magma", "c / c0 (electrolyte)", "%.4f")],
        start=1,
    ):
        a = fig.add_subplot(grid[row, col])
        image = a.pcolormesh(y, x, field, cmap=cmap, shading="nearest")
        a.contour(y, x, xi, levels=[0.5], colors="white", linewidths=0.8)
        a.set_aspect("equal")
        a.set_ylim(0, 14)  # the deposit and the electrolyte above it
        a.set_title(f"{preset}: {label}", fontsize=9)
        a.set_xlabel("y (µm)")
        a.set_ylabel("x (µm)")
        fig.colorbar(image, ax=a, shrink=0.9, format=fmt)

path = out / "presets.png"
fig.savefig(path, dpi=110)
print(f"figure written to {path}")
