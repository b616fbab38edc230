"""One renderer for every report's rows: CSV for `Accept: text/csv`, and the aligned text
table `renewals report` prints. Both flatten a row the same way, so they show the same
columns and the same numbers as the JSON `items`."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flatten(row: BaseModel) -> dict[str, str]:
    """A row as text cells in JSON form; a nested object becomes `field.key` columns."""
    cells: dict[str, str] = {}
    for name, value in row.model_dump(mode="json").items():
        if isinstance(value, dict):
            for key, inner in value.items():
                cells[f"{name}.{key}"] = _cell(inner)
        else:
            cells[name] = _cell(value)
    return cells


def header_of(model: type[BaseModel], rows: Sequence[BaseModel]) -> list[str]:
    if rows:
        return list(flatten(rows[0]))
    return list(model.model_fields)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _inert(cell: str) -> str:
    """A spreadsheet runs a cell that starts like a formula (OWASP "CSV injection"), so
    such text gets a leading `'`; a number, negative amounts included, stays a number."""
    if cell.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def to_csv(model: type[BaseModel], rows: Sequence[BaseModel]) -> str:
    """A header line, then one line per row (the header alone when there are none)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header_of(model, rows))
    for row in rows:
        writer.writerow(_inert(cell) for cell in flatten(row).values())
    return out.getvalue()


def summary_lines(report: BaseModel) -> list[str]:
    """The report's scalar fields (everything but its rows and their cursor) as
    `name: value` lines; a nested summary (renewal rate `by_channel`) shows one line per
    key."""
    lines: list[str] = []
    for name, value in report.model_dump(mode="json", exclude={"items", "next_cursor"}).items():
        if isinstance(value, dict):
            for key, inner in value.items():
                shown = (
                    ", ".join(f"{k}={_cell(v) or '-'}" for k, v in inner.items())
                    if isinstance(inner, dict)
                    else _cell(inner)
                )
                lines.append(f"{name}.{key}: {shown}")
        elif isinstance(value, list):
            lines.append(f"{name}: {', '.join(map(_cell, value)) or '-'}")
        else:
            lines.append(f"{name}: {_cell(value) or '-'}")
    return lines


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def to_table(model: type[BaseModel], rows: Sequence[BaseModel]) -> str:
    """Aligned columns: numbers to the right, text to the left, `-` for null."""
    header = header_of(model, rows)
    body = [[cell or "-" for cell in flatten(row).values()] for row in rows]
    widths = [max([len(h), *(len(line[i]) for line in body)]) for i, h in enumerate(header)]
    right = [
        bool(body) and all(_numeric(line[i]) or line[i] == "-" for line in body)
        for i in range(len(header))
    ]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)
        ).rstrip()

    lines = [fmt(header), fmt(["-" * w for w in widths])]
    lines += [fmt(line) for line in body]
    if not body:
        lines.append("(no rows)")
    return "\n".join(lines)


def render_text(report: BaseModel, model: type[BaseModel], rows: Sequence[BaseModel]) -> str:
    return "\n".join([*summary_lines(report), "", to_table(model, rows)])
