"""`POST /v1/webhooks/{generic,hubspot,salesforce}`: authenticated by the sender instead
of an API key.

The signature dependency runs before the session opens and before any parsing, on the
raw body the body-limit middleware already capped; a delivery that fails it is a 401 and
never reaches a parser or the database. Salesforce signs nothing: its Outbound Message
names the sending org, so the XML is parsed (safely) first and an org not configured is
a 401 before the session opens.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request, Response
from pydantic import TypeAdapter, ValidationError

from services.api.deps import SessionDep, SettingsDep
from services.api.inbound_webhooks.signatures import verify_hubspot, verify_standard
from services.api.openapi import problems
from shared.clock import utcnow
from shared.config import Settings
from shared.domain.context import Context
from shared.domain.inbound_webhooks import generic, hubspot, salesforce, salesforce_soap
from shared.domain.inbound_webhooks.errors import (
    MalformedDelivery,
    UnknownOrganization,
    WebhookNotConfigured,
)
from shared.domain.inbound_webhooks.hubspot_mapping import HubSpotMapping
from shared.domain.inbound_webhooks.salesforce_mapping import SalesforceMapping
from shared.domain.inbound_webhooks.salesforce_soap import OutboundMessage
from shared.domain.inbound_webhooks.schemas import GenericReceipt, HubSpotEvent, HubSpotReceipt

_HUBSPOT_EVENTS = TypeAdapter(list[HubSpotEvent])
_MAX_WEBHOOK_ID = 200  # the inbox key's column
_log = structlog.get_logger("renewals.api")


def _decode(body: bytes) -> Any:
    """The body as JSON; anything unreadable (bad bytes, syntax, absurd nesting) is a 400."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise MalformedDelivery(f"the body is not JSON: {exc}") from None


def _header(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


async def signed_generic(request: Request, settings: SettingsDep) -> tuple[str, Any]:
    """The verified `webhook-id` and the decoded body (an object or an array)."""
    body = await request.body()
    webhook_id = verify_standard(body, request.headers, settings.inbound_generic_secrets)
    if len(webhook_id) > _MAX_WEBHOOK_ID:
        raise MalformedDelivery(f"webhook-id is longer than {_MAX_WEBHOOK_ID} characters")
    payload = _decode(body)
    if not isinstance(payload, dict | list):
        raise MalformedDelivery("the body must be a CloudEvent or an array of CloudEvents")
    return webhook_id, payload


async def signed_hubspot(request: Request, settings: SettingsDep) -> list[HubSpotEvent]:
    body = await request.body()
    verify_hubspot(
        settings.hubspot_client_secret,
        settings.public_base_url,
        method=request.method,
        # Servers disagree on whether `raw_path` holds the query (httpx's test transport
        # puts it there, uvicorn does not), so it is cut off and the query added once.
        raw_path=request.scope.get("raw_path", request.url.path.encode())
        .decode("latin-1")
        .split("?")[0],
        query=request.url.query,
        body=body,
        headers=request.headers,
        now=utcnow(),
    )
    try:
        return _HUBSPOT_EVENTS.validate_python(_decode(body))
    except ValidationError as exc:
        where = "; ".join(
            f"{'.'.join(map(str, err['loc'])) or 'body'}: {err['msg']}" for err in exc.errors()
        )
        raise MalformedDelivery(f"not an array of HubSpot events: {where}") from None


async def salesforce_message(request: Request, settings: SettingsDep) -> OutboundMessage:
    """The parsed message of a configured org; the org's id is all Salesforce sends to
    say who it is (see docs/crm/salesforce.md for restricting the endpoint further)."""
    if not settings.salesforce_org_ids:
        raise WebhookNotConfigured(
            "set RENEWALS_SALESFORCE_ORG_IDS to the id(s) of the org(s) sending Outbound Messages"
        )
    message = salesforce_soap.parse(await request.body())
    if message.organization_id not in settings.salesforce_org_ids:
        raise UnknownOrganization(
            f"organization {message.organization_id} is not in RENEWALS_SALESFORCE_ORG_IDS"
        )
    return message


def inbound_router(settings: Settings) -> APIRouter:
    """Built per app so a bad `RENEWALS_HUBSPOT_*` or `RENEWALS_SALESFORCE_*` mapping
    fails at start-up."""
    mapping = HubSpotMapping.from_settings(settings)
    salesforce_mapping = SalesforceMapping.from_settings(settings)
    router = APIRouter(prefix="/v1/webhooks", tags=["inbound webhooks"])

    @router.post(
        "/generic",
        status_code=202,
        response_model=GenericReceipt,
        responses=problems(
            400,
            401,
            404,
            409,
            r400="The body is not JSON, or neither an object nor an array",
            r401="Unsigned, wrongly signed or stale (±5 min), or no secret configured",
            r404="An id or external id in an event's data names nothing",
        ),
        openapi_extra={
            "parameters": [
                _header("webhook-id", "The delivery's id; a repeat changes nothing"),
                _header("webhook-timestamp", "Seconds since the epoch, within 5 minutes"),
                _header("webhook-signature", "`v1,<base64 HMAC-SHA256>`, space-separated"),
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [
                                {"$ref": "#/components/schemas/CloudEventIn"},
                                {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/CloudEventIn"},
                                    "minItems": 1,
                                    "maxItems": 1000,
                                },
                            ]
                        }
                    }
                },
            },
        },
    )
    async def post_generic(
        delivery: Annotated[tuple[str, Any], Depends(signed_generic)],
        session: SessionDep,
        settings: SettingsDep,
    ) -> GenericReceipt:
        """A Standard Webhooks delivery of one CloudEvent or an array of them, applied like
        `POST /v1/events` / `/v1/events/batch`. A repeated `webhook-id` answers 202 with
        `duplicate: true` and changes nothing."""
        webhook_id, payload = delivery
        ctx = Context.now(generic.ACTOR, settings.currency)
        return await generic.receive(session, ctx, webhook_id, payload)

    @router.post(
        "/hubspot",
        response_model=HubSpotReceipt,
        responses=problems(
            400,
            401,
            r400="The body is not a JSON array of HubSpot subscription events",
            r401="Unsigned, wrongly signed or stale (5 min), or no client secret configured",
        ),
        openapi_extra={
            "parameters": [
                _header("X-HubSpot-Signature-v3", "base64 HMAC-SHA256, HubSpot v3"),
                _header("X-HubSpot-Request-Timestamp", "Milliseconds since the epoch"),
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"type": "array", "items": HubSpotEvent.model_json_schema()}
                    }
                },
            },
        },
    )
    async def post_hubspot(
        events: Annotated[list[HubSpotEvent], Depends(signed_hubspot)],
        session: SessionDep,
        settings: SettingsDep,
    ) -> HubSpotReceipt:
        """HubSpot's subscription events, mapped onto accounts, stakeholders and contracts
        in one transaction. Answers 200 with an outcome per event (applied, ignored with
        the reason, duplicate) so HubSpot does not retry events that change nothing."""
        return await hubspot.receive(session, settings.currency, mapping, events)

    @router.post(
        "/salesforce",
        response_class=Response,
        responses={
            200: {
                "description": "The SOAP acknowledgement: every notification was applied,"
                " ignored with a logged reason, or a repeat of one received before",
                "content": {
                    "text/xml": {
                        "schema": {"type": "string"},
                        "example": salesforce_soap.ACK,
                    }
                },
            },
            **problems(
                400,
                401,
                r400="Not a well-formed Outbound Message (a DTD, entities, a bad id): "
                "Salesforce retries it",
                r401="The OrganizationId is not in RENEWALS_SALESFORCE_ORG_IDS, or none is set",
            ),
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "A SOAP 1.1 `notifications` envelope (namespace"
                " http://soap.sforce.com/2005/09/outbound) of up to 100 notifications",
                "content": {"text/xml": {"schema": {"type": "string"}}},
            },
        },
    )
    async def post_salesforce(
        message: Annotated[OutboundMessage, Depends(salesforce_message)],
        session: SessionDep,
        settings: SettingsDep,
    ) -> Response:
        """Salesforce Outbound Messages on Account, Contact, Opportunity and Task, mapped
        onto accounts, stakeholders, contracts and task completions in one transaction
        (docs/crm/salesforce.md). Each notification is deduped by its id."""
        ctx = Context.now(salesforce.ACTOR, settings.currency)
        outcomes = await salesforce.receive(session, ctx, salesforce_mapping, message)
        for outcome in outcomes:
            _log.info("salesforce_notification", **asdict(outcome))
        return Response(salesforce_soap.ACK, media_type="text/xml")

    return router
