"""The distributed set-up end to end: settings a relay and a worker share, contracts made
through the REST API, and the check that every contract was planned exactly once."""

from __future__ import annotations

from collections import Counter
from typing import Any

from shared.config import Settings
from shared.db import Database
from tests.relay.helpers import relay_env, relay_settings
from tests.renewal_worker.kafka.helpers import (
    checkpoint_plan,
    checkpoints_per_contract,
    worker_settings,
)
from tests.support.api import Harness

CONTRACT_BODY = {"start_date": "2026-03-15", "end_date": "2027-03-15", "arr": "12000.00"}


def distributed_settings(db_url: str, bootstrap: str, **overrides: Any) -> Settings:
    """Worker settings (own topics and group, 3 s session, short polls) that the relay
    shares: the same topics."""
    return worker_settings(db_url, bootstrap, **overrides)


def relay_env_for(settings: Settings) -> dict[str, str]:
    relay = relay_settings(
        settings.database_url,
        settings.kafka_bootstrap_servers,
        kafka_topic=settings.kafka_topic,
        kafka_notifications_topic=settings.kafka_notifications_topic,
        kafka_partitions=settings.kafka_partitions,
    )
    return relay_env(relay)


async def create_through_api(api: Harness, accounts: int) -> list[dict[str, Any]]:
    """`accounts` accounts with one contract each, through REST; the contracts."""
    contracts = []
    for i in range(accounts):
        account = await api.client.post("/v1/accounts", json={"name": f"Acme {i}"})
        assert account.status_code == 201, account.text
        body = CONTRACT_BODY | {"account_id": account.json()["id"]}
        contract = await api.client.post("/v1/contracts", json=body)
        assert contract.status_code == 201, contract.text
        contracts.append(contract.json())
    return contracts


async def assert_planned_once(db: Database, contract_ids: set[str]) -> None:
    """Every contract has its plan, exactly once: the same number of checkpoints each and
    no (contract, kind, term, ordinal) twice."""
    plan = await checkpoint_plan(db)
    assert not [key for key, n in Counter(plan).items() if n > 1], "a checkpoint twice"
    per_contract = await checkpoints_per_contract(db)
    assert set(per_contract) == contract_ids
    assert len(set(per_contract.values())) == 1
