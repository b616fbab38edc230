"""`renewals apikey create|list|revoke`, run as the real command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.api import Harness
from tests.support.cli import run_cli


async def test_create_prints_only_the_key_which_then_works(api: Harness) -> None:
    url = api.settings.database_url
    created = run_cli(url, "apikey", "create", "--name", "crm", "--scopes", "read,write")
    assert created.returncode == 0, created.stderr
    lines = created.stdout.splitlines()
    assert len(lines) == 1
    key = lines[0]
    assert key.startswith("rnw_")
    async with api.as_key(key) as client:
        assert (await client.post("/v1/partners", json={"name": "P"})).status_code == 201
        assert (await client.get("/v1/admin/dead-letters")).status_code == 403


async def test_list_shows_keys_without_revealing_them_and_revoke_refuses_the_key(
    api: Harness,
) -> None:
    url = api.settings.database_url
    key = run_cli(url, "apikey", "create", "--name", "reporting").stdout.strip()
    listed = run_cli(url, "apikey", "list")
    assert listed.returncode == 0
    assert key not in listed.stdout
    row = next(line for line in listed.stdout.splitlines() if "\treporting\t" in line)
    key_id, prefix, _name, scopes, _created, revoked, expires, last_used = row.split("\t")
    assert key.startswith(prefix.rstrip("…"))
    assert scopes == "read"
    assert (revoked, expires, last_used) == ("-", "-", "-")

    revoked_run = run_cli(url, "apikey", "revoke", key_id)
    assert revoked_run.returncode == 0
    async with api.as_key(key) as client:
        assert (await client.get("/v1/partners")).status_code == 401
    assert run_cli(url, "apikey", "revoke", "00000000-0000-7000-8000-000000000000").returncode == 1


@pytest.mark.parametrize("scopes", ["", "read,owner"])
async def test_create_rejects_unknown_scopes(api: Harness, scopes: str) -> None:
    done = run_cli(api.settings.database_url, "apikey", "create", "--name", "x", "--scopes", scopes)
    assert done.returncode == 2
    assert "scopes" in done.stderr


async def test_a_key_created_to_expire_lists_its_expiry_and_works_until_then(
    api: Harness,
) -> None:
    url = api.settings.database_url
    key = run_cli(url, "apikey", "create", "--name", "trial", "--expires-in-days", "30")
    listed = run_cli(url, "apikey", "list").stdout
    row = next(line for line in listed.splitlines() if "\ttrial\t" in line)
    expires = datetime.fromisoformat(row.split("\t")[6])

    assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)
    async with api.as_key(key.stdout.strip()) as client:
        assert (await client.get("/v1/partners")).status_code == 200
    listed = run_cli(url, "apikey", "list").stdout
    row = next(line for line in listed.splitlines() if "\ttrial\t" in line)
    last_used = datetime.fromisoformat(row.split("\t")[7])
    assert timedelta(0) <= datetime.now(UTC) - last_used < timedelta(minutes=1)
