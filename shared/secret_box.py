"""Secrets the engine must use again in clear — the signing secrets of outbound webhooks,
a CRM's credentials — are stored encrypted, so a copy of the database, a backup or a
read replica holds only ciphertext.

The keys come from `RENEWALS_SECRET_KEY`: Fernet keys (AES-128-CBC with an HMAC-SHA256,
from `cryptography`), comma-separated, newest first. Everything is sealed with the first
and opened with any, so a rotation is: put the new key first, run `renewals secrets
rotate`, then drop the old one.

On Postgres the key must be given: every process that shares the database must share
it, and only the operator can hand it to them. A local SQLite database (`make run`,
`renewals dev`) without one gets a key generated into a file beside it, with a warning,
so the first run needs no set-up.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import structlog
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import make_url

_log = structlog.get_logger("renewals.secrets")

KEY_FILE_SUFFIX = ".key"


class SecretKeyMissing(RuntimeError):
    """No key to seal or open secrets with; the message says how to provide one."""


class UnreadableSecret(RuntimeError):
    """Sealed with a key that is no longer in `RENEWALS_SECRET_KEY`, or corrupted."""


class SecretBox:
    """Seals with the first key, opens with any of them."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise SecretKeyMissing("at least one key is needed")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str, *, ttl: int | None = None) -> str:
        """`ttl` (seconds) refuses what was sealed longer ago: Fernet tokens carry the
        time they were made, so a sealed value can expire without a stored deadline."""
        try:
            return self._fernet.decrypt(sealed.encode(), ttl=ttl).decode()
        except InvalidToken as exc:
            raise UnreadableSecret(
                "a stored secret cannot be decrypted with any key of RENEWALS_SECRET_KEY"
            ) from exc

    def reseal(self, sealed: str) -> str:
        """The same secret sealed with the first key (what a rotation does to each)."""
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except InvalidToken as exc:
            raise UnreadableSecret(
                "a stored secret cannot be decrypted with any key of RENEWALS_SECRET_KEY"
            ) from exc


def new_key() -> str:
    return Fernet.generate_key().decode()


def is_key(text: str) -> bool:
    try:
        Fernet(text.encode())
    except ValueError:
        return False
    return True


@lru_cache(maxsize=8)
def _box(keys: tuple[str, ...]) -> SecretBox:
    return SecretBox(keys)


def secret_box(keys: Sequence[str], database_url: str) -> SecretBox:
    """The box for these keys, or for the local key file of a SQLite database given
    none; `SecretKeyMissing` otherwise."""
    if keys:
        return _box(tuple(keys))
    return _box((_local_key(database_url),))


def _local_key(database_url: str) -> str:
    url = make_url(database_url)
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        raise SecretKeyMissing(
            "RENEWALS_SECRET_KEY is required with this database: it encrypts the webhook "
            "signing secrets stored there, and every process must share it. Generate one "
            "with `renewals secrets new-key`."
        )
    path = Path(database).with_name(Path(database).name + KEY_FILE_SUFFIX)
    if path.exists():
        return path.read_text().strip()
    key = new_key()
    draft = path.with_name(f"{path.name}.{os.getpid()}.new")
    with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
        file.write(key + "\n")
    try:
        # A link never replaces a file: of two processes starting at once, one key wins
        # and both use it.
        os.link(draft, path)
    except FileExistsError:
        return path.read_text().strip()
    finally:
        draft.unlink()
    _log.warning(
        "secret_key.generated",
        path=str(path),
        hint="generated for this local database only; set RENEWALS_SECRET_KEY (and keep "
        "it safe) for any shared deployment",
    )
    return key
