"""The engine over the real broker: a replayed multi-day dataset against the independent reference.

Each test sends the generated dataset (duplicates, disorder, late events, surveys before and
after their contacts, repeats, churn across a month boundary, short abandons) with `ccmon send`,
then asks the worker's JSON API for every day and 15-minute window with every dimension and
compares each row with the reference's counters: counts exact, KPIs to the last digit.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stream_app.settings import Settings
from tests.comparison import (
    ENGINE_ENV,
    REFERENCE_PARAMS,
    api_differences,
    expected_rows,
)
from tests.datagen import Dataset, generate
from tests.reference.batch_kpis import batch_counters
from tests.workers import (
    WorkerProcess,
    free_port,
    processed,
    send,
    wait_processed,
    wait_settled,
    write_jsonl,
)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return generate()


@pytest.fixture(scope="module")
def expected(dataset: Dataset) -> dict[Any, dict[str, float]]:
    return expected_rows(dataset)


def engine_settings(namespace: Settings) -> Settings:
    return namespace.model_copy(update=ENGINE_ENV)


def check_against_reference(
    base_url: str, dataset: Dataset, expected: dict[Any, dict[str, float]]
) -> None:
    problems = api_differences(base_url, dataset, expected)
    assert not problems, f"{len(problems)} differences, first: " + "\n".join(problems[:10])


def test_replay_matches_reference(
    tmp_path: Path,
    namespace: Settings,
    start_worker: Callable[..., WorkerProcess],
    dataset: Dataset,
    expected: dict[Any, dict[str, float]],
) -> None:
    """One worker, the whole dataset: every window and dimension equals the reference."""
    settings = engine_settings(namespace)
    worker = start_worker(settings)
    path = write_jsonl(tmp_path / "dataset.jsonl", dataset.events)
    t0 = time.monotonic()
    sender = send(settings, path, tmp_path)
    assert sender.wait(timeout=120) == 0
    n = len(dataset.events)
    assert wait_processed([worker], n) >= n
    took = time.monotonic() - t0
    print(f"replayed {n} events end to end in {took:.1f} s ({n / took:,.0f} ev/s)")
    assert worker.sample("ccmon_events_late_total", type="contact.started") == len(
        dataset.late_event_ids
    )
    check_against_reference(worker.base_url, dataset, expected)
    check_prometheus_counters(worker, dataset)


PROM_FROM_REFERENCE = {
    "ccmon_offered_total": "offered",
    "ccmon_answered_total": "answered",
    "ccmon_answered_wait_seconds_total": "answered_wait_seconds_sum",
    "ccmon_answered_within_sl_total": "answered_within_sl",
    "ccmon_abandoned_total": "abandoned",
    "ccmon_abandoned_short_total": "abandoned_short",
    "ccmon_handled_total": "handled",
    "ccmon_handle_seconds_total": "handle_seconds_sum",
    "ccmon_csat_responses_total": "csat_responses",
    "ccmon_csat_satisfied_total": "csat_satisfied",
    "ccmon_nps_responses_total": "nps_responses",
    "ccmon_nps_promoters_total": "nps_promoters",
    "ccmon_nps_detractors_total": "nps_detractors",
    "ccmon_fcr_issues_total": "fcr_issues",
    "ccmon_fcr_resolved_first_total": "fcr_resolved_first",
    "ccmon_fcr_withdrawn_total": "fcr_withdrawn",
}
RETRACTED = {
    name.replace("_total", "_retracted_total"): name
    for name in PROM_FROM_REFERENCE
    if name.startswith(("ccmon_csat_", "ccmon_nps_", "ccmon_fcr_"))
}
"""Survey and FCR counts can move (a late contact re-orders what was counted): what was taken
away is on ``X_retracted_total`` (docs/metrics.md)."""


def check_prometheus_counters(worker: WorkerProcess, dataset: Dataset) -> None:
    """The all-time counters on /metrics, summed per queue, equal the reference's totals."""
    assert dataset.late_event_ids
    from prometheus_client.parser import text_string_to_metric_families

    # Late events reach no window but still count in the all-time counters (KPI-SPEC 4),
    # so the all-time reference is over every event, late ones included.
    reference = batch_counters(dataset.events, **REFERENCE_PARAMS)
    assert reference[("all", "all", "queue", "billing")]["offered"] > 0
    sums: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(worker.metrics_text()):
        for sample in family.samples:
            sign = 1.0
            name = sample.name
            if name in RETRACTED:  # X_total - X_retracted_total is the exact count
                name, sign = RETRACTED[name], -1.0
            if name in PROM_FROM_REFERENCE:
                key = (name, sample.labels["queue"])
                sums[key] = sums.get(key, 0.0) + sign * sample.value
    queues = {k[3] for k in reference if k[0] == "all" and k[2] == "queue"}
    assert queues
    for queue in queues:
        row = reference[("all", "all", "queue", queue)]
        for metric, counter in PROM_FROM_REFERENCE.items():
            expected_value = row.get(counter, 0)
            got = sums.get((metric, queue), 0.0)
            assert got == pytest.approx(expected_value, abs=1e-6), (metric, queue)


def test_sigkill_mid_replay_then_restart_gives_the_same_numbers(
    tmp_path: Path,
    namespace: Settings,
    start_worker: Callable[..., WorkerProcess],
    dataset: Dataset,
    expected: dict[Any, dict[str, float]],
) -> None:
    """A worker killed with SIGKILL mid-stream and restarted ends with the reference's numbers."""
    settings = engine_settings(namespace)
    first = start_worker(settings, name="killed")
    path = write_jsonl(tmp_path / "dataset.jsonl", dataset.events)
    sender = send(settings, path, tmp_path)
    n = len(dataset.events)
    deadline = time.monotonic() + 180
    while processed([first]) < n * 0.4 and time.monotonic() < deadline:
        time.sleep(0.05)
    # Whether or not the group has committed yet: a worker killed before its first commit
    # once left the next one ready but never fetching (stream_app/worker/consumer.py).
    first.stop(sig=signal.SIGKILL)
    assert sender.wait(timeout=300) == 0
    second = start_worker(settings, name="restarted")
    # The restarted worker resumes at the last committed offsets; records processed after
    # that commit are replayed and recognized as duplicates. It must get to the end by itself.
    assert wait_settled([second], settings) == {}
    check_against_reference(second.base_url, dataset, expected)
    print(
        f"after SIGKILL: {second.sample('ccmon_events_duplicate_total', type='contact.started')}"
        " contact.started records replayed or duplicated"
    )


def test_two_workers_total_the_same_as_one(
    tmp_path: Path,
    namespace: Settings,
    start_worker: Callable[..., WorkerProcess],
    dataset: Dataset,
    expected: dict[Any, dict[str, float]],
) -> None:
    """Two workers share the partitions; either one's API answers with the reference's totals."""
    settings = engine_settings(namespace)
    one = start_worker(settings, name="one")
    two = start_worker(settings.model_copy(update={"web_port": free_port()}), name="two")
    path = write_jsonl(tmp_path / "dataset.jsonl", dataset.events)
    assert send(settings, path, tmp_path).wait(timeout=120) == 0
    n = len(dataset.events)
    assert wait_processed([one, two], n) >= n
    check_against_reference(one.base_url, dataset, expected)
    check_against_reference(two.base_url, dataset, expected)


def test_a_worker_joining_mid_stream_ends_with_the_same_totals(
    tmp_path: Path,
    namespace: Settings,
    start_worker: Callable[..., WorkerProcess],
    dataset: Dataset,
    expected: dict[Any, dict[str, float]],
) -> None:
    """A second worker joins while the first holds states and events keep coming.

    Half of the partitions (states, their input and internal partitions) move to the new
    worker, which recovers those states from the changelog; events the first worker applied
    but had not committed are replayed there. Both APIs must converge on the reference.
    """
    settings = engine_settings(namespace)
    one = start_worker(settings, name="one")
    n = len(dataset.events)
    half = n // 2
    first = write_jsonl(tmp_path / "first.jsonl", dataset.events[:half])
    assert send(settings, first, tmp_path).wait(timeout=120) == 0
    assert wait_processed([one], half) >= half
    # The second half in 8 sends one after the other (a few seconds), so that the second
    # worker joins while events are still arriving.
    size = -(-(n - half) // 8)
    chunks = [dataset.events[start : start + size] for start in range(half, n, size)]
    codes: list[int] = []
    two = start_worker(
        settings.model_copy(update={"web_port": free_port()}), name="two", ready=False
    )

    def send_chunks() -> None:
        for i, chunk in enumerate(chunks):
            if i == 2:  # the rest only once the second worker has its partitions
                two.wait_ready()
            path = write_jsonl(tmp_path / f"chunk-{i}.jsonl", chunk)
            codes.append(send(settings, path, tmp_path).wait(timeout=300))

    sender = threading.Thread(target=send_chunks)
    sender.start()
    sender.join(timeout=600)
    assert codes == [0] * len(chunks)
    # Replays after the rebalance count again, so counters alone cannot say "done": wait
    # until the group has committed every partition to its end and no stage is behind.
    assert wait_settled([one, two], settings) == {}
    check_against_reference(one.base_url, dataset, expected)
    check_against_reference(two.base_url, dataset, expected)
    for worker in (one, two):  # both took part
        assert (worker.sample("ccmon_stage_events_total", stage="contact") or 0) > 0
