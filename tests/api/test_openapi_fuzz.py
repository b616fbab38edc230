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

One check is narrowed, not dropped: `positive_data_acceptance` may meet a 422 for a rule
no JSON Schema can state (see `positive_data_acceptance_within_schema_reach`).

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

OPAQUE = frozenset({"cursor"})
"""Parameters whose valid values only the API can make: a cursor is whatever it returned
in `next_cursor`, and no schema can describe that set."""

UNEXPRESSIBLE: dict[str, frozenset[str]] = {
    # A CloudEvent's `data` depends on its `type`; the types are an enum, the shapes not.
    "POST /v1/events": frozenset({"data"}),
    "POST /v1/events/batch": frozenset({"data"}),
    # `end` after `start`: a rule between two parameters.
    "GET /v1/reports/revenue-retention": frozenset({"end"}),
    "GET /v1/reports/renewal-rate": frozenset({"end"}),
    # `until` not before `since`: a rule between two parameters.
    "GET /v1/contracts/{contract_id}/timeline": frozenset({"until"}),
    # A week pattern cannot know which years have a W53, nor month lengths.
    "GET /v1/agenda": frozenset({"week"}),
    # Date order (end after start, pilot in order, trial before the end) relates fields;
    # `arr` must fit the deployment currency's decimals, a setting, not a schema fact.
    "POST /v1/contracts": frozenset({"end_date", "pilot_start", "pilot_end", "trial_end", "arr"}),
    "PATCH /v1/contracts/{contract_id}": frozenset(
        {"start_date", "end_date", "pilot_start", "pilot_end", "trial_end", "arr"}
    ),
    # The new renewal date must follow the stored one.
    "POST /v1/contracts/{contract_id}/renew": frozenset({"end_date", "arr"}),
    # A trial may not end before it starts.
    "POST /v1/contracts/{contract_id}/trials": frozenset({"ends_on"}),
    # At most one day ahead of today: the clock decides.
    "POST /v1/contracts/{contract_id}/usage": frozenset({"as_of"}),
    # email-validator also refuses special-use domains (`.test`, `.local`), which the
    # JSON Schema `email` format has no notion of.
    "POST /v1/accounts": frozenset({"owner"}),
    "PATCH /v1/accounts/{account_id}": frozenset({"owner"}),
    "POST /v1/accounts/{account_id}/stakeholders": frozenset({"email"}),
    "PATCH /v1/stakeholders/{stakeholder_id}": frozenset({"email"}),
    # The URL's host must resolve (and not to a private address): DNS decides.
    "POST /v1/webhook-subscriptions": frozenset({"url"}),
    "PATCH /v1/webhook-subscriptions/{subscription_id}": frozenset({"url"}),
}
"""Per operation, the fields whose rules JSON Schema cannot state (they compare two
fields, or depend on stored state, the clock, DNS or the deployment's currency)."""

IDEMPOTENCY_REUSED = "urn:renewals:problem:idempotency-key-reused"


def positive_data_acceptance_within_schema_reach(
    ctx: CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """`positive_data_acceptance`, except for a 422 that only names fields in `OPAQUE` or
    the operation's `UNEXPRESSIBLE` list, or an Idempotency-Key another generated case
    already used (the key's state, not its shape, decides): schema-valid is not valid
    there, and the 422 is the API's documented answer."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code != 422:
            raise
        problem = response.json()
        if problem.get("type") == IDEMPOTENCY_REUSED:
            return None
        allowed = OPAQUE | UNEXPRESSIBLE.get(case.operation.label, frozenset())
        fields = [_root_field(error["field"]) for error in problem.get("errors") or ()]
        if not fields or not set(fields) <= allowed:
            raise
        return None


def _root_field(field: str) -> str:
    """`[3].data.contract_id` → `data`: the top-level field a problem names."""
    return re.sub(r"^\[\d+\]\.?", "", field).split(".", 1)[0]


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
    """In valid cases, an id-named parameter or top-level body field usually becomes a
    seeded entity's id, so the fuzz reaches past the 404. Invalid cases stay as they
    were generated: what makes them invalid may be that very id."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    containers: list[dict[str, Any]] = [case.path_parameters or {}, case.query or {}]
    if isinstance(case.body, dict):
        containers.append(case.body)
    for container in containers:
        for name in list(container):
            seeded = ids.get(name)
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
