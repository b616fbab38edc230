"""The bench's output: a table on stdout, `bench/results.json`, and the generated part of
`docs/benchmarks.md` (between the markers; the analysis around it is written by hand and
kept)."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from bench.figures import Figure
from bench.services import ROOT, asyncpg_dsn, kafka_version, postgres_url

RESULTS = ROOT / "bench" / "results.json"
MARKDOWN = ROOT / "docs" / "benchmarks.md"
BEGIN = "<!-- bench:begin (written by `make bench`; edits inside are overwritten) -->"
END = "<!-- bench:end -->"


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.3g}" if abs(value) < 1 else f"{value:,.1f}"


def _ratio(figure: Figure) -> str:
    if figure.ratio is None:
        return "—"
    return f"{figure.ratio:.2g}x" if figure.ratio < 0.1 else f"{figure.ratio:.2f}x"


def line(figure: Figure) -> str:
    baseline = (
        f" (baseline {_number(figure.baseline)}: {figure.baseline_label}, {_ratio(figure)})"
        if figure.baseline is not None
        else ""
    )
    target = f" - target {figure.target}: {_verdict(figure)}" if figure.met is not None else ""
    return f"{figure.key}: {_number(figure.value)} {figure.unit}{baseline}{target}"


def _verdict(figure: Figure) -> str:
    if figure.met is None:
        return ""
    return "met" if figure.met else "NOT met"


ROW = ("figure", "measured", "baseline (same run)", "ratio", "target", "")


def _rows(figures: list[Figure]) -> list[tuple[str, ...]]:
    return [
        (
            f"{f.key} {f.title}",
            f"{_number(f.value)} {f.unit}",
            f"{_number(f.baseline)} ({f.baseline_label})" if f.baseline is not None else "—",
            _ratio(f),
            f.target if f.met is not None else "—",
            _verdict(f),
        )
        for f in figures
    ]


def table(figures: list[Figure]) -> str:
    rows = [ROW, *_rows(figures)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(ROW))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def markdown_table(figures: list[Figure]) -> str:
    lines = ["| " + " | ".join(ROW) + " |", "|" + "---|" * len(ROW)]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(figures)]
    return "\n".join(lines)


def _cpu_model() -> str:
    for row in Path("/proc/cpuinfo").read_text().splitlines():
        if row.startswith("model name"):
            return row.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    for row in Path("/proc/meminfo").read_text().splitlines():
        if row.startswith("MemTotal:"):
            return int(row.split()[1]) / 1024 / 1024
    return float("nan")


async def _postgres_version() -> str:
    connection = await asyncpg.connect(asyncpg_dsn(postgres_url()))
    try:
        version: str = await connection.fetchval("SHOW server_version")
        return version
    finally:
        await connection.close()


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(_memory_gib(), 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgres": asyncio.run(_postgres_version()),
        "broker": f"Apache Kafka {kafka_version()} (KRaft, single node)",
        "commit": _commit(),
    }


def write(figures: list[Figure], machine: dict[str, Any], *, elapsed: float) -> None:
    measured_at = datetime.now(UTC).replace(microsecond=0).isoformat()
    RESULTS.write_text(
        json.dumps(
            {
                "measured_at": measured_at,
                "seconds": round(elapsed),
                "machine": machine,
                "figures": [figure.as_json() for figure in figures],
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
    described = ", ".join(f"{name} {value}" for name, value in machine.items())
    generated = "\n".join(
        [
            BEGIN,
            f"Measured {measured_at} in {elapsed / 60:.0f} min on: {described}.",
            "",
            markdown_table(figures),
            END,
        ]
    )
    current = MARKDOWN.read_text() if MARKDOWN.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    head, _, rest = current.partition(BEGIN)
    _, _, tail = rest.partition(END)
    MARKDOWN.write_text(head + generated + tail)
