"""The redaction rules on their own: no database needed."""

from __future__ import annotations

import json

from shared.domain.stakeholders.erasure import Redactor, redact_body


def test_redaction_is_case_insensitive_and_on_whole_words_only() -> None:
    redactor = Redactor("Ann Lee", "ann.lee@corp.example")
    text = "ANN LEE (Ann.Lee@Corp.example) joins the Annual review with Ann Leeds."
    assert redactor.text(text) == "[erased] ([erased]) joins the Annual review with Ann Leeds."


def test_an_email_containing_the_name_is_redacted_whole() -> None:
    redactor = Redactor("ann", "ann@corp.example")
    assert redactor.text("mail ann@corp.example or ann") == "mail [erased] or [erased]"


def test_json_bodies_stay_valid_json_when_the_name_needs_escaping() -> None:
    name = 'Zoë "Z" Öz'
    redactor = Redactor(name, None)
    body = json.dumps({"name": name, "notes": [f"met {name}"]}).encode()
    redacted = redact_body(body, redactor)
    assert json.loads(redacted) == {"name": "[erased]", "notes": ["met [erased]"]}


def test_bodies_that_do_not_name_the_person_are_returned_unchanged() -> None:
    redactor = Redactor("Ann Lee", None)
    body = b'{ "name" : "Annabel" }'
    assert redact_body(body, redactor) is body
    assert redact_body(b"not json: Ann Lee", redactor) == b"not json: [erased]"


def test_nothing_to_redact_when_the_person_has_no_name_left() -> None:
    redactor = Redactor(None, "")
    assert redactor.pattern is None
    assert redactor.text("Ann Lee") == "Ann Lee"
