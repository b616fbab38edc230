"""`renewals secrets new-key|rotate`, and the processes that refuse to start without the
key on a database other than a local SQLite file."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from shared.models import WebhookSubscription
from shared.secret_box import SecretBox, is_key
from tests.support.api import Harness
from tests.support.cli import RENEWALS, cli_env, run_cli


def _run(db_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RENEWALS, *args],
        env=cli_env(db_url) | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_new_key_prints_a_key_the_settings_accept(tmp_path: Path) -> None:
    printed = run_cli(f"sqlite+aiosqlite:///{tmp_path}/x.db", "secrets", "new-key")
    assert printed.returncode == 0
    assert is_key(printed.stdout.strip())


async def test_rotate_reseals_every_secret_with_the_first_key(api: Harness) -> None:
    created = await api.client.post(
        "/v1/webhook-subscriptions",
        json={"url": "https://93.184.216.34/hooks", "event_types": ["task.created"]},
    )
    secret = created.json()["secret"]
    old = api.settings.secret_key[0].get_secret_value()
    new = run_cli(api.settings.database_url, "secrets", "new-key").stdout.strip()

    rotated = _run(
        api.settings.database_url, "secrets", "rotate", RENEWALS_SECRET_KEY=f"{new},{old}"
    )
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.strip() == (
        "re-encrypted 1 secrets with the first key of RENEWALS_SECRET_KEY"
    )
    assert "webhook_subscriptions: 1 secrets re-encrypted" in rotated.stderr
    async with api.db.read() as session:
        row = await session.get(WebhookSubscription, uuid.UUID(created.json()["id"]))
    assert row is not None
    assert SecretBox([new]).open(row.secret) == secret

    lost = _run(api.settings.database_url, "secrets", "rotate", RENEWALS_SECRET_KEY=old)
    assert lost.returncode == 1
    assert "cannot be decrypted" in lost.stderr
    unset = _run(api.settings.database_url, "secrets", "rotate", RENEWALS_SECRET_KEY="")
    assert unset.returncode == 2
    assert "RENEWALS_SECRET_KEY is not set" in unset.stderr


@pytest.mark.parametrize("command", ["api", "worker", "dev"])
def test_processes_refuse_to_start_on_postgres_without_the_key(
    postgres_db_url: str, command: str
) -> None:
    refused = _run(postgres_db_url, command, RENEWALS_SECRET_KEY="")
    assert refused.returncode == 2
    assert "RENEWALS_SECRET_KEY is required" in refused.stderr
    assert "renewals secrets new-key" in refused.stderr
