"""consume -> intake: the fetched records of a partition handed to the worker in one batch.

faust hands every fetched record to its streams through one awaited callback, the conductor, a
queue and a stream iterator: about 100 µs of CPU per record on a 2-core machine, more than
ccmon's whole engine (bench/OPTIMIZATION-NOTES.md, ../shared/notes/faust-batch-path.md). For the
topics ccmon's agents read (the inputs and the two internal stage topics), the consumer
(``stream_app.worker.consumer``) instead puts each partition's share of a fetch on one channel
as a :class:`RecordBatch`, and the batch agent runs it here.

What faust's streams do per record is done per batch, with the same meaning: a batch fetched
before a rebalance (another generation) or while the flow is stopped is dropped unacked (it is
read again from the last commit); the records of a batch taken are tracked as unacked, so a
revocation or a stop waits for them (``Consumer.wait_empty``); they are acked only after the
batch ran to its end under the batch guard, and faust commits only what is acked, after
flushing the producer. Every other partition (changelogs in recovery) keeps faust's path.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stream_app.worker.batch_guard import BatchGuard

Handler = Callable[[Sequence[Any]], Awaitable[None]]
"""The work of one batch of faust ``ConsumerMessage`` records (raw key and value bytes)."""


@dataclass(slots=True)
class RecordBatch:
    """One partition's consecutive records of one fetch, in offset order."""

    tp: Any
    messages: list[Any]
    generation_id: int


@dataclass
class Delivery:
    """Which topics' records come in batches, and what runs each batch."""

    app: Any
    """The faust app (its flow control, generation, consumer and monitor are read per batch)."""
    handlers: Mapping[str, tuple[Handler, str]]
    """Topic -> the batch's work and how a failure names it."""
    guard: BatchGuard
    channel: Any = None
    """The faust channel the consumer puts batches on (set by the app)."""
    dropped: int = 0
    """Batches dropped because they came from another generation or a stopped flow."""

    def wants(self, topic: str) -> bool:
        return topic in self.handlers

    async def put(self, batch: RecordBatch) -> None:
        """The consumer's hand-off (it abandons the put when the flow stops)."""
        await self.app.flow_control.acquire()
        await self.app.producer.buffer.wait_until_ebb()
        await self.channel.put(batch)

    def current(self, batch: RecordBatch) -> bool:
        """Would faust's stream still hand these records to an agent?"""
        app = self.app
        active: bool = app.flow_control.is_active()
        return active and batch.generation_id == app.consumer_generation_id

    async def run(self, batch: RecordBatch) -> None:
        """Take the batch (tracked: a revocation waits for it), run it, ack its records."""
        if not self.current(batch):
            self.dropped += 1
            return
        consumer = self.app.consumer
        for message in batch.messages:
            message.tracked = True
            consumer.track_message(message)
        self.app.monitor.stream_inbound_time[batch.tp] = time.monotonic()
        work, what = self.handlers[batch.tp.topic]
        try:
            await self.guard.run(work(batch.messages), what)
        except asyncio.CancelledError:  # the guard let the batch finish first
            self._ack(consumer, batch)
            raise
        self._ack(consumer, batch)  # a failed batch never gets here: the guard ended the process

    @staticmethod
    def _ack(consumer: Any, batch: RecordBatch) -> None:
        for message in batch.messages:
            consumer.ack(message)
