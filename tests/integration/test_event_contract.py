"""Bad input through the real broker: dead-lettered with its reason, worker up, valid counted."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from stream_app.settings import Settings
from tests.factories import event, event_bytes
from tests.workers import WorkerProcess

AHEAD = (datetime.now(UTC) + timedelta(days=2)).isoformat()

BAD_INPUTS: list[tuple[str, str, bytes]] = [
    ("contact.started", "not_json", b"{oops"),
    (
        "contact.started",
        "missing_field",
        orjson.dumps({k: v for k, v in event("contact.started").items() if k != "queue"}),
    ),
    ("contact.answered", "wrong_type", event_bytes("contact.answered", wait_seconds="12")),
    ("contact.started", "unknown_type", event_bytes("contact.started", type="contact.moved")),
    ("contact.started", "unknown_version", event_bytes("contact.started", schema_version=2)),
    ("contact.answered", "bad_duration", event_bytes("contact.answered", wait_seconds=-3)),
    ("contact.resolved", "bad_duration", event_bytes("contact.resolved", talk_seconds=86400)),
    (
        "contact.abandoned",
        "not_json",
        event_bytes("contact.abandoned", wait_seconds=1).replace(
            b'"wait_seconds":1', b'"wait_seconds":NaN'
        ),
    ),
    (
        "contact.abandoned",
        "not_finite",
        event_bytes("contact.abandoned", wait_seconds=1).replace(
            b'"wait_seconds":1', b'"wait_seconds":1e400'
        ),
    ),
    (
        "contact.started",
        "impossible_time",
        event_bytes("contact.started", occurred_at="1999-12-31T23:59:59Z"),
    ),
    ("contact.started", "impossible_time", event_bytes("contact.started", occurred_at=AHEAD)),
    (
        "survey.submitted",
        "score_out_of_range",
        event_bytes("survey.submitted", metric="nps", score=11),
    ),
    ("contact.started", "unknown_channel", event_bytes("contact.started", channel="fax")),
    ("contact.started", "oversized_id", event_bytes("contact.started", contact_id="x" * 129)),
    ("customer.status", "type_mismatch", event_bytes("contact.started")),
]


async def _produce(
    settings: Settings, items: list[tuple[str, bytes]]
) -> list[tuple[str, int, int]]:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    try:
        where = []
        for event_type, value in items:
            meta = await producer.send_and_wait(
                settings.topics_by_type[event_type], value, key=b"k"
            )
            where.append((meta.topic, meta.partition, meta.offset))
        return where
    finally:
        await producer.stop()


async def _read_deadletters(settings: Settings, expected: int) -> list[dict[str, object]]:
    consumer = AIOKafkaConsumer(
        settings.deadletter_topic,
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[dict[str, object]] = []
    try:
        deadline = time.monotonic() + 120
        while len(records) < expected and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for messages in batch.values():
                records += [orjson.loads(m.value) for m in messages]
    finally:
        await consumer.stop()
    return records


def test_every_bad_input_class_is_dead_lettered_and_valid_events_count(
    namespace: Settings, start_worker: Callable[..., WorkerProcess]
) -> None:
    """Each bad record lands in the DLQ with its reason and origin; the 5 valid ones count."""
    worker = start_worker(namespace)
    items: list[tuple[str, bytes]] = []
    for n, (event_type, _, value) in enumerate(BAD_INPUTS):
        items.append((event_type, value))
        if n % 3 == 0:
            items.append(("contact.started", event_bytes("contact.started")))
    valid = sum(1 for _, v in items if v not in {b for _, _, b in BAD_INPUTS})
    assert valid == 5
    where = asyncio.run(_produce(namespace, items))

    accepted = worker.wait_for_sample(
        "ccmon_events_accepted_total", 5.0, timeout_s=120, type="contact.started"
    )
    assert accepted == 5.0
    records = asyncio.run(_read_deadletters(namespace, len(BAD_INPUTS)))
    assert len(records) == len(BAD_INPUTS)
    by_origin = {(r["source_topic"], r["source_partition"], r["source_offset"]): r for r in records}
    bad_positions = [i for i, (_, v) in enumerate(items) if v in {b for _, _, b in BAD_INPUTS}]
    for (event_type, reason, value), index in zip(BAD_INPUTS, bad_positions, strict=True):
        record = by_origin[where[index]]
        assert record["reason"] == reason, (reason, record)
        assert base64.b64decode(str(record["original_b64"])) == value
        assert isinstance(record["detail"], str)
        assert "\n" not in record["detail"]
        assert record["source_topic"] == namespace.topics_by_type[event_type]
    expected_counts: dict[str, int] = {}
    for _, reason, _ in BAD_INPUTS:
        expected_counts[reason] = expected_counts.get(reason, 0) + 1
    for reason, count in expected_counts.items():
        assert worker.sample("ccmon_events_rejected_total", reason=reason) == count, reason
    assert worker.proc.poll() is None, "the worker must keep running"


def test_duplicates_are_dropped_across_a_restart(
    namespace: Settings, start_worker: Callable[..., WorkerProcess]
) -> None:
    """An event_id applied before a restart is still a duplicate after it."""
    first = start_worker(namespace, name="first")
    once = event_bytes("contact.started", event_id="once", contact_id="c-restart")
    asyncio.run(_produce(namespace, [("contact.started", once)]))
    accepted = first.wait_for_sample(
        "ccmon_events_accepted_total", 1.0, timeout_s=120, type="contact.started"
    )
    assert accepted == 1.0
    assert first.stop(timeout_s=90) == 0

    second = start_worker(namespace, name="second")
    twice = event_bytes("contact.started", event_id="twice", contact_id="c-restart")
    asyncio.run(_produce(namespace, [("contact.started", once), ("contact.started", twice)]))
    # The repeat is recognized (records replayed after the restart are too: >= 1) and the
    # engine counts each event once: offered is exactly 2 for the day.
    deadline = time.monotonic() + 120
    offered = None
    duplicates = 0.0
    while time.monotonic() < deadline:
        try:
            duplicates = second.sample("ccmon_events_duplicate_total", type="contact.started") or 0
            answer = httpx.get(
                f"{second.base_url}/api/kpis",
                params={"window": "day", "date": "2026-11-23", "queue": "billing"},
                timeout=30,
            ).json()
        except httpx.HTTPError:
            time.sleep(0.5)  # a slow answer: ask again
            continue
        offered = answer["counters"]["offered"]
        if duplicates >= 1 and offered == 2:
            break
        time.sleep(0.5)
    assert offered == 2
    assert duplicates >= 1
