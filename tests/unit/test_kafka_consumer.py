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
    committed = await consumer.seek_to_committed()
    assert committed == {"in-0": 42, "in-1": None, "changelog-0": None}
    assert sought == {"in-1": 7}  # in-0 was sought by aiokafka; changelogs belong to recovery
