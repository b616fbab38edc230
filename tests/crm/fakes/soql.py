"""The SOQL subset the Salesforce connector sends, evaluated over the fake org's rows:
`SELECT f, ... FROM Object [WHERE f op literal AND ...] [ORDER BY f [ASC|DESC]]
[LIMIT n]`, with string (compared without case, as SOQL does), null, boolean and
dateTime literals, answered in the REST API's record shape."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

VERSION = "v62.0"
Table = tuple[Mapping[str, dict[str, Any]], set[str]]
"""An object's rows by id, and the names of its fields."""

_SOQL = re.compile(
    r"SELECT\s+(?P<fields>\w+(?:\s*,\s*\w+)*)\s+FROM\s+(?P<object>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+ORDER\s+BY\s+(?P<order>\w+)(?:\s+(?P<direction>ASC|DESC))?)?"
    r"(?:\s+LIMIT\s+(?P<limit>[0-9]+))?",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(
    r"\s*(?P<field>\w+)\s*(?P<op>!=|>=|<=|=|>|<)\s*"
    r"(?P<value>'(?:[^'\\]|\\.)*'|null|true|false|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\s*"
    r"(?:AND\b|$)",
    re.IGNORECASE,
)


def wire(value: Any) -> Any:
    """Date-times as the REST API writes them: `2026-12-04T14:00:00.000+0000`."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"
    return value


def _literal(text: str) -> Any:
    lowered = text.lower()
    if lowered in {"null", "true", "false"}:
        return {"null": None, "true": True, "false": False}[lowered]
    if text.startswith("'"):
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _matches(value: Any, op: str, literal: Any) -> bool:
    """SOQL compares text without case."""
    if isinstance(value, str) and isinstance(literal, str):
        value, literal = value.casefold(), literal.casefold()
    if op == "=":
        return bool(value == literal)
    if op == "!=":
        return bool(value != literal)
    if value is None or literal is None:
        return False
    return bool(
        {
            ">": value > literal,
            ">=": value >= literal,
            "<": value < literal,
            "<=": value <= literal,
        }[op]
    )


class SoqlError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def select(soql: str, tables: Mapping[str, Table]) -> list[dict[str, Any]]:
    """The records the query selects, each with its `attributes` and the fields asked
    for; `SoqlError` with Salesforce's error code for what Salesforce would refuse."""
    parsed = _SOQL.fullmatch(soql.strip())
    if parsed is None:
        raise SoqlError("MALFORMED_QUERY", f"unexpected token in {soql!r}")
    kind = next((name for name in tables if name.lower() == parsed["object"].lower()), None)
    if kind is None:
        raise SoqlError("INVALID_TYPE", f"sObject type '{parsed['object']}' is not supported")
    table, known = tables[kind]
    where = parsed["where"] or ""
    conditions = list(_CONDITION.finditer(where))
    if "".join(c.group(0) for c in conditions) != where:
        raise SoqlError("MALFORMED_QUERY", f"unexpected token in WHERE {where!r}")
    fields = [name.strip() for name in parsed["fields"].split(",")]
    order = parsed["order"]
    for name in [*fields, *(c["field"] for c in conditions), *([order] if order else [])]:
        if name not in known:
            raise SoqlError("INVALID_FIELD", f"No such column '{name}' on entity '{kind}'")
    rows = [
        row
        for row in table.values()
        if all(_matches(row.get(c["field"]), c["op"], _literal(c["value"])) for c in conditions)
    ]
    if order:
        descending = (parsed["direction"] or "").upper() == "DESC"
        rows.sort(key=lambda row: row[order], reverse=descending)
    if parsed["limit"]:
        rows = rows[: int(parsed["limit"])]
    url = f"/services/data/{VERSION}/sobjects/{kind}"
    return [
        {"attributes": {"type": kind, "url": f"{url}/{row['Id']}"}}
        | {name: wire(row.get(name)) for name in fields}
        for row in rows
    ]
