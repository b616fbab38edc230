"""The benchmark suites in the order `make bench` runs them; each is a module with a
docstring (printed as it starts) and `async def run(context) -> list[Figure]`."""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType

from bench import ingest, latency, reports, scale_out, scheduler_scale, worker_throughput

SUITES: dict[str, ModuleType] = {
    "ingest": ingest,
    "worker": worker_throughput,
    "scaleout": scale_out,
    "latency": latency,
    "scheduler": scheduler_scale,
    "reports": reports,
}

FIGURES: dict[str, tuple[str, ...]] = {
    "a": ("ingest",),
    "b": ("ingest",),
    "c": ("worker",),
    "d": ("latency",),
    "e": ("scheduler",),
    "f": ("ingest", "worker"),
    "g": ("reports",),
    "h": ("scaleout",),
}
"""The suites that measure each figure, so `--only` takes a figure's letter too."""


def chosen(names: Iterable[str]) -> list[str]:
    """The suites that suite names and figure letters call for, in `SUITES` order; all of
    them when none is given. ValueError names any that are neither."""
    wanted = [name.strip() for name in names if name.strip()]
    unknown = sorted(set(wanted) - set(SUITES) - set(FIGURES))
    if unknown:
        raise ValueError(", ".join(unknown))
    suites = {suite for name in wanted for suite in FIGURES.get(name, (name,))}
    return [name for name in SUITES if name in suites or not wanted]
