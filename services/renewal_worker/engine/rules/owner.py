"""Owner change (DESIGN §3.2): an account's open tasks follow its new owner."""

from __future__ import annotations

from services.renewal_worker.engine.rules.decision import TaskChange
from services.renewal_worker.engine.rules.work import Work


def on_owner_changed(work: Work) -> None:
    owner = work.account.owner
    for task in work.open_tasks():
        if task.owner != owner:
            work.change_task(task, TaskChange(task.dedupe_key, owner=owner, owner_changed=True))
