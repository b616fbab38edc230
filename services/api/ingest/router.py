from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Response

from services.api.deps import SessionDep, SettingsDep, Writer
from services.api.openapi import problems
from shared.domain.context import Context
from shared.domain.ingest import service
from shared.domain.ingest.schemas import BatchAccepted, CloudEventIn, EventAccepted

router = APIRouter(prefix="/v1/events", tags=["events"])

_EVENT = {"$ref": "#/components/schemas/CloudEventIn"}


def _accepted(answer: dict[str, Any]) -> Response:
    """The 202 written by orjson. Returned as a model, the answer was validated again
    against the response model and dumped by pydantic, item by item for a batch."""
    return Response(orjson.dumps(answer), status_code=202, media_type="application/json")


def _item(accepted: EventAccepted) -> dict[str, Any]:
    return {"id": accepted.id, "duplicate": accepted.duplicate}


_RESPONSES = problems(404, r404="An entity `data` names, by id or external ids, does not exist")


def _media_types(schema: dict[str, Any], media: str) -> dict[str, Any]:
    """Documents the CloudEvents media types the route accepts besides application/json."""
    return {"requestBody": {"content": {media: {"schema": schema}}}}


@router.post(
    "",
    status_code=202,
    response_model=EventAccepted,
    responses=_RESPONSES,
    openapi_extra=_media_types(_EVENT, "application/cloudevents+json"),
)
async def post_event(
    principal: Writer, session: SessionDep, settings: SettingsDep, event: CloudEventIn
) -> Response:
    """Apply one lifecycle CloudEvent like the matching REST call (202 with its id).

    `data` is that call's body plus the ids of its path, each of which may be given as
    the entity's external ids instead; the schema has one branch per `type`. The rules
    between fields that the matching call states apply to `data` too (422 naming
    `data.<field>`). An event whose (`source`, `id`) was received before is accepted and
    ignored, once its `data` has its type's shape."""
    ctx = Context.now(principal.actor, settings.currency)
    (accepted,) = await service.receive(session, ctx, [event], batch=False)
    return _accepted(_item(accepted))


@router.post(
    "/batch",
    status_code=202,
    response_model=BatchAccepted,
    responses=_RESPONSES,
    openapi_extra=_media_types(
        {"type": "array", "items": _EVENT, "minItems": 1, "maxItems": service.MAX_BATCH},
        "application/cloudevents-batch+json",
    ),
)
async def post_batch(
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    events: Annotated[list[CloudEventIn], Body(min_length=1, max_length=service.MAX_BATCH)],
) -> Response:
    """Apply up to 1,000 events in one transaction: all or nothing. Each is read as
    `POST /v1/events` reads one; errors name it by index (`[3].data.arr`)."""
    ctx = Context.now(principal.actor, settings.currency)
    items = await service.receive(session, ctx, events, batch=True)
    accepted = sum(not item.duplicate for item in items)
    return _accepted(
        {
            "accepted": accepted,
            "duplicates": len(items) - accepted,
            "items": [_item(item) for item in items],
        }
    )
