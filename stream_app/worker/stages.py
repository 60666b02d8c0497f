"""route -> apply: the two entity stages of one worker and what they share.

The intake's valid events go to the contact stage (keyed by ``contact_id``) and the customer
stage (``customer_id``). An event whose stage partition is the partition number it was read
from, on an input topic co-partitioned with the stages, is applied at once (that state
partition is assigned, recovered and replayed with this input partition); every other one is
re-keyed to its stage's internal topic, whose agent applies it. Either way one lock keeps a
batch's state writes and its changelog records together: the records reach the producer
before faust acks the batch, and no other batch's writes slip in between (the wrong batch would
ack them).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter

from stream_app.engine.apply import contact_key, customer_key
from stream_app.engine.engine import Engine
from stream_app.events import Event
from stream_app.events.internal import decode_internal, encode_internal
from stream_app.worker.changelog import ChangelogBuffered
from stream_app.worker.intake import Admitted
from stream_app.worker.partitioner import partition_of

HOUSEKEEPING_EVERY_S = 30.0
"""How often, per state partition, out-of-horizon windows and states are dropped."""
STAGE_NAMES = ("contact", "customer")

Batch = dict[int, dict[str, list[Event]]]
"""A stage's share of a batch: partition -> key -> its events in arrival order."""
ApplyEvents = Callable[[str, Sequence[Event], int], int]
"""``Engine.apply_contact_events`` or ``apply_customer_events``: key, its events, partition."""
Send = Callable[[str, bytes, bytes | None, int, None, None], Awaitable[Any]]
"""The producer's ``send(topic, key, value, partition, timestamp, headers)``."""


@dataclass(frozen=True)
class Route:
    """One stage: its internal topic, the key it keeps a state by, how it applies events."""

    topic: str
    key_of: Callable[[Event], str | None]
    apply: ApplyEvents
    states: ChangelogBuffered


@dataclass
class Stages:
    """forward (route local or re-keyed), apply a stage batch, housekeeping, changelogs."""

    engine: Engine
    routes: tuple[Route, Route]
    """Contact stage, customer stage: in this order everywhere."""
    partitions: int
    send: Send
    """Looked up on each call by the caller's lambda (tests replace the producer's send)."""
    on_produced: Callable[[Any], None]
    """Done-callback of every produced record (the batch guard watches for failures)."""
    colocated: Callable[[], frozenset[str]]
    """Input topics whose partition p moves with the stages' partition p right now."""
    routed: Counter
    """``ccmon_events_routed_total{stage, route}``."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_housekeeping: dict[tuple[str, int], float] = field(default_factory=dict)

    @classmethod
    def for_engine(
        cls,
        engine: Engine,
        topics: tuple[str, str],
        states: tuple[ChangelogBuffered, ChangelogBuffered],
        **kwargs: Any,
    ) -> Stages:
        """The two stages of ``engine``, on the internal ``topics`` (contact, customer)."""
        routes = (
            Route(topics[0], contact_key, engine.apply_contact_events, states[0]),
            Route(topics[1], customer_key, engine.apply_customer_events, states[1]),
        )
        return cls(engine=engine, routes=routes, **kwargs)

    async def forward(self, admitted: Sequence[Admitted]) -> None:
        """Route valid events: apply the co-located ones here, re-key the others."""
        colocated = self.colocated()
        here: tuple[Batch, Batch] = ({}, {})
        counts = {(stage, route): 0 for stage in (0, 1) for route in ("local", "rekeyed")}
        for event, topic, source_partition in admitted:
            value: bytes | None = None
            for stage, route in enumerate(self.routes):
                key = route.key_of(event)
                if key is None:
                    continue
                partition = partition_of(key, self.partitions)
                if topic in colocated and partition == source_partition:
                    here[stage].setdefault(partition, {}).setdefault(key, []).append(event)
                    counts[(stage, "local")] += 1
                    continue
                counts[(stage, "rekeyed")] += 1
                if value is None:
                    value = encode_internal(event)
                sent = await self.send(route.topic, key.encode(), value, partition, None, None)
                sent.add_done_callback(self.on_produced)
        for (stage, how), count in counts.items():
            if count:
                self.routed.labels(STAGE_NAMES[stage], how).inc(count)
        if here[0] or here[1]:
            async with self.lock:
                for route, batch in zip(self.routes, here, strict=True):
                    self._apply_partitions(route, batch)
                await self._produce_changelogs()

    async def apply_batch(self, stage: int, messages: Sequence[Any]) -> None:
        """A stage's batch of internal records (faust messages): per partition, per key
        in arrival order, one state write per key, then the changelog records."""
        by_partition: Batch = {}
        for message in messages:
            by_key = by_partition.setdefault(message.partition, {})
            by_key.setdefault(message.key.decode(), []).append(decode_internal(message.value))
        async with self.lock:
            self._apply_partitions(self.routes[stage], by_partition)
            await self._produce_changelogs()

    def _apply_partitions(self, route: Route, by_partition: Batch) -> None:
        for partition, by_key in by_partition.items():
            for key, key_events in by_key.items():
                route.apply(key, key_events, partition)
            self._housekeeping(route.topic, partition)

    def _housekeeping(self, topic: str, partition: int) -> None:
        """Now and then, drop out-of-horizon windows and the states of this partition that
        can no longer change a kept window (their tombstones go with the batch's records)."""
        slot = (topic, partition)
        now = time.monotonic()
        if now - self.last_housekeeping.get(slot, 0.0) < HOUSEKEEPING_EVERY_S:
            return
        self.last_housekeeping[slot] = now
        self.engine.prune()
        self.engine.evict(partition)

    async def _produce_changelogs(self) -> None:
        for route in self.routes:
            await route.states.produce(self.send, self.on_produced)
