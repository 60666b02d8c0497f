"""The agents under faust's test context (memory store, no broker)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

import orjson
import pytest
from prometheus_client import CollectorRegistry

from stream_app.events import Event
from stream_app.events.internal import decode_internal, encode_internal
from stream_app.settings import Settings
from stream_app.worker.app import CcmonApp, create_app
from stream_app.worker.intake import Admitted
from stream_app.worker.partitioner import partition_of
from tests.factories import event_bytes, valid_event


def internal(event_type: str, **fields: Any) -> bytes:
    """An event as the intake forwards it to the entity stages."""
    return encode_internal(valid_event(event_type, **fields))


def _total(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return sum(
        s.value
        for f in registry.collect()
        for s in f.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


class BatchFailed(Exception):
    """An agent batch failed (the worker would have exited with EXIT_BATCH_FAILED)."""


FAILED_BATCHES: list[int] = []


def _no_exit(code: int) -> NoReturn:
    FAILED_BATCHES.append(code)
    raise BatchFailed(code)


@pytest.fixture(autouse=True)
def _every_batch_succeeds() -> Iterator[None]:
    """faust's test context swallows an agent's failure; no batch may fail unnoticed."""
    FAILED_BATCHES.clear()
    yield
    assert FAILED_BATCHES == [], "an agent batch failed (see the log above)"


def _app(**settings: Any) -> tuple[CcmonApp, CollectorRegistry]:
    """An app whose producer is captured (no broker here) and whose failed batches are
    recorded, where a worker would exit."""
    registry = CollectorRegistry()
    app = create_app(Settings(app_id="ccmon-functional", **settings), registry=registry)
    app.batch_guard.exit_now = _no_exit
    _capture_sends(app)
    return app, registry


async def test_intake_forwards_valid_and_dead_letters_invalid() -> None:
    """Valid events go on to the entity stages; a bad record is dead-lettered with its origin."""
    app, registry = _app()
    dead: list[tuple[bytes | None, bytes]] = []
    forwarded: list[Event] = []

    async def capture_dead(key: bytes | None, value: bytes) -> None:
        dead.append((key, value))

    async def capture_forward(admitted: Sequence[Admitted]) -> None:
        forwarded.extend(a.event for a in admitted)

    app.intake.send_deadletter = capture_dead
    app.forward = capture_forward
    async with app.agents["ccmon.intake"].test_context() as ctx:
        await ctx.put(event_bytes("contact.started", event_id="s-1"), key=b"c-1")
        await ctx.put(event_bytes("contact.resolved", event_id="r-1"), key=b"c-1")
        await ctx.put(b"not json", key=b"c-3")

    assert [e.event_id for e in forwarded] == ["s-1", "r-1"]
    assert _total(registry, "ccmon_events_consumed_total") == 3.0
    assert _total(registry, "ccmon_events_accepted_total") == 2.0
    assert _total(registry, "ccmon_events_rejected_total", reason="not_json") == 1.0
    assert len(dead) == 1
    record = orjson.loads(dead[0][1])
    assert record["reason"] == "not_json"
    assert record["original_b64"] == "bm90IGpzb24="
    assert dead[0][0] == b"c-3"


async def test_contact_stage_counts_once_and_drops_duplicates() -> None:
    """A contact's events update the window counters; a repeated event_id changes nothing."""
    app, registry = _app()
    started = internal("contact.started", event_id="s-1", contact_id="c-1")
    answered = internal("contact.answered", event_id="a-1", contact_id="c-1", wait_seconds=12)
    async with app.agents["ccmon.contacts"].test_context() as ctx:
        await ctx.put(started, key=b"c-1")
        await ctx.put(answered, key=b"c-1")
        await ctx.put(started, key=b"c-1")

    view = app.engine.view
    day = view.starts("day")
    assert len(day) == 1
    billing = view.counters("day", day, "queue", "billing")
    assert billing["offered"] == 1
    assert billing["answered"] == 1
    assert billing["answered_wait_seconds_sum"] == 12.0
    assert billing["answered_within_sl"] == 1
    assert view.counters("day", day, "agent", "a-1")["answered"] == 1
    assert _total(registry, "ccmon_events_duplicate_total", type="contact.started") == 1.0


def test_internal_form_round_trips_every_event_type() -> None:
    """What the intake forwards decodes to the very event it validated, floats included."""
    for event_type, fields in (
        ("contact.started", {}),
        ("contact.answered", {"wait_seconds": 12.345678901234567}),
        ("contact.resolved", {"talk_seconds": 0.1, "hold_seconds": 3, "reason": None}),
        ("contact.abandoned", {"wait_seconds": 1e-7}),
        ("survey.submitted", {"comment": "très bien \u2013 ok"}),
        ("customer.status", {}),
    ):
        event = valid_event(event_type, **fields)
        assert decode_internal(encode_internal(event)) == event


def _capture_sends(app: CcmonApp) -> list[tuple[str, bytes, int]]:
    """Replace the producer: every record sent (topic, key, partition), acked at once."""
    sent: list[tuple[str, bytes, int]] = []

    async def capture_send(topic: str, key: bytes, value: bytes, partition: int, *_: Any) -> Any:
        sent.append((topic, key, partition))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    app.producer.send = capture_send  # type: ignore[method-assign,assignment]
    return sent


class _AnyTopic:
    """Every input topic co-partitioned with the stages (the test context names none)."""

    def __contains__(self, topic: object) -> bool:
        return True


async def test_intake_applies_keys_of_their_own_partition_here_and_forwards_the_rest() -> None:
    """A contact read from the partition its state lives in skips the internal topic."""
    app, registry = _app()
    partitions = app.ccmon_settings.topic_partitions
    sent = _capture_sends(app)
    app.colocated_inputs = lambda topics: _AnyTopic()  # type: ignore[method-assign,assignment,return-value]
    contacts = [f"c-{i}" for i in range(40)]
    # Each contact's record is read from partition 0: only those whose state lives in
    # partition 0 are applied here; the resolved events' customer c-0 goes to its own stage.
    async with app.agents["ccmon.intake"].test_context() as ctx:
        for contact in contacts:
            await ctx.put(
                event_bytes("contact.started", contact_id=contact),
                key=contact.encode(),
                partition=0,
            )
        await ctx.put(
            event_bytes("contact.resolved", contact_id=contacts[0], customer_id="cust-1"),
            key=contacts[0].encode(),
            partition=0,
        )

    here = [c for c in contacts if partition_of(c, partitions) == 0]
    there = [c for c in contacts if c not in here]
    assert here
    assert there
    contact_sends = [s for s in sent if s[0] == app.contact_topic_name]
    assert sorted(s[1].decode() for s in contact_sends) == sorted(
        there + ([] if contacts[0] in here else [contacts[0]])
    )
    assert all(partition_of(s[1].decode(), partitions) == s[2] for s in contact_sends)
    customer_sends = [s for s in sent if s[0] == app.customer_topic_name]
    customer_here = partition_of("cust-1", partitions) == 0
    assert customer_sends == (
        []
        if customer_here
        else [(app.customer_topic_name, b"cust-1", partition_of("cust-1", partitions))]
    )
    day = app.engine.view.starts("day")
    assert app.engine.view.counters("day", day, "all", "all")["offered"] == len(here)
    routed = "ccmon_events_routed_total"
    contact_local = len(here) + (1 if contacts[0] in here else 0)
    assert _total(registry, routed, stage="contact", route="local") == contact_local
    assert _total(registry, routed, stage="contact", route="rekeyed") == 41 - contact_local
    assert _total(registry, routed, stage="customer", route="local") == int(customer_here)
    # The stages are done with what was applied here; the rest is on its way.
    assert _total(registry, "ccmon_stage_events_total", stage="contact") == contact_local
    assert _total(registry, "ccmon_stage_events_total", stage="customer") == int(customer_here)
    # The applied states' changelog records went to the producer with them.
    changelog = [s for s in sent if s[0].endswith("contacts_v1-changelog")]
    assert sorted(set(s[1] for s in changelog)) == sorted(orjson.dumps(c) for c in here)


async def test_intake_forwards_everything_from_an_input_not_colocated_with_the_stages() -> None:
    """An input topic with another partition count is not assigned with the stages: no shortcut."""
    app, _ = _app()
    sent = _capture_sends(app)
    app.colocated_inputs = lambda topics: frozenset()  # type: ignore[method-assign]
    partitions = app.ccmon_settings.topic_partitions
    contacts = [f"c-{i}" for i in range(20)]
    async with app.agents["ccmon.intake"].test_context() as ctx:
        for contact in contacts:
            await ctx.put(
                event_bytes("contact.started", contact_id=contact),
                key=contact.encode(),
                partition=partition_of(contact, partitions),
            )

    assert [topic for topic, _, _ in sent] == [app.contact_topic_name] * len(contacts)
    day = app.engine.view.starts("day")
    assert app.engine.view.counters("day", day, "all", "all")["offered"] == 0


class RawMessage:
    """A faust ConsumerMessage of raw bytes, as the consumer hands batches over."""

    def __init__(self, topic: str, partition: int, offset: int, key: bytes, value: bytes) -> None:
        self.topic, self.partition, self.offset = topic, partition, offset
        self.key, self.value, self.timestamp = key, value, time.time()


async def test_batch_delivery_runs_the_topic_agents_work_for_every_topic_they_read() -> None:
    """The batch agent's handlers cover the inputs and both stage topics, and do what the
    topics' own agents do; off (the default) leaves faust's path alone."""
    app, registry = _app(batch_delivery=True)
    settings = app.ccmon_settings
    assert app.delivery is not None
    stage_topics = {app.contact_topic_name, app.customer_topic_name}
    assert set(app.delivery.handlers) == set(settings.topics_by_type.values()) | stage_topics
    forwarded: list[tuple[str, str, int]] = []

    async def capture_forward(admitted: Sequence[Admitted]) -> None:
        forwarded.extend((a.event.event_id, a.topic, a.partition) for a in admitted)

    app.forward = capture_forward
    topic = settings.topics_by_type["contact.started"]
    intake, what = app.delivery.handlers[topic]
    batch = [
        RawMessage(topic, 2, 40, b"c-1", event_bytes("contact.started", event_id="s-1")),
        RawMessage(topic, 2, 41, b"c-2", b"not json"),
        RawMessage(topic, 2, 42, b"c-3", event_bytes("contact.started", event_id="s-3")),
    ]
    app.intake.send_deadletter = _ignore_deadletter
    await intake(batch)
    assert what == "an intake batch"
    assert forwarded == [("s-1", topic, 2), ("s-3", topic, 2)]
    assert _total(registry, "ccmon_events_rejected_total", reason="not_json") == 1.0

    contact_stage, _ = app.delivery.handlers[app.contact_topic_name]
    started = internal("contact.started", event_id="s-9", contact_id="c-9", queue="billing")
    partition = partition_of("c-9", settings.topic_partitions)
    await contact_stage([RawMessage(app.contact_topic_name, partition, 0, b"c-9", started)])
    assert _total(registry, "ccmon_offered_total", queue="billing") == 1.0
    day = app.engine.view.starts("day")
    assert app.engine.view.counters("day", day, "queue", "billing")["offered"] == 1

    off = create_app(Settings(app_id="ccmon-functional"), registry=CollectorRegistry())
    assert off.delivery is None


async def _ignore_deadletter(key: bytes | None, value: bytes) -> None:
    return None
