"""Faults over the real broker end in exact equality with the independent reference.

Each test is a short run of the chaos harness (tests/chaos; `python -m tests.chaos --help` runs
long ones): a generated replay with duplicates, disorder, late and bad records, sent in slices
while the fault happens, then every worker's API compared with tests/reference for every day
and 15-minute window and dimension, the group's committed offsets compared with the end offsets
of every input and internal partition, and no committed offset ever moving backwards.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stream_app.devstack import stack as devstack
from stream_app.devstack.procs import port_open
from stream_app.errors import UserError
from stream_app.kafka_admin import ensure_topics_of
from stream_app.settings import Settings
from stream_app.worker.batch_guard import EXIT_BATCH_FAILED
from tests.chaos.harness import Plan, chaos_dataset, namespaced, run
from tests.comparison import ENGINE_ENV, api_differences, expected_rows
from tests.offsets import committed
from tests.workers import (
    WorkerProcess,
    free_port,
    home_sharing_jars,
    send,
    wait_settled,
    write_jsonl,
)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("seed", [11, 12])
def test_repeated_sigkills_during_a_replay_lose_nothing(
    namespace: Settings, tmp_path: Path, seed: int
) -> None:
    """Four SIGKILLs at random moments (mid-batch, mid-recovery, before a first commit), each
    followed by a new worker with the same app id, while slices keep arriving."""
    outcome = run(Plan(seed=seed, kills=4, contacts_per_day=1500), namespace, tmp_path)
    print(outcome.summary())
    assert outcome.exact, outcome.summary()


@pytest.mark.timeout(900)
def test_broker_killed_and_restarted_twice_mid_replay_loses_nothing(
    namespace: Settings, tmp_path: Path
) -> None:
    """The broker SIGKILLed and started again twice while the worker runs and slices arrive."""
    plan = Plan(seed=21, kills=0, broker_restarts=2, contacts_per_day=1500)
    outcome = run(plan, namespace, tmp_path)
    print(outcome.summary())
    assert outcome.exact, outcome.summary()
    assert sum(fault.startswith("broker (down ") for fault in outcome.log) == 2


@pytest.mark.timeout(900)
def test_rolling_restart_of_two_workers_loses_nothing(namespace: Settings, tmp_path: Path) -> None:
    """Two workers; twice, each in turn is stopped with SIGTERM and started again."""
    plan = Plan(seed=31, kills=0, rolling=2, workers=2, contacts_per_day=1500)
    outcome = run(plan, namespace, tmp_path)
    print(outcome.summary())
    assert outcome.exact, outcome.summary()
    assert len(outcome.stop_seconds) == 4
    assert all(code == 0 for code in outcome.stop_codes), outcome.stop_codes


@pytest.mark.timeout(900)
def test_a_worker_that_stops_delivering_is_not_live_and_its_replacement_is_exact(
    namespace: Settings, tmp_path: Path
) -> None:
    """A worker whose fetch path goes quiet (tests/chaos/stalled_worker.py) stays ready but
    /healthz answers 503 and the stall is counted; the worker a supervisor starts instead
    ends with the reference's numbers."""
    settings = namespace.model_copy(
        update={**ENGINE_ENV, "liveness_stall_s": 10.0, "web_port": free_port()}
    )
    dataset, stream = chaos_dataset(Plan(seed=41, contacts_per_day=800), random.Random(41))
    stalled = WorkerProcess.start(
        settings, tmp_path / "stalled.log", tmp_path / "data", ("tests.chaos.stalled_worker",)
    )
    try:
        stalled.wait_ready()
        half = len(stream) // 2
        for n, part in enumerate((stream[:half], stream[half:])):
            sender = send(settings, write_jsonl(tmp_path / f"part-{n}.jsonl", part), tmp_path)
            assert sender.wait(timeout=300) == 0
            time.sleep(1.0)
        deadline = time.monotonic() + 180
        answer = httpx.get(f"{stalled.base_url}/healthz", timeout=10)
        while answer.status_code == 200 and time.monotonic() < deadline:
            time.sleep(1.0)
            answer = httpx.get(f"{stalled.base_url}/healthz", timeout=10)
        assert answer.status_code == 503, stalled.log_tail()
        assert answer.json() | {"app": None} == {
            "status": "stalled",
            "app": None,
            "ready": True,
            "live": False,
        }
        assert stalled.sample("ccmon_consumer_stalls_total") == 1
        assert "worker stalled:" in stalled.log.read_text()
    finally:
        stalled.stop(sig=signal.SIGKILL)
    at_kill = asyncio.run(committed(settings.bootstrap_servers, settings.app_id))
    replacement = WorkerProcess.start(settings, tmp_path / "replacement.log", tmp_path / "data")
    try:
        replacement.wait_ready()
        assert wait_settled([replacement], settings) == {}
        differences = api_differences(replacement.base_url, dataset, expected_rows(dataset))
        assert differences == [], {
            "differences": differences[:8],
            "committed when the stalled worker was killed": at_kill,
            "stalled worker": stalled.problems(),
            "replacement": replacement.problems(),
        }
        assert replacement.health() == {
            "status": "ok",
            "app": settings.app_id,
            "ready": True,
            "live": True,
        }
    finally:
        replacement.stop()


@pytest.mark.timeout(900)
def test_a_worker_whose_batch_fails_exits_uncommitted_and_its_replacement_is_exact(
    namespace: Settings, tmp_path: Path
) -> None:
    """An intake batch that raises (tests/chaos/failing_worker.py) ends the worker with exit
    code 70 and one line, instead of faust acking the batch and going on without it; the
    worker a supervisor starts instead ends with the reference's numbers."""
    settings = namespace.model_copy(update={**ENGINE_ENV, "web_port": free_port()})
    dataset, stream = chaos_dataset(Plan(seed=43, contacts_per_day=800), random.Random(43))
    failing = WorkerProcess.start(
        settings, tmp_path / "failing.log", tmp_path / "data", ("tests.chaos.failing_worker",)
    )
    try:
        failing.wait_ready()
        sender = send(settings, write_jsonl(tmp_path / "all.jsonl", stream), tmp_path)
        assert sender.wait(timeout=300) == 0
        assert failing.proc.wait(timeout=300) == EXIT_BATCH_FAILED
    finally:
        failing.stop(sig=signal.SIGKILL)
    (line,) = [line for line in failing.problems() if "[CRITICAL]" in line]
    assert "an intake batch failed: RuntimeError('injected failure in intake batch 3')" in line
    replacement = WorkerProcess.start(settings, tmp_path / "replacement.log", tmp_path / "data")
    try:
        replacement.wait_ready()
        assert wait_settled([replacement], settings) == {}
        assert api_differences(replacement.base_url, dataset, expected_rows(dataset)) == []
    finally:
        replacement.stop()


def _free_base_port() -> int:
    """A port p with p, p + 100 and p + 200 free (a 3-broker stack's ports)."""
    while True:
        base = free_port()
        if base + 200 < 65536 and not any(port_open("127.0.0.1", base + d) for d in (100, 200)):
            return base


@pytest.fixture
def three_brokers(stack_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """A 3-node KRaft cluster of its own (replication factor 3, min.insync.replicas 2),
    sharing the cached jars; stopped and forgotten after the test."""
    settings = stack_settings.model_copy(
        update={
            "home": home_sharing_jars(tmp_path / "cluster-home", stack_settings),
            "kafka_brokers": 3,
            "kafka_port": _free_base_port(),
            "kafka_controller_port": _free_base_port(),
        }
    )
    try:
        devstack.up(settings, only=("kafka",))
    except UserError as exc:
        pytest.fail(f"3-broker cluster could not start: {exc}", pytrace=False)
    try:
        yield settings
    finally:
        devstack.down(settings)


@pytest.mark.timeout(900)
def test_a_broker_of_three_killed_twice_mid_replay_loses_nothing(
    three_brokers: Settings, tmp_path: Path
) -> None:
    """On a 3-broker cluster (every topic 3 replicas, min.insync.replicas 2, acks=all), a
    broker picked at random is SIGKILLed, twice, and stays down for up to 15 s each time while
    the worker goes on."""
    settings = namespaced(three_brokers)
    asyncio.run(ensure_topics_of(settings))
    assert settings.replication_factor == 3
    plan = Plan(seed=51, kills=0, broker_restarts=2, broker_down_s=15.0, contacts_per_day=1500)
    outcome = run(plan, settings, tmp_path)
    print(outcome.summary())
    assert outcome.exact, outcome.summary()
    assert len([f for f in outcome.log if f.startswith("broker ")]) == 2
    assert outcome.supervisor_restarts == 0  # the worker carried on by itself
