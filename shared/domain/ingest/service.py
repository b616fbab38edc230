"""`POST /v1/events`: lifecycle CloudEvents applied exactly like the matching REST call.

`data` is the REST body plus the ids of its path; any id may be given instead as the
entity's external ids (`id` → `external_ids`, `contract_id` → `contract_external_ids`).
The first event with a given (`source`, `id`) wins; repeats are accepted and ignored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, cast

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from sqlalchemy import Result, Table, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utcnow
from shared.domain.context import Context
from shared.domain.errors import DomainError, InputErrors, NotFound, field_name
from shared.domain.external_ids import resolve
from shared.domain.ingest.registry import ROUTES, EventRoute, IdField
from shared.domain.ingest.schemas import BatchAccepted, CloudEventIn, EventAccepted
from shared.domain.ingest.usage_rows import UsageEvent, write_usage
from shared.domain.usage.schemas import UsageCreate
from shared.events.types import ACCEPTED_FROM_CLIENTS, EventType
from shared.models import InboxKey

INBOX_CONSUMER = "api"
MAX_BATCH = 1000
_BATCH = TypeAdapter(Annotated[list[CloudEventIn], Field(min_length=1, max_length=MAX_BATCH)])


def _invalid(loc: tuple[Any, ...], message: str, value: Any = None) -> InputErrors:
    return InputErrors([{"loc": ("body", *loc), "msg": message, "input": value}])


Identity = uuid.UUID | dict[str, Any]
"""An entity named in `data`: by its id, or by its external ids, resolved when applied."""


@dataclass(frozen=True, slots=True)
class CheckedEvent:
    """An event whose `data` has the shape of its type: the ids it names and its body.
    Checked before its key is recorded, so a malformed event is refused even when its
    (`source`, `id`) was seen before, as the document's schema for its type says."""

    event: CloudEventIn
    route: EventRoute
    path_ids: list[Identity]
    body_ids: dict[str, Identity]
    body: BaseModel
    loc: tuple[Any, ...]


def _identity(data: dict[str, Any], spec: IdField, loc: tuple[Any, ...]) -> Identity:
    if spec.name in data:
        try:
            return uuid.UUID(str(data.pop(spec.name)))
        except ValueError:
            raise _invalid((*loc, spec.name), "Input should be a valid UUID") from None
    external = data.pop(spec.external_name, None)
    if not isinstance(external, dict) or not external:
        raise _invalid((*loc, spec.name), f"Field required (or give {spec.external_name} instead)")
    return external


_UNRESOLVED = uuid.UUID(int=0)
"""Stands in for a body id given as external ids while the body is validated; the
resolved id replaces it before the body is applied."""


def check_event(event: CloudEventIn, loc: tuple[Any, ...]) -> CheckedEvent:
    """Everything about an event that needs no database: its type, the syntax of the ids
    in its `data`, and the rest of `data` against its type's REST body."""
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
    path_ids = [_identity(data, spec, data_loc) for spec in route.path_ids]
    body_ids: dict[str, Identity] = {}
    for spec in route.body_ids:
        if spec.name in data or spec.external_name in data:
            body_ids[spec.name] = identity = _identity(data, spec, data_loc)
            data[spec.name] = str(identity if isinstance(identity, uuid.UUID) else _UNRESOLVED)
    try:
        body = route.body.model_validate(data)
    except ValidationError as exc:
        raise InputErrors(
            [{**err, "loc": ("body", *data_loc, *err["loc"])} for err in exc.errors()]
        ) from None
    return CheckedEvent(event, route, path_ids, body_ids, body, loc)


async def _resolve(
    session: AsyncSession, identity: Identity, spec: IdField, loc: tuple[Any, ...]
) -> uuid.UUID:
    if isinstance(identity, uuid.UUID):
        return identity
    found = await resolve(session, spec.entity, identity)
    if found is None:
        raise NotFound(
            f"no {spec.entity} has the external ids {identity}",
            field=field_name((*loc, spec.external_name)),
        )
    return found


async def apply_event(session: AsyncSession, ctx: Context, checked: CheckedEvent) -> None:
    route, data_loc = checked.route, (*checked.loc, "data")
    path_ids = [
        await _resolve(session, identity, spec, data_loc)
        for spec, identity in zip(route.path_ids, checked.path_ids, strict=True)
    ]
    body = checked.body
    if checked.body_ids:
        specs = {spec.name: spec for spec in route.body_ids}
        resolved = {
            name: await _resolve(session, identity, specs[name], data_loc)
            for name, identity in checked.body_ids.items()
        }
        body = body.model_copy(update=resolved)
    event = checked.event
    event_ctx = Context(actor=ctx.actor, currency=ctx.currency, time=event.time)
    try:
        await route.apply(session, event_ctx, *path_ids, body)
    except DomainError as exc:
        exc.field = field_name((*data_loc, *([exc.field] if exc.field else [])))
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
        raise InputErrors([{**err, "loc": ("body", *err["loc"])} for err in exc.errors()]) from None


def summarize(items: Sequence[EventAccepted]) -> BatchAccepted:
    return BatchAccepted(
        accepted=sum(not item.duplicate for item in items),
        duplicates=sum(item.duplicate for item in items),
        items=list(items),
    )


_INBOX = cast(Table, InboxKey.__table__)
_RECORD_NEW = (
    sqlite.insert(_INBOX).on_conflict_do_nothing().returning(_INBOX.c.source, _INBOX.c.event_id)
)
"""`INSERT … ON CONFLICT DO NOTHING RETURNING`, built once."""
_PG_RECORD_NEW = """
INSERT INTO inbox (consumer, source, event_id, processed_at)
SELECT $1, source, event_id, $2
FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS key (source, event_id, position)
ORDER BY position
ON CONFLICT DO NOTHING
RETURNING source, event_id
"""
"""The same on Postgres, as the driver's SQL: one statement whatever the count, without
a row of parameters compiled and processed per key."""


async def _record_new(
    session: AsyncSession, consumer: str, keys: Iterable[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Inserts the keys (`source`, `id`) that `consumer` has not recorded yet and returns
    those, in one statement. Recording before applying lets a concurrent request with
    the same key wait on the row and then see it as a duplicate; the caller's rollback
    (a bad event, an all-or-nothing batch) takes the keys back with everything else.
    Callers pass the keys sorted, so two batches that share keys wait on each other
    instead of deadlocking."""
    processed_at = utcnow()
    keys = list(keys)
    result: Result[Any]
    if session.get_bind().dialect.name == "postgresql":
        connection = await session.connection()
        parameters = (
            consumer,
            processed_at,
            [source for source, _ in keys],
            [event_id for _, event_id in keys],
        )
        result = await connection.exec_driver_sql(_PG_RECORD_NEW, parameters)
    else:
        result = await session.execute(
            _RECORD_NEW,
            [
                {
                    "consumer": consumer,
                    "source": source,
                    "event_id": event_id,
                    "processed_at": processed_at,
                }
                for source, event_id in keys
            ],
        )
    rows = cast(list[tuple[str, str]], result.all())
    return {(source, event_id) for source, event_id in rows}


async def receive(
    session: AsyncSession, ctx: Context, events: Sequence[CloudEventIn], *, batch: bool
) -> list[EventAccepted]:
    """Applies every event in one transaction: a batch is all or nothing. The first event
    with a key wins, within a batch as across requests; every event, repeated or not, is
    checked first. New usage events are written together (`usage_rows`), each run of
    them before the next event of another type, so every event sees the ones before it
    and the outbox keeps their order."""
    checked = [check_event(event, (index,) if batch else ()) for index, event in enumerate(events)]
    new = await _record_new(
        session, INBOX_CONSUMER, sorted({(event.source, event.id) for event in events})
    )
    accepted: list[EventAccepted] = []
    usage: list[UsageEvent] = []
    for event, shaped in zip(events, checked, strict=True):
        key = (event.source, event.id)
        duplicate = key not in new
        if not duplicate:
            new.remove(key)
            if event.type == EventType.USAGE_REPORTED:
                usage.append(_usage_event(shaped))
            else:
                await write_usage(session, ctx, usage)
                usage.clear()
                await apply_event(session, ctx, shaped)
        accepted.append(EventAccepted(id=event.id, duplicate=duplicate))
    await write_usage(session, ctx, usage)
    await session.flush()
    return accepted


def _usage_event(checked: CheckedEvent) -> UsageEvent:
    (contract,) = checked.path_ids
    return UsageEvent(
        contract, cast(UsageCreate, checked.body), checked.event.time, (*checked.loc, "data")
    )
