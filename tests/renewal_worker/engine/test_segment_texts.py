"""Meetings the contract's value pays for: enterprise customers are visited, mid-market
ones met in person, growth ones in person only to open or rescue the renewal, scale
ones by video and self-serve ones by e-mail or in-app message."""

import re
from dataclasses import replace

import pytest

from services.renewal_worker.engine.playbooks import TASK_KINDS, TaskContext, render_task
from shared.rules.types import Segment
from tests.renewal_worker.engine.test_playbooks import CTX

IN_PERSON = re.compile(r"in[ -]person|on[ -]site", re.IGNORECASE)

MEETING_KINDS = [
    "pilot_kickoff",
    "pilot_review",
    "kickoff",
    "mid_term_review",
    "anniversary_review",
    "onsite_visit",
    "renewal_outreach",
    "stakeholder_change",
    "renewal_at_risk",
]
"""The kinds whose steps meet the customer."""

DECISIVE_KINDS = {"renewal_outreach", "renewal_at_risk"}


def ctx(segment: Segment) -> TaskContext:
    return replace(CTX, segment=segment)


def text(kind: str, context: TaskContext) -> str:
    title, description = render_task(kind, context)
    return f"{title}\n{description}"


@pytest.mark.parametrize("segment", list(Segment))
@pytest.mark.parametrize("kind", sorted(TASK_KINDS))
def test_only_segments_worth_the_trip_meet_in_person(kind: str, segment: Segment) -> None:
    body = text(kind, ctx(segment))
    if segment in {Segment.SCALE, Segment.SELF_SERVE}:
        assert not IN_PERSON.search(body), body
    if segment is Segment.GROWTH and kind not in DECISIVE_KINDS:
        assert not IN_PERSON.search(body), body


@pytest.mark.parametrize("kind", MEETING_KINDS)
def test_enterprise_books_visits(kind: str) -> None:
    body = text(kind, ctx(Segment.ENTERPRISE))
    assert re.search(r"on-site visit|Visit .+ on site", body), body


@pytest.mark.parametrize("kind", MEETING_KINDS)
def test_mid_market_meets_in_person(kind: str) -> None:
    body = text(kind, ctx(Segment.MID_MARKET))
    assert re.search(r"Meet .+ in person|in-person meeting", body), body


@pytest.mark.parametrize("kind", MEETING_KINDS)
def test_scale_meets_by_video(kind: str) -> None:
    assert "video call" in text(kind, ctx(Segment.SCALE))


@pytest.mark.parametrize("kind", MEETING_KINDS)
def test_self_serve_gets_a_digital_touch(kind: str) -> None:
    body = text(kind, ctx(Segment.SELF_SERVE))
    assert "e-mail or in-app" in body
    assert "video call" not in body


@pytest.mark.parametrize("kind", MEETING_KINDS)
def test_growth_meets_in_person_only_to_open_or_rescue_the_renewal(kind: str) -> None:
    body = text(kind, ctx(Segment.GROWTH))
    if kind in DECISIVE_KINDS:
        assert IN_PERSON.search(body), body
    else:
        assert "video call" in body


def test_renewal_outreach_title_books_the_segments_meeting() -> None:
    titles = {s: render_task("renewal_outreach", ctx(s))[0] for s in Segment}
    assert titles == {
        Segment.ENTERPRISE: "Open the renewal with Acme Logistics: book an on-site visit",
        Segment.MID_MARKET: "Open the renewal with Acme Logistics: book an in-person meeting",
        Segment.GROWTH: "Open the renewal with Acme Logistics: book an in-person meeting",
        Segment.SCALE: "Open the renewal with Acme Logistics: book a video call",
        Segment.SELF_SERVE: "Send the renewal notice to Acme Logistics",
    }


@pytest.mark.parametrize("segment", list(Segment))
def test_larger_customers_renewal_outreach_maps_the_organisation(segment: Segment) -> None:
    body = text("renewal_outreach", ctx(segment))
    mapped = (
        "Map Acme Logistics's organisation: who signs the renewal, who uses the product, "
        "who pays for it; record each of them as a stakeholder."
    )
    assert (mapped in body) == (segment in {Segment.ENTERPRISE, Segment.MID_MARKET})
