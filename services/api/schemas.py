"""Schema building blocks every domain uses."""

from __future__ import annotations

import base64
import binascii
import uuid
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from services.api.errors import InvalidInput


class InputModel(BaseModel):
    """Request bodies: unknown and read-only fields are rejected, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UpdateModel(InputModel):
    """PATCH bodies: an omitted field stays as it is; `null` is only accepted for the
    fields listed in `nullable`, so `{"name": null}` is an error naming `name`."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _reject_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise ValueError("may not be null")
        return value


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ExternalSystem = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,49}$")]
ExternalValue = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ExternalIds = Annotated[
    dict[ExternalSystem, ExternalValue],
    Field(max_length=20, description='Ids of this entity in other systems: {"hubspot": "123"}'),
]
Amount = Annotated[
    Decimal,
    Field(ge=0, allow_inf_nan=False, description="A decimal string or number, in the currency"),
]

Limit = Annotated[int, Field(ge=1, le=500)]


def encode_cursor(last_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(last_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        return uuid.UUID(bytes=base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise InvalidInput("not a cursor returned by this API", field="cursor") from exc
