"""`python -m bench [--quick] [--only KEYS]`: runs the benchmarks, prints the table, and
after a full run (not `--quick`, not `--only`) writes `bench/results.json` and
`docs/benchmarks.md`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import report, suite
from bench.figures import Context, Figure
from bench.suite import FIGURES, SUITES
from shared.config import LogFormat
from shared.logging import configure_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the harness")
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated suites ({', '.join(SUITES)}) or figures ({', '.join(FIGURES)}) "
        "to run (default: all)",
    )
    args = parser.parse_args(argv)
    try:
        chosen = suite.chosen(args.only.split(","))
    except ValueError as unknown:
        parser.error(
            f"unknown suite(s) or figure(s) {unknown}; choose from {', '.join([*SUITES, *FIGURES])}"
        )
    configure_logging(LogFormat.CONSOLE, "WARNING")  # suites run the app in-process too
    # The suites' Postgres is on this machine: asyncpg's default sslmode, `prefer`, would
    # wrap every connection in TLS (15 % of the worker's CPU). Every process of the run,
    # the engine's and the raw baselines, inherits the same setting; a caller's wins.
    os.environ.setdefault("PGSSLMODE", "disable")
    figures: list[Figure] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="renewals-bench-") as workdir:
        context = Context(workdir=Path(workdir), quick=args.quick)
        for name in chosen:
            summary = " ".join((SUITES[name].__doc__ or "").split("\n\n")[0].split())
            print(f"== {name}: {summary}", file=sys.stderr, flush=True)
            suite_started = time.monotonic()
            results = asyncio.run(SUITES[name].run(context))
            figures.extend(results)
            for figure in results:
                print(f"   {report.line(figure)}", file=sys.stderr, flush=True)
            print(f"   ({time.monotonic() - suite_started:.0f} s)", file=sys.stderr, flush=True)
    print(report.table(figures))
    if not args.quick and chosen == list(SUITES):
        machine = report.machine()
        report.write(figures, machine, elapsed=time.monotonic() - started)
        print(f"wrote {report.RESULTS} and {report.MARKDOWN}")
    missed = [figure.key for figure in figures if figure.met is False]
    if missed:
        print(f"targets not met: {', '.join(missed)} (see docs/benchmarks.md for why)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
