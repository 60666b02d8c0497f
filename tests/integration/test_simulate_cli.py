"""`ccmon simulate` against the real broker and worker: every event counted, none rejected,
none produced before it happened, and a clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from stream_app.settings import EVENT_TYPES, Settings
from tests.integration.test_devstack import ccmon
from tests.workers import WorkerProcess, free_port, settings_env


def per_type(summary_line: str) -> dict[str, int]:
    """The per-type counts of the simulator's closing line."""
    return {t: int(n) for t, n in re.findall(r"([a-z]+\.[a-z]+) (\d+)", summary_line)}


def wait_for_sum(worker: WorkerProcess, name: str, expected: float, **labels: str) -> float:
    deadline = time.monotonic() + 120
    value = worker.total(name, **labels)
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.3)
        value = worker.total(name, **labels)
    return value


async def lateness_ms(settings: Settings, expected: int) -> list[int]:
    """For every record on the input topics: Kafka timestamp minus occurred_at (ms)."""
    consumer = AIOKafkaConsumer(
        *settings.topics_by_type.values(),
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    gaps: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while len(gaps) < expected and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    occurred = orjson.loads(record.value)["occurred_at"]
                    moment = datetime.fromisoformat(occurred.replace("Z", "+00:00"))
                    gaps.append(record.timestamp - round(moment.timestamp() * 1000))
    finally:
        await consumer.stop()
    return gaps


def test_simulated_half_hour_is_counted_exactly_and_never_from_the_future(
    tmp_path: Path, namespace: Settings, start_worker: Callable[..., WorkerProcess]
) -> None:
    """30 past minutes at 300x: offered = contact.started produced, 0 rejected, none early.

    A fixed weekday morning (not "-30m") makes the run the same at any hour of the test.
    """
    worker = start_worker(namespace)
    env = settings_env(namespace, tmp_path / "sim")
    t0 = time.monotonic()
    result = ccmon(
        *("simulate", "--start", "2026-11-16T10:00:00Z", "--speed", "300", "--duration", "30m"),
        *("--seed", "3", "--rate", "1", "--no-progress"),
        env=env,
        timeout=300,  # a 6 s run; generous for a loaded machine
    )
    took = time.monotonic() - t0
    assert result.returncode == 0, result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    counts = per_type(summary)
    assert set(counts) == set(EVENT_TYPES), summary
    assert "stopped by duration" in summary
    assert counts["contact.started"] > 100, summary
    assert took >= 5.5, took  # 30 simulated minutes at 300x take 6 s: it is paced
    offered = wait_for_sum(worker, "ccmon_offered_total", counts["contact.started"])
    assert offered == counts["contact.started"]
    for event_type, count in counts.items():
        accepted = wait_for_sum(worker, "ccmon_events_accepted_total", count, type=event_type)
        assert accepted == count, event_type
    assert worker.total("ccmon_events_rejected_total") == 0
    # Keyed by contact_id (the spec's key, murmur2 like the stages): one worker applies every
    # contact event where it was read, never through the internal topic.
    routed = "ccmon_events_routed_total"
    contact_events = sum(n for t, n in counts.items() if t.startswith("contact."))
    assert worker.total(routed, stage="contact", route="local") >= contact_events
    assert worker.total(routed, stage="contact", route="rekeyed") == 0
    # customer.status is keyed by customer_id; a contact.resolved (keyed by its contact)
    # reaches the customer stage locally only when both ids fall in one partition.
    assert worker.total(routed, stage="customer", route="local") >= counts["customer.status"]
    assert worker.total(routed, stage="customer", route="rekeyed") > 0
    gaps = asyncio.run(lateness_ms(namespace, sum(counts.values())))
    assert len(gaps) == sum(counts.values())
    assert min(gaps) >= -5, min(gaps)  # produced at or after occurred_at (5 ms clock slack)


async def produced_so_far(settings: Settings) -> int:
    """Records on the test's input topics now (the sum of their end offsets)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers)
    await consumer.start()
    try:
        partitions = [  # the namespace fixture created them with topic_partitions each
            TopicPartition(topic, partition)
            for topic in settings.topics_by_type.values()
            for partition in range(settings.topic_partitions)
        ]
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


def wait_until_produced(proc: subprocess.Popen[str], settings: Settings, timeout_s: float) -> None:
    """Until the simulator has put at least one event on the broker (or fail)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            stdout, stderr = proc.communicate()
            raise AssertionError(f"simulator exited {proc.returncode}: {stdout}{stderr}")
        try:
            if asyncio.run(produced_so_far(settings)) > 0:
                return
        except KafkaError:
            pass  # the broker is briefly unreachable: ask again
        time.sleep(0.5)
    raise AssertionError(f"the simulator produced nothing in {timeout_s} s")


def test_live_run_stops_cleanly_on_sigterm(tmp_path: Path, namespace: Settings) -> None:
    """A live run (speed 1) stops on SIGTERM with exit 0, flushed, and its one-line summary."""
    env = settings_env(namespace, tmp_path / "sim")
    proc = subprocess.Popen(
        # --rate 200: events within seconds even on a Sunday night.
        [sys.executable, "-m", "stream_app", "simulate", "--rate", "200", "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        # SIGTERM once events are on the broker, however long the start took.
        wait_until_produced(proc, namespace, timeout_s=120)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    summary = stdout.strip().splitlines()[-1]
    assert summary.startswith("produced "), stdout
    assert "stopped by SIGTERM" in summary
    produced = sum(per_type(summary).values())
    assert produced > 0, summary
    gaps = asyncio.run(lateness_ms(namespace, produced))
    assert len(gaps) == produced  # everything counted was flushed to the broker
    assert min(gaps) >= -5


def test_out_file_passes_ccmon_check(tmp_path: Path) -> None:
    """--out writes JSON Lines (unpaced) that `ccmon check` accepts line by line."""
    out = tmp_path / "sim.jsonl"
    result = ccmon(
        *("simulate", "--start", "today", "--duration", "6h", "--seed", "5"),
        *("--incident", "abandon-spike:queue=billing,at=+2h,for=30m", "--out", str(out)),
    )
    assert result.returncode == 0, result.stderr
    lines = out.read_bytes().splitlines()
    assert result.stdout.startswith(f"wrote {len(lines)} events")
    check = ccmon("check", str(out), "--json")
    assert check.returncode == 0, check.stdout
    assert orjson.loads(check.stdout) == {"accepted": len(lines), "rejected": {}}


def test_unreachable_kafka_is_one_line(tmp_path: Path, stack_settings: Settings) -> None:
    """No broker at the configured address: exit 2 and one line saying what to do."""
    env = settings_env(stack_settings, tmp_path / "sim")
    env["CCMON_KAFKA_BOOTSTRAP"] = f"127.0.0.1:{free_port()}"
    result = ccmon("simulate", "--events", "5", "--no-progress", env=env, timeout=180)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ccmon: error: Kafka is not reachable at 127.0.0.1:")
    assert "ccmon stack up" in lines[0]
