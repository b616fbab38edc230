"""Report parameters are validated: 422 problem+json naming the field."""

from __future__ import annotations

import pytest

from tests.support.api import Harness

CASES = [
    ("/v1/reports/retention", {"as_of": "2026-13-01"}, "as_of"),
    ("/v1/reports/retention", {"group_by": "account"}, "group_by"),
    ("/v1/reports/revenue-retention", {"end": "2027-01-01"}, "start"),
    ("/v1/reports/revenue-retention", {"start": "2026-01-01", "end": "2026-01-01"}, "end"),
    ("/v1/reports/revenue-retention", {"start": "01/01/2026", "end": "2027-01-01"}, "start"),
    ("/v1/reports/renewal-rate", {"start": "2026-02-01", "end": "2026-01-01"}, "end"),
    ("/v1/reports/renewal-rate", {"start": "2026-01-01", "end": "2026-02-01", "as_of": "x"},
     "as_of"),
    ("/v1/reports/renewals", {"within_days": "-1"}, "within_days"),
    ("/v1/reports/renewals", {"within_days": "ten"}, "within_days"),
    ("/v1/reports/capacity", {"as_of": "2026-02-30"}, "as_of"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "params", "field"), CASES)
async def test_a_bad_report_parameter_is_422_naming_it(
    api: Harness, path: str, params: dict[str, str], field: str
) -> None:
    response = await api.client.get(path, params=params)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == [field]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/reports/revenue-retention", {"start": "0001-01-01", "end": "2000-01-01"}, "start"),
        ("/v1/reports/renewals", {"as_of": "9999-12-31", "within_days": "1827"}, "as_of"),
        ("/v1/reports/capacity", {"as_of": "1700000000"}, "as_of"),
    ],
)
async def test_a_date_outside_the_supported_years_is_422_not_500(
    api: Harness, path: str, params: dict[str, str], field: str
) -> None:
    """Years 1900-2999 only (or a number read as a Unix timestamp): date arithmetic in the
    report must not overflow into a 500."""
    response = await api.client.get(path, params=params)

    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == [field]
