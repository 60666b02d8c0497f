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
from collections.abc import Mapping, Set
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka

log = logging.getLogger(__name__)

EMPTY_FETCH_PAUSE_S = 0.05
"""With no active partition, wait this long instead of asking aiokafka (no busy loop)."""


class Consumer(faust_aiokafka.Consumer):
    """faust's aiokafka consumer: a snapshot of the active partitions per fetch, and every
    assigned input partition re-positioned by the seek after recovery."""

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

    async def seek_to_committed(self) -> Mapping[Any, int]:
        committed: Mapping[Any, int] = await super().seek_to_committed()
        never = [
            tp
            for tp in self.assignment()
            if committed.get(tp) is None and not self._is_changelog_tp(tp)
        ]
        if never:
            await self._seek_to_reset_position(never)
        return committed

    async def _seek_to_reset_position(self, tps: list[Any]) -> None:
        """Where a new consumer group starts reading these partitions."""
        if self.app.conf.consumer_auto_offset_reset == "latest":
            offsets = await self.highwaters(*tps)
        else:
            offsets = await self.earliest_offsets(*tps)
        for tp in tps:
            await self._seek(tp, offsets[tp])

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
            gaps = getattr(self.app, "pipeline_metrics", None)
            if gaps is not None:
                gaps.consumer_offset_gaps.labels(tp.topic).inc(skipped)
        await super()._add_gap(tp, offset_from, offset_to)


class Transport(faust_aiokafka.Transport):
    """The aiokafka transport with :class:`Consumer`."""

    Consumer = Consumer
