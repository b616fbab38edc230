"""Stakeholder changes told by role: the task names the role and the person, a vacant
role's first step is finding the successor, and a co-owner is no change."""

from typing import Any

from services.renewal_worker.engine.rules import Decision, decide
from services.renewal_worker.engine.state import AccountFacts, StakeholderFacts
from tests.renewal_worker.engine.facts import SETTINGS, account, contract, event, run


def data(sid: str, now: str, status: str = "active", **before: str) -> dict[str, Any]:
    """The event's stakeholder as it is `now`; `before` (role, status) as the API sends
    it on a change."""
    body: dict[str, Any] = {"id": sid, "account_id": "a1", "role": now, "status": status}
    if before:
        body["previous"] = {"role": now, "status": "active"} | before
    return body


def facts(*people: StakeholderFacts) -> AccountFacts:
    return account(contract(), stakeholders=people)


def steps(description: str) -> list[str]:
    block = description.split("**Steps:**\n")[1].split("\n\n")[0]
    return block.splitlines()


def changes(decision: Decision) -> list[str]:
    (task,) = decision.new_tasks
    return task.description.split("\n\nChanges:\n")[1].splitlines()


def test_departed_champion_names_the_role_and_the_person_and_finds_a_successor() -> None:
    people = (
        StakeholderFacts("s1", "Ada Owner", "business_owner", "active"),
        StakeholderFacts("s2", "Carl Champion", "champion", "departed"),
    )
    decision = decide(
        facts(*people),
        event("stakeholder.departed", "2026-05-01", data("s2", "champion", "departed")),
        SETTINGS,
    )
    (task,) = decision.new_tasks
    assert task.title == "Champion change at Globex: Carl Champion"
    assert "Carl Champion (champion) left; no active champion remains." in task.description
    assert "Nobody may be left to drive adoption" in task.description
    assert steps(task.description) == [
        "1. Find the successor: ask your contacts at Globex who is the champion now, and "
        "record them as a stakeholder.",
        "2. Meet the new champion on a video call: introduce the product and the results so far.",
        "3. Re-align on the business goals and metrics.",
    ]
    assert changes(decision) == [
        "- 2026-05-01: Carl Champion (champion) left; no active champion remains."
    ]


def test_departure_beside_another_holder_meets_the_one_who_remains() -> None:
    people = (
        StakeholderFacts("s1", "Ada Owner", "business_owner", "departed"),
        StakeholderFacts("s2", "Ben Budget", "business_owner", "active"),
    )
    decision = decide(
        facts(*people),
        event("stakeholder.departed", "2026-05-01", data("s1", "business_owner", "departed")),
        SETTINGS,
    )
    (task,) = decision.new_tasks
    assert task.title == "Business owner change at Globex: Ada Owner"
    assert "The person who owns the business outcome" in task.description
    assert steps(task.description)[0] == (
        "1. Meet Ben Budget (business owner now) on a video call: introduce the product and "
        "the results so far."
    )
    assert "Find the successor" not in task.description
    assert changes(decision) == ["- 2026-05-01: Ada Owner (business owner) left."]


def test_executive_sponsor_moving_to_a_non_key_role_is_a_change_of_that_role() -> None:
    people = (StakeholderFacts("s1", "Eve Sponsor", "other", "active"),)
    decision = decide(
        facts(*people),
        event(
            "stakeholder.updated",
            "2026-05-01",
            data("s1", "other", role="executive_sponsor"),
        ),
        SETTINGS,
    )
    (task,) = decision.new_tasks
    assert task.title == "Executive sponsor change at Globex: Eve Sponsor"
    assert "backing at the top" in task.description
    assert steps(task.description)[0].startswith("1. Find the successor")
    assert changes(decision) == [
        "- 2026-05-01: Eve Sponsor moved from executive sponsor to other; "
        "no active executive sponsor remains."
    ]


def test_business_owner_added_beside_an_active_one_opens_nothing_and_costs_no_health() -> None:
    people = (
        StakeholderFacts("s1", "Ada Owner", "business_owner", "active"),
        StakeholderFacts("s2", "Ben Budget", "business_owner", "active"),
    )
    decision = decide(
        facts(*people),
        event("stakeholder.added", "2026-05-01", data("s2", "business_owner")),
        SETTINGS,
    )
    assert decision.new_tasks == []
    assert decision.task_changes == []
    assert decision.health == []


def test_becoming_business_owner_beside_an_active_one_is_no_change() -> None:
    people = (
        StakeholderFacts("s1", "Ada Owner", "business_owner", "active"),
        StakeholderFacts("s2", "Ben Budget", "business_owner", "active"),
    )
    decision = decide(
        facts(*people),
        event("stakeholder.updated", "2026-05-01", data("s2", "business_owner", role="user")),
        SETTINGS,
    )
    assert decision.new_tasks == []


def test_co_owner_is_not_folded_into_an_open_change() -> None:
    people = (
        StakeholderFacts("s1", "Carl Champion", "champion", "departed"),
        StakeholderFacts("s2", "Ada Owner", "business_owner", "active"),
        StakeholderFacts("s3", "Ben Budget", "business_owner", "active"),
    )
    after = run(
        facts(*people),
        event("stakeholder.departed", "2026-05-01", data("s1", "champion", "departed")),
    )
    decision = decide(
        after,
        event("stakeholder.added", "2026-05-02", data("s3", "business_owner"), eid="e2"),
        SETTINGS,
    )
    assert decision.task_changes == []


def test_successor_of_a_departed_business_owner_is_a_change() -> None:
    people = (
        StakeholderFacts("s1", "Ada Owner", "business_owner", "departed"),
        StakeholderFacts("s2", "Ben Budget", "business_owner", "active"),
    )
    decision = decide(
        facts(*people),
        event("stakeholder.added", "2026-05-01", data("s2", "business_owner")),
        SETTINGS,
    )
    (task,) = decision.new_tasks
    assert task.title == "Business owner change at Globex: Ben Budget"
    assert steps(task.description)[0].startswith("1. Meet Ben Budget (business owner now)")
    assert changes(decision) == ["- 2026-05-01: Ben Budget was added as the new business owner."]


def test_moving_between_key_roles_is_a_change_only_when_it_leaves_the_old_role_empty() -> None:
    people = (
        StakeholderFacts("s1", "Ada Owner", "business_owner", "active"),
        StakeholderFacts("s2", "Carl Champion", "executive_sponsor", "active"),
    )
    moved = data("s2", "executive_sponsor", role="champion")
    decision = decide(facts(*people), event("stakeholder.updated", "2026-05-01", moved), SETTINGS)
    assert changes(decision) == [
        "- 2026-05-01: Carl Champion moved from champion to executive sponsor; "
        "no active champion remains."
    ]
    other_champion = (*people, StakeholderFacts("s3", "Cleo", "champion", "active"))
    assert (
        decide(
            facts(*other_champion), event("stakeholder.updated", "2026-05-01", moved), SETTINGS
        ).new_tasks
        == []
    )
