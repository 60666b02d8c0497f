"""Batch delivery (stream_app.worker.delivery and Consumer._drain_fetch), without a broker.

What faust's per-record path guarantees must hold per batch: offset order per partition,
faust's read-offset and gap bookkeeping, records of a stale generation or a stopped flow never
acked, records tracked (a revocation waits for them) until acked after their batch ran.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from typing import Any
from weakref import WeakSet

import faust.streams
import pytest
from faust.transport import conductor as faust_conductor
from faust.transport import consumer as faust_consumer
from faust.transport.drivers import aiokafka as faust_aiokafka

from stream_app.worker.batch_guard import EXIT_BATCH_FAILED, BatchGuard
from stream_app.worker.consumer import Consumer
from stream_app.worker.delivery import Delivery, RecordBatch

GENERATION = 4


class TP:
    def __init__(self, topic: str, partition: int = 0) -> None:
        self.topic, self.partition = topic, partition

    def __repr__(self) -> str:
        return f"{self.topic}[{self.partition}]"


class Message:
    """A faust ConsumerMessage as far as the delivery path reads it."""

    def __init__(self, tp: TP, offset: int, generation_id: int = GENERATION) -> None:
        self.tp, self.topic, self.partition, self.offset = tp, tp.topic, tp.partition, offset
        self.generation_id = generation_id
        self.tracked = self.acked = False


def test_the_faust_internals_batch_delivery_uses_are_there() -> None:
    """A faust upgrade that changes them must fail here, not lose or double records."""
    drain = inspect.getsource(faust_consumer.Consumer._drain_messages)
    for used in (
        "await self.wait_first(",
        "callback(message), self.suspend_flow.wait()",
        "self._read_offset.__getitem__",
        "self._read_offset.__setitem__",
        "self._commit_every",
        "self._n_acked >= commit_every",
        "await self._add_gap(tp, r_offset + 1, offset)",
        "CONSUMER_FETCHING",
        "self.consumer_stopped_errors",
    ):
        assert used in drain, used
    assert "self._unacked_messages.add(message)" in inspect.getsource(
        faust_consumer.Consumer.track_message
    )
    stream = inspect.getsource(faust.streams.Stream._py_aiter)
    assert "message.generation_id != self.app.consumer_generation_id" in stream
    assert "not self.app.flow_control.is_active()" in stream
    conductor = inspect.getsource(faust_conductor.ConductorCompiler.build)
    assert "app.flow_control.acquire" in conductor
    assert "app.producer.buffer.wait_until_ebb" in conductor
    assert "wait_empty" in inspect.getsource(faust_consumer.Consumer.wait_empty)
    assert issubclass(Consumer, faust_aiokafka.Consumer)


def fetching_consumer(
    monkeypatch: pytest.MonkeyPatch, fetched: list[tuple[TP, int]]
) -> tuple[Consumer, list[Any], list[Any]]:
    """A Consumer whose getmany yields ``fetched``; returns it, the batches it put and the
    records it passed to faust's callback."""
    puts: list[Any] = []
    callbacks: list[Any] = []

    async def getmany(self: Any, timeout: float) -> AsyncIterator[tuple[TP, Message]]:  # noqa: ASYNC109
        for tp, offset in fetched:
            yield tp, Message(tp, offset)

    async def wait_first(self: Any, *awaitables: Any) -> None:
        """mode's wait_first: the first to finish wins, the others are cancelled."""
        futures = [asyncio.ensure_future(a) for a in awaitables]
        _, pending = await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)
        for future in pending:
            future.cancel()

    async def callback(message: Any) -> None:
        callbacks.append((message.topic, message.offset))

    monkeypatch.setattr(Consumer, "getmany", getmany)
    monkeypatch.setattr(Consumer, "wait_first", wait_first)
    consumer = object.__new__(Consumer)
    consumer.callback = callback
    consumer._read_offset = defaultdict(lambda: None)
    consumer._commit_every = None
    consumer.app = type("App", (), {})()
    consumer.app.topics = type("Topics", (), {"acks_enabled_for": lambda self, t: True})()  # type: ignore[attr-defined]
    consumer.suspend_flow = asyncio.Event()
    return consumer, puts, callbacks


class Recorded(Delivery):
    """A Delivery that records what the consumer puts, for the topics starting with 'in'."""

    def __init__(self, puts: list[Any]) -> None:
        super().__init__(app=None, handlers={}, guard=BatchGuard())
        self.puts = puts

    def wants(self, topic: str) -> bool:
        return topic.startswith("in")

    async def put(self, batch: RecordBatch) -> None:
        self.puts.append((batch.tp.topic, batch.tp.partition, [m.offset for m in batch.messages]))


async def test_a_fetch_becomes_one_batch_per_partition_and_changelogs_go_one_by_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    in0, in1, changelog = TP("in", 0), TP("in", 1), TP("changelog", 2)
    fetched = [(in0, 10), (in1, 5), (changelog, 3), (in0, 11), (in1, 6), (in0, 12)]
    consumer, puts, callbacks = fetching_consumer(monkeypatch, fetched)
    await consumer._drain_fetch(Recorded(puts))
    assert puts == [("in", 0, [10, 11, 12]), ("in", 1, [5, 6])]
    assert callbacks == [("changelog", 3)]
    assert dict(consumer._read_offset) == {in0: 12, in1: 6, changelog: 3}


async def test_records_read_already_are_dropped_and_a_gap_is_recorded_as_faust_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    in0 = TP("in", 0)
    consumer, puts, _ = fetching_consumer(monkeypatch, [(in0, 6), (in0, 7), (in0, 10)])
    consumer._read_offset[in0] = 7
    gaps: list[tuple[Any, int, int]] = []

    async def add_gap(tp: Any, offset_from: int, offset_to: int) -> None:
        gaps.append((tp, offset_from, offset_to))

    consumer._add_gap = add_gap  # type: ignore[method-assign]
    await consumer._drain_fetch(Recorded(puts))
    assert puts == [("in", 0, [7, 10])]  # 7 again as faust does (>= read offset), not 6
    assert gaps == [(in0, 8, 10)]


async def test_records_of_two_generations_are_never_one_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    in0 = TP("in", 0)
    consumer, puts, _ = fetching_consumer(monkeypatch, [])
    fetched = [Message(in0, 1, generation_id=3), Message(in0, 2, generation_id=4)]

    async def getmany(self: Any, timeout: float) -> AsyncIterator[tuple[TP, Message]]:  # noqa: ASYNC109
        for message in fetched:
            yield in0, message

    monkeypatch.setattr(Consumer, "getmany", getmany)
    delivery = Recorded(puts)
    generations: list[int] = []

    async def put(batch: RecordBatch) -> None:
        generations.append(batch.generation_id)

    delivery.put = put  # type: ignore[method-assign]
    await consumer._drain_fetch(delivery)
    assert generations == [3, 4]


def faust_consumer_state() -> Consumer:
    """A Consumer with just the state faust's track_message and ack touch."""
    consumer = object.__new__(Consumer)
    consumer._unacked_messages = WeakSet()
    consumer._acked = defaultdict(list)
    consumer._acked_index = defaultdict(set)
    consumer._committed_offset = defaultdict(lambda: None)
    consumer._n_acked = 0
    consumer._waiting_for_ack = None
    consumer.messages_in = []  # type: ignore[attr-defined]
    consumer._on_message_in = lambda tp, offset, message: consumer.messages_in.append(offset)  # type: ignore[attr-defined]
    consumer.app = type("App", (), {})()
    consumer.app.topics = type("Topics", (), {"acks_enabled_for": lambda self, t: True})()  # type: ignore[attr-defined]
    consumer._is_changelog_tp = lambda tp: False  # type: ignore[method-assign]
    return consumer


class FlowControl:
    def __init__(self, active: bool = True) -> None:
        self.active = active

    def is_active(self) -> bool:
        return self.active


def delivering(
    work: Any, *, active: bool = True, generation: int = GENERATION
) -> tuple[Delivery, Any]:
    consumer: Any = faust_consumer_state()
    monitor = type("Monitor", (), {"stream_inbound_time": {}})()
    app = type("App", (), {})()
    app.flow_control, app.consumer_generation_id = FlowControl(active), generation
    app.consumer, app.monitor = consumer, monitor
    return Delivery(app, {"in": (work, "an intake batch")}, BatchGuard()), consumer


def batch_of(*offsets: int, generation: int = GENERATION) -> RecordBatch:
    tp = TP("in", 0)
    return RecordBatch(tp, [Message(tp, o, generation) for o in offsets], generation)


async def test_a_batch_is_tracked_while_it_runs_and_acked_after() -> None:
    seen: list[tuple[list[int], int, bool]] = []

    async def work(messages: Sequence[Any]) -> None:
        unacked = len(consumer._unacked_messages)
        seen.append(([m.offset for m in messages], unacked, any(m.acked for m in messages)))

    delivery, consumer = delivering(work)
    batch = batch_of(7, 8, 9)
    await delivery.run(batch)
    assert seen == [([7, 8, 9], 3, False)]  # a revocation's wait_empty would wait for them
    assert consumer.messages_in == [7, 8, 9]
    assert [m.acked for m in batch.messages] == [True, True, True]
    assert len(consumer._unacked_messages) == 0
    assert consumer._acked[batch.tp] == [7, 8, 9]
    assert batch.tp in delivery.app.monitor.stream_inbound_time


@pytest.mark.parametrize(("active", "generation"), [(False, GENERATION), (True, GENERATION + 1)])
async def test_a_batch_of_a_stopped_flow_or_an_old_generation_is_dropped_unacked(
    active: bool, generation: int
) -> None:
    ran: list[Any] = []

    async def work(messages: Sequence[Any]) -> None:
        ran.append(messages)

    delivery, consumer = delivering(work, active=active, generation=generation)
    batch = batch_of(1, 2)
    await delivery.run(batch)
    assert ran == []
    assert delivery.dropped == 1
    assert not any(m.tracked or m.acked for m in batch.messages)
    assert consumer._acked == {}


async def test_a_failed_batch_is_never_acked() -> None:
    exits: list[int] = []

    def exit_now(code: int) -> Any:
        exits.append(code)
        raise SystemExit(code)

    async def work(messages: Sequence[Any]) -> None:
        raise RuntimeError("engine bug")

    delivery, consumer = delivering(work)
    delivery.guard = BatchGuard(exit_now)
    batch = batch_of(3)
    with pytest.raises(SystemExit):
        await delivery.run(batch)
    assert exits == [EXIT_BATCH_FAILED]
    assert not batch.messages[0].acked
    assert len(consumer._unacked_messages) == 1  # still owed: nothing commits past it


async def test_a_stop_mid_batch_lets_it_finish_then_acks_it() -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def work(messages: Sequence[Any]) -> None:
        started.set()
        await release.wait()

    delivery, consumer = delivering(work)
    batch = batch_of(5, 6)
    agent = asyncio.ensure_future(delivery.run(batch))
    await started.wait()
    agent.cancel()
    await asyncio.sleep(0.01)
    assert not agent.done()
    assert not batch.messages[0].acked
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await agent
    assert consumer._acked[batch.tp] == [5, 6]
