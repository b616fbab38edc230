"""The shared step loop: retries with a capped, doubling backoff; stops when told."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.exc import OperationalError

from shared.runtime.steps import run_steps


class Log:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def warning(self, event: str, **fields: Any) -> None:
        self.lines.append(("warning", event, fields))

    def error(self, event: str, **fields: Any) -> None:
        self.lines.append(("error", event, fields))


async def test_failures_back_off_doubling_to_the_cap_and_success_resets_it() -> None:
    stop, log = asyncio.Event(), Log()
    outcomes: list[BaseException | bool] = [
        OperationalError("SELECT 1", {}, Exception("database is locked")),
        OperationalError("SELECT 1", {}, Exception("database is locked")),
        ValueError("poison"),
        True,
        KeyError("again"),
        False,
    ]

    async def step() -> bool:
        outcome = outcomes.pop(0)
        if not outcomes:
            stop.set()
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    await asyncio.wait_for(
        run_steps(
            stop,
            step,
            log=log,
            failure="batch_failed",
            idle_seconds=0.001,
            initial_backoff=0.001,
            max_backoff=0.003,
        ),
        timeout=5,
    )

    assert [(level, fields["retry_in"]) for level, _, fields in log.lines] == [
        ("warning", 0.001),  # transient: the database comes back by itself
        ("warning", 0.002),
        ("error", 0.003),  # capped; not transient, logged with its traceback
        ("error", 0.001),  # the success in between reset the backoff
    ]
    assert log.lines[2][2]["exc_info"] is not None
    assert {event for _, event, _ in log.lines} == {"batch_failed"}


async def test_a_stop_set_while_idle_ends_the_loop_without_waiting_the_idle_time() -> None:
    stop = asyncio.Event()
    steps = 0

    async def step() -> bool:
        nonlocal steps
        steps += 1
        asyncio.get_running_loop().call_later(0.01, stop.set)
        return False

    loop = run_steps(
        stop, step, log=Log(), failure="f", idle_seconds=60, initial_backoff=1, max_backoff=1
    )
    await asyncio.wait_for(loop, timeout=5)

    assert steps == 1
