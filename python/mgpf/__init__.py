"""mgpf from Python: phase-field simulation of Mg electrodeposition beneath interphase layers.

The package is the mgpf crate itself (a compiled extension, ``mgpf._mgpf``): a run through
Python takes the same steps and writes the same files as ``mgpf run``, bit for bit.

>>> import mgpf
>>> cfg = mgpf.Config.from_preset("bromine-rich").set("run.end_charge_mah_cm2", 0.1)
>>> sim = mgpf.Simulation(cfg)
>>> sim.run_until(charge_mah_cm2=0.05)          # doctest: +SKIP
>>> xi = sim.fields()["order_parameter"]        # float32, shape (nx, ny), axis 0 = growth axis x
>>> sim.metrics()["overpotential_v"]            # doctest: +SKIP

``Config`` reads, overrides and validates configs as the CLI does; ``Simulation`` steps a run
with the interpreter's lock released (Ctrl-C stops it between two steps and leaves it usable);
``run`` and ``sweep`` mirror ``mgpf run`` and ``mgpf sweep``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import sys
import tempfile
import time
import warnings
import weakref
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _mgpf

__all__ = [
    "Config",
    "Simulation",
    "run",
    "sweep",
    "presets",
    "FIELDS",
    "__version__",
]

__version__: str = _mgpf.__version__

PathLike = Union[str, "os.PathLike[str]"]

#: The arrays ``Simulation.fields()`` returns, with their units.
FIELDS: Dict[str, str] = {
    "order_parameter": "ξ: 1 in the metal, 0 in the electrolyte",
    "concentration": "c/c0, the Mg²⁺ concentration over the bulk's",
    "potential": "φ, the electrolyte potential (V)",
    "plating_rate": "the Butler–Volmer part of ∂ξ/∂t (1/s)",
    "interphase": "the interphase as final.vti holds it: the resolved band s, or h'(ξ)/max h' along the metal surface for a sub-grid layer",
    "blocked": "1 on the interphase's blocked patches, 0 elsewhere",
}

# metrics.csv columns that hold integers, and the one that holds words.
_INT_COLUMNS = {
    "step",
    "control_iterations",
    "potential_cycles",
    "concentration_cycles",
    "half_cycle",
    "current_sign",
}
_TEXT_COLUMNS = {"dt_bound"}


def presets() -> List[Tuple[str, str]]:
    """The interphase presets: (name, one-line summary), as ``mgpf presets`` lists them."""
    return _mgpf.presets()


def _toml_literal(value: Any) -> str:
    """A Python value as the text of ``--set key=value``: numbers, booleans and lists as TOML,
    strings as the CLI reads them (a bare word is a string, ``"256"`` a number)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        items = [json.dumps(v) if isinstance(v, str) else _toml_literal(v) for v in value]
        return "[" + ", ".join(items) + "]"
    raise TypeError(f"cannot set a config key to a {type(value).__name__}: {value!r}")


class Config:
    """A validated mgpf config: the TOML of ``mgpf run``, with every default filled in.

    Keys are the CLI's dotted paths (``"interphase.asr_ohm_cm2"``); every change is checked as
    ``mgpf run --set`` checks it, and a bad key or value raises ``ValueError`` with the CLI's
    message (the key and its allowed range). docs/model.md lists every key with its unit.
    """

    def __init__(self, native: "_mgpf.Config") -> None:
        self._native = native

    @classmethod
    def from_file(cls, path: PathLike, set: Optional[Dict[str, Any]] = None) -> "Config":
        """Reads a config file (configs/*.toml), with ``set`` ({key: value}) laid over it."""
        overrides = [f"{k}={_toml_literal(v)}" for k, v in (set or {}).items()]
        return cls(_mgpf.Config.from_file(os.fspath(path), overrides))

    @classmethod
    def from_preset(cls, name: str) -> "Config":
        """The built-in defaults (``mgpf demo``'s 2D run: 48 × 128 cells, 0.5 mA/cm² to
        0.5 mAh/cm²) under the interphase preset ``name`` (see ``mgpf.presets()``)."""
        return cls(_mgpf.Config.from_preset(name))

    @classmethod
    def from_toml(cls, text: str) -> "Config":
        """Parses a config from TOML text."""
        return cls(_mgpf.Config.from_toml(text))

    def set(self, key: Union[str, Dict[str, Any]], value: Any = None) -> "Config":
        """Sets ``key`` (a dotted path) to ``value``, or every key of a dict at once, and returns
        the config (so calls chain).

        Each call is validated as a whole, as ``mgpf run --set a=1 --set b=2`` is: keys that
        bound each other (``grid.nx`` and ``initial.deposit_height_um``) go in one dict.
        Raises ``ValueError`` naming the key and its allowed range where a value is refused;
        the config is then unchanged."""
        items = key.items() if isinstance(key, dict) else [(key, value)]
        self._native.set([f"{k}={_toml_literal(v)}" for k, v in items])
        return self

    def get(self, key: str) -> Any:
        """The value at ``key`` (a dotted path, or a table name for a dict of its keys)."""
        text = self._native.get_json(key)
        if text is None:
            raise KeyError(key)
        return json.loads(text)

    def copy(self) -> "Config":
        """An independent copy."""
        return Config.from_toml(self.to_toml())

    def to_toml(self) -> str:
        """The config as TOML, every default filled in (it reads back to the same config)."""
        return self._native.to_toml()

    def save(self, path: PathLike) -> Path:
        """Writes the config as TOML to ``path`` (for ``mgpf run PATH``)."""
        path = Path(path)
        path.write_text(self.to_toml(), encoding="utf-8")
        return path

    @property
    def shape(self) -> Tuple[int, int, int]:
        """(nx, ny, nz): cells along the growth axis x and the lateral axes y, z (nz = 1: 2D)."""
        return self._native.grid[0]

    @property
    def dx_um(self) -> float:
        """The cell size Δx (µm)."""
        return self._native.grid[1]

    def __repr__(self) -> str:
        nx, ny, nz = self.shape
        preset = self.get("interphase.preset")
        return f"<mgpf.Config interphase={preset!r} grid={nx}×{ny}×{nz} dx={self.dx_um} µm>"


def _as_config(config: Union[Config, PathLike]) -> Config:
    return config if isinstance(config, Config) else Config.from_file(config)


class _Progress:
    """A progress bar in a notebook or a terminal (tqdm where installed), else a plain line on
    stderr every 5 s; off with ``progress=False``."""

    def __init__(self, enabled: bool, label: str) -> None:
        self.bar = None
        self.plain = False
        self.last = time.monotonic()
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=1000,
                desc=label,
                leave=False,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}{postfix}]",
            )
        except ImportError:
            self.plain = True
        self.label = label

    def update(self, fraction: float, text: str) -> None:
        if self.bar is not None:
            self.bar.n = int(1000 * min(max(fraction, 0.0), 1.0))
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.refresh()
        elif self.plain and time.monotonic() - self.last >= 5.0:
            self.last = time.monotonic()
            print(f"{self.label}: {100 * fraction:.0f} %, {text}", file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class Simulation:
    """A run of a config, stepped from Python.

    It writes what ``mgpf run --out OUT`` writes as it goes (frames, metrics.csv, field files,
    at the end growth.gif, voltage.png, final.vti and run.json) into ``out``, or into a
    temporary directory removed with the simulation when ``out`` is None; ``save`` copies them.

    ``backend``: ``"cpu"`` (rayon; its threads follow ``RAYON_NUM_THREADS``), ``"gpu"`` (wgpu;
    ``RuntimeError`` where no adapter exists) or ``"auto"`` (a hardware GPU where the GPU
    backend runs this model, else the CPU with a warning saying why).
    """

    def __init__(
        self,
        config: Union[Config, PathLike],
        backend: str = "cpu",
        out: Optional[PathLike] = None,
        force: bool = False,
    ) -> None:
        config = _as_config(config)
        if backend == "auto":
            notice = _mgpf.auto_backend_notice(config._native)
            if notice:
                warnings.warn(f"backend='auto': {notice}; running on the CPU", stacklevel=2)
                backend = "cpu"
        if out is None:
            out = tempfile.mkdtemp(prefix="mgpf-")
            self._cleanup = weakref.finalize(self, shutil.rmtree, out, ignore_errors=True)
        self._native = _mgpf.Simulation(config._native, backend, os.fspath(out), force)

    @classmethod
    def resume(
        cls,
        dir: PathLike,
        backend: str = "cpu",
        set: Optional[Dict[str, Any]] = None,
    ) -> "Simulation":
        """The run saved in ``dir`` (``save``, or an interrupted ``mgpf run``), from its
        checkpoint; its outputs go on in ``dir``. ``set`` may change only ``run.max_steps`` and
        the checkpoint schedule, as ``mgpf run --resume DIR --set`` does."""
        sim = cls.__new__(cls)
        overrides = [f"{k}={_toml_literal(v)}" for k, v in (set or {}).items()]
        sim._native = _mgpf.Simulation.resume(os.fspath(dir), backend, overrides)
        return sim

    # Where the run stands.
    @property
    def step_index(self) -> int:
        """Steps taken since the run began (the index of the next step)."""
        return self._native.step

    @property
    def time_s(self) -> float:
        """The simulated time (s)."""
        return self._native.time_s

    @property
    def charge_mah_cm2(self) -> float:
        """The charge passed (mAh/cm², negative while stripping)."""
        return self._native.charge_mah_cm2

    @property
    def fraction(self) -> float:
        """How far the run is towards its end condition (1 at the end)."""
        return self._native.fraction

    @property
    def done(self) -> bool:
        """True once the run has ended (its end condition, or run.max_steps) and written its
        last outputs."""
        return self._native.stop_reason is not None

    @property
    def stop_reason(self) -> Optional[str]:
        """None while the run goes on, else ``"end_condition"`` or ``"max_steps"``."""
        return self._native.stop_reason

    @property
    def backend(self) -> str:
        """The backend's name (``"cpu (rayon, 2 threads)"``, the GPU adapter's)."""
        return self._native.backend_name

    @property
    def config(self) -> Config:
        """A copy of the config the run follows."""
        return Config(self._native.config)

    @property
    def out_dir(self) -> Path:
        """Where the outputs go."""
        return Path(self._native.out_dir)

    def __repr__(self) -> str:
        state = self.stop_reason or f"{100 * self.fraction:.1f} %"
        return (
            f"<mgpf.Simulation step={self.step_index} t={self.time_s:.4g} s "
            f"q={self.charge_mah_cm2:.4g} mAh/cm² ({state}) on {self.backend}>"
        )

    # Stepping.
    def _cycling(self) -> bool:
        try:
            return self.config.get("cycling") is not None
        except KeyError:
            return False

    def _refuse_if_done(self) -> None:
        if self.done:
            raise RuntimeError(
                f"the run has ended ({self.stop_reason} at step {self.step_index}): "
                "raise run.end_charge_mah_cm2 / run.end_time_s in a new Simulation, or "
                "Simulation.resume(dir, set={'run.max_steps': N}) a run the cap stopped"
            )

    def step(self, n: int = 1) -> int:
        """Takes ``n`` steps (fewer where the run ends first) and returns how many it took."""
        if n < 0:
            raise ValueError(f"n = {n} is outside the allowed range [0, ∞)")
        self._refuse_if_done()
        taken, _ = self._native.advance(steps=n)
        return taken

    def run_until(
        self,
        charge_mah_cm2: Optional[float] = None,
        time_s: Optional[float] = None,
        progress: bool = True,
    ) -> int:
        """Steps until the charge passed reaches ``charge_mah_cm2`` (its magnitude) or the
        simulated time reaches ``time_s`` (the step that crosses it is completed), or, with
        neither, to the config's end condition. The run's end (and run.max_steps) stops it
        first. Shows a progress bar; Ctrl-C stops it between two steps (KeyboardInterrupt) and
        leaves the simulation where it stood, to go on as if never stopped. Returns the steps
        taken."""
        self._refuse_if_done()
        if charge_mah_cm2 is not None and not charge_mah_cm2 > 0:
            raise ValueError(f"charge_mah_cm2 = {charge_mah_cm2} is outside the allowed range (0, ∞)")
        if time_s is not None and not time_s > 0:
            raise ValueError(f"time_s = {time_s} is outside the allowed range (0, ∞)")
        if charge_mah_cm2 is not None and self._cycling():
            raise ValueError(
                "charge_mah_cm2 cannot stop a [cycling] run, whose charge goes up and down: "
                "use time_s, or run_until() to the end of its schedule"
            )
        start_q, start_t = abs(self.charge_mah_cm2), self.time_s

        def fraction() -> float:
            if charge_mah_cm2 is not None:
                return (abs(self.charge_mah_cm2) - start_q) / max(charge_mah_cm2 - start_q, 1e-300)
            if time_s is not None:
                return (self.time_s - start_t) / max(time_s - start_t, 1e-300)
            return self.fraction

        bar = _Progress(progress, self.config.get("interphase.preset"))
        taken = 0
        try:
            while True:
                n, state = self._native.advance(
                    time_s=time_s, charge_mah_cm2=charge_mah_cm2, budget_s=0.2
                )
                taken += n
                bar.update(
                    fraction(),
                    f"step {self.step_index}, t = {self.time_s:.4g} s, "
                    f"q = {self.charge_mah_cm2:.4g} mAh/cm²",
                )
                if state != "running":
                    break
        finally:
            bar.close()
        short = (charge_mah_cm2 is not None and abs(self.charge_mah_cm2) < charge_mah_cm2) or (
            time_s is not None and self.time_s < time_s
        )
        if self.done and short:
            target = (
                f"charge_mah_cm2 = {charge_mah_cm2}"
                if charge_mah_cm2 is not None
                else f"time_s = {time_s}"
            )
            warnings.warn(
                f"the run ended ({self.stop_reason}, step {self.step_index}, "
                f"{self.charge_mah_cm2:.4g} mAh/cm², {self.time_s:.4g} s) before {target}: "
                "raise run.end_charge_mah_cm2 / run.end_time_s / run.max_steps to go further",
                stacklevel=2,
            )
        return taken

    # Reading.
    def fields(self) -> Dict[str, np.ndarray]:
        """The fields where the run stands: new float32 arrays (copies: changing them leaves
        the simulation as it is) of shape (nx, ny) in 2D, (nx, ny, nz) in 3D. Axis 0 is the
        growth axis x, from the current collector (i = 0) to the bulk face; y and z are the
        periodic lateral axes; cell (i, j, k) is centred at ((i + ½)Δx, (j + ½)Δx, (k + ½)Δx).
        Keys and units: ``mgpf.FIELDS``."""
        return self._native.fields()

    def metrics(self, dataframe: Optional[bool] = None) -> Any:
        """The metrics rows so far, the columns of metrics.csv (SI units, as its header names
        them): a pandas DataFrame where pandas is installed (``dataframe=None``) or asked for,
        else a dict of numpy columns."""
        return _table(self._native.metrics_csv(), dataframe, _INT_COLUMNS, _TEXT_COLUMNS)

    def cycles(self, dataframe: Optional[bool] = None) -> Any:
        """cycles.csv of a ``[cycling]`` run so far (one row per cycle), as ``metrics``."""
        path = self.out_dir / "cycles.csv"
        if not path.is_file():
            raise RuntimeError("this run has no [cycling] schedule, so no cycles.csv")
        return _table(path.read_text(encoding="utf-8"), dataframe, {"cycle"}, set())

    def summary(self) -> Dict[str, Any]:
        """run.json of the ended run (what it ended with, its wall time, ...)."""
        path = self.out_dir / "run.json"
        if not self.done or not path.is_file():
            raise RuntimeError("the run has not ended: run.json is written at its end")
        return json.loads(path.read_text(encoding="utf-8"))

    # Saving.
    def save(self, dir: PathLike, force: bool = False) -> Path:
        """Writes what ``mgpf run`` leaves into ``dir``: the frames, metrics.csv, the field
        files and, where the run has not ended, a checkpoint (as an interrupted ``mgpf run``
        leaves; ``Simulation.resume(dir)`` or ``mgpf run --resume DIR`` continues it), else
        the final outputs (growth.gif, voltage.png, final.vti, run.json). ``dir`` must be
        empty or new unless ``force`` (which first removes an earlier run's outputs there)."""
        dir = Path(dir)
        if dir.exists() and dir.resolve() == self.out_dir.resolve():
            if not self.done:
                self._native.write_checkpoint(os.fspath(dir))
            return dir
        _mgpf.prepare_output_dir(os.fspath(dir), force)
        shutil.copytree(self.out_dir, dir, dirs_exist_ok=True)
        if not self.done:
            self._native.write_checkpoint(os.fspath(dir))
        return dir


def _table(text: str, dataframe: Optional[bool], ints: set, words: set) -> Any:
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    columns: Dict[str, np.ndarray] = {}
    for n, name in enumerate(header):
        cells = [r[n] if n < len(r) else "" for r in body]
        if name in words:
            columns[name] = np.array(cells, dtype=str)
        elif name in ints:
            columns[name] = np.array([int(c) if c else 0 for c in cells], dtype=np.int64)
        else:
            try:
                values = [float(c) if c else np.nan for c in cells]
                columns[name] = np.array(values, dtype=np.float64)
            except ValueError:  # a varied key that takes words (a preset's name)
                columns[name] = np.array(cells, dtype=str)
    if dataframe is False:
        return columns
    try:
        import pandas as pd
    except ImportError:
        if dataframe:
            raise
        return columns
    return pd.DataFrame(columns)


def run(
    config: Union[Config, PathLike],
    out: Optional[PathLike] = None,
    backend: str = "cpu",
    set: Optional[Dict[str, Any]] = None,
    force: bool = False,
    progress: bool = True,
) -> Dict[str, Any]:
    """``mgpf run CONFIG --out OUT [--set ...] [--backend ...] [--force]``: runs a config (a
    ``Config`` or a file) to its end, writing every output into ``out`` (default
    ``outputs/<file name>`` for a file, as the CLI). Returns run.json."""
    if out is None:
        if isinstance(config, Config):
            raise ValueError("out is missing: a Config object has no file name to name it after")
        out = Path("outputs") / Path(config).stem
    if isinstance(config, Config):
        cfg = config.copy()
        for k, v in (set or {}).items():
            cfg.set(k, v)
    else:
        # As the CLI: the overrides laid over the file's own TOML.
        cfg = Config.from_file(config, set)
    sim = Simulation(cfg, backend=backend, out=out, force=force)
    sim.run_until(progress=progress)
    return sim.summary()


def sweep(
    config: PathLike,
    vary: Union[str, Sequence[str]],
    out: Optional[PathLike] = None,
    *,
    zip: bool = False,
    seeds: Optional[int] = None,
    set: Optional[Dict[str, Any]] = None,
    backend: str = "cpu",
    jobs: int = 1,
    metric: Optional[str] = None,
    dataframe: Optional[bool] = None,
) -> Any:
    """``mgpf sweep CONFIG --vary KEY=SPEC ... --out OUT``: runs a study's points (finished
    ones skipped, interrupted ones resumed; Ctrl-C checkpoints the running points) and writes
    sweep.csv, ensemble.csv, map.png and the montage into ``out`` (default
    ``outputs/sweep-<file name>``). ``vary`` takes the CLI's specs
    (``"interphase.asr_ohm_cm2=log:100..10000:3"``). Returns sweep.csv as
    ``Simulation.metrics`` returns a table."""
    if isinstance(vary, str):
        vary = [vary]
    if out is None:
        out = Path("outputs") / f"sweep-{Path(config).stem}"
    overrides = [f"{k}={_toml_literal(v)}" for k, v in (set or {}).items()]
    _mgpf.sweep(
        os.fspath(config), list(vary), os.fspath(out), zip, seeds, overrides, backend, jobs, metric
    )
    text = (Path(out) / "sweep.csv").read_text(encoding="utf-8")
    return _table(text, dataframe, {"index"}, {"dir", "status", "message"})
