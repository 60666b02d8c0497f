"""What a consumer group has committed against what the topics hold: lag per partition, and a
watcher that notices a committed offset moving backwards."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

Offsets = dict[tuple[str, int], int]


async def committed(bootstrap: str, group: str) -> Offsets:
    """The group's committed offset per (topic, partition) it has committed for."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        answer = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {
        (tp.topic, tp.partition): meta.offset for tp, meta in answer.items() if meta.offset >= 0
    }


async def partitions(bootstrap: str, topics: Iterable[str]) -> list[TopicPartition]:
    """Every partition of ``topics``; an error if one of them does not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    out = []
    for topic in described:
        if topic["error_code"] or not topic["partitions"]:
            raise LookupError(f"topic {topic['topic']}: error {topic['error_code']}")
        out += [TopicPartition(topic["topic"], p["partition"]) for p in topic["partitions"]]
    return sorted(out)


async def end_offsets(bootstrap: str, topics: Iterable[str]) -> Offsets:
    """The end offset of every partition of ``topics``."""
    tps = await partitions(bootstrap, topics)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}


def lag(bootstrap: str, group: str, topics: Iterable[str]) -> Offsets:
    """Records not yet committed, per partition of ``topics`` that has any.

    The committed offsets are read first: an input record is committed only after what it
    forwarded to an internal topic is flushed, so end offsets read later include every record
    the commits read imply; read the other way round, a record forwarded in between would be
    missed and an unfinished group could look settled.
    """

    async def both() -> tuple[Offsets, Offsets]:
        done = await committed(bootstrap, group)
        return await end_offsets(bootstrap, list(topics)), done

    ends, done = asyncio.run(both())
    behind = {tp: end - done.get(tp, 0) for tp, end in ends.items()}
    return {tp: n for tp, n in behind.items() if n}


class CommitWatcher(threading.Thread):
    """Polls the group's committed offsets; records every one that moved backwards."""

    def __init__(self, bootstrap: str, group: str, every_s: float = 1.0) -> None:
        super().__init__(daemon=True, name="commit-watcher")
        self.bootstrap, self.group, self.every_s = bootstrap, group, every_s
        self.highest: Offsets = {}
        self.backwards: list[str] = []
        self.polls = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.every_s):
            try:
                seen = asyncio.run(committed(self.bootstrap, self.group))
            except Exception:  # the broker may be down during a fault
                continue
            self.polls += 1
            for tp, offset in seen.items():
                before = self.highest.get(tp, -1)
                if offset < before:
                    self.backwards.append(f"{tp[0]}[{tp[1]}]: {before} -> {offset}")
                self.highest[tp] = max(before, offset)

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=30)
