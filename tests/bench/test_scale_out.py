"""Figure h counts each worker process's progress from its /metrics: the sum of the
worker's own counter over every type and outcome, and nothing else."""

from __future__ import annotations

from prometheus_client import REGISTRY, generate_latest

from bench.scale_out import processed
from shared.metrics import DEAD_LETTERS, EVENTS_PROCESSED


def test_processed_sums_the_workers_counter_over_its_labels() -> None:
    before = processed(generate_latest(REGISTRY).decode())
    EVENTS_PROCESSED.labels(type="usage.reported", outcome="applied").inc(3)
    EVENTS_PROCESSED.labels(type="contract.created", outcome="dead_lettered").inc()
    DEAD_LETTERS.inc(5)
    assert processed(generate_latest(REGISTRY).decode()) == before + 4


def test_processed_reads_an_unlabelled_sample_and_ignores_others() -> None:
    exposition = "\n".join(
        [
            "# TYPE renewals_events_processed_total counter",
            "renewals_events_processed_total 7.0",
            "renewals_events_processed_created 1.7e9",
            "renewals_events_processed_total_other 2.0",
        ]
    )
    assert processed(exposition) == 7
