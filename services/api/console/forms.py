"""Posted forms: URL-encoded bodies, each checked against the session's CSRF token
before anything else reads them.

The token is a random value sealed in the session cookie; a page renders it into every
form, and another site can neither read it (the cookie is HttpOnly and sealed) nor send
the cookie at all (SameSite=Strict). Both must fail before a forged POST writes.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import Depends, Request

from services.api.console.session import Console, ConsoleSession, Refused

CSRF_FIELD = "csrf_token"
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class Form:
    fields: dict[str, str]

    def get(self, name: str) -> str | None:
        """Browsers send a textarea's line breaks as CR LF; the domain keeps line feeds
        only, so they are read as one."""
        value = self.fields.get(name)
        return value if value is None else value.replace("\r\n", "\n").strip()

    def text(self, name: str) -> str | None:
        """The field with blanks read as not given, as a blank input means on a form."""
        return self.get(name) or None


async def read_form(request: Request) -> Form:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM_MEDIA_TYPE:
        raise Refused(415, "Unsupported form", f"forms are sent as {FORM_MEDIA_TYPE}")
    try:
        parsed = parse_qs((await request.body()).decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        raise Refused(400, "Unreadable form", "the form is not UTF-8") from None
    return Form({name: values[0] for name, values in parsed.items()})


async def posted(request: Request, signed: Console) -> tuple[ConsoleSession, Form]:
    form = await read_form(request)
    given = form.get(CSRF_FIELD) or ""
    if not hmac.compare_digest(given.encode(), signed.csrf.encode()):
        raise Refused(
            403,
            "Form expired",
            "the form did not carry this session's token: reload the page and try again",
        )
    return signed, form


Posted = Annotated[tuple[ConsoleSession, Form], Depends(posted)]
