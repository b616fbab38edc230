"""A report covers at most five years: a longer period or window is 422 naming the field
that ends it, in the API and in `renewals report` alike."""

from __future__ import annotations

import pytest

from tests.support.api import Harness
from tests.support.cli import run_cli

# 2026-03-01 plus five years is 2031-03-01, 1,826 days later (2028 is a leap year).
CASES = [
    ("/v1/reports/revenue-retention", {"start": "2020-01-01"}, "end", "2025-01-01", "2025-01-02"),
    ("/v1/reports/renewal-rate", {"start": "2020-02-29"}, "end", "2025-02-28", "2025-03-01"),
    ("/v1/reports/renewals", {"as_of": "2026-03-01"}, "within_days", "1826", "1827"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "params", "field", "longest", "too_long"), CASES)
async def test_a_period_over_five_years_is_422_naming_its_end(
    api: Harness, path: str, params: dict[str, str], field: str, longest: str, too_long: str
) -> None:
    refused = await api.client.get(path, params={**params, field: too_long})
    accepted = await api.client.get(path, params={**params, field: longest})

    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in refused.json()["errors"]] == [field]
    assert "5 years" in refused.json()["detail"]
    assert accepted.status_code == 200, accepted.text


async def test_the_cli_refuses_a_period_over_five_years_too(api: Harness) -> None:
    result = run_cli(
        api.settings.database_url,
        "report", "renewal-rate", "--start", "2020-01-01", "--end", "2025-01-02",
    )  # fmt: skip

    assert result.returncode == 2, result.stdout
    assert "--end" in result.stderr
    assert "5 years" in result.stderr
