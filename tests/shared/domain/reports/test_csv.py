"""The CSV export and the terminal table `renewals report` prints, on their own."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from pydantic import BaseModel

from shared.domain.reports.csv import to_csv, to_table


class Row(BaseModel):
    owner: str | None
    accounts: int


def test_an_empty_report_prints_its_header_and_says_there_are_no_rows() -> None:
    assert to_table(Row, []).splitlines() == ["owner  accounts", "-----  --------", "(no rows)"]


def test_numbers_align_right_and_null_is_a_dash() -> None:
    lines = to_table(Row, [Row(owner="am@x", accounts=3), Row(owner=None, accounts=12)])

    assert lines.splitlines()[2:] == ["am@x          3", "-            12"]


class Money(BaseModel):
    name: str
    change: Decimal
    count: int


def csv_cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))[1:]


@pytest.mark.parametrize(
    "name",
    ['=HYPERLINK("http://x.example")', "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd", "-"],
)
def test_text_that_starts_like_a_formula_gets_a_leading_quote(name: str) -> None:
    text = to_csv(Money, [Money(name=name, change=Decimal("1.00"), count=1)])

    assert csv_cells(text) == [["'" + name, "1.00", "1"]]


def test_numbers_stay_numbers_negative_amounts_included() -> None:
    rows = [
        Money(name="-12", change=Decimal("-2000.00"), count=-3),
        Money(name="Acme = best", change=Decimal("0.50"), count=0),
    ]

    assert csv_cells(to_csv(Money, rows)) == [
        ["-12", "-2000.00", "-3"],
        ["Acme = best", "0.50", "0"],
    ]
