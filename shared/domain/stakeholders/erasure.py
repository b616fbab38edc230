"""Redacts an erased person's name and e-mail from every place the database keeps text.

Lifecycle events never carry names, but task texts, task notifications in the outbox, the
webhook delivery log (so a redelivery cannot send them again) and stored idempotent
responses (the stakeholder POST answered with the name) do. Matching is case-insensitive
and on whole words, so erasing "Ann" leaves "Annual review" alone and an e-mail whose
domain was lower-cased by validation is still found. What already left the database
(Kafka topics, delivered webhooks, CRM copies) is out of reach here: the notifications
topic's retention bounds how long Kafka keeps it (README, "Running distributed").
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import IdempotencyKey, OutboxEvent, Task, WebhookDelivery

REDACTED = "[erased]"
_BATCH = 500
_TASK_TEXT_LIMITS = {"title": 300, "description": None, "outcome": None, "status_reason": 300}


class Redactor:
    """Replaces the given terms (longest first, so an e-mail containing the name goes whole)."""

    def __init__(self, *terms: str | None) -> None:
        self.terms = sorted({t for t in terms if t}, key=len, reverse=True)
        alternatives = "|".join(re.escape(term) for term in self.terms)
        self.pattern = (
            re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE) if self.terms else None
        )

    def text(self, value: str) -> str:
        return self.pattern.sub(REDACTED, value) if self.pattern else value

    def document(self, value: Any) -> Any:
        """Walks JSON (dicts, lists, strings) and redacts every string in it, keys included."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.document(item) for item in value]
        if isinstance(value, dict):
            return {self.text(k): self.document(v) for k, v in value.items()}
        return value

    def might_occur_in(self, raw: str) -> bool:
        """Cheap pre-check on serialized text: the term itself or its JSON-escaped form."""
        lowered = raw.lower()
        return any(
            form.lower() in lowered
            for term in self.terms
            for form in (term, json.dumps(term)[1:-1], json.dumps(term, ensure_ascii=False)[1:-1])
        )


async def redact_account(session: AsyncSession, account_id: uuid.UUID, redactor: Redactor) -> None:
    if redactor.pattern is None:
        return
    await _redact_tasks(session, account_id, redactor)
    await _redact_outbox(session, account_id, redactor)
    await _redact_deliveries(session, redactor)
    await _redact_idempotent_responses(session, redactor)


async def _redact_tasks(session: AsyncSession, account_id: uuid.UUID, redactor: Redactor) -> None:
    for task in await session.scalars(select(Task).where(Task.account_id == account_id)):
        for field, limit in _TASK_TEXT_LIMITS.items():
            value: str | None = getattr(task, field)
            if value is not None and (redacted := redactor.text(value)) != value:
                setattr(task, field, redacted[:limit] if limit else redacted)
    await session.flush()


async def _redact_outbox(session: AsyncSession, account_id: uuid.UUID, redactor: Redactor) -> None:
    """Outbox rows are keyed by account, so the account's rows are all that can name it."""
    rows = await session.scalars(
        select(OutboxEvent).where(OutboxEvent.partition_key == str(account_id))
    )
    for row in rows:
        redacted = redactor.document(row.event)
        if redacted != row.event:
            row.event = redacted  # reassigned: JSON columns do not track in-place changes
    await session.flush()


async def _redact_deliveries(session: AsyncSession, redactor: Redactor) -> None:
    """Deliveries keep the notification they send (and resend), with no account column,
    so the log is scanned in id order, in batches, and only the rows whose serialized
    event might name the person are parsed; erasures are rare and deliveries are pruned."""
    stored = select(WebhookDelivery.id, WebhookDelivery.event).order_by(WebhookDelivery.id)
    after: uuid.UUID | None = None
    while True:
        page = stored if after is None else stored.where(WebhookDelivery.id > after)
        batch = (await session.execute(page.limit(_BATCH))).all()
        for delivery_id, event in batch:
            if not redactor.might_occur_in(json.dumps(event, ensure_ascii=False)):
                continue
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id)
                .values(event=redactor.document(event))
            )
        if len(batch) < _BATCH:
            return
        after = batch[-1][0]


async def _redact_idempotent_responses(session: AsyncSession, redactor: Redactor) -> None:
    """Stored responses are not linked to an account, so the whole table (at most 24 h of
    POSTs) is scanned in id order, in batches; erasures are rare."""
    stored = select(
        IdempotencyKey.id, IdempotencyKey.response_body, IdempotencyKey.response_headers
    )
    stored = stored.where(IdempotencyKey.response_body.is_not(None)).order_by(IdempotencyKey.id)
    after: uuid.UUID | None = None
    while True:
        page = stored if after is None else stored.where(IdempotencyKey.id > after)
        batch = (await session.execute(page.limit(_BATCH))).all()
        for key_id, body, headers in batch:
            if body is None or (redacted := redact_body(body, redactor)) == body:
                continue
            await session.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.id == key_id)
                .values(response_body=redacted, response_headers=_with_length(headers, redacted))
            )
        if len(batch) < _BATCH:
            return
        after = batch[-1][0]


def redact_body(body: bytes, redactor: Redactor) -> bytes:
    """JSON bodies are parsed and re-serialized as Starlette writes them, so an escaped
    name is found and the replay stays valid JSON; anything else is redacted as text."""
    text = body.decode("utf-8", errors="surrogateescape")
    if not redactor.might_occur_in(text):
        return body
    try:
        document = json.loads(text)
    except ValueError:
        return redactor.text(text).encode("utf-8", errors="surrogateescape")
    redacted = redactor.document(document)
    if redacted == document:
        return body
    return json.dumps(redacted, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _with_length(headers: list[list[str]] | None, body: bytes) -> list[list[str]] | None:
    """A replay sends the stored headers, so content-length must follow the new body."""
    if headers is None:
        return None
    return [
        [name, str(len(body))] if name.lower() == "content-length" else [name, value]
        for name, value in headers
    ]
