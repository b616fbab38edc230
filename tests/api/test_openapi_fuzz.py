"""Schemathesis over every operation of the OpenAPI document, in-process and authenticated.

The operations come from the app's own `/openapi.json`, so routes added later are fuzzed
without touching this file. Each operation gets generated valid and invalid requests
(schemathesis' examples, coverage and fuzzing phases) and every response goes through
all of its checks: no 5xx, only documented status codes, content types and headers,
bodies matching their schema, invalid input rejected, valid input accepted, declared
auth enforced, the `Allow` header of a 405. Path parameters, `*_id` query parameters and
body fields usually name entities seeded before the run, so the fuzz reaches the code
behind the 404.

`test_linked_calls_pass_every_check` then runs short stateful scenarios over the links
schemathesis infers between operations (an id a response returns, used by the next
call), which is where `use_after_free` and `ensure_resource_availability` have work.

Every check runs. One is narrowed, not dropped: `positive_data_acceptance` may meet a 422
only for a rule named in `BEYOND_SCHEMA` (two fields compared, or the clock, calendar,
currency, DNS deciding) or a reused Idempotency-Key; any other 422 on schema-valid data
means the document says less than the API checks.

Budget: `HYPOTHESIS_PROFILE=ci` runs a few derandomized examples per operation, so CI is
reproducible and the module stays well under a minute on two cores; `dev` runs more.
"""

from __future__ import annotations

import asyncio
import random
import re
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import Phase, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.checks import CheckContext
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import select

from services.api.app import create_app
from shared.config import Settings
from shared.db import Database
from shared.domain.auth.service import hash_key
from shared.models import ApiKey, Contract
from tests.support.databases import SqliteTemplates
from tests.support.factories import make_task

DATABASE = Path(tempfile.gettempdir()) / f"renewals-fuzz-{uuid.uuid4().hex}.db"
"""Filled from the migrated template by the `fuzz` fixture before the first request; the
app must exist at import time because schemathesis collects one test per operation."""

API_KEY = "rnw_schemathesis-fuzz-admin-key"
"""Stored (hashed, admin scope) by the fixture; given to schemathesis as the credentials
of the document's bearer scheme, so it knows them for `ignored_auth` and leaves alone
the requests it sends without them on purpose. The calendar feed's other scheme, a
calendar token bound to one owner, cannot open the arbitrary owners it generates; the
feed is fuzzed through the bearer key."""

APP = create_app(Settings(database_url=f"sqlite+aiosqlite:///{DATABASE}", report_rate_per_minute=0))
"""The report rate limit is off: the fuzz calls each report far more often than a key
may, and a 429 would count as valid input refused."""
schema = schemathesis.openapi.from_dict(
    APP.openapi(),
    config=schemathesis.Config.from_dict({"auth": {"openapi": {"apiKey": {"bearer": API_KEY}}}}),
)
schema.app = APP

EXAMPLES = {"ci": 6, "dev": 40}
"""Fuzzing-phase examples per operation under each Hypothesis profile (the examples and
coverage phases add their own deterministic cases)."""

WORKFLOWS = {"ci": 10, "dev": 50}
"""Stateful scenarios (up to 8 linked calls each) under each profile."""

PROFILE = settings.get_current_profile_name()
BUDGET = settings(
    settings.default,
    max_examples=EXAMPLES.get(PROFILE, EXAMPLES["dev"]),
    derandomize=PROFILE == "ci",
    deadline=None,
)

CONTRACTS = frozenset({"POST /v1/contracts", "PATCH /v1/contracts/{contract_id}"})
EVENTS = frozenset({"POST /v1/events", "POST /v1/events/batch"})
REPORTS = frozenset(
    {
        "GET /v1/reports/revenue-retention",
        "GET /v1/reports/renewal-rate",
        "GET /v1/reports/renewals",
    }
)
ACCOUNTS = frozenset({"POST /v1/accounts", "PATCH /v1/accounts/{account_id}"})
STAKEHOLDERS = frozenset(
    {"POST /v1/accounts/{account_id}/stakeholders", "PATCH /v1/stakeholders/{stakeholder_id}"}
)
SUBSCRIPTIONS = frozenset(
    {"POST /v1/webhook-subscriptions", "PATCH /v1/webhook-subscriptions/{subscription_id}"}
)


@dataclass(frozen=True)
class BeyondSchema:
    """A rule the API checks that JSON Schema cannot state, named by the operations it
    applies to, the fields its 422 names (`data.` before them on the event routes) and
    its message. The operation descriptions state each of them."""

    operations: frozenset[str]
    fields: frozenset[str]
    message: str
    """A regular expression the error's message matches."""

    def explains(self, operation: str, error: dict[str, str]) -> bool:
        field = re.sub(r"^\[\d+\]\.", "", error["field"])
        if operation in EVENTS:
            field = field.removeprefix("data.")
        return (
            operation in self.operations
            and field in self.fields
            and re.search(self.message, error["message"]) is not None
        )


BEYOND_SCHEMA: dict[str, BeyondSchema] = {
    # Between two fields of one request, or a field and what is stored.
    "contract ends after it starts": BeyondSchema(
        CONTRACTS | EVENTS, frozenset({"end_date", "start_date"}), r"must be after the term's start"
    ),
    "contract starts before its first term ends": BeyondSchema(
        CONTRACTS | EVENTS,
        frozenset({"start_date", "end_date"}),
        r"^start_date .* must be before the first term's end",
    ),
    "pilot dates together and in order": BeyondSchema(
        CONTRACTS | EVENTS,
        frozenset({"pilot_start", "pilot_end"}),
        r"pilot_start and pilot_end go together|must be after pilot_start",
    ),
    "trial ends before the first term ends": BeyondSchema(
        CONTRACTS | EVENTS,
        frozenset({"trial_end", "end_date"}),
        r"^trial_end .* must be before the first term's end",
    ),
    "renewal date after the current one": BeyondSchema(
        frozenset({"POST /v1/contracts/{contract_id}/renew"}) | EVENTS,
        frozenset({"end_date"}),
        r"must be after the current renewal date",
    ),
    "add-on trial ends on or after it starts": BeyondSchema(
        frozenset({"POST /v1/contracts/{contract_id}/trials"}) | EVENTS,
        frozenset({"ends_on"}),
        r"must be on or after started_on",
    ),
    "report period ends after it starts": BeyondSchema(
        REPORTS, frozenset({"end"}), r"must be after start"
    ),
    "report period at most five years": BeyondSchema(
        REPORTS, frozenset({"end"}), r"the period may span at most 5 years"
    ),
    "renewals window at most five years from as_of": BeyondSchema(
        REPORTS, frozenset({"within_days"}), r"the window may span at most 5 years"
    ),
    "timeline window until not before since": BeyondSchema(
        frozenset({"GET /v1/contracts/{contract_id}/timeline"}),
        frozenset({"until"}),
        r"must not be before since",
    ),
    "expected ARR only on an expansion task closed as done": BeyondSchema(
        frozenset({"PATCH /v1/tasks/{task_id}"}),
        frozenset({"expected_arr"}),
        r"expected_arr is recorded only when an expansion_opportunity task is done",
    ),
    "report cursor names a row that still exists": BeyondSchema(
        REPORTS, frozenset({"cursor"}), r"the cursor's row no longer exists"
    ),
    # What the clock, the calendar, the deployment's settings, DNS or a stored key decide.
    "usage at most one day ahead of today": BeyondSchema(
        frozenset({"POST /v1/contracts/{contract_id}/usage"}) | EVENTS,
        frozenset({"as_of"}),
        r"must be on or before",
    ),
    "week 53 of a year with 52": BeyondSchema(
        frozenset({"GET /v1/agenda"}), frozenset({"week"}), r"got '[0-9]{4}-[Ww]53'"
    ),
    "amount within the deployment currency's decimals": BeyondSchema(
        CONTRACTS
        | EVENTS
        | frozenset(
            {
                "POST /v1/contracts/{contract_id}/renew",
                "PUT /v1/contracts/{contract_id}/forecast",
                "PATCH /v1/tasks/{task_id}",
            }
        ),
        frozenset({"arr", "expected_arr"}),
        r"amounts have at most [0-9]+ decimals|amount too large",
    ),
    # email-validator also refuses special-use domains (`.test`, `.local`), which the
    # JSON Schema `email` format has no notion of.
    "e-mail domain not special-use": BeyondSchema(
        ACCOUNTS | STAKEHOLDERS | EVENTS,
        frozenset({"owner", "email"}),
        r"special-use or reserved name",
    ),
    "webhook host resolves to a public address": BeyondSchema(
        SUBSCRIPTIONS, frozenset({"url"}), r"does not resolve|a non-public address"
    ),
}
"""Every 422 a schema-valid request may meet, by name; any other fails the fuzz."""

IDEMPOTENCY_REUSED = "urn:renewals:problem:idempotency-key-reused"


def positive_data_acceptance_within_schema_reach(
    ctx: CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """`positive_data_acceptance`, except for a 422 whose every error is one of the rules
    in `BEYOND_SCHEMA`, or an Idempotency-Key another generated case already used (the
    key's state, not its shape, decides): schema-valid is not valid there, and the 422
    is the API's documented answer."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code != 422:
            raise
        problem = response.json()
        if problem.get("type") == IDEMPOTENCY_REUSED:
            return None
        errors = problem.get("errors") or ()
        operation = case.operation.label
        if not errors or not all(
            any(rule.explains(operation, error) for rule in BEYOND_SCHEMA.values())
            for error in errors
        ):
            raise
        return None


async def _store_key(url: str) -> None:
    db = Database(url)
    try:
        async with db.transaction() as session:
            session.add(
                ApiKey(
                    name="schemathesis",
                    prefix=API_KEY[:10],
                    key_hash=hash_key(API_KEY),
                    scopes=["admin"],
                )
            )
    finally:
        await db.dispose()


async def _seed_task(url: str, contract_id: str) -> str:
    """Tasks come from the worker, which does not run here; the factory stands in."""
    db = Database(url)
    try:
        async with db.read() as session:
            contract = await session.scalar(
                select(Contract).where(Contract.id == uuid.UUID(contract_id))
            )
        assert contract is not None
        return str((await make_task(db, contract)).id)
    finally:
        await db.dispose()


def _seed(client: asgi.ASGIClient, url: str) -> dict[str, list[str]]:
    """Two of each entity through the API, so generated requests can find them."""

    def post(path: str, body: dict[str, Any]) -> str:
        response = client.post(path, json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    ids: dict[str, list[str]] = {}
    for n in range(2):
        partner = post("/v1/partners", {"name": f"Partner {n}", "tier": "gold"})
        account = post("/v1/accounts", {"name": f"Account {n}", "partner_id": partner})
        contract = post(
            "/v1/contracts",
            {
                "account_id": account,
                "start_date": "2026-01-01",
                "end_date": "2027-01-01",
                "arr": "24000",
                "seats": 50,
            },
        )
        stakeholder = post(
            f"/v1/accounts/{account}/stakeholders",
            {"name": f"Person {n}", "email": f"person{n}@example.com", "role": "champion"},
        )
        goal = post(f"/v1/contracts/{contract}/goals", {"name": "Adoption", "target": "80%"})
        report = post(
            f"/v1/contracts/{contract}/usage",
            {"active_users": 30, "seats": 50, "as_of": "2026-02-01"},
        )
        task = asyncio.run(_seed_task(url, contract))
        for name, value in {
            "partner_id": partner,
            "account_id": account,
            "contract_id": contract,
            "stakeholder_id": stakeholder,
            "goal_id": goal,
            "report_id": report,
            "task_id": task,
        }.items():
            ids.setdefault(name, []).append(value)
    return ids


@pytest.fixture(scope="module")
def fuzz(sqlite_templates: SqliteTemplates) -> Iterator[dict[str, list[str]]]:
    """The seeded entity ids by the parameter name that refers to them."""
    url = f"sqlite+aiosqlite:///{DATABASE}"
    DATABASE.write_bytes(sqlite_templates.template.read_bytes())
    asyncio.run(_store_key(url))
    try:
        with asgi.get_client(APP) as client:  # starts the app's lifespan for the module
            client.headers["Authorization"] = f"Bearer {API_KEY}"
            yield _seed(client, url)
    finally:
        asgi.shutdown_lifespans()
        sqlite_templates.drop(url)


def _refer_to_seeded(
    case: schemathesis.Case, data: st.DataObject, ids: dict[str, list[str]]
) -> None:
    """In valid cases, an id-named parameter, top-level body field or CloudEvent `data`
    field (its `id` names an entity of the type's kind: `contract.updated` a contract)
    usually becomes a seeded entity's id, so the fuzz reaches past the 404. Invalid
    cases stay as they were generated: what makes them invalid may be that very id."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    containers: list[tuple[dict[str, Any], str]] = [
        (case.path_parameters or {}, ""),
        (case.query or {}, ""),
    ]
    for body in case.body if isinstance(case.body, list) else [case.body]:
        if isinstance(body, dict):
            containers.append((body, ""))
            if isinstance(body.get("data"), dict):
                containers.append((body["data"], f"{str(body.get('type')).split('.')[0]}_id"))
    for container, own_id in containers:
        for name in list(container):
            seeded = ids.get(own_id if name == "id" else name)
            if seeded and data.draw(st.integers(0, 3), label=name):
                container[name] = data.draw(st.sampled_from(seeded), label=name)


@BUDGET
@schema.given(data=st.data())
@schema.parametrize()
def test_every_operation_passes_every_check(
    case: schemathesis.Case, data: st.DataObject, fuzz: dict[str, list[str]]
) -> None:
    _refer_to_seeded(case, data, fuzz)
    case.call_and_validate(
        excluded_checks=[positive_data_acceptance],
        additional_checks=[positive_data_acceptance_within_schema_reach],
    )


class Workflow(schema.as_state_machine()):  # type: ignore[misc]
    """Chains of calls linked by the ids responses return (links schemathesis infers from
    the document), so `use_after_free` and `ensure_resource_availability` see a resource
    created, read, changed and erased in one scenario."""

    started = 0
    """Scenarios begun, across runs."""
    failures: list[Exception] = []  # noqa: RUF012 (one list for the test, across runs)
    """What failed in a step: Hypothesis may then report the run as flaky instead."""

    def setup(self) -> None:
        Workflow.started += 1

    def step(self, input: Any) -> Any:
        try:
            return super().step(input)
        except Exception as exc:
            Workflow.failures.append(exc)
            raise

    def validate_response(
        self,
        response: schemathesis.Response,
        case: schemathesis.Case,
        additional_checks: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        case.validate_response(
            response,
            excluded_checks=[positive_data_acceptance],
            additional_checks=[positive_data_acceptance_within_schema_reach],
            transport_kwargs=kwargs or None,
            recorder=self.recorder,
        )


def test_linked_calls_pass_every_check(fuzz: dict[str, list[str]]) -> None:
    """Which rules apply depends on what earlier responses returned, and the database
    the calls ran against has moved on: when Hypothesis starts a new scenario by
    replaying an earlier one's first steps and sees them choose differently, it stops
    the run with `FlakyStrategyDefinition` — a verdict on the fuzzer, not on the API.
    Unless a step failed (Hypothesis then replays the failing scenario to report it, and
    may end the same way), the scenarios run so far passed, and a new run from the next
    seed takes over until the profile's count has run. For the same reason scenarios are
    neither replayed from the example database nor shrunk: a failure is reported as
    found, with the seed of its run."""
    wanted = WORKFLOWS.get(PROFILE, WORKFLOWS["dev"])
    first = 0 if PROFILE == "ci" else random.randrange(2**32)
    Workflow.started = 0
    Workflow.failures.clear()
    runs = 0
    while Workflow.started < wanted:
        assert runs < wanted, f"{runs} runs stopped by the fuzzer for {Workflow.started} scenarios"
        scenario = seed(first + runs)(type(f"Run{runs}", (Workflow,), {}))
        try:
            scenario.run(
                settings=settings(
                    BUDGET,
                    max_examples=wanted - Workflow.started,
                    stateful_step_count=8,
                    phases=(Phase.explicit, Phase.generate),
                    database=None,
                )
            )
        except FlakyStrategyDefinition:
            if not Workflow.failures:
                runs += 1
                continue
            failure = Workflow.failures[0]
            failure.add_note(f"seed of the run: {first + runs}")
            raise failure from None
        except Exception as exc:
            exc.add_note(f"seed of the run: {first + runs}")
            raise
        runs += 1
