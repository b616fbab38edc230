"""The terminal table `renewals report` prints, on its own."""

from __future__ import annotations

from pydantic import BaseModel

from shared.domain.reports.csv import to_table


class Row(BaseModel):
    owner: str | None
    accounts: int


def test_an_empty_report_prints_its_header_and_says_there_are_no_rows() -> None:
    assert to_table(Row, []).splitlines() == ["owner  accounts", "-----  --------", "(no rows)"]


def test_numbers_align_right_and_null_is_a_dash() -> None:
    lines = to_table(Row, [Row(owner="am@x", accounts=3), Row(owner=None, accounts=12)])

    assert lines.splitlines()[2:] == ["am@x          3", "-            12"]
