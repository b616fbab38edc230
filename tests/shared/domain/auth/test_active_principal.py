"""A console session holds a key's id: the key is found by it only while it is usable."""

from __future__ import annotations

import uuid
from datetime import timedelta

from shared.clock import utcnow
from shared.db import Database
from shared.domain.auth.service import active_principal, create_key, revoke_key
from shared.enums import Scope


async def test_a_key_is_found_by_id_until_it_is_revoked_or_expires(database: Database) -> None:
    async with database.transaction() as session:
        live, _ = await create_key(session, name="live", scopes=frozenset({Scope.READ}))
        revoked, _ = await create_key(session, name="revoked", scopes=frozenset({Scope.READ}))
        expired, _ = await create_key(
            session,
            name="expired",
            scopes=frozenset({Scope.WRITE}),
            expires_at=utcnow() - timedelta(minutes=1),
        )
        await revoke_key(session, revoked.id)

    async with database.read() as session:
        found = await active_principal(session, live.id)
        gone = [
            await active_principal(session, key_id)
            for key_id in (revoked.id, expired.id, uuid.uuid4())
        ]

    assert found is not None
    assert (found.key_id, found.name, found.scopes) == (live.id, "live", frozenset({Scope.READ}))
    assert gone == [None, None, None]
