"""The worker's route -> apply stages and their changelog buffers, without faust or a broker.

The fakes stand where faust stands (a table's store and changelog topic, the producer's send);
the routing, grouping, locking and changelog rules are the real ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry

from stream_app.engine.apply import contact_key, customer_key
from stream_app.events import Event
from stream_app.events.internal import decode_internal
from stream_app.metrics.pipeline import PipelineMetrics
from stream_app.worker import stages as stages_module
from stream_app.worker.changelog import ChangelogBuffered
from stream_app.worker.intake import Admitted
from stream_app.worker.partitioner import partition_of
from stream_app.worker.stages import Route, Stages
from tests.factories import valid_event

pytestmark = pytest.mark.unit

PARTITIONS = 8
INPUT = "contact-events"


class FakeChangelogTopic:
    def get_topic_name(self) -> str:
        return self.name

    def __init__(self, name: str) -> None:
        self.name = name

    def prepare_key(self, key: str, serializer: Any, *_: Any) -> tuple[bytes, Any]:
        assert serializer == "json"
        return orjson.dumps(key), None


class FakeTable:
    """What ChangelogBuffered uses of a faust table: its store, changelog topic, key serializer."""

    def __init__(self, changelog: str) -> None:
        self.data: dict[str, bytes] = {}
        self.changelog_topic = FakeChangelogTopic(changelog)
        self.key_serializer = "json"


class Sent:
    """A produced record's future: records the done-callbacks it was given."""

    def __init__(self) -> None:
        self.callbacks: list[Any] = []

    def add_done_callback(self, callback: Any) -> None:
        self.callbacks.append(callback)


class Producer:
    def __init__(self, trace: list[tuple[str, str]] | None = None) -> None:
        self.records: list[tuple[str, bytes, bytes | None, int]] = []
        self.futures: list[Sent] = []
        self.trace = trace

    async def send(
        self, topic: str, key: bytes, value: bytes | None, partition: int, *_: None
    ) -> Sent:
        await asyncio.sleep(0)  # a real send yields to the loop
        self.records.append((topic, key, value, partition))
        if self.trace is not None:
            self.trace.append(("send", key.decode()))
        future = Sent()
        self.futures.append(future)
        return future


class FakeEngine:
    """Applies by storing the keys' event ids in their state; counts housekeeping calls."""

    def __init__(self, trace: list[tuple[str, str]] | None = None) -> None:
        self.contacts = ChangelogBuffered(FakeTable("contacts-changelog"), self.partition)
        self.customers = ChangelogBuffered(FakeTable("customers-changelog"), self.partition)
        self.applied: list[tuple[str, str, list[str], int]] = []
        self.prunes = 0
        self.evicted: list[int] = []
        self.trace = trace

    @staticmethod
    def partition(key: str) -> int:
        return partition_of(key, PARTITIONS)

    def _apply(self, stage: str, key: str, events: Sequence[Event], partition: int) -> int:
        ids = [e.event_id for e in events]
        self.applied.append((stage, key, ids, partition))
        if self.trace is not None:
            self.trace.append(("apply", key))
        states = self.contacts if stage == "contact" else self.customers
        states[key] = orjson.dumps(ids)
        return len(events)

    def apply_contact_events(self, key: str, events: Sequence[Event], partition: int) -> int:
        return self._apply("contact", key, events, partition)

    def apply_customer_events(self, key: str, events: Sequence[Event], partition: int) -> int:
        return self._apply("customer", key, events, partition)

    def prune(self) -> None:
        self.prunes += 1

    def evict(self, partition: int) -> None:
        self.evicted.append(partition)


def _stages(
    engine: FakeEngine, producer: Producer, colocated: frozenset[str]
) -> tuple[Stages, CollectorRegistry, list[Any]]:
    registry = CollectorRegistry()
    produced: list[Any] = []
    routes = (
        Route("contact-stage", contact_key, engine.apply_contact_events, engine.contacts),
        Route("customer-stage", customer_key, engine.apply_customer_events, engine.customers),
    )
    stages = Stages(
        engine=engine,  # type: ignore[arg-type]  # the two methods housekeeping calls
        routes=routes,
        partitions=PARTITIONS,
        send=producer.send,
        on_produced=produced.append,
        colocated=lambda: colocated,
        routed=PipelineMetrics.create(registry).events_routed,
    )
    return stages, registry, produced


def _routed(registry: CollectorRegistry, stage: str, route: str) -> float | None:
    return registry.get_sample_value("ccmon_events_routed_total", {"stage": stage, "route": route})


def _key_in_partition(prefix: str, partition: int) -> str:
    return next(
        key
        for key in (f"{prefix}-{n}" for n in range(1000))
        if partition_of(key, PARTITIONS) == partition
    )


async def test_forward_applies_keys_of_their_own_partition_here_and_rekeys_the_rest() -> None:
    engine, producer = FakeEngine(), Producer()
    stages, registry, produced = _stages(engine, producer, frozenset({INPUT}))
    here = _key_in_partition("c", 3)
    there = _key_in_partition("c", 5)
    first = valid_event("contact.started", contact_id=here)
    second = valid_event("contact.answered", contact_id=here)
    away = valid_event("contact.started", contact_id=there)

    await stages.forward(
        [Admitted(first, INPUT, 3), Admitted(away, INPUT, 3), Admitted(second, INPUT, 3)]
    )

    assert engine.applied == [("contact", here, [first.event_id, second.event_id], 3)]
    forwarded = [r for r in producer.records if r[0] == "contact-stage"]
    assert [(t, k, p) for t, k, _, p in forwarded] == [("contact-stage", there.encode(), 5)]
    assert decode_internal(forwarded[0][2] or b"") == away
    # The applied state's changelog record went to its key's changelog partition.
    changelog = [r for r in producer.records if r[0] == "contacts-changelog"]
    assert changelog == [
        (
            "contacts-changelog",
            orjson.dumps(here),
            orjson.dumps([first.event_id, second.event_id]),
            3,
        )
    ]
    assert engine.contacts.pending == []
    # Every produced record is watched by the batch guard's callback.
    assert all(f.callbacks == [produced.append] for f in producer.futures)
    assert len(producer.futures) == 2
    assert _routed(registry, "contact", "local") == 2
    assert _routed(registry, "contact", "rekeyed") == 1


async def test_forward_rekeys_everything_from_an_input_not_colocated() -> None:
    engine, producer = FakeEngine(), Producer()
    stages, registry, _ = _stages(engine, producer, frozenset())
    key = _key_in_partition("c", 2)
    resolved = valid_event("contact.resolved", contact_id=key, customer_id="cust-9")

    await stages.forward([Admitted(resolved, INPUT, 2)])

    assert engine.applied == []
    assert [(t, k, p) for t, k, _, p in producer.records] == [
        ("contact-stage", key.encode(), 2),
        ("customer-stage", b"cust-9", partition_of("cust-9", PARTITIONS)),
    ]
    # One encoding serves both stages.
    assert producer.records[0][2] is producer.records[1][2]
    assert _routed(registry, "contact", "rekeyed") == 1
    assert _routed(registry, "customer", "rekeyed") == 1
    assert _routed(registry, "contact", "local") is None


class StageEvent:
    """A stage's record as faust's consumer hands it over (key, value, partition)."""

    def __init__(self, event: Event, key: str, partition: int) -> None:
        from stream_app.events.internal import encode_internal

        self.key = key.encode()
        self.value = encode_internal(event)
        self.partition = partition


async def test_apply_batch_groups_by_partition_and_key_in_arrival_order() -> None:
    engine, producer = FakeEngine(), Producer()
    stages, _, _ = _stages(engine, producer, frozenset())
    a, b = _key_in_partition("cust", 1), _key_in_partition("cust", 6)
    events = [
        valid_event("customer.status", customer_id=a),
        valid_event("customer.status", customer_id=b),
        valid_event("customer.status", customer_id=a),
    ]
    records = [
        StageEvent(e, e.customer_id, partition_of(e.customer_id, PARTITIONS)) for e in events
    ]  # type: ignore[attr-defined]

    await stages.apply_batch(1, records)

    assert engine.applied == [
        ("customer", a, [events[0].event_id, events[2].event_id], 1),
        ("customer", b, [events[1].event_id], 6),
    ]
    assert [(t, p) for t, _, _, p in producer.records] == [
        ("customers-changelog", 1),
        ("customers-changelog", 6),
    ]


async def test_one_batch_applies_and_hands_over_its_changelog_before_another_applies() -> None:
    trace: list[tuple[str, str]] = []
    engine, producer = FakeEngine(trace), Producer(trace)
    stages, _, _ = _stages(engine, producer, frozenset({INPUT}))
    keys = [_key_in_partition("c", p) for p in (0, 1, 2)]
    intake_batch = [
        Admitted(valid_event("contact.started", contact_id=k), INPUT, p) for p, k in enumerate(keys)
    ]
    other = _key_in_partition("x", 4)
    stage_batch = [StageEvent(valid_event("contact.started", contact_id=other), other, 4)]

    await asyncio.gather(stages.forward(intake_batch), stages.apply_batch(0, stage_batch))

    assert trace == [
        *(("apply", k) for k in keys),
        *(("send", orjson.dumps(k).decode()) for k in keys),
        ("apply", other),
        ("send", orjson.dumps(other).decode()),
    ]


async def test_housekeeping_runs_once_per_partition_and_period(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(stages_module.time, "monotonic", lambda: clock[0])
    engine, producer = FakeEngine(), Producer()
    stages, _, _ = _stages(engine, producer, frozenset())
    key = _key_in_partition("cust", 2)

    def batch() -> list[StageEvent]:
        return [StageEvent(valid_event("customer.status", customer_id=key), key, 2)]

    await stages.apply_batch(1, batch())
    await stages.apply_batch(1, batch())
    assert (engine.prunes, engine.evicted) == (1, [2])
    clock[0] += stages_module.HOUSEKEEPING_EVERY_S
    await stages.apply_batch(1, batch())
    assert (engine.prunes, engine.evicted) == (2, [2, 2])


async def test_changelog_buffer_records_writes_and_deletes_once_and_sends_each_once() -> None:
    table = FakeTable("t-changelog")
    states = ChangelogBuffered(table, lambda key: len(key) % PARTITIONS)
    states["ab"] = b"1"
    states["abc"] = b"2"
    del states["ab"]
    assert dict(table.data) == {"abc": b"2"}
    assert ("abc" in states, len(states), states.get("ab")) == (True, 1, None)
    producer, done = Producer(), []

    await states.produce(producer.send, done.append)
    await states.produce(producer.send, done.append)  # nothing pending: nothing sent again

    assert producer.records == [
        ("t-changelog", b'"ab"', b"1", 2),
        ("t-changelog", b'"abc"', b"2", 3),
        ("t-changelog", b'"ab"', None, 2),
    ]
    assert [f.callbacks for f in producer.futures] == [[done.append]] * 3
