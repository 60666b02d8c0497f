"""The fetch-path fixes of stream_app.worker.consumer, and the faust/aiokafka internals they use."""

from __future__ import annotations

import inspect
from collections import defaultdict
from typing import Any
from weakref import WeakSet

import aiokafka.consumer.fetcher
import faust.streams
import pytest
from faust.transport import consumer as faust_consumer
from faust.transport.drivers import aiokafka as faust_aiokafka
from intervaltree import IntervalTree

from stream_app.worker import consumer as kafka_consumer
from stream_app.worker.consumer import Consumer


def test_the_faust_and_aiokafka_internals_used_are_there() -> None:
    """A faust or aiokafka upgrade that changes them must fail here, not lose records."""
    base = faust_consumer.ThreadDelegateConsumer
    assert list(inspect.signature(base._getmany).parameters) == [
        "self",
        "active_partitions",
        "timeout",
    ]
    for name in ("seek_to_committed", "_seek", "earliest_offsets", "highwaters", "assignment"):
        assert callable(getattr(base, name)), name
    assert list(inspect.signature(faust_consumer.Consumer._add_gap).parameters) == [
        "self",
        "tp",
        "offset_from",
        "offset_to",
    ]
    assert callable(faust_consumer.Consumer._is_changelog_tp)
    # The commit guard: faust's fields, the off-by-one it works around, the tracking flag.
    init = inspect.getsource(faust_consumer.Consumer.__init__)
    for field in ("_acked", "_gap", "_unacked_messages", "_committed_offset"):
        assert f"self.{field} = " in init, field
    assert "min(acked) - committed_offset > 1" in inspect.getsource(
        faust_consumer.Consumer._new_offset
    )
    assert list(inspect.signature(faust_consumer.Consumer.ack).parameters) == ["self", "message"]
    assert "message.tracked = True" in inspect.getsource(faust.streams.Stream._py_aiter)
    assert "self._committed_offset" in inspect.getsource(faust_consumer.Consumer.__init__)
    # The reason for the snapshot: aiokafka reads an empty partition set as "all of them".
    drain = inspect.getsource(aiokafka.consumer.fetcher.Fetcher.fetched_records)
    assert "if partitions and tp not in partitions:" in drain
    assert issubclass(Consumer, faust_aiokafka.Consumer)
    assert kafka_consumer.Transport.Consumer is Consumer


class Recorder:
    """Stands in for faust's own _getmany: records the partitions the thread would get."""

    def __init__(self) -> None:
        self.calls: list[Any] = []


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()

    async def getmany(consumer: Any, active_partitions: Any, *args: Any) -> Any:
        recorder.calls.append(active_partitions)
        return {"records": True}

    monkeypatch.setattr(faust_aiokafka.Consumer, "_getmany", getmany)
    return recorder


async def test_the_consumer_thread_gets_a_copy_of_the_active_partitions(
    recorder: Recorder,
) -> None:
    consumer = object.__new__(Consumer)
    live = {"tp-a", "tp-b"}
    assert await consumer._getmany(live, 1.0) == {"records": True}
    (passed,) = recorder.calls
    assert passed == live
    assert passed is not live  # the event loop may change `live` while the thread fetches
    live.clear()
    assert passed == {"tp-a", "tp-b"}


async def test_no_active_partition_fetches_nothing(recorder: Recorder) -> None:
    consumer = object.__new__(Consumer)
    assert await consumer._getmany(set(), 1.0) == {}
    assert recorder.calls == []  # aiokafka would have drained every partition


class FakeConf:
    consumer_auto_offset_reset = "earliest"


class FakeApp:
    conf = FakeConf()


async def test_partitions_never_committed_are_sought_to_where_a_new_group_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """aiokafka's seek_to_committed leaves them where they are (past what faust dropped)."""
    sought: dict[str, int] = {}

    async def seek_to_committed(self: Any) -> dict[str, int | None]:
        return {"in-0": 42, "in-1": None, "changelog-0": None}

    async def earliest_offsets(self: Any, *tps: str) -> dict[str, int]:
        return {tp: 7 for tp in tps}

    async def seek(self: Any, tp: str, offset: int) -> None:
        sought[tp] = offset

    monkeypatch.setattr(faust_aiokafka.Consumer, "seek_to_committed", seek_to_committed)
    monkeypatch.setattr(faust_aiokafka.Consumer, "earliest_offsets", earliest_offsets)
    monkeypatch.setattr(faust_aiokafka.Consumer, "_seek", seek)
    monkeypatch.setattr(Consumer, "assignment", lambda self: {"in-0", "in-1", "changelog-0"})
    monkeypatch.setattr(Consumer, "_is_changelog_tp", lambda self, tp: tp.startswith("changelog"))
    consumer = object.__new__(Consumer)
    consumer.app = FakeApp()
    consumer._next_offset, consumer._acked_to, consumer._taken_to = {}, {}, {}
    committed = await consumer.seek_to_committed()
    assert committed == {"in-0": 42, "in-1": None, "changelog-0": None}
    assert sought == {"in-1": 7}  # in-0 was sought by aiokafka; changelogs belong to recovery
    assert consumer._next_offset == {"in-0": 42, "in-1": 7}
    assert consumer._acked_to == consumer._next_offset  # no commit passes these


class Message:
    def __init__(self, offset: int) -> None:
        self.offset = offset


class Counter:
    def __init__(self) -> None:
        self.counts: dict[str, float] = {}

    def labels(self, topic: str) -> Counter:
        self.topic = topic
        return self

    def inc(self, n: float = 1) -> None:
        self.counts[self.topic] = self.counts.get(self.topic, 0) + n


class TP:
    def __init__(self, topic: str, partition: int = 0) -> None:
        self.topic, self.partition = topic, partition


def ordering_consumer(
    monkeypatch: pytest.MonkeyPatch, fetched: list[tuple[Any, int]], earliest: int = 0
) -> tuple[Consumer, list[tuple[str, int]]]:
    """A Consumer whose faust getmany yields ``fetched``; returns it and the seeks it makes."""
    seeks: list[tuple[str, int]] = []

    async def getmany(self: Any, *args: Any) -> Any:
        for tp, offset in fetched:
            yield tp, Message(offset)

    async def earliest_offsets(self: Any, *tps: Any) -> dict[Any, int]:
        return {tp: earliest for tp in tps}

    async def seek(self: Any, tp: Any, offset: int) -> None:
        seeks.append((tp.topic, offset))

    monkeypatch.setattr(faust_aiokafka.Consumer, "getmany", getmany)
    monkeypatch.setattr(faust_aiokafka.Consumer, "earliest_offsets", earliest_offsets)
    monkeypatch.setattr(faust_aiokafka.Consumer, "_seek", seek)
    monkeypatch.setattr(Consumer, "_is_changelog_tp", lambda self, tp: tp.topic == "changelog")
    consumer = object.__new__(Consumer)
    consumer._next_offset, consumer._acked_to, consumer._taken_to = {}, {}, {}
    consumer._read_again_from = {}
    consumer.app = type("App", (), {})()
    consumer.app.pipeline_metrics = type(  # type: ignore[attr-defined]
        "M", (), {"consumer_refetches": Counter(), "consumer_offsets_lost": Counter()}
    )()
    return consumer, seeks


async def delivered(consumer: Consumer) -> list[tuple[str, int]]:
    return [(tp.topic, m.offset) async for tp, m in consumer.getmany(1.0)]


async def test_records_past_a_hole_are_held_back_and_the_hole_fetched_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """faust dropped 12-13 (fetched across a seek): 14 and 15 wait, the partition is sought
    back to 12, and the records arrive again in order; a copy of 12 is not delivered twice."""
    inputs, changelog = TP("in"), TP("changelog")
    fetched = [(inputs, 10), (inputs, 11), (inputs, 14), (inputs, 15), (changelog, 3)]
    fetched += [(changelog, 9), (inputs, 12), (inputs, 13), (inputs, 12), (inputs, 14)]
    consumer, seeks = ordering_consumer(monkeypatch, fetched)
    consumer._next_offset[inputs] = 10
    assert await delivered(consumer) == [
        ("in", 10),
        ("in", 11),
        ("changelog", 3),
        ("changelog", 9),  # compacted: holes are normal there
        ("in", 12),
        ("in", 13),
        ("in", 14),
    ]
    assert seeks == [("in", 12)]  # once for the batch
    assert consumer.app.pipeline_metrics.consumer_refetches.counts == {"in": 1}


async def test_records_deleted_by_retention_before_they_were_read_are_counted_not_awaited(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inputs = TP("in")
    consumer, seeks = ordering_consumer(monkeypatch, [(inputs, 500), (inputs, 501)], earliest=500)
    consumer._next_offset[inputs] = consumer._acked_to[inputs] = 120
    assert await delivered(consumer) == [("in", 500), ("in", 501)]
    assert seeks == []
    assert consumer.app.pipeline_metrics.consumer_offsets_lost.counts == {"in": 380}
    assert consumer._acked_to[inputs] == 500  # the commit does not wait for 120-499


class Tracked:
    """A consumer record as faust's stream leaves it: tracked once handed to an agent."""

    def __init__(self, tp: Any, offset: int, *, tracked: bool = True) -> None:
        self.tp, self.topic, self.offset = tp, tp.topic, offset
        self.tracked, self.acked = tracked, False


def committing_consumer(
    monkeypatch: pytest.MonkeyPatch, tp: Any, committed: int, acked: list[int]
) -> tuple[Consumer, list[tuple[str, int]]]:
    """A Consumer after the seek to ``committed``, with ``acked`` offsets of ``tp``; returns
    it and the seeks it makes."""
    consumer, seeks = ordering_consumer(monkeypatch, [])

    async def seek(self: Any, tp: Any, offset: int) -> None:
        seeks.append((tp.topic, offset))

    monkeypatch.setattr(faust_aiokafka.Consumer, "seek", seek)
    monkeypatch.setattr(Consumer, "assignment", lambda self: {tp})
    consumer._gap = defaultdict(IntervalTree)
    consumer._acked = defaultdict(list, {tp: list(acked)})
    consumer._acked_index = defaultdict(set, {tp: set(acked)})
    consumer._committed_offset = defaultdict(lambda: None, {tp: committed})
    consumer._unacked_messages = WeakSet()
    consumer._acked_to = {tp: committed}
    consumer._read_again_from, consumer._read_again_at = {}, {}
    return consumer, seeks


async def test_a_commit_never_passes_a_record_that_never_reached_an_agent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Seen in a rolling restart: 156 was dropped on its way to the agent, 157-160 were acked,
    and faust (issue #606: ``min(acked) - committed > 1``) committed 161. Now nothing is
    committed and the partition is read again from 156 before the next fetch."""
    tp = TP("in", 3)
    consumer, seeks = committing_consumer(monkeypatch, tp, 156, [157, 158, 159, 160])
    assert consumer._new_offset(tp) is None
    assert consumer._new_offset(tp) is None  # asked again: still waiting, one seek only
    assert await delivered(consumer) == []
    assert seeks == [("in", 156)]
    assert consumer._next_offset[tp] == 156
    assert consumer.app.pipeline_metrics.consumer_refetches.counts == {"in": 1}
    acked: Any = consumer._acked
    acked[tp].insert(0, 156)  # read again and applied: the whole run commits
    assert consumer._new_offset(tp) == 161


async def test_a_record_still_with_its_agent_is_waited_for_not_read_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tp = TP("in", 3)
    consumer, seeks = committing_consumer(monkeypatch, tp, 156, [157])
    in_flight = Tracked(tp, 156)
    unacked: Any = consumer._unacked_messages
    unacked.add(in_flight)
    assert consumer._new_offset(tp) is None
    assert await delivered(consumer) == []
    assert seeks == []


def test_a_contiguous_run_from_the_committed_offset_commits_as_faust_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tp = TP("in", 3)
    consumer, _ = committing_consumer(monkeypatch, tp, 156, [156, 157, 158])
    assert consumer._new_offset(tp) == 159
    consumer, _ = committing_consumer(monkeypatch, tp, 0, [0, 1])  # faust skips its check at 0
    assert consumer._new_offset(tp) == 2
    consumer, _ = committing_consumer(monkeypatch, tp, 0, [1, 2])
    assert consumer._new_offset(tp) is None


def test_the_run_starts_where_the_last_one_ended_not_at_fausts_record_of_commits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Seen in a rebalance: a commit cancelled after faust took the acks 29-154 left faust's
    record of the last commit at 29; the acks 155-158 are still the next run. A record acked
    again below it (read twice) is dropped."""
    tp = TP("in", 0)
    consumer, seeks = committing_consumer(monkeypatch, tp, 29, list(range(29, 155)))
    assert consumer._new_offset(tp) == 155
    consumer._acked[tp].extend([100, 155, 156, 157, 158])
    assert consumer._new_offset(tp) == 159
    assert consumer._acked[tp] == []
    assert consumer._new_offset(tp) is None
    assert seeks == []
    assert consumer.app.pipeline_metrics.consumer_refetches.counts == {}


def test_a_record_faust_skipped_is_not_acked(monkeypatch: pytest.MonkeyPatch) -> None:
    """faust's stream acks a record it skips (flow stopped, older generation) without giving
    it to an agent; that ack would let the commit pass it."""
    tp = TP("in", 3)
    consumer, _ = committing_consumer(monkeypatch, tp, 156, [])
    monkeypatch.setattr(faust_consumer.Consumer, "ack", lambda self, message: True)
    assert consumer.ack(Tracked(tp, 156, tracked=False)) is False
    assert consumer.ack(Tracked(tp, 156)) is True
    assert consumer.ack(Tracked(TP("changelog"), 9, tracked=False)) is True


async def test_a_run_taken_while_the_seek_read_the_committed_offsets_is_not_waited_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Traced: records 69-90 were applied before the seek after recovery, a commit took them
    (91) while the seek read the committed offset (69); the copies read again from 69 may be
    dropped by faust. The run goes on from 91, nothing is read again."""
    tp = TP("in", 2)
    consumer, seeks = committing_consumer(monkeypatch, tp, 69, list(range(69, 91)))
    del consumer._acked_to[tp]  # before the seek: faust's reckoning
    assert consumer._new_offset(tp) == 91

    async def seek_to_committed(self: Any) -> dict[Any, int]:
        return {tp: 69}

    monkeypatch.setattr(faust_aiokafka.Consumer, "seek_to_committed", seek_to_committed)
    monkeypatch.setattr(Consumer, "assignment", lambda self: {tp})
    await consumer.seek_to_committed()
    assert consumer._next_offset[tp] == 69
    assert consumer._acked_to[tp] == 91
    consumer._acked[tp].extend(range(91, 96))
    assert consumer._new_offset(tp) == 96
    assert seeks == []
