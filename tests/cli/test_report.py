"""`renewals report NAME` prints the numbers the API returns, run as a real process."""

from __future__ import annotations

from tests.api.reports import (
    test_capacity,
    test_forecast,
    test_pipeline,
    test_retention,
    test_revenue_retention,
)
from tests.support.api import Harness
from tests.support.cli import run_cli


def _lines(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines()]


async def test_report_renewals_prints_the_pipeline_and_its_totals(api: Harness) -> None:
    await test_pipeline.build(api)

    result = run_cli(api.settings.database_url, "report", "renewals", "--as-of", "2026-03-01")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "count: 4" in lines
    assert "arr_total: 36000.00" in lines
    assert "arr_at_risk: 25000.00" in lines
    rows = [cells for cells in _lines(result.stdout) if cells and cells[-1] in {"true", "false"}]
    assert [(cells[-8], cells[-7], cells[-6]) for cells in rows] == [
        ("2026-03-01", "0", "1000.00"),
        ("2026-04-01", "31", "10000.00"),
        ("2026-05-15", "75", "20000.00"),
        ("2026-06-29", "120", "5000.00"),
    ]


async def test_report_revenue_retention_prints_grr_and_nrr(api: Harness) -> None:
    await test_revenue_retention.build(api)

    result = run_cli(
        api.settings.database_url,
        "report", "revenue-retention", "--start", "2026-01-01", "--end", "2027-01-01",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    lines = set(result.stdout.splitlines())
    assert {"grr: 0.6279", "nrr: 0.814", "starting_arr: 43000.00"} <= lines


async def test_report_capacity_prints_each_owner(api: Harness) -> None:
    await test_capacity.build(api)

    result = run_cli(api.settings.database_url, "report", "capacity", "--as-of", "2026-03-01")

    assert result.returncode == 0, result.stderr
    rows = {cells[0]: cells for cells in _lines(result.stdout) if cells and "@" in cells[0]}
    assert rows["ann@vendor.example"][1:5] == ["2230000.00", "2", "1.115", "true"]
    assert rows["bob@vendor.example"][1:5] == ["52000.00", "2", "0.026", "false"]


async def test_report_rejects_a_period_that_ends_before_it_starts(api: Harness) -> None:
    result = run_cli(
        api.settings.database_url,
        "report", "renewal-rate", "--start", "2026-02-01", "--end", "2026-01-01",
    )  # fmt: skip

    assert result.returncode == 2
    assert "--end" in result.stderr


async def test_report_rejects_a_date_outside_the_supported_years(api: Harness) -> None:
    result = run_cli(api.settings.database_url, "report", "retention", "--as-of", "0001-01-01")

    assert result.returncode == 2
    assert "--as-of" in result.stderr
    assert "1900-01-01" in result.stderr
    assert "Traceback" not in result.stderr


async def test_report_retention_and_renewal_rate_print_the_api_numbers(api: Harness) -> None:
    await test_retention.build(api)
    url = api.settings.database_url

    retention = run_cli(url, "report", "retention", "--as-of", "2026-06-30")
    rate = run_cli(
        url, "report", "renewal-rate",
        "--start", "2025-07-01", "--end", "2026-07-01", "--as-of", "2026-06-30",
    )  # fmt: skip

    assert retention.returncode == 0, retention.stderr
    rows = {cells[1]: cells[2:] for cells in _lines(retention.stdout) if len(cells) == 10}
    assert rows["Alpha"] == ["partner", "gold", "4", "1", "1", "0.8", "0.8", "true"]
    assert rows["Beta"] == ["partner", "silver", "2", "1", "0", "0.6667", "0.7", "false"]
    assert rows["-"] == ["direct", "-", "1", "1", "0", "0.5", "-", "-"]
    assert rate.returncode == 0, rate.stderr
    body = (await api.client.get("/v1/reports/renewal-rate", params={
        "start": "2025-07-01", "end": "2026-07-01", "as_of": "2026-06-30"
    })).json()  # fmt: skip
    lines = rate.stdout.splitlines()
    for name in ("renewed", "churned", "lapsed", "pending", "renewal_rate"):
        assert f"{name}: {body[name]}" in lines


async def test_report_forecast_prints_each_month_and_the_totals(api: Harness) -> None:
    made = await test_forecast.build(api)

    result = run_cli(
        api.settings.database_url,
        "report", "forecast", "--as-of", "2026-03-01", "--months", "3",
        "--partner-id", made["partner"]["id"],
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert {"totals.lost_arr: 2000.00", "totals.expected_arr: 4400.00"} <= set(lines)
    rows = [cells for cells in _lines(result.stdout) if cells and cells[0][:4] == "2026"]
    assert [(cells[0], cells[1], cells[5], cells[6], cells[8]) for cells in rows] == [
        ("2026-03", "0", "0.00", "0.00", "0.00"),
        ("2026-04", "1", "2000.00", "0.00", "0.00"),
        ("2026-05", "1", "0.00", "4000.00", "4400.00"),
    ]
