"""The benchmark suites in the order `make bench` runs them; each is a module with a
docstring (printed as it starts) and `async def run(context) -> list[Figure]`."""

from __future__ import annotations

from types import ModuleType

from bench import ingest, latency, reports, scheduler_scale, worker_throughput

SUITES: dict[str, ModuleType] = {
    "ingest": ingest,
    "worker": worker_throughput,
    "latency": latency,
    "scheduler": scheduler_scale,
    "reports": reports,
}
