"""The sender: claims due deliveries, POSTs them signed, records what the endpoint said.

**Claims.** A claim is one short transaction: it picks pending deliveries whose
`next_attempt_at` has come (of enabled subscriptions), and for each one counts the
attempt, writes `claimed_by` and pushes `next_attempt_at` to now + twice the request
timeout. On Postgres the pick is `FOR UPDATE SKIP LOCKED`, so any number of senders
claim disjoint deliveries without waiting for each other; on SQLite the transaction
begins IMMEDIATE, so claims are serialised by the single writer. The HTTP request runs
outside any transaction.

**Outcome.** The result is written only where `claimed_by` still names this sender
(a manual redeliver or a deletion in the meantime wins). A sender that dies mid-attempt
never writes: its delivery is due again once the pushed `next_attempt_at` passes, and
another sender tries it with the same `webhook-id` — at-least-once, deduplicated by the
receiver. A stopping sender (SIGTERM) claims nothing new and finishes the attempts in
flight, each bounded by `RENEWALS_WEBHOOKS_TIMEOUT_SECONDS`.

**Requests.** The body is the notification's CloudEvent (JSON); headers are Standard
Webhooks' (`webhook-id` = the delivery's id, the same on every attempt), signed with the
subscription's secret and, for 24 h after a rotation, the previous one too; both are
stored sealed and opened here, at the claim. A secret that no key of
`RENEWALS_SECRET_KEY` opens fails its attempts (retried, and logged) rather than the
sender. Redirects
are not followed, proxies from the environment are not used, and every connection goes
through the SSRF guard (`url_guard`). See `policy` for what each answer leads to.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy import Select, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.outbound_webhooks import policy
from services.outbound_webhooks.policy import Verdict
from shared.clock import utcnow
from shared.config import Settings
from shared.db import Database
from shared.domain.webhook_subscriptions import signing
from shared.domain.webhook_subscriptions.url_guard import GuardedTransport, RefusedUrl
from shared.metrics import WEBHOOK_DELIVERIES
from shared.models import WebhookDelivery, WebhookSubscription
from shared.runtime import lease
from shared.runtime.claim_loop import ClaimLoop
from shared.runtime.steps import describe
from shared.secret_box import SecretBox, UnreadableSecret

USER_AGENT = "renewals-webhooks/1.0"
PRUNE_BATCH_SIZE = 1000
_ERROR_BODY_CHARS = 500
UNREADABLE_SECRET = (
    "not sent: the subscription's signing secret cannot be decrypted with any key of "
    "RENEWALS_SECRET_KEY (was a key removed before `renewals secrets rotate`?)"
)
_log = structlog.get_logger("renewals.webhooks")


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this sender holds for one attempt, with all it needs to send it."""

    id: uuid.UUID
    subscription_id: uuid.UUID
    url: str
    signing_secrets: tuple[str, ...]
    event: dict[str, Any]
    attempt: int
    retry_until: datetime


@dataclass(frozen=True, slots=True)
class Answer:
    """What one attempt got: a status code, or none (timeout, connection error, refused
    address) with the error; `retry_after` only for 429/503 that asked for it."""

    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    refused: bool = False


def _signing_secrets(row: Any, now: datetime, box: SecretBox) -> tuple[str, ...]:
    """Empty when a secret cannot be opened: the attempt then fails without a request."""
    previous_valid = (
        row.previous_secret is not None
        and row.previous_secret_expires_at is not None
        and row.previous_secret_expires_at > now
    )
    sealed = (row.secret, row.previous_secret) if previous_valid else (row.secret,)
    try:
        return tuple(box.open(secret) for secret in sealed)
    except UnreadableSecret:
        return ()


def _due(now: datetime) -> Select[uuid.UUID]:
    return (
        select(WebhookDelivery.id)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            WebhookSubscription.enabled.is_(True),
        )
    )


async def claim(
    session: AsyncSession,
    holder: str,
    *,
    limit: int,
    now: datetime,
    hold: timedelta,
    box: SecretBox,
) -> list[Claimed]:
    """Claims up to `limit` due deliveries in the caller's transaction."""
    pick = _due(now).order_by(WebhookDelivery.next_attempt_at).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(of=WebhookDelivery, skip_locked=True)
    ids = list((await session.scalars(pick)).all())
    if not ids:
        return []
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids))
        .values(
            claimed_by=holder,
            attempts=WebhookDelivery.attempts + 1,
            next_attempt_at=now + hold,
            last_attempt_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    rows = await session.execute(
        select(
            WebhookDelivery.id,
            WebhookDelivery.subscription_id,
            WebhookDelivery.event,
            WebhookDelivery.attempts,
            WebhookDelivery.retry_until,
            WebhookSubscription.url,
            WebhookSubscription.secret,
            WebhookSubscription.previous_secret,
            WebhookSubscription.previous_secret_expires_at,
        )
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(WebhookDelivery.id.in_(ids))
        .order_by(WebhookDelivery.next_attempt_at)
    )
    return [
        Claimed(
            id=row.id,
            subscription_id=row.subscription_id,
            url=row.url,
            signing_secrets=_signing_secrets(row, now, box),
            event=row.event,
            attempt=row.attempts,
            retry_until=row.retry_until,
        )
        for row in rows
    ]


class Sender:
    """The sender of one process; `run` loops until `stop` is set."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        holder: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.holder = holder or lease.new_holder_id("webhooks")
        self.box = settings.secret_box()
        self.allow_private = settings.webhooks_allow_private
        self.timeout = settings.webhooks_timeout_seconds
        self.hold = timedelta(seconds=2 * settings.webhooks_timeout_seconds)
        self.initial = settings.webhooks_retry_initial_seconds
        self.cap = settings.webhooks_retry_max_interval_seconds
        self.concurrency = settings.webhooks_concurrency
        self.poll_seconds = settings.webhooks_poll_seconds
        self.max_backoff = settings.worker_max_backoff_seconds
        self.retention = timedelta(days=settings.webhooks_delivery_retention_days)
        self.prune_interval = timedelta(seconds=settings.worker_prune_interval_seconds)
        self.rng = rng or random.Random()
        self._wake = asyncio.Event()
        self._pruned_at: datetime | None = None
        self._log = _log.bind(holder=self.holder)

    def wake(self) -> None:
        """New deliveries exist (the dispatcher of this process just added some)."""
        self._wake.set()

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=GuardedTransport(allow_private=self.allow_private),
            follow_redirects=False,
            timeout=self.timeout,
        )

    # -- one delivery -----------------------------------------------------------------

    async def claim(self, limit: int) -> list[Claimed]:
        """Claims up to `limit` due deliveries; a cheap read first, so an idle sender
        never takes SQLite's write lock."""
        now = utcnow()
        async with self.db.read() as session:
            if await session.scalar(_due(now).limit(1)) is None:
                return []
        async with self.db.transaction() as session:
            return await claim(
                session, self.holder, limit=limit, now=now, hold=self.hold, box=self.box
            )

    async def send(self, client: httpx.AsyncClient, claimed: Claimed) -> Answer:
        """One signed POST; never raises for anything the endpoint or network does."""
        if not claimed.signing_secrets:
            return Answer(error=UNREADABLE_SECRET)
        body = json.dumps(claimed.event, separators=(",", ":"), ensure_ascii=False)
        headers = signing.headers(str(claimed.id), utcnow(), body, claimed.signing_secrets)
        headers |= {"content-type": "application/json", "user-agent": USER_AGENT}
        try:
            async with (
                asyncio.timeout(self.timeout),
                client.stream("POST", claimed.url, content=body.encode(), headers=headers) as r,
            ):
                snippet = await _read_some(r)
        except RefusedUrl as exc:
            return Answer(error=f"refused: {exc}", refused=True)
        except TimeoutError:
            return Answer(error=f"no answer within {self.timeout:g} s")
        except (httpx.HTTPError, OSError) as exc:
            return Answer(error=describe(exc))
        if 200 <= r.status_code < 300:
            return Answer(status_code=r.status_code)
        asked = (
            policy.retry_after(r.headers.get("retry-after"), utcnow())
            if r.status_code in policy.THROTTLED
            else None
        )
        error = f"HTTP {r.status_code}" + (f": {snippet}" if snippet else "")
        return Answer(status_code=r.status_code, error=error, retry_after=asked)

    async def record(self, claimed: Claimed, answer: Answer) -> Verdict | None:
        """Writes the attempt's outcome; None when the claim was lost meanwhile."""
        now = utcnow()
        first = Verdict.FAILED if answer.refused else policy.verdict(answer.status_code)
        final, at = policy.next_attempt(
            first,
            attempt=claimed.attempt,
            now=now,
            retry_until=claimed.retry_until,
            asked_delay=answer.retry_after,
            initial=self.initial,
            cap=self.cap,
            rng=self.rng,
        )
        values: dict[str, Any] = {
            "claimed_by": None,
            "last_status_code": answer.status_code,
            "last_error": answer.error,
            "next_attempt_at": at,
            "updated_at": now,
        }
        if final is Verdict.DELIVERED:
            values |= {"status": "delivered", "delivered_at": now}
        elif final is not Verdict.RETRIED:
            values["status"] = "failed"
        async with self.db.transaction() as session:
            result = await session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == claimed.id,
                    WebhookDelivery.claimed_by == self.holder,
                    WebhookDelivery.status == "pending",
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                self._log.info("delivery_claim_lost", delivery_id=str(claimed.id))
                return None
            if final is Verdict.DISABLED:
                await session.execute(
                    update(WebhookSubscription)
                    .where(WebhookSubscription.id == claimed.subscription_id)
                    .values(
                        enabled=False,
                        disabled_reason=f"the endpoint answered 410 Gone at {now.isoformat()}",
                        updated_at=now,
                    )
                    .execution_options(synchronize_session=False)
                )
        WEBHOOK_DELIVERIES.labels(outcome=str(final)).inc()
        self._log.info(
            "webhook_attempt",
            delivery_id=str(claimed.id),
            subscription_id=str(claimed.subscription_id),
            attempt=claimed.attempt,
            status_code=answer.status_code,
            outcome=str(final),
            next_attempt_at=at.isoformat() if at else None,
            error=answer.error,
        )
        return final

    async def deliver(self, client: httpx.AsyncClient, claimed: Claimed) -> None:
        """One attempt, start to finish. A failure to record is only logged: the claim
        expires and the delivery is tried again."""
        answer = await self.send(client, claimed)
        try:
            await self.record(claimed, answer)
        except Exception as exc:
            self._log.warning(
                "webhook_record_failed", delivery_id=str(claimed.id), error=describe(exc)
            )

    # -- the loop ---------------------------------------------------------------------

    async def prune_if_due(self) -> int:
        """Deletes finished deliveries older than the retention, at most every
        `RENEWALS_WORKER_PRUNE_INTERVAL_SECONDS` (idempotent, so every sender may)."""
        now = utcnow()
        if self._pruned_at is not None and now - self._pruned_at < self.prune_interval:
            return 0
        self._pruned_at = now
        deleted = 0
        while True:
            doomed = (
                select(WebhookDelivery.id)
                .where(
                    WebhookDelivery.status.in_(["delivered", "failed"]),
                    WebhookDelivery.updated_at < now - self.retention,
                )
                .limit(PRUNE_BATCH_SIZE)
            )
            async with self.db.transaction() as session:
                result = await session.execute(
                    delete(WebhookDelivery)
                    .where(WebhookDelivery.id.in_(doomed.scalar_subquery()))
                    .execution_options(synchronize_session=False)
                )
            count = int(result.rowcount)  # type: ignore[attr-defined]
            deleted += count
            if count < PRUNE_BATCH_SIZE:
                if deleted:
                    self._log.info("webhook_deliveries_pruned", deliveries=deleted)
                return deleted

    async def run(self, stop: asyncio.Event) -> None:
        """Keeps up to `RENEWALS_WEBHOOKS_CONCURRENCY` attempts in flight; database
        errors back off exponentially up to `RENEWALS_WORKER_MAX_BACKOFF_SECONDS`."""
        async with self.client() as client:
            loop = ClaimLoop(
                claim=self.claim,
                work=lambda item: self.deliver(client, item),
                concurrency=self.concurrency,
                poll_seconds=self.poll_seconds,
                max_backoff=self.max_backoff,
                log=self._log,
                claim_failed="webhook_claim_failed",
                between_claims=self.prune_if_due,
            )
            await loop.run(stop, self._wake)


async def _read_some(response: httpx.Response) -> str:
    """The start of an error answer's body, for the delivery log; never the whole of a
    possibly huge one."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= _ERROR_BODY_CHARS * 4:
            break
    return b"".join(chunks).decode("utf-8", errors="replace").strip()[:_ERROR_BODY_CHARS]
