"""Outbound Messages shaped as Salesforce sends them (the WSDL's `notifications` call)."""

from __future__ import annotations

import itertools
from xml.sax.saxutils import escape

from shared.salesforce_ids import to_18

ORG_ID = to_18("00D5g000004ABCD")
ORG_ID_15 = ORG_ID[:15]
FOREIGN_ORG_ID = to_18("00D5g000009ZZZZ")
ACK = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soapenv:Body>"
    b'<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">'
    b"<Ack>true</Ack>"
    b"</notificationsResponse>"
    b"</soapenv:Body>"
    b"</soapenv:Envelope>"
)
"""Written out here rather than imported, so a change to the answer fails a test."""

_NOTIFICATION_IDS = itertools.count(1)


def notification_id() -> str:
    """A fresh 18-character notification id (key prefix 04l)."""
    return to_18(f"04l5g{next(_NOTIFICATION_IDS):010d}")


def notification(
    sobject_type: str, record_id: str, *, id: str | None = None, **fields: str | None
) -> str:
    """One `<Notification>`; a field given as None is sent as `xsi:nil="true"`."""
    values = "".join(
        f'<sf:{name} xsi:nil="true"/>'
        if value is None
        else f"<sf:{name}>{escape(value)}</sf:{name}>"
        for name, value in {"Id": record_id, **fields}.items()
    )
    return (
        f"<Notification><Id>{id or notification_id()}</Id>"
        f'<sObject xsi:type="sf:{sobject_type}" '
        f'xmlns:sf="urn:sobject.enterprise.soap.sforce.com">{values}</sObject>'
        "</Notification>"
    )


def envelope(*notifications: str, org: str = ORG_ID) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body>"
        '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{org}</OrganizationId>"
        "<ActionId>04k5g000000ABCDAA4</ActionId>"
        '<SessionId xsi:nil="true"/>'
        "<EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/62.0/00D5g000004ABCD"
        "</EnterpriseUrl>"
        "<PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/62.0/00D5g000004ABCD"
        "</PartnerUrl>"
        f"{''.join(notifications)}"
        "</notifications>"
        "</soapenv:Body>"
        "</soapenv:Envelope>"
    ).encode()
