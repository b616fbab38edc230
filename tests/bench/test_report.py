"""`make bench` refreshes only its own part of docs/benchmarks.md: the analysis written
around the generated table survives every run, and results.json holds every figure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import report, suite
from bench.figures import Figure

FIGURES = [
    Figure(
        key="a.peak",
        title="POST /v1/events",
        value=500.0,
        unit="requests/s",
        target="≥ 0.40x baseline",
        met=False,
        baseline=4000.0,
        baseline_label="bare FastAPI endpoint",
    ),
    Figure(key="f.api", title="Peak RSS", value=120.5, unit="MB", target="< 300 MB", met=True),
]


@pytest.fixture
def outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    results, markdown = tmp_path / "results.json", tmp_path / "benchmarks.md"
    monkeypatch.setattr(report, "RESULTS", results)
    monkeypatch.setattr(report, "MARKDOWN", markdown)
    return results, markdown


def test_a_run_replaces_the_generated_table_and_keeps_the_analysis(
    outputs: tuple[Path, Path],
) -> None:
    results, markdown = outputs
    markdown.write_text(
        f"# Benchmarks\n\nintro\n\n{report.BEGIN}\nold table\n{report.END}\n\nwhy\n"
    )
    report.write(FIGURES, {"cores": 2}, elapsed=600)
    text = markdown.read_text()
    assert text.startswith("# Benchmarks\n\nintro\n\n")
    assert text.endswith(f"{report.END}\n\nwhy\n")
    assert "old table" not in text
    assert (
        "| a.peak POST /v1/events | 500 requests/s | 4,000 (bare FastAPI endpoint) | 0.12x |"
        in text
    )
    saved = json.loads(results.read_text())
    assert saved["machine"] == {"cores": 2}
    assert [f["key"] for f in saved["figures"]] == ["a.peak", "f.api"]
    assert saved["figures"][0]["ratio"] == 0.125


def test_the_table_names_each_figure_its_baseline_and_whether_it_met_its_target() -> None:
    lines = report.table(FIGURES).splitlines()
    assert len(lines) == 3
    assert "NOT met" in lines[1]
    assert lines[2].rstrip().endswith("met")
    assert "0.12x" in lines[1]


def test_every_suite_has_a_docstring_and_a_run() -> None:
    for name, module in suite.SUITES.items():
        assert module.__doc__, name
        assert callable(module.run), name


def test_a_figure_without_a_target_shows_its_ratio_and_no_verdict() -> None:
    reference = Figure(
        key="h",
        title="Worker scale-out",
        value=900.0,
        unit="events/s",
        target="",
        met=None,
        baseline=600.0,
        baseline_label="1 worker process",
    )
    row = report.table([*FIGURES, reference]).splitlines()[-1]
    assert "1.50x" in row
    assert row.rstrip().endswith("1.50x  —")
    assert "met" not in row
    assert report.line(reference) == ("h: 900 events/s (baseline 600: 1 worker process, 1.50x)")


def test_only_takes_suites_and_figure_letters_and_runs_them_in_suite_order() -> None:
    assert suite.chosen(["h", " a", "scheduler"]) == ["ingest", "scaleout", "scheduler"]
    assert suite.chosen(["f"]) == ["ingest", "worker"]
    assert suite.chosen([""]) == list(suite.SUITES)
    with pytest.raises(ValueError, match="i, z"):
        suite.chosen(["a", "z", "i"])
