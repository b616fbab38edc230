"""Schema building blocks every domain uses."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from shared.domain.errors import InvalidInput


class InputModel(BaseModel):
    """Request bodies: unknown and read-only fields are rejected, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _document_non_nullable(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """PATCH fields are typed `X | None = None` so they can be omitted, which pydantic
    documents as "may be null"; the OpenAPI must say what `_reject_null` enforces."""
    nullable: frozenset[str] = getattr(model, "nullable", frozenset())
    for name, field in schema.get("properties", {}).items():
        if name in nullable:
            continue
        branches = [branch for branch in field.get("anyOf", ()) if branch != {"type": "null"}]
        if "anyOf" in field and len(branches) == 1:
            del field["anyOf"]
            field.update({key: value for key, value in branches[0].items() if key not in field})
        elif "anyOf" in field:
            field["anyOf"] = branches
        if field.get("default", ...) is None:
            del field["default"]


class UpdateModel(InputModel):
    """PATCH bodies: an omitted field stays as it is; `null` is only accepted for the
    fields listed in `nullable`, so `{"name": null}` is an error naming `name`."""

    model_config = ConfigDict(json_schema_extra=_document_non_nullable)

    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _reject_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("may not be null")
        return value


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


NOT_BLANK = r"\S"
"""Input strings are stripped (`str_strip_whitespace`), so one of only spaces or line
breaks is empty: the pattern tells clients a visible character is needed."""

CONTROL_CHARACTERS = r"\x00-\x1f\x7f-\x9f"
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")
_PRINTABLE, _VISIBLE = f"[^{CONTROL_CHARACTERS}]", f"[^\\s{CONTROL_CHARACTERS}]"
ONE_LINE = f"^{_PRINTABLE}*{_VISIBLE}{_PRINTABLE}*$"
"""The documented form of a name: printable characters, at least one of them visible."""
LINES = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*$"
"""The documented form of free text: printable characters and line feeds."""


def no_control_characters(value: Any, *, line_breaks: bool = False) -> Any:
    """Names are quoted in task titles, Markdown briefs, CSV exports, calendar feeds and
    CRM notes, where a line break or an escape sequence would break the text around it;
    free text may hold line feeds, and only those, so a text has one way to end a line.
    Checked before the surrounding whitespace is stripped, so a trailing tab is refused as
    the documented pattern says, not silently dropped."""
    if not isinstance(value, str):
        return value
    if _CONTROL.search(value.replace("\n", "") if line_breaks else value):
        kinds = "tabs, carriage returns" if line_breaks else "line breaks, tabs"
        raise ValueError(f"must not contain control characters ({kinds}, …)")
    return value


Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK),
    BeforeValidator(no_control_characters),
    Field(description="No control characters", json_schema_extra={"pattern": ONE_LINE}),
]
"""Every name or title a person types (accounts, partners, stakeholders, goals, trials)."""
Label = Annotated[
    str,
    StringConstraints(min_length=1, max_length=500, pattern=NOT_BLANK),
    BeforeValidator(no_control_characters),
    Field(description="No control characters", json_schema_extra={"pattern": ONE_LINE}),
]
"""A longer one-line text, like a goal's target."""
Notes = Annotated[
    str,
    StringConstraints(max_length=5000),
    BeforeValidator(partial(no_control_characters, line_breaks=True)),
    Field(json_schema_extra={"pattern": LINES}),
]
"""Free text that may run over several lines, like a task's outcome."""
ExternalSystem = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,49}$")]
ExternalValue = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK)]
ExternalIds = Annotated[
    dict[ExternalSystem, ExternalValue],
    Field(
        max_length=20,
        description='Ids of this entity in other systems: {"hubspot": "123"}',
        # pydantic documents the key rule as `patternProperties`, which leaves other keys
        # free; the API refuses them, so the document must too.
        json_schema_extra={"additionalProperties": False},
    ),
]
DECIMAL_TEXT = r"^[0-9]+(\.[0-9]+)?$"


def _decimal_text(value: Any) -> Any:
    """A string amount is plain digits (`1234.50`): no sign, exponent or spaces, which
    `Decimal` would take but the OpenAPI pattern (and a reader of it) would not."""
    if isinstance(value, str) and not re.fullmatch(DECIMAL_TEXT, value):
        raise ValueError("must be a decimal like 1234.50")
    return value


Amount = Annotated[
    Decimal,
    BeforeValidator(_decimal_text),
    Field(ge=0, allow_inf_nan=False),
    WithJsonSchema(
        {
            "description": "A decimal string or number, in the currency",
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": DECIMAL_TEXT},
            ],
        },
        mode="validation",
    ),
]

Limit = Annotated[int, Field(ge=1, le=500)]

DATE_TEXT = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
_DATE_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
"""Compiled once: every date in every body passes here (a thousand per event batch)."""


def _date_text(value: Any) -> Any:
    """A date arrives as `YYYY-MM-DD` text: pydantic would also read a number (or a
    numeric string) as a Unix timestamp, which nobody documenting dates means."""
    if not isinstance(value, date) and not (
        isinstance(value, str) and _DATE_SHAPE.fullmatch(value)
    ):
        raise ValueError("must be a date, YYYY-MM-DD")
    return value


FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)
"""The dates the API and CLI accept: wide enough for any contract, narrow enough that
adding years of terms, grace and windows never leaves Python's date range."""

Day = Annotated[
    date,
    BeforeValidator(_date_text),
    Field(
        ge=FIRST_DAY,
        le=LAST_DAY,
        description="A date, YYYY-MM-DD (years 1900-2999, so date arithmetic never overflows)",
        # JSON Schema has no bounds for dates; the years are stated as a pattern instead.
        json_schema_extra={"pattern": DATE_TEXT},
    ),
]


CURSOR_TEXT = r"^[A-Za-z0-9_-]{21}[AQgw]$"
"""An id cursor: the 16 bytes of the last id, unpadded base64url. 128 bits fill 22
characters with 4 bits to spare, which are zero, so the last one is `A`, `Q`, `g` or `w`."""

Cursor = Annotated[
    str,
    StringConstraints(min_length=22, max_length=22, pattern=CURSOR_TEXT),
    Field(description="The `next_cursor` of the previous page"),
]
"""The `cursor` query parameter of every list paged by id: its pattern is exactly what
`decode_cursor` reads, so a schema-valid cursor is never refused."""


def encode_cursor(last_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    """Base64 decoding would skip characters outside the alphabet and accept padding;
    only the documented form is read, so the document and the API agree."""
    if not re.fullmatch(CURSOR_TEXT, cursor):
        raise InvalidInput("not a cursor returned by this API", field="cursor")
    return uuid.UUID(bytes=base64.urlsafe_b64decode(cursor + "=="))
