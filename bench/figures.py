"""What a benchmark reports: a figure, its baseline from the same run, and its target.

The machine is shared and noisy, so every figure that can be compared with a baseline is
reported beside it (and as a ratio); targets are stated once, here, with the figure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Figure:
    """One measured number. `baseline` is the same quantity for the raw building block
    (a bare endpoint, raw asyncpg, raw aiokafka), measured in the same run; `met` says
    whether `target` (human text, e.g. "≥ 0.40x baseline") was reached, and is None for
    a figure reported for its ratio alone, with no target."""

    key: str
    title: str
    value: float
    unit: str
    target: str
    met: bool | None
    baseline: float | None = None
    baseline_label: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ratio"] = None if self.ratio is None else round(self.ratio, 3)
        return data


@dataclass(frozen=True)
class Context:
    """Where a suite may write files, and whether to run at smoke-test sizes."""

    workdir: Path
    quick: bool
