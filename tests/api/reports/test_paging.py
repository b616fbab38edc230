"""The reports with one row per account, term or contract page their JSON `items`
(`limit`, `cursor`, `next_cursor`); the summary covers every row on every page, and a
CSV export holds every row whatever `limit` says."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import pytest

from shared.domain.schemas import encode_cursor
from tests.api.reports import test_pipeline, test_renewal_rate, test_revenue_retention
from tests.support.api import Harness
from tests.support.factories import make_account
from tests.support.report_factories import as_cells, contract, csv_rows

Build = Callable[[Harness], Awaitable[None]]

REPORTS = [
    pytest.param("/v1/reports/renewals", test_pipeline.PARAMS, test_pipeline.build, id="renewals"),
    pytest.param(
        "/v1/reports/renewal-rate",
        test_renewal_rate.PARAMS,
        test_renewal_rate.build,
        id="renewal-rate",
    ),
    pytest.param(
        "/v1/reports/revenue-retention",
        test_revenue_retention.PERIOD,
        test_revenue_retention.build,
        id="revenue-retention",
    ),
]


async def _pages(api: Harness, path: str, params: dict[str, str], limit: int) -> list[Any]:
    pages: list[Any] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": str(limit), **({"cursor": cursor} if cursor else {})}
        response = await api.client.get(path, params=query)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "the cursor does not advance"


def _summary(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in {"items", "next_cursor"}}


@pytest.mark.parametrize(("path", "params", "build"), REPORTS)
async def test_pages_of_two_list_every_row_once_in_order_with_the_whole_summary(
    api: Harness, path: str, params: dict[str, str], build: Build
) -> None:
    await build(api)
    whole = (await api.client.get(path, params={**params, "limit": "500"})).json()
    assert len(whole["items"]) >= 4
    assert whole["next_cursor"] is None

    pages = await _pages(api, path, params, limit=2)

    assert [len(page["items"]) for page in pages[:-1]] == [2] * (len(pages) - 1)
    assert [item for page in pages for item in page["items"]] == whole["items"]
    assert all(_summary(page) == _summary(whole) for page in pages)


@pytest.mark.parametrize(("path", "params", "build"), REPORTS)
async def test_a_csv_export_holds_every_row_whatever_the_limit(
    api: Harness, path: str, params: dict[str, str], build: Build
) -> None:
    await build(api)
    whole = (await api.client.get(path, params={**params, "limit": "500"})).json()

    as_csv = await api.client.get(
        path, params={**params, "limit": "1"}, headers={"Accept": "text/csv"}
    )

    assert as_csv.status_code == 200, as_csv.text
    assert csv_rows(as_csv.text) == [as_cells(i) for i in whole["items"]]


async def test_the_default_page_is_fifty_rows_and_at_most_500_may_be_asked(
    api: Harness,
) -> None:
    account = await make_account(api.db, name="Many contracts")
    for day in range(1, 52):
        await contract(api.db, account, (date(2025, 3, 1), date(2026, 3, 1 + day % 28), 1_000))

    first = (await api.client.get("/v1/reports/renewals", params=test_pipeline.PARAMS)).json()

    assert (first["count"], first["arr_total"]) == (51, "51000.00")
    assert len(first["items"]) == 50
    assert first["next_cursor"] is not None
    too_many = await api.client.get(
        "/v1/reports/renewals", params={**test_pipeline.PARAMS, "limit": "501"}
    )
    assert too_many.status_code == 422
    assert [error["field"] for error in too_many.json()["errors"]] == ["limit"]


@pytest.mark.parametrize(("path", "params", "build"), REPORTS)
@pytest.mark.parametrize("cursor", ["not a cursor!", encode_cursor(uuid.UUID(int=7))])
async def test_a_cursor_not_from_this_report_is_422_naming_it(
    api: Harness, path: str, params: dict[str, str], build: Build, cursor: str
) -> None:
    await build(api)

    response = await api.client.get(path, params={**params, "cursor": cursor})

    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == ["cursor"]


async def test_a_page_left_empty_by_a_rename_still_carries_the_whole_summary(
    api: Harness,
) -> None:
    """Revenue retention reads its totals from its rows: when the rows after the cursor
    are gone (the last account renamed to sort first), the summary must not drop to 0."""
    await test_revenue_retention.build(api)
    params = test_revenue_retention.PERIOD
    whole = (await api.client.get("/v1/reports/revenue-retention", params=params)).json()
    first = (
        await api.client.get("/v1/reports/revenue-retention", params={**params, "limit": "4"})
    ).json()
    last = whole["items"][-1]
    renamed = await api.client.patch(
        f"/v1/accounts/{last['account_id']}", json={"name": "0 now sorts first"}
    )
    assert renamed.status_code == 200, renamed.text

    after_rename = await api.client.get(
        "/v1/reports/revenue-retention",
        params={**params, "limit": "4", "cursor": first["next_cursor"]},
    )

    body = after_rename.json()
    assert (body["items"], body["next_cursor"]) == ([], None)
    assert _summary(body) == _summary(whole)
    assert body["accounts"] == 5
