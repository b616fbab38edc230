"""`make bench`: the engine's figures, each beside a baseline measured in the same run.

Run with `.venv/bin/python -m bench` (see `--help`); results go to `bench/results.json`
and `docs/benchmarks.md`.
"""
