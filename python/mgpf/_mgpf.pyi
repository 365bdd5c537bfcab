"""Type stubs of the compiled module (the mgpf crate through PyO3); the documented API is the
`mgpf` package around it."""

from typing import List, Optional, Tuple

import numpy as np

__version__: str

class Config:
    @staticmethod
    def from_file(path: str, set: List[str] = ...) -> "Config": ...
    @staticmethod
    def from_preset(name: str) -> "Config": ...
    @staticmethod
    def from_toml(text: str, origin: str = ...) -> "Config": ...
    def set(self, assignments: List[str]) -> None: ...
    def to_toml(self) -> str: ...
    def get_json(self, key: str) -> Optional[str]: ...
    @property
    def grid(self) -> Tuple[Tuple[int, int, int], float]: ...

class Simulation:
    def __init__(self, config: Config, backend: str = ..., out: str = ..., force: bool = ...) -> None: ...
    @staticmethod
    def resume(dir: str, backend: str = ..., set: List[str] = ...) -> "Simulation": ...
    def advance(
        self,
        steps: Optional[int] = ...,
        time_s: Optional[float] = ...,
        charge_mah_cm2: Optional[float] = ...,
        budget_s: float = ...,
    ) -> Tuple[int, str]: ...
    def fields(self) -> dict[str, np.ndarray]: ...
    def metrics_csv(self) -> str: ...
    def write_checkpoint(self, dir: str) -> None: ...
    step: int
    time_s: float
    charge_mah_cm2: float
    fraction: float
    stop_reason: Optional[str]
    backend_name: str
    config: Config
    out_dir: str

def prepare_output_dir(dir: str, force: bool) -> None: ...
def auto_backend_notice(config: Config) -> Optional[str]: ...
def sweep(
    config: str,
    vary: List[str],
    out: str,
    zip: bool = ...,
    seeds: Optional[int] = ...,
    set: List[str] = ...,
    backend: str = ...,
    jobs: int = ...,
    metric: Optional[str] = ...,
) -> Tuple[int, int]: ...
def presets() -> List[Tuple[str, str]]: ...
