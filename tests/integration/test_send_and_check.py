"""`ccmon check` and `ccmon send` as an integrator runs them, against the real broker/worker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer

from stream_app.settings import Settings
from tests.factories import event, event_bytes
from tests.integration.test_devstack import ccmon
from tests.workers import WorkerProcess, settings_env


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_check_reports_rejects_by_reason_and_exit_code(tmp_path: Path) -> None:
    """`check --json` gives accepted and rejected-by-reason counts; exit 1 when any is rejected."""
    bad = _write(
        tmp_path / "bad.jsonl",
        [
            event_bytes("contact.started"),
            b"",
            event_bytes("contact.answered", wait_seconds=-1),
            b"[1, 2]",
            event_bytes("survey.submitted", metric="nps", score=10),
        ],
    )
    result = ccmon("check", str(bad), "--json")
    assert result.returncode == 1, result.stderr
    assert orjson.loads(result.stdout) == {
        "accepted": 2,
        "rejected": {"bad_duration": 1, "not_object": 1},
    }
    text = ccmon("check", str(bad))
    assert "line 3" in text.stdout
    assert "line 4" in text.stdout

    good = _write(tmp_path / "good.jsonl", [event_bytes("customer.status")])
    ok = ccmon("check", str(good), "--json")
    assert ok.returncode == 0
    assert orjson.loads(ok.stdout) == {"accepted": 1, "rejected": {}}


async def _keys(settings: Settings, topic: str, expected: int) -> list[bytes | None]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    keys: list[bytes | None] = []
    try:
        deadline = time.monotonic() + 20
        while len(keys) < expected and time.monotonic() < deadline:
            for messages in (await consumer.getmany(timeout_ms=500)).values():
                keys += [m.key for m in messages]
    finally:
        await consumer.stop()
    return keys


def test_send_routes_by_type_keys_per_spec_and_worker_counts(
    tmp_path: Path, namespace: Settings, start_worker: Callable[..., WorkerProcess]
) -> None:
    """Each line goes to its type's topic with the spec's key, and the worker accepts them all."""
    worker = start_worker(namespace)
    lines = [
        event_bytes("contact.started", contact_id="c-9"),
        event_bytes("contact.answered", contact_id="c-9"),
        event_bytes("survey.submitted", contact_id=None, customer_id="cust-7"),
        event_bytes("customer.status", customer_id="cust-7"),
        b'{"type": "contact.teleported"}',
    ]
    # contact_id null is invalid for a survey; use a survey without contact_id instead
    survey = event("survey.submitted", customer_id="cust-7")
    del survey["contact_id"]
    lines[2] = orjson.dumps(survey)
    path = _write(tmp_path / "events.jsonl", lines)
    result = ccmon("send", str(path), "--no-progress", env=settings_env(namespace, tmp_path / "x"))
    assert result.returncode == 0, result.stderr
    assert "sent 4 events" in result.stdout
    assert "skipped (unknown_type): 1" in result.stdout
    for event_type in (
        "contact.started",
        "contact.answered",
        "survey.submitted",
        "customer.status",
    ):
        assert worker.wait_for_sample("ccmon_events_accepted_total", 1.0, type=event_type) == 1.0
    topics = namespace.topics_by_type
    assert asyncio.run(_keys(namespace, topics["contact.answered"], 1)) == [b"c-9"]
    assert asyncio.run(_keys(namespace, topics["survey.submitted"], 1)) == [b"cust-7"]


def test_send_paced_by_event_time(tmp_path: Path, namespace: Settings) -> None:
    """`--speed 2` spreads events 4 s apart in event time over about 2 s of wall time."""
    lines = [
        event_bytes("contact.started", occurred_at="2026-11-23T09:00:00Z"),
        event_bytes("contact.started", occurred_at="2026-11-23T09:00:02Z"),
        event_bytes("contact.started", occurred_at="2026-11-23T09:00:04Z"),
    ]
    path = _write(tmp_path / "paced.jsonl", lines)
    env = settings_env(namespace, tmp_path / "x")
    t0 = time.monotonic()
    result = ccmon("send", str(path), "--speed", "2", "--no-progress", env=env)
    took = time.monotonic() - t0
    assert result.returncode == 0, result.stderr
    assert "sent 3 events" in result.stdout
    assert took >= 2.0, took
