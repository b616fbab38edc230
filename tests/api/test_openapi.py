"""The OpenAPI document says what the API really answers: every error as problem+json,
the credentials each operation needs, and the input rules the validators enforce."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from services.api.app import create_app
from shared.config import Settings
from shared.domain.contracts.history import TIMELINE_CURSOR_TEXT
from shared.domain.errors import InvalidInput
from shared.domain.schemas import CURSOR_TEXT, ONE_LINE, decode_cursor, encode_cursor
from shared.events.types import ACCEPTED_FROM_CLIENTS

DOCUMENT = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:")).openapi()
PATHS: dict[str, dict[str, Any]] = DOCUMENT["paths"]
SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in PATHS.items()
        for method, operation in item.items()
        if path.startswith("/v1/") and not path.startswith("/v1/webhooks/")
    ]


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    _operations(),
    ids=[f"{method.upper()} {path}" for method, path, _ in _operations()],
)
def test_every_keyed_operation_documents_its_auth_and_problem_responses(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    """FastAPI documented neither the key nor any error but its own 422 shape."""
    responses = operation["responses"]
    assert operation["security"]
    for status in ("401", "403", "422"):
        assert responses[status]["content"] == PROBLEM, status
    assert responses["401"]["headers"]["WWW-Authenticate"]
    if "{" in path:
        assert responses["404"]["content"] == PROBLEM
    if method != "get":
        assert responses["413"]["content"] == PROBLEM
    if "requestBody" in operation:
        assert responses["400"]["content"] == PROBLEM
    if method == "post":
        assert responses["409"]["content"] == PROBLEM
        assert "Idempotency-Key" in [parameter["name"] for parameter in operation["parameters"]]


def test_fastapis_validation_error_shape_is_not_documented() -> None:
    assert "HTTPValidationError" not in SCHEMAS
    assert set(SCHEMAS["Problem"]["required"]) == {"type", "title", "status", "detail"}


def test_the_key_is_a_bearer_scheme_and_the_calendar_also_takes_a_token_in_the_query() -> None:
    schemes = DOCUMENT["components"]["securitySchemes"]
    assert schemes["apiKey"] == schemes["apiKey"] | {"type": "http", "scheme": "bearer"}
    assert schemes["calendarToken"] == schemes["calendarToken"] | {"in": "query", "name": "key"}
    calendar = PATHS["/v1/calendar.ics"]["get"]
    assert calendar["security"] == [{"calendarToken": []}, {"apiKey": []}]
    assert "key" not in [parameter["name"] for parameter in calendar["parameters"]]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("post", "/v1/contracts", "404"),
        ("post", "/v1/accounts", "409"),
        ("delete", "/v1/stakeholders/{stakeholder_id}", "409"),
        ("delete", "/v1/contracts/{contract_id}/cancellation-notice", "409"),
        ("patch", "/v1/tasks/{task_id}", "409"),
        ("get", "/readyz", "503"),
    ],
)
def test_errors_only_a_service_knows_are_documented_by_their_route(
    method: str, path: str, status: str
) -> None:
    assert PATHS[path][method]["responses"][status]["content"] == PROBLEM


def test_patch_fields_that_refuse_null_are_not_documented_as_nullable() -> None:
    """`{"name": null}` is a 422, so the schema must not offer null for it."""
    update = SCHEMAS["PartnerUpdate"]["properties"]
    assert "anyOf" not in update["name"]
    assert update["name"]["type"] == "string"
    assert {"type": "null"} in update["tier"]["anyOf"]


def test_amounts_external_ids_dates_and_event_types_state_their_rules() -> None:
    create = SCHEMAS["ContractCreate"]["properties"]
    assert {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$"} in create["arr"]["anyOf"]
    assert create["external_ids"]["additionalProperties"] is False
    assert create["start_date"]["pattern"].startswith("^(19|2[0-9])")
    assert "contract.created" in SCHEMAS["CloudEventIn"]["properties"]["type"]["enum"]
    # Input strings are stripped, so " " is empty: a visible character is required, and no
    # control character may appear; free text may hold line feeds.
    names = [
        SCHEMAS[schema]["properties"][field]["pattern"]
        for schema, field in [
            ("PartnerCreate", "name"),
            ("AccountCreate", "name"),
            ("StakeholderCreate", "name"),
            ("GoalCreate", "name"),
            ("GoalCreate", "target"),
            ("TrialCreate", "name"),
        ]
    ]
    assert names == [ONE_LINE] * len(names)
    assert re.fullmatch(ONE_LINE, "Acme, Inc. ü")
    assert not re.fullmatch(ONE_LINE, " ")
    assert not any(re.search(ONE_LINE, name) for name in ["A\nB", "A\tB", "A\x1bB"])
    outcome = SCHEMAS["TaskUpdate"]["properties"]["outcome"]["anyOf"][0]["pattern"]
    assert re.fullmatch(outcome, "a\nb")
    assert not re.search(outcome, "a\r\nb")


def test_the_cloudevents_batch_media_type_states_the_batch_size() -> None:
    """`[]` was documented as valid for `application/cloudevents-batch+json` and got a 422."""
    content = PATHS["/v1/events/batch"]["post"]["requestBody"]["content"]
    batch = content["application/cloudevents-batch+json"]["schema"]
    assert (batch["minItems"], batch["maxItems"]) == (1, 1000)


def _cursor_parameters() -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": parameter["schema"]["anyOf"][0]
        for method, path, operation in _operations()
        for parameter in operation.get("parameters", ())
        if parameter["name"] == "cursor"
    }


def test_every_cursor_parameter_states_the_form_the_api_reads() -> None:
    """Any string was schema-valid (`?cursor=`) and got a 422; now the pattern is exactly
    what the decoder reads, so what it returns fits and the rest is schema-invalid."""
    cursors = _cursor_parameters()
    timeline = cursors.pop("GET /v1/contracts/{contract_id}/timeline")
    assert len(cursors) >= 12
    assert all(
        schema | {"description": ""}
        == {
            "type": "string",
            "minLength": 22,
            "maxLength": 22,
            "pattern": CURSOR_TEXT,
            "description": "",
        }
        for schema in cursors.values()
    ), cursors
    assert timeline["pattern"] == TIMELINE_CURSOR_TEXT
    for last in (uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), uuid.uuid4()):
        assert re.fullmatch(CURSOR_TEXT, encode_cursor(last))
        assert decode_cursor(encode_cursor(last)) == last
    for refused in (
        "",
        "AAAAAAAAAAAAAAAAAAAAAB",
        "AAAAAAAAAAAAAAAAAAAAAA==",
        "AAAAAAAAAA!AAAAAAAAAAAA",
    ):
        assert not re.fullmatch(CURSOR_TEXT, refused)
        with pytest.raises(InvalidInput):
            decode_cursor(refused)


def test_the_event_body_has_one_branch_per_type_with_that_types_data() -> None:
    """`data` was documented as any object, and schema-valid events got 422s for it."""
    event = SCHEMAS["CloudEventIn"]
    branches = {branch["properties"]["type"]["const"]: branch for branch in event["oneOf"]}
    assert set(branches) == {str(type_) for type_ in ACCEPTED_FROM_CLIENTS}
    assert branches["partner.created"]["properties"]["data"]["required"] == ["name"]
    by_id, by_external_ids = branches["usage.reported"]["properties"]["data"]["oneOf"]
    assert set(by_id["required"]) == {"contract_id", "active_users", "seats", "as_of"}
    assert by_id["properties"]["contract_id"] == {"type": "string", "format": "uuid"}
    assert "contract_external_ids" not in by_id["properties"]
    assert set(by_external_ids["required"]) == {
        "contract_external_ids",
        "active_users",
        "seats",
        "as_of",
    }
    assert by_external_ids["properties"]["contract_external_ids"]["minProperties"] == 1
    created = branches["contract.created"]["properties"]["data"]["oneOf"]
    assert [
        set(variant["properties"]) & {"account_id", "account_external_ids"} for variant in created
    ] == [
        {"account_id"},
        {"account_external_ids"},
    ]
