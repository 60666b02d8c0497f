"""Talking to the Kafka cluster as an administrator: is it up, do our topics exist, create them.

Used by the local stack, by the worker's start-up checks (a missing broker or topic is one
clear line, not a retry loop) and by the test fixtures.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from stream_app.errors import UserError
from stream_app.settings import Settings

# aiokafka logs every refused connection at ERROR; a probe expects refusals.
logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


async def _list_topics(bootstrap: str, timeout_s: float) -> set[str]:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000)
    )
    try:
        await asyncio.wait_for(admin.start(), timeout_s)
        return set(await asyncio.wait_for(admin.list_topics(), timeout_s))
    finally:
        await admin.close()


async def list_topics(bootstrap: str, timeout_s: float = 5.0) -> set[str]:
    """Topic names on the cluster; a one-line UserError when the broker does not answer."""
    try:
        return await _list_topics(bootstrap, timeout_s)
    except (KafkaError, OSError, TimeoutError) as exc:
        raise UserError(
            f"Kafka is not reachable at {bootstrap} ({type(exc).__name__}); start it with "
            "'ccmon stack up' or set CCMON_KAFKA_BOOTSTRAP"
        ) from None


def broker_answers(bootstrap: str, timeout_s: float = 3.0) -> bool:
    """True when the broker answers a metadata request (not merely an open port)."""
    try:
        asyncio.run(_list_topics(bootstrap, timeout_s))
    except (KafkaError, OSError, TimeoutError):
        return False
    return True


async def ensure_topics(
    bootstrap: str,
    names: Iterable[str],
    partitions: int,
    config: Mapping[str, str] | None = None,
    replication: int = 1,
) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created now.

    ``config``: topic-level settings for the new topics (e.g. ``{"retention.ms": "-1"}``);
    ``replication``: replicas of each (``Settings.replication_factor``).
    """
    wanted = list(dict.fromkeys(names))
    existing = await list_topics(bootstrap)
    missing = [n for n in wanted if n not in existing]
    if not missing:
        return []
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        response = await admin.create_topics(
            [
                NewTopic(
                    name=n,
                    num_partitions=partitions,
                    replication_factor=replication,
                    topic_configs=dict(config or {}),
                )
                for n in missing
            ]
        )
    except TopicAlreadyExistsError:
        return []
    finally:
        await admin.close()
    created = []
    for topic, code, *rest in response.topic_errors:
        if code == 0:
            created.append(topic)
        elif code != TopicAlreadyExistsError.errno:
            raise UserError(f"creating topic {topic} failed: Kafka error {code} {rest}")
    # The controller answers before every broker's metadata has the new topics; wait for them
    # so that a worker started right after sees them.
    for _ in range(50):
        if not set(wanted) - await list_topics(bootstrap):
            break
        await asyncio.sleep(0.2)
    return created


async def ensure_topics_of(settings: Settings, names: Iterable[str] | None = None) -> list[str]:
    """:func:`ensure_topics` with the deployment's partitions and replicas; ``names`` default
    to the input and dead-letter topics."""
    return await ensure_topics(
        settings.bootstrap_servers,
        settings.all_topics if names is None else names,
        settings.topic_partitions,
        replication=settings.replication_factor,
    )


async def require_topics(bootstrap: str, names: Iterable[str]) -> None:
    """Fail with one line naming the first missing topic and how to create it."""
    existing = await list_topics(bootstrap)
    missing = [n for n in names if n not in existing]
    if missing:
        raise UserError(
            f"topic {missing[0]} is missing on {bootstrap} ({len(missing)} missing in all); "
            "create them with 'ccmon topics create'"
        )


async def started_producer(bootstrap_servers: str, *, linger_ms: int) -> AIOKafkaProducer:
    """An idempotent, acks=all producer, started; an unreachable broker is one clear line."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        linger_ms=linger_ms,
        max_batch_size=256 * 1024,
    )
    try:
        await producer.start()
    except Exception as exc:  # aiokafka raises several types for an unreachable broker
        await producer.stop()
        raise UserError(
            f"Kafka is not reachable at {bootstrap_servers} ({type(exc).__name__}); "
            "start it with 'ccmon stack up' or set CCMON_KAFKA_BOOTSTRAP"
        ) from None
    return producer
