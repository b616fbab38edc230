"""HubSpot subscription events turned into account, stakeholder and contract changes.

Entities are matched by `external_ids.hubspot` = the HubSpot object id, and every change
goes through the service the REST route uses, so the same lifecycle events are written.

- Companies: `company.creation` creates the account, named `HubSpot company <id>` until
  its name property arrives; property changes set the mapped fields.
- Contacts: HubSpot sends no company with a contact, so a contact becomes a stakeholder
  when its company property (default `associatedcompanyid`) names a company that is an
  account here, with role `other` and a placeholder name and e-mail until mapped
  properties replace them (HubSpot has no full-name property, so by default only the
  e-mail is). Until then its events are ignored (with the reason), not errors. A contact
  moved to another known company departs from the old account and joins the new one.
  The departed flag or `contact.deletion` is a departure; `contact.privacyDeletion` an
  erasure.
- Deals: never create contracts (a deal lacks dates and ARR); a contract whose
  `external_ids.hubspot` names the deal takes its renewal date and amount.
- Tasks (generic `object.propertyChange` events of object type 0-27): `hs_task_status`
  set to COMPLETED on a task the CRM sync created closes the engine's task as `done`,
  outcome "completed in HubSpot" (`shared.domain.crm_sync`); once, however often
  HubSpot reports it.

Events are applied in `occurredAt` order, creations first on ties (HubSpot does not
order a delivery), each in a savepoint: one that a service rejects is reported as
ignored with the service's reason and does not undo the others. Every event's key is
written, applied or not, so a redelivery changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.accounts import service as accounts
from shared.domain.accounts.schemas import AccountCreate, AccountUpdate
from shared.domain.context import Context
from shared.domain.contracts import service as contracts
from shared.domain.contracts.schemas import ContractUpdate
from shared.domain.crm_sync.service import complete_from_crm
from shared.domain.external_ids import resolve
from shared.domain.inbound_webhooks.hubspot_mapping import (
    HubSpotMapping,
    ObjectType,
    day,
    flag,
    month,
)
from shared.domain.inbound_webhooks.outcomes import Ignored, apply_one
from shared.domain.inbound_webhooks.schemas import (
    HubSpotEvent,
    HubSpotOutcome,
    HubSpotReceipt,
    Outcome,
)
from shared.domain.ingest.service import already_received
from shared.domain.stakeholders import service as stakeholders
from shared.domain.stakeholders.schemas import StakeholderCreate, StakeholderUpdate
from shared.enums import StakeholderRole, StakeholderStatus
from shared.models import InboxKey

CONSUMER = "webhook:hubspot"
ACTOR = "webhook:hubspot"
SYSTEM = "hubspot"
TASK_OBJECT_TYPE = "0-27"
"""HubSpot's object type id of tasks, as generic webhook events name it."""


Handler = Callable[[AsyncSession, Context, HubSpotMapping, HubSpotEvent], Awaitable[None]]


def _object_id(event: HubSpotEvent) -> str:
    if event.object_id is None:
        raise Ignored("the event names no objectId")
    return str(event.object_id)


async def _find(
    session: AsyncSession, entity: str, event: HubSpotEvent, kind: ObjectType
) -> uuid.UUID:
    object_id = _object_id(event)
    found = await resolve(session, entity, {SYSTEM: object_id})
    if found is None:
        raise Ignored(f"no {entity} has external_ids.hubspot {object_id} (HubSpot {kind})")
    return found


def _mapped(mapping: HubSpotMapping, kind: ObjectType, event: HubSpotEvent) -> tuple[str, str]:
    """The target field and the value of a property change."""
    name = event.property_name or ""
    target = mapping.field(kind, name)
    if target is None:
        raise Ignored(f"{kind} property {name!r} is not mapped")
    return target, event.property_value or ""


async def _company_created(
    session: AsyncSession, ctx: Context, _mapping: HubSpotMapping, event: HubSpotEvent
) -> None:
    company = _object_id(event)
    if await resolve(session, "account", {SYSTEM: company}) is not None:
        raise Ignored(f"company {company} already is an account")
    body = AccountCreate(name=f"HubSpot company {company}", external_ids={SYSTEM: company})
    await accounts.create_account(session, ctx, body)


async def _company_changed(
    session: AsyncSession, ctx: Context, mapping: HubSpotMapping, event: HubSpotEvent
) -> None:
    account_id = await _find(session, "account", event, "company")
    target, value = _mapped(mapping, "company", event)
    converted = {"fiscal_year_start_month": month, "owner": mapping.owner}.get(target, str)
    body = AccountUpdate.model_validate({target: converted(value)})
    await accounts.update_account(session, ctx, account_id, body)


def _placeholders(contact: str) -> dict[str, str]:
    return {
        "name": f"HubSpot contact {contact}",
        "email": f"hubspot-contact-{contact}@placeholder.example",
    }


async def _link_contact(session: AsyncSession, ctx: Context, contact: str, company: str) -> None:
    if not company:
        raise Ignored("the company association was removed; set the departed flag instead")
    account_id = await resolve(session, "account", {SYSTEM: company})
    if account_id is None:
        raise Ignored(f"company {company} is not an account here")
    person: dict[str, object] = {**_placeholders(contact), "role": StakeholderRole.OTHER}
    existing_id = await resolve(session, "stakeholder", {SYSTEM: contact})
    if existing_id is not None:
        existing = await stakeholders.get_stakeholder(session, existing_id)
        if existing.account_id == account_id:
            raise Ignored(f"contact {contact} already is a stakeholder of company {company}")
        others = {k: v for k, v in existing.external_ids.items() if k != SYSTEM}
        leaving = StakeholderUpdate(status=StakeholderStatus.DEPARTED, external_ids=others)
        await stakeholders.update_stakeholder(session, ctx, existing.id, leaving)
        person["role"] = existing.role
        if existing.erased_at is None:
            person |= {"name": existing.name, "email": existing.email}
    body = StakeholderCreate.model_validate(person | {"external_ids": {SYSTEM: contact}})
    await stakeholders.add_stakeholder(session, ctx, account_id, body)


async def _contact_created(
    _session: AsyncSession, _ctx: Context, mapping: HubSpotMapping, _event: HubSpotEvent
) -> None:
    company = [name for name, target in mapping.properties.contact.items() if target == "company"]
    raise Ignored(
        f"a contact becomes a stakeholder when {' or '.join(company) or 'its company'}"
        " names a company that is an account here"
    )


async def _contact_changed(
    session: AsyncSession, ctx: Context, mapping: HubSpotMapping, event: HubSpotEvent
) -> None:
    target, value = _mapped(mapping, "contact", event)
    if target == "company":
        await _link_contact(session, ctx, _object_id(event), value.strip())
        return
    stakeholder_id = await _find(session, "stakeholder", event, "contact")
    changes: dict[str, object]
    if target == "role":
        changes = {"role": mapping.role(value)}
    elif target == "departed":
        departed = flag(value)
        changes = {"status": StakeholderStatus.DEPARTED if departed else StakeholderStatus.ACTIVE}
    else:
        changes = {target: value}
    body = StakeholderUpdate.model_validate(changes)
    await stakeholders.update_stakeholder(session, ctx, stakeholder_id, body)


async def _contact_deleted(
    session: AsyncSession, ctx: Context, _mapping: HubSpotMapping, event: HubSpotEvent
) -> None:
    stakeholder = await stakeholders.get_stakeholder(
        session, await _find(session, "stakeholder", event, "contact")
    )
    if stakeholder.status == StakeholderStatus.DEPARTED:
        raise Ignored(f"contact {event.object_id} already departed")
    body = StakeholderUpdate(status=StakeholderStatus.DEPARTED)
    await stakeholders.update_stakeholder(session, ctx, stakeholder.id, body)


async def _contact_erased(
    session: AsyncSession, ctx: Context, _mapping: HubSpotMapping, event: HubSpotEvent
) -> None:
    stakeholder_id = await _find(session, "stakeholder", event, "contact")
    await stakeholders.erase_stakeholder(session, ctx, stakeholder_id)


async def _deal_changed(
    session: AsyncSession, ctx: Context, mapping: HubSpotMapping, event: HubSpotEvent
) -> None:
    contract_id = await _find(session, "contract", event, "deal")
    target, value = _mapped(mapping, "deal", event)
    body = ContractUpdate.model_validate({target: day(value) if target == "end_date" else value})
    await contracts.update_contract(session, ctx, contract_id, body)


async def _object_changed(
    session: AsyncSession, ctx: Context, _mapping: HubSpotMapping, event: HubSpotEvent
) -> None:
    """Generic property changes: only a task's completion means something here."""
    if event.object_type_id != TASK_OBJECT_TYPE:
        raise Ignored(
            f"object.propertyChange events of type {event.object_type_id} change nothing here"
        )
    if event.property_name != "hs_task_status" or event.property_value != "COMPLETED":
        raise Ignored("only a task's hs_task_status set to COMPLETED changes something here")
    task_id = _object_id(event)
    if await complete_from_crm(session, ctx, SYSTEM, task_id) is None:
        raise Ignored(
            f"task {task_id} is not one the engine synced, its completion was already"
            " reported, or the engine's task is closed"
        )


HANDLERS: dict[str, Handler] = {
    "company.creation": _company_created,
    "company.propertyChange": _company_changed,
    "contact.creation": _contact_created,
    "contact.propertyChange": _contact_changed,
    "contact.deletion": _contact_deleted,
    "contact.privacyDeletion": _contact_erased,
    "deal.propertyChange": _deal_changed,
    "object.propertyChange": _object_changed,
}


async def _apply(
    session: AsyncSession, currency: str, mapping: HubSpotMapping, event: HubSpotEvent
) -> str | None:
    """Applies one event in a savepoint; returns why it changed nothing, or None."""
    handler = HANDLERS.get(event.subscription_type)
    if handler is None:
        return f"{event.subscription_type} events change nothing here"
    ctx = Context(actor=ACTOR, currency=currency, time=event.occurred)
    return await apply_one(session, lambda: handler(session, ctx, mapping, event))


async def receive(
    session: AsyncSession, currency: str, mapping: HubSpotMapping, events: Sequence[HubSpotEvent]
) -> HubSpotReceipt:
    """Applies a delivery in the caller's transaction; answers in the delivery's order."""
    order = sorted(
        range(len(events)),
        key=lambda i: (
            events[i].occurred_at,
            not events[i].subscription_type.endswith(".creation"),
        ),
    )
    outcomes: dict[int, HubSpotOutcome] = {}
    seen: set[tuple[str, str]] = set()
    for index in order:
        event = events[index]
        key = (f"hubspot:{event.portal_id}:{event.subscription_id}", str(event.event_id))
        reason: str | None = None
        outcome: Outcome
        if key in seen or await already_received(session, CONSUMER, *key):
            outcome = "duplicate"
        else:
            reason = await _apply(session, currency, mapping, event)
            outcome = "applied" if reason is None else "ignored"
            session.add(InboxKey(consumer=CONSUMER, source=key[0], event_id=key[1]))
            seen.add(key)
        outcomes[index] = HubSpotOutcome(
            event_id=event.event_id,
            subscription_type=event.subscription_type,
            object_id=event.object_id,
            outcome=outcome,
            reason=reason,
        )
    await session.flush()
    items = [outcomes[index] for index in range(len(events))]
    return HubSpotReceipt(
        applied=sum(item.outcome == "applied" for item in items),
        ignored=sum(item.outcome == "ignored" for item in items),
        duplicates=sum(item.outcome == "duplicate" for item in items),
        items=items,
    )
