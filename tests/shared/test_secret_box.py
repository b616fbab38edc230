"""Secrets sealed at rest: Fernet keys from RENEWALS_SECRET_KEY, or a local SQLite
database's own key file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs

from shared.config import Settings
from shared.secret_box import SecretBox, SecretKeyMissing, UnreadableSecret, secret_box

OLD = "S2V5IG9uZTogdGhlIG9sZCBvbmUsIGZvciB0ZXN0cy4="
NEW = "S2V5IHR3bzogdGhlIG5ldyBvbmUsIGZvciB0ZXN0cy4="
"""Fixed, so the parametrised test ids are the same in every xdist worker."""


def test_a_sealed_secret_is_not_the_secret_and_opens_to_it() -> None:
    box = SecretBox([NEW])
    sealed = box.seal("whsec_abc")
    assert "whsec_abc" not in sealed
    assert sealed != box.seal("whsec_abc")  # a fresh IV each time
    assert box.open(sealed) == "whsec_abc"


def test_during_a_rotation_both_keys_open_and_the_first_one_seals() -> None:
    sealed_with_old = SecretBox([OLD]).seal("whsec_abc")
    rotating = SecretBox([NEW, OLD])
    assert rotating.open(sealed_with_old) == "whsec_abc"
    resealed = rotating.reseal(sealed_with_old)
    assert SecretBox([NEW]).open(resealed) == "whsec_abc"
    with pytest.raises(UnreadableSecret):
        SecretBox([NEW]).open(sealed_with_old)
    with pytest.raises(UnreadableSecret):
        SecretBox([OLD]).reseal(resealed)


@pytest.mark.parametrize("value", ["not-a-key", "c2hvcnQ=", f"{NEW},nope"])
def test_settings_refuse_what_is_not_a_fernet_key_without_echoing_it(value: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(secret_key=value)
    assert "renewals secrets new-key" in str(raised.value)
    assert value not in str(raised.value)


def test_settings_take_a_comma_separated_list_newest_first() -> None:
    settings = Settings(secret_key=f"{NEW}, {OLD}")
    assert [key.get_secret_value() for key in settings.secret_key] == [NEW, OLD]
    assert settings.secret_box().open(SecretBox([OLD]).seal("x")) == "x"


def test_postgres_needs_the_key(tmp_path: Path) -> None:
    with pytest.raises(SecretKeyMissing, match="RENEWALS_SECRET_KEY is required"):
        secret_box([], "postgresql+asyncpg://renewals@db/renewals")
    with pytest.raises(SecretKeyMissing):
        secret_box([], "sqlite+aiosqlite:///:memory:")


def test_a_local_sqlite_database_gets_its_own_key_file_once_with_a_warning(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/renewals.db"
    with capture_logs() as logs:
        first = secret_box([], url)
        again = secret_box([], url)
    key_file = tmp_path / "renewals.db.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [entry["event"] for entry in logs] == ["secret_key.generated"]
    assert logs[0]["path"] == str(key_file)
    assert again.open(first.seal("whsec_abc")) == "whsec_abc"
    assert SecretBox([key_file.read_text().strip()]).open(first.seal("y")) == "y"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["renewals.db.key"]
