"""`renewals worker` runs the dispatcher and the sender: of two worker processes, the one
killed in the middle of a request loses no delivery; the other sends it, same id."""

from __future__ import annotations

import signal
import subprocess

from sqlalchemy import select

from shared.models import WebhookDelivery
from tests.outbound_webhooks.conftest import FAST
from tests.outbound_webhooks.helpers import notify, settled, subscribe
from tests.outbound_webhooks.receiver import Receiver, Reply
from tests.support.api import open_harness
from tests.support.cli import RENEWALS, cli_env


def start_worker(db_url: str) -> subprocess.Popen[str]:
    env = cli_env(db_url) | {
        "RENEWALS_SCHEDULER_INTERVAL_SECONDS": "0",
        "RENEWALS_WEBHOOKS_ALLOW_PRIVATE": "1",
        "RENEWALS_WEBHOOKS_TIMEOUT_SECONDS": "0.5",
        "RENEWALS_WEBHOOKS_POLL_SECONDS": "0.05",
    }
    return subprocess.Popen(
        [RENEWALS, "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_a_killed_worker_process_loses_no_delivery(
    sqlite_db_url: str, receiver: Receiver
) -> None:
    """SQLite only: the in-process twin of this test (`test_delivery`) covers both
    backends; this one checks the wiring of `renewals worker`, and starting processes
    is slow on a busy machine."""
    db_url = sqlite_db_url
    receiver.answer(Reply(200, delay=2))  # the first request hangs past the kill
    async with open_harness(db_url, **FAST) as harness:
        subscription = await subscribe(harness, receiver.url)
        await notify(harness.db)
        workers = {worker.pid: worker for worker in (start_worker(db_url), start_worker(db_url))}
        try:
            await receiver.wait_for(1, timeout=30)
            async with harness.db.read() as session:
                holder = await session.scalar(select(WebhookDelivery.claimed_by))
            assert holder is not None
            sending = workers.pop(int(holder.split(":")[1]))  # webhooks@host:pid:…
            sending.kill()
            sending.communicate(timeout=5)
            await receiver.wait_for(2, timeout=20)
            [logged] = await settled(harness, subscription["id"])
            [survivor] = workers.values()
            survivor.send_signal(signal.SIGTERM)
            _, stderr = survivor.communicate(timeout=15)
            assert survivor.returncode == 0, stderr
        finally:
            for worker in workers.values():
                if worker.poll() is None:
                    worker.kill()
                    worker.communicate()
    assert [r.webhook_id for r in receiver.received] == [logged["id"]] * 2
    assert (logged["status"], logged["attempts"]) == ("delivered", 2)
