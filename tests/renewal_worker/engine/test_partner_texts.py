"""Every task of a partner-sold contract names the partner and involves them."""

from dataclasses import replace

import pytest

from services.renewal_worker.engine.playbooks import TASK_KINDS, render_task
from services.renewal_worker.engine.rules import decide
from services.renewal_worker.engine.state import StakeholderFacts
from tests.renewal_worker.engine.facts import SETTINGS, account, contract, event
from tests.renewal_worker.engine.test_playbooks import CTX

PARTNER = replace(CTX, partner_name="Initech Partners")
INVOLVE = (
    "Involve the partner Initech Partners: share this task with them and agree who does which step."
)


def steps(description: str) -> list[str]:
    return description.split("**Steps:**\n")[1].split("\n\n")[0].splitlines()


@pytest.mark.parametrize("kind", sorted(TASK_KINDS))
def test_partner_is_named_among_the_people_and_involved_in_the_last_step(kind: str) -> None:
    description = render_task(kind, PARTNER)[1]
    people = description.split("**People:**\n")[1].split("\n\n")[0]
    assert "- Partner: Initech Partners (sold this contract)" in people.splitlines()
    own = steps(render_task(kind, CTX)[1])
    assert steps(description) == [*own, f"{len(own) + 1}. {INVOLVE}"]


@pytest.mark.parametrize("kind", sorted(TASK_KINDS))
def test_direct_contract_names_no_partner(kind: str) -> None:
    assert "Partner" not in render_task(kind, CTX)[1]


def test_the_engine_names_the_partner_of_the_contract_the_task_is_on() -> None:
    sold = contract(partner_id="p1", partner_name="Initech Partners")
    people = (StakeholderFacts("s1", "Ada", "business_owner", "departed"),)
    data = {"id": "s1", "account_id": "a1", "role": "business_owner", "status": "departed"}
    decision = decide(
        account(sold, stakeholders=people),
        event("stakeholder.departed", "2026-05-01", data),
        SETTINGS,
    )
    (task,) = decision.new_tasks
    assert task.partner_id == "p1"
    assert "- Partner: Initech Partners (sold this contract)" in task.description
    assert INVOLVE in task.description
