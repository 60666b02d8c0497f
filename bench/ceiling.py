"""The ceiling: how fast a plain Python consumer reads and JSON-decodes the pre-loaded topics.

No group, no validation, no state: an aiokafka consumer assigned every partition, reading from
the beginning with ``getmany`` and decoding each value with orjson. Nothing a Python worker on
aiokafka does can be faster than this, so ``us / ceiling`` is how much of it ccmon keeps.
A second row does the same with confluent-kafka (librdkafka, the client under Quix Streams).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson
import psutil
from aiokafka import AIOKafkaConsumer, TopicPartition
from confluent_kafka import Consumer

from bench.kafka import Offsets

Progress = Callable[[int], None]
BATCH = 10_000
"""Records per getmany/consume call: large, yet a small part of a run's data."""


@dataclass
class CeilingResult:
    client: str
    events: int
    seconds: float
    """From the first record received to the last one decoded (see ``over``)."""
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    @classmethod
    def over(
        cls,
        client: str,
        seen: int,
        first_batch: int,
        seconds: float,
        cpu_s: float,
        whole_s: float,
    ) -> CeilingResult:
        """From the first batch's arrival to the last record: the first batch was fetched
        before the clock started, so the rate is that of the later records, and ``seconds``
        is the time all ``seen`` records take at that rate. When everything came in the first
        batch (a tiny run), the time from the first fetch call (``whole_s``) is used."""
        later = seen - first_batch
        if later <= 0 or seconds <= 0:
            return cls(client, seen, whole_s, cpu_s)
        return cls(client, seen, seconds * seen / later, cpu_s * seen / later)


async def aiokafka_ceiling(
    bootstrap: str, ends: Offsets, progress: Progress | None = None
) -> CeilingResult:
    """Read every partition of ``ends`` up to its end offset, decoding every value."""
    me = psutil.Process()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for (t, p), end in ends.items() if end > 0]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        remaining = {tp: ends[(tp.topic, tp.partition)] for tp in partitions}
        seen = first_batch = 0
        first = last = cpu0 = 0.0
        start = time.perf_counter()
        while remaining:
            batches = await consumer.getmany(timeout_ms=1000, max_records=BATCH)
            if batches and not first:
                first = time.perf_counter()
                cpu0 = sum(me.cpu_times()[:2])
                first_batch = sum(len(m) for m in batches.values())
            for tp, messages in batches.items():
                for message in messages:
                    orjson.loads(message.value)
                seen += len(messages)
                if messages and messages[-1].offset + 1 >= remaining.get(tp, 0):
                    remaining.pop(tp, None)
                    consumer.pause(tp)
            last = time.perf_counter()
            if progress is not None:
                progress(seen)
        cpu = sum(me.cpu_times()[:2]) - cpu0
    finally:
        await consumer.stop()
    return CeilingResult.over("aiokafka", seen, first_batch, last - first, cpu, last - start)


def confluent_ceiling(
    bootstrap: str, ends: Offsets, progress: Progress | None = None
) -> CeilingResult:
    """The same read with confluent-kafka's ``consume`` in batches."""
    from confluent_kafka import TopicPartition as CkPartition

    me = psutil.Process()
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench-ceiling-unused",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
    )
    partitions = [CkPartition(t, p, 0) for (t, p), end in ends.items() if end > 0]
    consumer.assign(partitions)
    remaining = {(t, p): end for (t, p), end in ends.items() if end > 0}
    seen = first_batch = 0
    first = last = cpu0 = 0.0
    start = time.perf_counter()
    try:
        while remaining:
            messages = consumer.consume(num_messages=BATCH, timeout=1.0)
            if messages and not first:
                first = time.perf_counter()
                cpu0 = sum(me.cpu_times()[:2])
                first_batch = len(messages)
            for message in messages:
                if message.error():
                    continue
                orjson.loads(message.value())
                seen += 1
                slot = (message.topic(), message.partition())
                if message.offset() + 1 >= remaining.get(slot, 1 << 62):
                    remaining.pop(slot, None)
            last = time.perf_counter()
            if progress is not None:
                progress(seen)
        cpu = sum(me.cpu_times()[:2]) - cpu0
    finally:
        consumer.close()
    return CeilingResult.over("confluent-kafka", seen, first_batch, last - first, cpu, last - start)
