"""`POST /v1/events`: lifecycle CloudEvents applied exactly like the matching REST call.

`data` is the REST body plus the ids of its path; any id may be given instead as the
entity's external ids (`id` → `external_ids`, `contract_id` → `contract_external_ids`).
The first event with a given (`source`, `id`) wins; repeats are accepted and ignored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from contextlib import suppress
from typing import Annotated, Any, cast

from pydantic import Field, TypeAdapter, ValidationError
from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utcnow
from shared.domain.context import Context
from shared.domain.errors import DomainError, InputErrors, NotFound, field_name
from shared.domain.external_ids import resolve
from shared.domain.ingest.registry import ROUTES, IdField
from shared.domain.ingest.schemas import BatchAccepted, CloudEventIn, EventAccepted
from shared.domain.usage import service as usage
from shared.events.types import ACCEPTED_FROM_CLIENTS, EventType
from shared.models import InboxKey

INBOX_CONSUMER = "api"
MAX_BATCH = 1000
_BATCH = TypeAdapter(Annotated[list[CloudEventIn], Field(min_length=1, max_length=MAX_BATCH)])


def _invalid(loc: tuple[Any, ...], message: str, value: Any = None) -> InputErrors:
    return InputErrors([{"loc": ("body", *loc), "msg": message, "input": value}])


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
        raise NotFound(
            f"no {spec.entity} has the external ids {external}",
            field=field_name((*loc, spec.external_name)),
        )
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
        raise InputErrors(
            [{**err, "loc": ("body", *data_loc, *err["loc"])} for err in exc.errors()]
        ) from None
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
_RECORD_NEW = {
    "postgresql": postgresql.insert(_INBOX)
    .on_conflict_do_nothing()
    .returning(_INBOX.c.source, _INBOX.c.event_id),
    "sqlite": sqlite.insert(_INBOX)
    .on_conflict_do_nothing()
    .returning(_INBOX.c.source, _INBOX.c.event_id),
}
"""`INSERT … ON CONFLICT DO NOTHING RETURNING` per dialect, built once."""


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
    rows = await session.execute(
        _RECORD_NEW[session.get_bind().dialect.name],
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
    return {(source, event_id) for source, event_id in rows}


async def receive(
    session: AsyncSession, ctx: Context, events: Sequence[CloudEventIn], *, batch: bool
) -> list[EventAccepted]:
    """Applies every event in one transaction: a batch is all or nothing. The first event
    with a key wins, within a batch as across requests."""
    new = await _record_new(
        session, INBOX_CONSUMER, sorted({(event.source, event.id) for event in events})
    )
    accepted: list[EventAccepted] = []
    async with usage.accounts_preloaded(session, _usage_contract_ids(events) if batch else ()):
        for index, event in enumerate(events):
            key = (event.source, event.id)
            duplicate = key not in new
            if not duplicate:
                await apply_event(session, ctx, event, (index,) if batch else ())
                new.remove(key)
            accepted.append(EventAccepted(id=event.id, duplicate=duplicate))
        await session.flush()
    return accepted


def _usage_contract_ids(events: Iterable[CloudEventIn]) -> set[uuid.UUID]:
    """The contracts that usage events name by id; a malformed id is left for the event's
    own validation to report."""
    ids: set[uuid.UUID] = set()
    for event in events:
        raw = event.data.get("contract_id") if event.type == EventType.USAGE_REPORTED else None
        if raw is not None:
            with suppress(ValueError):
                ids.add(uuid.UUID(str(raw)))
    return ids
