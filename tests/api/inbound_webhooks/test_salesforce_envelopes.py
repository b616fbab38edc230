"""What the Salesforce endpoint refuses before anything is applied: bodies that are not
a safe, well-formed Outbound Message (400, so Salesforce retries), oversized bodies, and
settings that would fail on every message."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import ValidationError

from services.api.app import create_app
from shared.config import Settings
from tests.api.inbound_webhooks.salesforce_messages import (
    ORG_ID,
    envelope,
    notification,
    notification_id,
)
from tests.api.inbound_webhooks.support import counts
from tests.support.api import Harness, open_harness

URL = "/v1/webhooks/salesforce"
ACCOUNT = "0015g00000AcmeXAAA"  # not a valid checksum: see the bad-record-id case

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<lolz>&lol4;</lolz>"""

XXE = envelope(notification("Account", ORG_ID, Name="&xxe;")).replace(
    b'<?xml version="1.0" encoding="UTF-8"?>',
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
)

VALID = envelope(notification("Account", "0015g00000AcmeXAAR", Name="Acme"))

MALFORMED = {
    "not-xml": b"Id=001&Name=Acme",
    "truncated": VALID[:-20],
    "billion-laughs": BILLION_LAUGHS,
    "xxe": XXE,
    "a-dtd": VALID.replace(b"<soapenv:Envelope", b"<!DOCTYPE x><soapenv:Envelope", 1),
    "not-soap": b'<notifications xmlns="http://soap.sforce.com/2005/09/outbound"/>',
    "another-call": VALID.replace(b"notifications", b"somethingElse"),
    "no-org": VALID.replace(f"<OrganizationId>{ORG_ID}</OrganizationId>".encode(), b""),
    "bad-org-id": VALID.replace(ORG_ID.encode(), b"00D-not-an-org-id"),
    "no-notification": envelope(),
    "no-xsi-type": VALID.replace(b'xsi:type="sf:Account" ', b""),
    "bad-record-id": envelope(notification("Account", ACCOUNT)),
    "no-record-id": VALID.replace(b"<sf:Id>0015g00000AcmeXAAR</sf:Id>", b""),
    "over-100": envelope(
        *(notification("Account", "0015g00000AcmeXAAR", id=notification_id()) for _ in range(101))
    ),
}


@pytest.fixture
async def sf(db_url: str) -> AsyncIterator[Harness]:
    async with open_harness(db_url, salesforce_org_ids=ORG_ID) as api:
        yield api


async def test_a_valid_envelope_is_acked(sf: Harness) -> None:
    """The baseline the malformed cases below are cut from."""
    async with sf.as_key(None) as salesforce:
        response = await salesforce.post(URL, content=VALID)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_malformed_envelope_is_400_and_changes_nothing(sf: Harness, body: bytes) -> None:
    before = await counts(sf)
    async with sf.as_key(None) as salesforce:
        response = await salesforce.post(URL, content=body, headers={"content-type": "text/xml"})
    assert response.status_code == 400, response.text
    assert response.json()["type"].endswith("malformed-delivery")
    assert await counts(sf) == before


async def test_the_one_mebibyte_cap_holds(sf: Harness) -> None:
    padding = b"<!-- " + b"x" * (1024 * 1024) + b" -->"
    async with sf.as_key(None) as salesforce:
        response = await salesforce.post(URL, content=VALID + padding)
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"salesforce_org_ids": "00D5g000004ABCD,nope"}, "organization id"),
        ({"salesforce_url": "https://acme.my.salesforce.com"}, "RENEWALS_SALESFORCE_CLIENT_ID"),
        (
            {"salesforce_client_id": "id", "salesforce_client_secret": "secret"},
            "RENEWALS_SALESFORCE_URL",
        ),
        ({"salesforce_url": "https://acme.my.salesforce.com/path"}, "salesforce_url"),
        ({"salesforce_role_map": {"Sponsor": "astronaut"}}, "salesforce_role_map"),
    ],
    ids=["org-id", "url-alone", "no-url", "url-path", "role"],
)
def test_bad_salesforce_settings_fail_at_start_up(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(database_url="sqlite+aiosqlite:///:memory:", **overrides)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "field_map",
    [{"account": {"Name": "title"}}, {"lead": {"Company": "name"}}],
    ids=["unknown-target", "unknown-object"],
)
def test_a_field_map_naming_what_does_not_exist_fails_at_start_up(
    field_map: dict[str, dict[str, str]],
) -> None:
    settings = Settings(database_url="sqlite+aiosqlite:///:memory:", salesforce_field_map=field_map)
    with pytest.raises(ValidationError):
        create_app(settings)


def test_the_route_documents_its_xml_body_and_ack() -> None:
    document = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:")).openapi()
    operation = document["paths"][URL]["post"]
    assert list(operation["requestBody"]["content"]) == ["text/xml"]
    assert list(operation["responses"]["200"]["content"]) == ["text/xml"]
    assert {"400", "401"} <= set(operation["responses"])
    assert "security" not in operation
