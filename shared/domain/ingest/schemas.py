from __future__ import annotations

import copy
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    JsonValue,
    StringConstraints,
    TypeAdapter,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from shared.domain.ingest.registry import ROUTES, EventRoute, IdField
from shared.domain.schemas import ExternalIds
from shared.events.types import ACCEPTED_FROM_CLIENTS

_CLIENT_TYPES: list[JsonValue] = [str(type_) for type_ in sorted(ACCEPTED_FROM_CLIENTS)]
"""Documented as the enum of `type`; the service checks it and names the field."""

_EXTERNAL_IDS = TypeAdapter(ExternalIds)

EventText = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class CloudEventIn(BaseModel):
    """A CloudEvents 1.0 event in structured mode. Extension attributes are allowed and
    ignored; `actor` is always set from the API key, never taken from the client."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"]
    id: EventText
    source: EventText
    type: EventText = Field(
        description="A lifecycle type clients may send",
        json_schema_extra={"enum": _CLIENT_TYPES},
    )
    time: AwareDatetime = Field(description="When the change happened; required here")
    subject: str | None = None
    datacontenttype: str | None = None
    dataschema: str | None = None
    data: dict[str, Any]

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """`data` is read as the REST body of the event's `type` (the service checks it
        against that body's model), so the document says so: one `oneOf` branch per
        type, each with `type` as a constant and that type's `data`."""
        schema = handler.resolve_ref_schema(handler(core_schema))
        schema["oneOf"] = [
            {
                "title": str(type_),
                "properties": {"type": {"const": str(type_)}, "data": _data_schema(route, handler)},
            }
            for type_, route in sorted(ROUTES.items())
            if type_ in ACCEPTED_FROM_CLIENTS
        ]
        return schema


def _data_schema(route: EventRoute, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
    """The body's schema with the entity ids of the path: each as its id or, instead,
    as its external ids (`oneOf`, since the body refuses the other name)."""
    body = handler(route.body.__pydantic_core_schema__)
    if not route.path_ids and not route.body_ids:
        return body
    variants = [copy.deepcopy(handler.resolve_ref_schema(body))]
    for spec in (*route.path_ids, *route.body_ids):
        variants = [
            variant
            for base in variants
            for variant in (_by_id(base, spec), _by_external_ids(base, spec, handler))
        ]
    return {"oneOf": variants}


def _by_id(body: JsonSchemaValue, spec: IdField) -> JsonSchemaValue:
    schema = copy.deepcopy(body)
    schema["properties"][spec.name] = {"type": "string", "format": "uuid"}
    schema["required"] = sorted({*schema.get("required", ()), spec.name})
    return schema


def _by_external_ids(
    body: JsonSchemaValue, spec: IdField, handler: GetJsonSchemaHandler
) -> JsonSchemaValue:
    schema = copy.deepcopy(body)
    schema["properties"].pop(spec.name, None)
    schema["properties"][spec.external_name] = {
        **handler(_EXTERNAL_IDS.core_schema),
        "minProperties": 1,
        "description": f"Names the {spec.entity} by its ids in other systems",
    }
    required = set(schema.get("required", ())) - {spec.name}
    schema["required"] = sorted({*required, spec.external_name})
    return schema


class EventAccepted(BaseModel):
    id: str
    duplicate: bool = Field(description="True when this (source, id) was received before")


class BatchAccepted(BaseModel):
    accepted: int
    duplicates: int
    items: list[EventAccepted]
