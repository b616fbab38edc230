"""Salesforce record ids: the 15-character form users copy from the UI and the
18-character form the APIs return.

The 15-character id is case-sensitive; the 18-character id appends three characters
that encode, five characters at a time, which of the first fifteen are upper case, so
that it survives case-insensitive systems (spreadsheets, e-mail). Ids are stored and
matched in the 18-character form only.
"""

from __future__ import annotations

import re

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID = re.compile(r"[a-zA-Z0-9]{15}([a-zA-Z0-5]{3})?")


def _suffix(short: str) -> str:
    """One character per five: bit `i` is set when character `i` of them is A-Z."""
    return "".join(
        _ALPHABET[sum(1 << bit for bit, char in enumerate(chunk) if "A" <= char <= "Z")]
        for chunk in (short[0:5], short[5:10], short[10:15])
    )


def to_18(value: str) -> str:
    """The 18-character form of a 15- or 18-character id. An 18-character id whose last
    three characters (compared case-insensitively) disagree with its first fifteen was
    mangled on its way here and is refused with `ValueError`."""
    text = value.strip()
    if not _ID.fullmatch(text):
        raise ValueError(f"{value!r} is not a 15- or 18-character Salesforce id")
    suffix = _suffix(text[:15])
    if len(text) == 18 and text[15:].upper() != suffix:
        raise ValueError(f"{value!r} is not a Salesforce id: its checksum does not match")
    return text[:15] + suffix
