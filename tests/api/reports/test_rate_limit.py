"""Report calls are rate-limited per API key: past the burst, 429 problem+json with a
`Retry-After` in whole seconds; other keys and other routes are not held back."""

from __future__ import annotations

from tests.support.api import open_harness

PATH = "/v1/reports/capacity"


async def test_past_the_burst_a_key_gets_429_with_retry_after_and_others_do_not(
    db_url: str,
) -> None:
    async with open_harness(db_url, report_rate_per_minute=6, report_rate_burst=2) as api:
        answers = [await api.client.get(PATH) for _ in range(3)]
        other_key = await api.new_key("read")
        async with api.as_key(other_key) as other:
            others = await other.get(PATH)
        not_a_report = await api.client.get("/v1/partners")

    assert [a.status_code for a in answers] == [200, 200, 429]
    limited = answers[2]
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.json()["type"] == "urn:renewals:problem:rate-limited"
    # 6 a minute: one call back every 10 s.
    assert limited.headers["retry-after"] == "10"
    assert others.status_code == 200
    assert not_a_report.status_code == 200


async def test_a_rate_of_zero_turns_the_limit_off(db_url: str) -> None:
    async with open_harness(db_url, report_rate_per_minute=0, report_rate_burst=1) as api:
        answers = [await api.client.get(PATH) for _ in range(5)]

    assert {a.status_code for a in answers} == {200}


async def test_the_openapi_documents_429_and_503_with_retry_after_on_every_report(
    db_url: str,
) -> None:
    async with open_harness(db_url) as api:
        document = (await api.client.get("/openapi.json")).json()

    reports = {p: item for p, item in document["paths"].items() if p.startswith("/v1/reports/")}
    assert len(reports) == 6
    for item in reports.values():
        limited = item["get"]["responses"]["429"]
        assert limited["content"]["application/problem+json"]
        assert limited["headers"]["Retry-After"]["schema"] == {"type": "integer", "minimum": 1}
        busy = item["get"]["responses"]["503"]
        assert "statement timeout" in busy["description"]
        assert busy["headers"]["Retry-After"]
    assert "headers" not in document["paths"]["/readyz"]["get"]["responses"]["503"]
