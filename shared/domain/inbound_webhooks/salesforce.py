"""Salesforce Outbound Messages turned into account, stakeholder, contract and task
changes.

Records are matched by `external_ids.salesforce` = the 18-character record id (an
entity stored with the 15-character id is found too), and every change goes through
the service the REST route uses, so the same lifecycle events are written. A message
carries the record's mapped fields as they are now, so only the fields that differ from
what is stored are changed; a notification that changes nothing writes nothing.

- Account: an unknown id creates the account (named `Salesforce account <id>` until a
  name is mapped), as HubSpot's company creation does; a known one takes the mapped
  name, fiscal-year start month and owner e-mail.
- Contact: becomes a stakeholder when its `AccountId` names an account here (role
  `other` and placeholders until mapped fields replace them); a contact moved to
  another known account departs from the old one and joins the new one; the departed
  checkbox is a departure. Salesforce sends no message when a record is deleted, so a
  departure is the checkbox.
- Opportunity: never creates contracts; a renewal opportunity (its mapped `renewal`
  field holds one of `RENEWALS_SALESFORCE_RENEWAL_VALUES`) whose id is a contract's
  `external_ids.salesforce` sets the contract's end date and ARR.
- Task: `Status` = Completed (or `IsClosed` = true) on a task the sync created closes the
  engine's task as done, "completed in Salesforce".

Notifications are applied in the message's order, each in a savepoint: one that a
service rejects is ignored with the service's reason and does not undo the others.
Every notification's id is recorded, applied or not, so a retry changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.domain.accounts import service as accounts
from shared.domain.accounts.schemas import AccountCreate, AccountUpdate
from shared.domain.context import Context
from shared.domain.contracts import service as contracts
from shared.domain.contracts.schemas import ContractUpdate
from shared.domain.crm_sync.service import complete_from_crm
from shared.domain.external_ids import resolve
from shared.domain.inbound_webhooks.outcomes import Ignored, apply_one
from shared.domain.inbound_webhooks.salesforce_mapping import (
    SalesforceMapping,
    amount,
    day,
    email,
    flag,
    month,
)
from shared.domain.inbound_webhooks.salesforce_soap import OutboundMessage, SObject
from shared.domain.ingest.service import already_received
from shared.domain.stakeholders import service as stakeholders
from shared.domain.stakeholders.schemas import StakeholderCreate, StakeholderUpdate
from shared.enums import StakeholderRole, StakeholderStatus
from shared.models import InboxKey
from shared.money import to_minor
from shared.salesforce_ids import to_18

CONSUMER = "webhook:salesforce"
ACTOR = "webhook:salesforce"
SYSTEM = "salesforce"


@dataclass(frozen=True, slots=True)
class NotificationOutcome:
    notification_id: str
    sobject_type: str
    record_id: str
    outcome: str
    """`applied`, `ignored` or `duplicate`."""
    reason: str | None


Handler = Callable[[AsyncSession, Context, SalesforceMapping, SObject], Awaitable[None]]


async def _find(session: AsyncSession, entity: str, record_id: str) -> uuid.UUID | None:
    """By the 18-character id, else by the 15-character one a user may have typed."""
    found = await resolve(session, entity, {SYSTEM: record_id})
    return found or await resolve(session, entity, {SYSTEM: record_id[:15]})


def _differing(body: Any, current: object) -> dict[str, Any]:
    """The fields of an update body whose value differs from the stored one."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    return {name: value for name, value in changes.items() if getattr(current, name) != value}


async def _account(
    session: AsyncSession, ctx: Context, mapping: SalesforceMapping, record: SObject
) -> None:
    values = mapping.values("account", record.fields)
    changes: dict[str, Any] = {}
    if values.get("name", "").strip():
        changes["name"] = values["name"]
    if "fiscal_year_start_month" in values:
        text = values["fiscal_year_start_month"]
        changes["fiscal_year_start_month"] = month(text) if text.strip() else None
    if "owner" in values:
        changes["owner"] = email(values["owner"])
    account_id = await _find(session, "account", record.id)
    if account_id is None:
        named = {"name": f"Salesforce account {record.id}"} | changes
        body = AccountCreate.model_validate(named | {"external_ids": {SYSTEM: record.id}})
        await accounts.create_account(session, ctx, body)
        return
    update = AccountUpdate.model_validate(changes)
    differing = _differing(update, await accounts.get_account(session, account_id))
    if not differing:
        raise Ignored(f"account {account_id} already has the mapped values")
    await accounts.update_account(session, ctx, account_id, AccountUpdate(**differing))


def _person(mapping: SalesforceMapping, values: dict[str, str]) -> dict[str, Any]:
    """The stakeholder fields the message sets; empty values change nothing, as a
    stakeholder needs a name, an e-mail and a role."""
    person: dict[str, Any] = {
        target: values[target] for target in ("name", "email") if values.get(target, "").strip()
    }
    if values.get("role", "").strip():
        person["role"] = mapping.role(values["role"])
    if values.get("departed", "").strip():
        departed = flag(values["departed"])
        person["status"] = StakeholderStatus.DEPARTED if departed else StakeholderStatus.ACTIVE
    return person


async def _contact_account(
    session: AsyncSession, mapping: SalesforceMapping, values: dict[str, str]
) -> uuid.UUID | None:
    """The account the contact's `AccountId` names; None when the message names none."""
    reference = values.get("account", "").strip()
    if not reference:
        return None
    account = to_18(reference)
    account_id = await _find(session, "account", account)
    if account_id is None:
        field = mapping.source("contact", "account")
        raise Ignored(f"{field} {account} is not an account here")
    return account_id


async def _contact(
    session: AsyncSession, ctx: Context, mapping: SalesforceMapping, record: SObject
) -> None:
    values = mapping.values("contact", record.fields)
    person = _person(mapping, values)
    account_id = await _contact_account(session, mapping, values)
    stakeholder_id = await _find(session, "stakeholder", record.id)
    if stakeholder_id is None:
        if account_id is None:
            field = mapping.source("contact", "account") or "its account"
            raise Ignored(f"a contact becomes a stakeholder when {field} names an account here")
        if person.pop("status", None) == StakeholderStatus.DEPARTED:
            raise Ignored(f"contact {record.id} has departed and is not a stakeholder here")
        await _join(session, ctx, record.id, account_id, person)
        return
    existing = await stakeholders.get_stakeholder(session, stakeholder_id)
    if account_id is not None and account_id != existing.account_id:
        others = {k: v for k, v in existing.external_ids.items() if k != SYSTEM}
        leaving = StakeholderUpdate(status=StakeholderStatus.DEPARTED, external_ids=others)
        await stakeholders.update_stakeholder(session, ctx, existing.id, leaving)
        kept: dict[str, Any] = {"role": existing.role}
        if existing.erased_at is None:
            kept |= {"name": existing.name, "email": existing.email}
        person.pop("status", None)
        await _join(session, ctx, record.id, account_id, kept | person)
        return
    differing = _differing(StakeholderUpdate.model_validate(person), existing)
    if not differing:
        raise Ignored(f"stakeholder {existing.id} already has the mapped values")
    body = StakeholderUpdate.model_validate(differing)
    await stakeholders.update_stakeholder(session, ctx, existing.id, body)


async def _join(
    session: AsyncSession,
    ctx: Context,
    contact: str,
    account_id: uuid.UUID,
    person: dict[str, Any],
) -> None:
    placeholders: dict[str, Any] = {
        "name": f"Salesforce contact {contact}",
        "email": f"salesforce-contact-{contact.lower()}@placeholder.example",
        "role": StakeholderRole.OTHER,
    }
    body = StakeholderCreate.model_validate(
        placeholders | person | {"external_ids": {SYSTEM: contact}}
    )
    await stakeholders.add_stakeholder(session, ctx, account_id, body)


async def _opportunity(
    session: AsyncSession, ctx: Context, mapping: SalesforceMapping, record: SObject
) -> None:
    values = mapping.values("opportunity", record.fields)
    renewal_field = mapping.source("opportunity", "renewal")
    if renewal_field is not None:
        if "renewal" not in values:
            raise Ignored(f"the message does not carry {renewal_field}: add it to its fields")
        if not mapping.is_renewal(values["renewal"]):
            raise Ignored(
                f"opportunity {record.id} is not a renewal ({renewal_field} ="
                f" {values['renewal']!r})"
            )
    contract_id = await _find(session, "contract", record.id)
    if contract_id is None:
        raise Ignored(
            f"no contract has external_ids.salesforce {record.id}: opportunities never"
            " create contracts"
        )
    changes: dict[str, Any] = {}
    if values.get("end_date", "").strip():
        changes["end_date"] = day(values["end_date"])
    if values.get("arr", "").strip():
        changes["arr"] = amount(values["arr"])
    body = ContractUpdate.model_validate(changes)
    contract = await contracts.get_contract(session, contract_id)
    if body.end_date == contract.end_date:
        del changes["end_date"]
    if body.arr is not None and to_minor(body.arr, ctx.currency) == contract.arr_minor:
        del changes["arr"]
    if not changes:
        raise Ignored(f"contract {contract_id} already has the mapped values")
    await contracts.update_contract(session, ctx, contract_id, ContractUpdate(**changes))


async def _task(
    session: AsyncSession, ctx: Context, _mapping: SalesforceMapping, record: SObject
) -> None:
    status, closed = record.fields.get("Status"), record.fields.get("IsClosed")
    if status is None and closed is None:
        raise Ignored("the message carries neither Status nor IsClosed: add one to its fields")
    if status != "Completed" and closed != "true":
        raise Ignored(f"task {record.id} is not completed (Status = {status!r})")
    if await complete_from_crm(session, ctx, SYSTEM, record.id) is None:
        raise Ignored(
            f"task {record.id} is not an open engine task, or its completion was already reported"
        )


HANDLERS: dict[str, Handler] = {
    "Account": _account,
    "Contact": _contact,
    "Opportunity": _opportunity,
    "Task": _task,
}


async def _apply(
    session: AsyncSession, ctx: Context, mapping: SalesforceMapping, record: SObject
) -> str | None:
    """Applies one notification in a savepoint; returns why it changed nothing, or None."""
    handler = HANDLERS.get(record.type)
    if handler is None:
        return f"{record.type} records change nothing here"
    return await apply_one(session, lambda: handler(session, ctx, mapping, record))


async def receive(
    session: AsyncSession, ctx: Context, mapping: SalesforceMapping, message: OutboundMessage
) -> list[NotificationOutcome]:
    """Applies a message in the caller's transaction; one outcome per notification."""
    source = f"salesforce:{message.organization_id}"
    outcomes: list[NotificationOutcome] = []
    seen: set[str] = set()
    for notification in message.notifications:
        record = notification.sobject
        reason: str | None = None
        if notification.id in seen or await already_received(
            session, CONSUMER, source, notification.id
        ):
            outcome = "duplicate"
        else:
            reason = await _apply(session, ctx, mapping, record)
            outcome = "applied" if reason is None else "ignored"
            session.add(InboxKey(consumer=CONSUMER, source=source, event_id=notification.id))
            seen.add(notification.id)
        outcomes.append(
            NotificationOutcome(notification.id, record.type, record.id, outcome, reason)
        )
    await session.flush()
    return outcomes
