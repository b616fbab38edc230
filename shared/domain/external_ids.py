"""Keeps the `external_refs` index in step with an entity's `external_ids`."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.errors import DuplicateExternalId
from shared.models import ExternalRef


async def claim(
    session: AsyncSession,
    entity_type: str,
    entity_id: uuid.UUID,
    external_ids: dict[str, Any],
    *,
    field: str = "external_ids",
) -> None:
    """Replaces the entity's refs; a value another entity holds is a 409 naming the field."""
    for system, value in external_ids.items():
        owner = await session.scalar(
            select(ExternalRef.entity_id).where(
                ExternalRef.entity_type == entity_type,
                ExternalRef.system == system,
                ExternalRef.value == str(value),
            )
        )
        if owner is not None and owner != entity_id:
            raise DuplicateExternalId(
                f"{entity_type} {system} id {value!r} already belongs to {owner}",
                field=f"{field}.{system}",
            )
    await session.execute(
        delete(ExternalRef).where(
            ExternalRef.entity_type == entity_type, ExternalRef.entity_id == entity_id
        )
    )
    session.add_all(
        ExternalRef(entity_type=entity_type, system=system, value=str(value), entity_id=entity_id)
        for system, value in external_ids.items()
    )
    await session.flush()


async def resolve(
    session: AsyncSession, entity_type: str, external_ids: dict[str, Any]
) -> uuid.UUID | None:
    """The entity any of the given refs points to (they must agree), or None."""
    found: set[uuid.UUID] = set()
    for system, value in external_ids.items():
        owner = await session.scalar(
            select(ExternalRef.entity_id).where(
                ExternalRef.entity_type == entity_type,
                ExternalRef.system == system,
                ExternalRef.value == str(value),
            )
        )
        if owner is not None:
            found.add(owner)
    return found.pop() if len(found) == 1 else None
