"""Salesforce Outbound Messages: the SOAP 1.1 `notifications` call in, its `Ack` out.

Salesforce posts one envelope per batch of up to 100 notifications, all of one object
type (the one the Outbound Message is defined on):

    <soapenv:Envelope><soapenv:Body>
      <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
        <OrganizationId>00D…</OrganizationId> <ActionId>04k…</ActionId> …
        <Notification><Id>04l…</Id>
          <sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
            <sf:Id>001…</sf:Id> <sf:Name>Acme</sf:Name> …

The body is read with `defusedxml` and any DTD is refused, so entity expansion (the
billion laughs) and external entities (XXE) never run. A field Salesforce sends empty
arrives as `xsi:nil="true"` and is read as "", which clears the mapped field; a field
the message does not carry is absent and leaves the mapped field as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from shared.domain.inbound_webhooks.errors import MalformedDelivery
from shared.salesforce_ids import to_18

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
MAX_NOTIFICATIONS = 100
"""The WSDL's `maxOccurs` for `Notification`."""

ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}">'
    "<soapenv:Body>"
    f'<notificationsResponse xmlns="{OUTBOUND}"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body>"
    "</soapenv:Envelope>"
)
"""The only answer that stops Salesforce retrying a message (for up to 24 hours)."""


@dataclass(frozen=True, slots=True)
class SObject:
    type: str
    """`Account`, `Contact`, `Opportunity`, `Task`, ...: `xsi:type` without its prefix."""
    id: str
    """The record's 18-character id."""
    fields: dict[str, str]
    """The fields the message carries by API name, `Id` included; "" when sent empty."""


@dataclass(frozen=True, slots=True)
class Notification:
    id: str
    """The notification's own id: the same on every retry of it, so it is the dedupe key."""
    sobject: SObject


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    organization_id: str
    """18 characters, as checked against `RENEWALS_SALESFORCE_ORG_IDS`."""
    notifications: list[Notification]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(parent: Element, namespace: str, name: str) -> Element:
    found = parent.find(f"{{{namespace}}}{name}")
    if found is None:
        raise MalformedDelivery(f"<{_local(parent.tag)}> has no <{name}>")
    return found


def _id(value: str | None, what: str) -> str:
    try:
        return to_18(value or "")
    except ValueError as exc:
        raise MalformedDelivery(f"{what}: {exc}") from None


def _sobject(element: Element) -> SObject:
    declared = element.get(f"{{{XSI}}}type")
    if not declared:
        raise MalformedDelivery("an <sObject> has no xsi:type")
    fields = {
        _local(field.tag): "" if field.get(f"{{{XSI}}}nil") == "true" else (field.text or "")
        for field in element
        if len(field) == 0
    }
    sobject_type = declared.rsplit(":", 1)[-1]
    return SObject(sobject_type, _id(fields.get("Id"), f"the {sobject_type}'s Id"), fields)


def parse(body: bytes) -> OutboundMessage:
    """The message, or `MalformedDelivery` (a 400: Salesforce retries it) for anything
    that is not a well-formed, DTD-free `notifications` envelope with valid ids."""
    try:
        root = fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as exc:
        raise MalformedDelivery(f"the body is not a safe XML document: {exc}") from None
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise MalformedDelivery("the body is not a SOAP 1.1 envelope")
    call = _child(_child(root, SOAP_ENV, "Body"), OUTBOUND, "notifications")
    org = _id(_child(call, OUTBOUND, "OrganizationId").text, "OrganizationId")
    elements = call.findall(f"{{{OUTBOUND}}}Notification")
    if not elements:
        raise MalformedDelivery("<notifications> has no <Notification>")
    if len(elements) > MAX_NOTIFICATIONS:
        raise MalformedDelivery(f"more than {MAX_NOTIFICATIONS} notifications in one message")
    notifications = [
        Notification(
            id=_id(_child(element, OUTBOUND, "Id").text, "a notification's Id"),
            sobject=_sobject(_child(element, OUTBOUND, "sObject")),
        )
        for element in elements
    ]
    return OutboundMessage(org, notifications)
