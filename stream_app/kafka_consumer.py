"""faust's aiokafka consumer with the two fetch-path holes closed that lost records after a crash.

Found with ``python -m tests.chaos`` (issue 13): a restarted worker sometimes never fetched
(ready, lag > 0, nothing consumed) and, after repeated SIGKILLs, the group committed offsets
whose records no stage had applied. Two faust-streaming 0.15.3 behaviours together caused it:

1. faust hands the consumer thread its *live* set of active (unpaused) partitions, which the
   event loop keeps changing, and aiokafka's ``Fetcher.fetched_records`` reads an *empty* set as
   "every partition". At the end of changelog recovery faust pauses the changelogs before it
   resumes the inputs; a fetch waiting in that instant drains the buffered records of every
   input partition, faust's ``Consumer.getmany`` drops them (their partitions are not active),
   and aiokafka's positions have moved past them. Fix: the thread gets a copy, and an empty
   copy fetches nothing.
2. faust relies on the seek to the committed offsets at the end of recovery to re-read whatever
   it dropped, but aiokafka's ``seek_to_committed`` leaves a partition without a committed
   offset where it is. Those records were never read again; the next records' acks then
   committed past them (stall, or loss). Fix: such a partition is sought to where a new
   consumer group starts (``consumer_auto_offset_reset``).

faust also treats a jump in offsets as a gap it may commit over (meant for compacted or
transactional topics); on ccmon's topics a gap means records the fetch path skipped, so each
is counted (``ccmon_consumer_offset_gaps_total``) and logged. The faust internals used here are
pinned (pyproject.toml) and checked by ``tests/unit/test_kafka_consumer.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Set
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka

log = logging.getLogger(__name__)

EMPTY_FETCH_PAUSE_S = 0.05
"""With no active partition, wait this long instead of asking aiokafka (no busy loop)."""


class Consumer(faust_aiokafka.Consumer):
    """faust's aiokafka consumer: a snapshot of the active partitions per fetch, every assigned
    input partition re-positioned by the seek after recovery, and records of the streamed
    partitions delivered in offset order without a hole."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._next_offset: dict[Any, int] = {}
        """Per streamed partition, the offset of the record to deliver next."""

    async def _getmany(
        self,
        active_partitions: Set[Any] | None,
        timeout: float,  # noqa: ASYNC109  # faust's signature, called with timeout=
    ) -> Any:
        if active_partitions is None:  # client-only apps: every partition
            return await super()._getmany(active_partitions, timeout)
        wanted = set(active_partitions)
        if not wanted:
            await asyncio.sleep(min(timeout, EMPTY_FETCH_PAUSE_S))
            return {}
        return await super()._getmany(wanted, timeout)

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[Any, Any]]:  # noqa: ASYNC109
        """faust's records, each streamed partition's in order from where it was sought to.

        A record past the next expected offset means the ones between were fetched and not
        delivered (faust drops records it fetched across a pause, a rebalance or a seek):
        seek back and let them come again. A record before it was delivered already.
        """
        sought: set[Any] = set()  # once per partition per fetched batch
        async for tp, message in super().getmany(timeout):
            if await self._in_order(tp, message.offset, sought):
                self._next_offset[tp] = message.offset + 1
                yield tp, message

    async def _in_order(self, tp: Any, offset: int, sought: set[Any]) -> bool:
        expected = self._next_offset.get(tp)
        if expected is None or offset == expected or self._is_changelog_tp(tp):
            return True  # changelogs are compacted: their offsets have holes
        if offset < expected or tp in sought:
            return False
        sought.add(tp)
        return await self._refetch(tp, expected, offset)

    async def _refetch(self, tp: Any, expected: int, offset: int) -> bool:
        """Seek back to ``expected``; True when those records are gone (retention deleted
        them before they were read) and ``offset`` is the next one there is."""
        earliest = (await self.earliest_offsets(tp))[tp]
        if earliest > expected:
            log.error(
                "consumer: offsets %d-%d of %s[%d] were deleted by retention before they were read",
                expected,
                earliest - 1,
                tp.topic,
                tp.partition,
            )
            self._count("consumer_offsets_lost", tp, earliest - expected)
            return True
        self._count("consumer_refetches", tp, 1)
        log.info(
            "consumer: reading %s[%d] again from %d (got %d: records fetched, not delivered)",
            tp.topic,
            tp.partition,
            expected,
            offset,
        )
        await self._seek(tp, expected)
        return False

    def _count(self, counter: str, tp: Any, n: int) -> None:
        """Add ``n`` to one of the app's ccmon_consumer_* counters (stream_app.metrics)."""
        app: Any = self.app
        getattr(app.pipeline_metrics, counter).labels(tp.topic).inc(n)

    async def on_partitions_revoked(self, revoked: Set[Any]) -> None:
        for tp in revoked:
            self._next_offset.pop(tp, None)
        await super().on_partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: Set[Any], generation_id: int = 0) -> None:
        self._next_offset.clear()  # positions are set again by the seek after recovery
        await super().on_partitions_assigned(assigned, generation_id)

    async def seek_to_committed(self) -> Mapping[Any, int]:
        committed: Mapping[Any, int] = await super().seek_to_committed()
        streamed = [tp for tp in self.assignment() if not self._is_changelog_tp(tp)]
        never = [tp for tp in streamed if committed.get(tp) is None]
        reset = await self._seek_to_reset_position(never) if never else {}
        for tp in streamed:
            self._next_offset[tp] = reset[tp] if tp in reset else committed[tp]
        return committed

    async def _seek_to_reset_position(self, tps: list[Any]) -> Mapping[Any, int]:
        """Where a new consumer group starts reading these partitions."""
        if self.app.conf.consumer_auto_offset_reset == "latest":
            offsets: Mapping[Any, int] = await self.highwaters(*tps)
        else:
            offsets = await self.earliest_offsets(*tps)
        for tp in tps:
            await self._seek(tp, offsets[tp])
        return offsets

    async def _add_gap(self, tp: Any, offset_from: int, offset_to: int) -> None:
        skipped = offset_to - offset_from  # offset_to is the record being delivered now
        if skipped > 0:
            log.error(
                "consumer: offsets %d-%d of %s[%d] were skipped by the fetch path; "
                "faust counts them as done",
                offset_from,
                offset_to - 1,
                tp.topic,
                tp.partition,
            )
            self._count("consumer_offset_gaps", tp, skipped)
        await super()._add_gap(tp, offset_from, offset_to)


class Transport(faust_aiokafka.Transport):
    """The aiokafka transport with :class:`Consumer`."""

    Consumer = Consumer
