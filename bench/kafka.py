"""Broker chores for the benchmark: namespaced topics, a fast pre-load, offsets and cleanup."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from bench.data import Record

Offsets = dict[tuple[str, int], int]

KEY_PARTITIONER = {"partitioner": "murmur2_random"}
"""librdkafka's partitioner that places a key where Java clients, aiokafka and ccmon's own
tools do (murmur2). Its default (CRC32) would put every key in another partition than its state
lives in, so every event would cross an internal topic (docs/engine.md)."""


@dataclass
class LoadResult:
    """What the pre-load did."""

    records: int
    seconds: float


def preload(
    bootstrap: str,
    records: list[Record],
    progress: Callable[[int], None] | None = None,
) -> LoadResult:
    """Produce every record (librdkafka: batched, idempotent, acks=all) and wait for all acks."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "log_level": 4,
            **KEY_PARTITIONER,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 20,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 500_000,
        }
    )
    failures: list[str] = []

    def on_delivery(err: object, _msg: object) -> None:
        if err is not None:
            failures.append(str(err))

    t0 = time.monotonic()
    for n, record in enumerate(records, start=1):
        while True:
            try:
                producer.produce(record.topic, record.value, record.key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        if n % 10_000 == 0:
            producer.poll(0)
            if progress is not None:
                progress(n)
    remaining = producer.flush(120)
    if remaining or failures:
        raise RuntimeError(
            f"pre-load failed: {remaining} not delivered, {len(failures)} errors ({failures[:1]})"
        )
    if progress is not None:
        progress(len(records))
    return LoadResult(records=len(records), seconds=time.monotonic() - t0)


async def end_offsets(bootstrap: str, topics: Iterable[str]) -> Offsets:
    """Log-end offset of every partition of ``topics``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if len({tp.topic for tp in partitions}) < len(set(topics)):
            await consumer._client.force_metadata_update()
            partitions = [
                TopicPartition(topic, p)
                for topic in topics
                for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
        ends = await consumer.end_offsets(partitions) if partitions else {}
        return {(tp.topic, tp.partition): int(offset) for tp, offset in ends.items()}
    finally:
        await consumer.stop()


class GroupWatch:
    """Polls a consumer group's committed offsets (one admin connection for the whole phase)."""

    def __init__(self, bootstrap: str, group: str) -> None:
        self.bootstrap = bootstrap
        self.group = group
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)

    async def __aenter__(self) -> GroupWatch:
        await self.admin.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.admin.close()

    async def committed(self) -> Offsets:
        """The group's committed offset per partition (absent: nothing committed yet)."""
        try:
            found = await self.admin.list_consumer_group_offsets(self.group)
        except Exception:  # the group may not exist yet; aiokafka raises several types
            return {}
        return {(tp.topic, tp.partition): int(meta.offset) for tp, meta in found.items()}

    async def topics_like(self, predicate: Callable[[str], bool]) -> list[str]:
        """Topics on the broker whose name passes ``predicate`` (a system's internal topics)."""
        return sorted(t for t in await self.admin.list_topics() if predicate(t))


def caught_up(committed: Offsets, ends: Offsets) -> bool:
    """Every partition committed at its end (an empty partition needs no commit)."""
    return all(committed.get(tp, 0) >= end for tp, end in ends.items())


async def delete_topics(bootstrap: str, tag: str) -> list[str]:
    """Delete every topic whose name contains ``tag`` (inputs, internal, changelogs)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if tag in t]
        if names:
            await admin.delete_topics(names)
        return names
    finally:
        await admin.close()


def delete_groups(bootstrap: str, groups: Iterable[str]) -> None:
    """Forget the benchmark's consumer groups (best effort: a group may still be dying)."""
    names = list(groups)
    if not names:
        return
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.delete_consumer_groups(names, request_timeout=10)
    for future in futures.values():
        with contextlib.suppress(Exception):  # missing or non-empty groups: nothing to clean
            future.result(timeout=15)
