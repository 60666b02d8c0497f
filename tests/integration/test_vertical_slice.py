"""An event produced to a real topic reaches a real worker and shows on its /metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiokafka import AIOKafkaProducer

from stream_app.settings import Settings
from tests.workers import WorkerProcess


async def produce(settings: Settings, topic: str, values: list[bytes], key: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


def test_produced_event_counts_on_metrics(
    namespace: Settings, start_worker: Callable[..., WorkerProcess]
) -> None:
    """Three records on two topics give exactly 2 and 1 on ccmon_events_consumed_total."""
    worker = start_worker(namespace)
    started = namespace.topics_by_type["contact.started"]
    answered = namespace.topics_by_type["contact.answered"]
    asyncio.run(produce(namespace, started, [b'{"n":1}', b'{"n":2}'], key=b"c-1"))
    asyncio.run(produce(namespace, answered, [b'{"n":3}'], key=b"c-1"))

    assert worker.wait_for_sample("ccmon_events_consumed_total", 2.0, topic=started) == 2.0
    assert worker.wait_for_sample("ccmon_events_consumed_total", 1.0, topic=answered) == 1.0
    assert worker.sample("ccmon_events_consumed_total", topic=namespace.deadletter_topic) is None
