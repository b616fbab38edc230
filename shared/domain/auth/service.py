"""API keys: random, shown once, stored as SHA-256.

`admin` implies `read` and `write`; `read` and `write` are independent, so a CRM that
only pushes changes can hold a write-only key.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utcnow
from shared.db import Database
from shared.enums import Scope
from shared.models import ApiKey

KEY_PREFIX = "rnw_"
USE_RESOLUTION = timedelta(minutes=1)
"""`last_used_at` is at most this old while a key is in use, and written at most this
often per key."""


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: uuid.UUID
    name: str
    scopes: frozenset[Scope]
    last_used_at: datetime | None = None

    def use_to_note(self, now: datetime) -> bool:
        return self.last_used_at is None or self.last_used_at <= now - USE_RESOLUTION

    @property
    def actor(self) -> str:
        return str(self.key_id)

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes or Scope.ADMIN in self.scopes


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_scopes(raw: Iterable[str]) -> frozenset[Scope]:
    scopes = {part.strip() for part in raw if part.strip()}
    unknown = scopes - {scope.value for scope in Scope}
    if unknown or not scopes:
        raise ValueError(
            f"scopes must be a non-empty subset of read, write, admin (got {sorted(scopes)})"
        )
    return frozenset(Scope(scope) for scope in scopes)


async def create_key(
    session: AsyncSession,
    *,
    name: str,
    scopes: frozenset[Scope],
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Returns the row and the plain key, which is never stored and cannot be shown again."""
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name,
        prefix=plain[: len(KEY_PREFIX) + 6],
        key_hash=hash_key(plain),
        scopes=sorted(scope.value for scope in scopes),
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    return row, plain


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    return list((await session.scalars(select(ApiKey).order_by(ApiKey.id))).all())


async def revoke_key(session: AsyncSession, key_id: uuid.UUID) -> ApiKey | None:
    row = await session.get(ApiKey, key_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        await session.flush()
    return row


async def count_active_keys(session: AsyncSession) -> int:
    rows = await session.scalars(select(ApiKey.id).where(ApiKey.revoked_at.is_(None)))
    return len(rows.all())


_KEYS = ApiKey.__table__.c
_BY_HASH = select(_KEYS.id, _KEYS.name, _KEYS.scopes, _KEYS.last_used_at).where(
    _KEYS.key_hash == bindparam("key_hash"),
    _KEYS.revoked_at.is_(None),
    or_(_KEYS.expires_at.is_(None), _KEYS.expires_at > bindparam("now")),
)
"""Built once: constructing the statement and its cache key on every request cost as much
as running it."""


async def authenticate(session: AsyncSession, plain: str) -> Principal | None:
    """Reads the key on every call, never from a cache, so a revocation holds at once.
    Columns, not the entity: it runs on every request, and the caller's session (the
    request's own) then holds no `ApiKey` the route could trip over."""
    result = await session.execute(_BY_HASH, {"key_hash": hash_key(plain), "now": utcnow()})
    return _principal(result.first())


async def authenticate_alone(db: Database, plain: str) -> Principal | None:
    """`authenticate` outside any unit of work, for the check every request passes
    first. On Postgres the one read is sent in autocommit: one round trip where a
    read transaction took three (BEGIN, the read, ROLLBACK)."""
    if db.is_sqlite:
        async with db.read() as session:
            return await authenticate(session, plain)
    async with db.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        result = await autocommit.execute(_BY_HASH, {"key_hash": hash_key(plain), "now": utcnow()})
        return _principal(result.first())


def _principal(row: Row[Any, Any, Any, Any] | None) -> Principal | None:
    if row is None:
        return None
    key_id, name, scopes, last_used_at = row
    return Principal(
        key_id=key_id,
        name=name,
        scopes=frozenset(Scope(s) for s in scopes),
        last_used_at=last_used_at,
    )


_BY_ID = select(_KEYS.id, _KEYS.name, _KEYS.scopes, _KEYS.last_used_at).where(
    _KEYS.id == bindparam("key_id"),
    _KEYS.revoked_at.is_(None),
    or_(_KEYS.expires_at.is_(None), _KEYS.expires_at > bindparam("now")),
)


async def active_principal(session: AsyncSession, key_id: uuid.UUID) -> Principal | None:
    """The key by id while it is still usable, as `authenticate` judges it: for a
    console session, which holds the key's id and never the key itself."""
    result = await session.execute(_BY_ID, {"key_id": key_id, "now": utcnow()})
    row = result.first()
    if row is None:
        return None
    found_id, name, scopes, last_used_at = row
    return Principal(
        key_id=found_id,
        name=name,
        scopes=frozenset(Scope(s) for s in scopes),
        last_used_at=last_used_at,
    )


async def note_use(session: AsyncSession, key_id: uuid.UUID, now: datetime) -> None:
    """Conditional, so API replicas that all saw a stale `last_used_at` write it once."""
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= now - USE_RESOLUTION),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
