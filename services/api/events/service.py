"""`POST /v1/events`: lifecycle CloudEvents applied exactly like the matching REST call.

`data` is the REST body plus the ids of its path; any id may be given instead as the
entity's external ids (`id` → `external_ids`, `contract_id` → `contract_external_ids`).
The first event with a given (`source`, `id`) wins; repeats are accepted and ignored.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi.exceptions import RequestValidationError
from pydantic import Field, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.context import Context
from services.api.errors import DomainError, NotFound
from services.api.events.registry import ROUTES, IdField
from services.api.events.schemas import BatchAccepted, CloudEventIn, EventAccepted
from services.api.external_ids import resolve
from shared.events.types import ACCEPTED_FROM_CLIENTS
from shared.models import InboxKey

INBOX_CONSUMER = "api"
MAX_BATCH = 1000
_BATCH = TypeAdapter(Annotated[list[CloudEventIn], Field(min_length=1, max_length=MAX_BATCH)])


def _invalid(loc: tuple[Any, ...], message: str, value: Any = None) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", *loc), "msg": message, "input": value}])


async def _resolve_id(
    session: AsyncSession, data: dict[str, Any], spec: IdField, loc: tuple[Any, ...]
) -> uuid.UUID:
    if spec.name in data:
        try:
            return uuid.UUID(str(data.pop(spec.name)))
        except ValueError:
            raise _invalid((*loc, spec.name), "Input should be a valid UUID") from None
    external = data.pop(spec.external_name, None)
    if not isinstance(external, dict) or not external:
        raise _invalid((*loc, spec.name), f"Field required (or give {spec.external_name} instead)")
    found = await resolve(session, spec.entity, external)
    if found is None:
        dotted = ".".join(str(part) for part in (*loc, spec.external_name))
        raise NotFound(f"no {spec.entity} has the external ids {external}", field=dotted)
    return found


async def apply_event(
    session: AsyncSession, ctx: Context, event: CloudEventIn, loc: tuple[Any, ...]
) -> None:
    if event.type not in ACCEPTED_FROM_CLIENTS:
        raise _invalid(
            (*loc, "type"),
            "not a lifecycle type clients may send: "
            + ", ".join(sorted(str(t) for t in ACCEPTED_FROM_CLIENTS)),
            event.type,
        )
    route = ROUTES[event.type]
    data = dict(event.data)
    data_loc = (*loc, "data")
    path_ids = [await _resolve_id(session, data, spec, data_loc) for spec in route.path_ids]
    for spec in route.body_ids:
        if spec.name in data or spec.external_name in data:
            data[spec.name] = str(await _resolve_id(session, data, spec, data_loc))
    try:
        body = route.body.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**err, "loc": ("body", *data_loc, *err["loc"])} for err in exc.errors()]
        ) from None
    event_ctx = Context(actor=ctx.actor, currency=ctx.currency, time=event.time)
    try:
        await route.apply(session, event_ctx, *path_ids, body)
    except DomainError as exc:
        prefix = ".".join(str(part) for part in data_loc)
        exc.field = f"{prefix}.{exc.field}" if exc.field else prefix
        raise


async def already_received(
    session: AsyncSession, consumer: str, source: str, event_id: str
) -> bool:
    """Whether `consumer` already recorded this (`source`, `id`) in its inbox."""
    found = await session.scalar(
        select(InboxKey.event_id).where(
            InboxKey.consumer == consumer,
            InboxKey.source == source,
            InboxKey.event_id == event_id,
        )
    )
    return found is not None


def parse(payload: dict[str, Any] | list[Any]) -> tuple[list[CloudEventIn], bool]:
    """A decoded body read the way `/v1/events` (an object) or `/v1/events/batch` (an
    array) reads it, with the same 422s naming the same fields; True for a batch. For
    bodies that reach the service without FastAPI's parsing, like signed webhooks."""
    try:
        if isinstance(payload, dict):
            return [CloudEventIn.model_validate(payload)], False
        return _BATCH.validate_python(payload), True
    except ValidationError as exc:
        raise RequestValidationError(
            [{**err, "loc": ("body", *err["loc"])} for err in exc.errors()]
        ) from None


def summarize(items: Sequence[EventAccepted]) -> BatchAccepted:
    return BatchAccepted(
        accepted=sum(not item.duplicate for item in items),
        duplicates=sum(item.duplicate for item in items),
        items=list(items),
    )


async def receive(
    session: AsyncSession, ctx: Context, events: Sequence[CloudEventIn], *, batch: bool
) -> list[EventAccepted]:
    """Applies every event in one transaction: a batch is all or nothing."""
    accepted: list[EventAccepted] = []
    seen: set[tuple[str, str]] = set()
    for index, event in enumerate(events):
        key = (event.source, event.id)
        duplicate = key in seen or await already_received(
            session, INBOX_CONSUMER, event.source, event.id
        )
        if not duplicate:
            await apply_event(session, ctx, event, (index,) if batch else ())
            session.add(InboxKey(consumer=INBOX_CONSUMER, source=event.source, event_id=event.id))
            seen.add(key)
        accepted.append(EventAccepted(id=event.id, duplicate=duplicate))
    await session.flush()
    return accepted
