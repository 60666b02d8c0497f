"""The fetch-path fixes of stream_app.kafka_consumer, and the faust/aiokafka internals they use."""

from __future__ import annotations

import inspect
from typing import Any

import aiokafka.consumer.fetcher
import pytest
from faust.transport import consumer as faust_consumer
from faust.transport.drivers import aiokafka as faust_aiokafka

from stream_app import kafka_consumer
from stream_app.kafka_consumer import Consumer


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
    consumer._next_offset = {}
    committed = await consumer.seek_to_committed()
    assert committed == {"in-0": 42, "in-1": None, "changelog-0": None}
    assert sought == {"in-1": 7}  # in-0 was sought by aiokafka; changelogs belong to recovery
    assert consumer._next_offset == {"in-0": 42, "in-1": 7}


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
    consumer._next_offset = {}
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
    consumer._next_offset[inputs] = 120
    assert await delivered(consumer) == [("in", 500), ("in", 501)]
    assert seeks == []
    assert consumer.app.pipeline_metrics.consumer_offsets_lost.counts == {"in": 380}
