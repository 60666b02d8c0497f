"""The engine over the real broker: a replayed multi-day dataset against the independent reference.

Each test sends the generated dataset (duplicates, disorder, late events, surveys before and
after their contacts, repeats, churn across a month boundary, short abandons) with `ccmon send`,
then asks the worker's JSON API for every day and 15-minute window with every dimension and
compares each row with the reference's counters: counts exact, KPIs to the last digit.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from stream_app.settings import Settings
from tests.comparison import compare, reference_rows
from tests.conftest import WorkerProcess, free_port, settings_env
from tests.datagen import Dataset, generate
from tests.reference.batch_kpis import batch_counters, crr

PARAMS: dict[str, Any] = {"short_abandon_threshold_s": 5.0, "fcr_lookback_s": 2 * 86400.0}
ENGINE_ENV = {
    "short_abandon_threshold_s": 5.0,
    "fcr_lookback_days": 2.0,
    "horizon_hours": 30 * 24.0,
}


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return generate()


@pytest.fixture(scope="module")
def expected(dataset: Dataset) -> dict[Any, dict[str, float]]:
    on_time = [e for e in dataset.events if e["event_id"] not in dataset.late_event_ids]
    return reference_rows(batch_counters(on_time, **PARAMS), ("day", "15m"))


def engine_settings(namespace: Settings) -> Settings:
    return namespace.model_copy(update=ENGINE_ENV)


async def committed_offsets(settings: Settings) -> int:
    """How many partitions the worker group has committed an offset for."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        return len(await admin.list_consumer_group_offsets(settings.app_id))
    finally:
        await admin.close()


def write_jsonl(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events) + b"\n")
    return path


def send(settings: Settings, path: Path, tmp_path: Path) -> subprocess.Popen[bytes]:
    """`ccmon send` in the background, as an integrator would run it."""
    return subprocess.Popen(
        [sys.executable, "-m", "stream_app", "send", str(path), "--no-progress"],
        env=settings_env(settings, tmp_path / "sender"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def processed(workers: list[WorkerProcess]) -> float:
    """Events the entity stage has finished with, over all workers."""
    return sum(
        worker.total(
            "ccmon_events_applied_total", "ccmon_events_duplicate_total", "ccmon_events_late_total"
        )
        for worker in workers
    )


def in_flight(workers: list[WorkerProcess]) -> float:
    """Events routed to a stage that the stage has not finished yet, over all workers.

    A contact.resolved counts as applied at its contact stage; its customer stage (FCR) may
    still be behind, across an internal topic.
    """
    behind = 0.0
    for stage in ("contact", "customer"):
        routed = sum(w.total("ccmon_events_routed_total", stage=stage) for w in workers)
        finished = sum(w.total("ccmon_stage_events_total", stage=stage) for w in workers)
        behind += max(0.0, routed - finished)
    return behind


def wait_processed(workers: list[WorkerProcess], expected: int, timeout_s: float = 120) -> float:
    """Wait until ``expected`` events are done and no stage is behind; what was done."""
    deadline = time.monotonic() + timeout_s
    seen = 0.0
    while time.monotonic() < deadline:
        seen = processed(workers)
        if seen >= expected and in_flight(workers) == 0:
            return seen
        time.sleep(0.5)
    return seen


def api_rows(base_url: str, expected: dict[Any, Any]) -> dict[Any, dict[str, float]]:
    """Ask the API for every window the reference has, with every dimension."""
    rows: dict[Any, dict[str, float]] = {}
    windows = sorted({(k[0], k[1]) for k in expected})
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for kind, start_ms in windows:
            start = datetime.fromtimestamp(start_ms / 1000, UTC)
            if kind == "day":
                params = {"window": "day", "date": start.date().isoformat()}
            else:
                params = {"window": "15m", "start": start.isoformat().replace("+00:00", "Z")}
            answer = client.get("/api/kpis", params={**params, "breakdown": "all"}).json()
            assert "error" not in answer, answer
            rows[(kind, start_ms, "all", "all")] = answer["overall"]["counters"]
            for dim_kind, values in answer["breakdown"].items():
                for value, entry in values.items():
                    rows[(kind, start_ms, dim_kind, value)] = entry["counters"]
    return rows


def check_against_reference(
    base_url: str, dataset: Dataset, expected: dict[Any, dict[str, float]]
) -> None:
    problems = compare(expected, api_rows(base_url, expected))
    assert not problems, f"{len(problems)} differences, first: " + "\n".join(problems[:10])
    october = httpx.get(f"{base_url}/api/kpis", params={"window": "month", "month": "2026-10"})
    body = october.json()
    start = int(datetime.fromisoformat(body["window"]["start"]).timestamp() * 1000)
    end = int(datetime.fromisoformat(body["window"]["end"]).timestamp() * 1000)
    active, retained = crr(dataset.events, start, end)
    assert (body["crr"]["active_at_start"], body["crr"]["retained"]) == (active, retained)
    assert body["crr"]["ratio"] == pytest.approx(retained / active, rel=1e-12)


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
    "ccmon_fcr_issues_retracted_total": "ccmon_fcr_issues_total",
    "ccmon_fcr_resolved_first_retracted_total": "ccmon_fcr_resolved_first_total",
    "ccmon_fcr_withdrawn_retracted_total": "ccmon_fcr_withdrawn_total",
}


def check_prometheus_counters(worker: WorkerProcess, dataset: Dataset) -> None:
    """The all-time counters on /metrics, summed per queue, equal the reference's totals."""
    assert dataset.late_event_ids
    from prometheus_client.parser import text_string_to_metric_families

    # Late events reach no window but still count in the all-time counters (KPI-SPEC 4),
    # so the all-time reference is over every event, late ones included.
    reference = batch_counters(dataset.events, **PARAMS)
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
    deadline = time.monotonic() + 60
    while processed([first]) < n * 0.4 and time.monotonic() < deadline:
        time.sleep(0.05)
    # Kill after the group's first offset commit: a group killed before it ever committed
    # sometimes leaves faust's next worker idle (see the issue note); that case is tracked
    # separately, this test is about state and offsets surviving a kill.
    while not asyncio.run(committed_offsets(settings)) and time.monotonic() < deadline:
        time.sleep(0.1)
    first.stop(sig=signal.SIGKILL)
    assert sender.wait(timeout=120) == 0
    second = start_worker(settings, name="restarted")
    # The restarted worker resumes at the last committed offsets; records processed after
    # that commit are replayed and recognized as duplicates. faust sometimes hangs after such
    # a restart without fetching anything (faust-streaming #21, #175); as a supervisor would,
    # kill and restart a worker that made no progress for 20 s. Each restart is one more
    # SIGKILL the numbers must survive.
    restarts, progress = 0, [0.0]
    stalled_since = time.monotonic()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        progress.append(processed([second]))
        if progress[-1] > 0 and not compare(expected, api_rows(second.base_url, expected)):
            break
        if progress[-1] > progress[-2]:
            stalled_since = time.monotonic()
        elif time.monotonic() - stalled_since > 20 and restarts < 3:
            second.stop(sig=signal.SIGKILL)
            restarts += 1
            second = start_worker(settings, name=f"restarted-{restarts}")
            stalled_since, progress = time.monotonic(), [0.0]
        time.sleep(2)
    print(f"restarted {restarts + 1} time(s); last worker's processed counts: {progress}")
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

    def send_chunks() -> None:
        for i, chunk in enumerate(chunks):
            path = write_jsonl(tmp_path / f"chunk-{i}.jsonl", chunk)
            codes.append(send(settings, path, tmp_path).wait(timeout=120))

    sender = threading.Thread(target=send_chunks)
    sender.start()
    two = start_worker(settings.model_copy(update={"web_port": free_port()}), name="two")
    sender.join(timeout=300)
    assert codes == [0] * len(chunks)
    # Replays after the rebalance count again, so counters alone cannot say "done": wait
    # until both answers match the reference (or time out and show the differences).
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if in_flight([one, two]) == 0 and not any(
            compare(expected, api_rows(w.base_url, expected)) for w in (one, two)
        ):
            break
        time.sleep(2)
    check_against_reference(one.base_url, dataset, expected)
    check_against_reference(two.base_url, dataset, expected)
    for worker in (one, two):  # both took part
        assert (worker.sample("ccmon_stage_events_total", stage="contact") or 0) > 0
