"""faust's aiokafka consumer with the holes closed through which records were committed unapplied.

Found with ``python -m tests.chaos`` (issue 13): a restarted worker sometimes never fetched
(ready, lag > 0, nothing consumed) and, after repeated SIGKILLs or rebalances, the group
committed offsets whose records no stage had applied. faust-streaming 0.15.3 behaviours:

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

3. A record can still be lost after the fetch delivered it (traced: a record left
   ``getmany`` at the very end of recovery and was never acked nor applied; faust abandons a
   hand-off to the conductor when the flow stops, clears the agents' queues when recovery ends,
   and its stream acks a record it skips while the flow is stopped), and faust's commit guard
   is off by one (faust-streaming issue #606): with the record at the committed offset missing
   and the next ones acked, it commits past it. Seen under load in rolling restarts (one record
   of a partition lost, lag 0). Fix: a record faust skipped is not acked, a commit never passes
   the first record not acked yet, and when that record is not with an agent, its partition is
   read again from it.

faust also treats a jump in offsets as a gap it may commit over (meant for compacted or
transactional topics); on ccmon's topics a gap means records the fetch path skipped, so each
is counted (``ccmon_consumer_offset_gaps_total``) and logged. The faust internals used here are
pinned (pyproject.toml) and checked by ``tests/unit/test_kafka_consumer.py``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping, Set
from typing import Any

from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as faust_aiokafka

from stream_app.worker.delivery import Delivery, RecordBatch

log = logging.getLogger(__name__)

EMPTY_FETCH_PAUSE_S = 0.05
"""With no active partition, wait this long instead of asking aiokafka (no busy loop)."""
YIELD_EVERY = 100
"""Records of one fetch between two yields to the event loop (faust's figure)."""
REREAD_AFTER_S = 10.0
"""A partition read again from a missing record is read again once more if that record has
still not been acked after this long (it was dropped a second time)."""


class Consumer(faust_aiokafka.Consumer):
    """faust's aiokafka consumer: a snapshot of the active partitions per fetch, every assigned
    input partition re-positioned by the seek after recovery, and records of the streamed
    partitions delivered in offset order without a hole."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._next_offset: dict[Any, int] = {}
        """Per streamed partition, the offset of the record to deliver next."""
        self._acked_to: dict[Any, int] = {}
        """Per streamed partition of this assignment, the offset of the first record whose ack
        faust has not taken into a commit yet: where the seek after recovery put it, then the
        end of each run of acks faust commits."""
        self._taken_to: dict[Any, int] = {}
        """Per partition, the end of the last run of acks taken into a commit (kept across
        assignments: the records before it were applied, whatever became of that commit)."""
        self._read_again_from: dict[Any, int] = {}
        """Partitions to seek back to a missing record before the next fetch."""
        self._read_again_at: dict[Any, tuple[int, float]] = {}
        """Per partition, the missing record last read again and when."""

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

    async def _drain_messages(self, fetcher: Any) -> None:
        """faust's fetch loop, with the batch topics' records handed over per partition
        (stream_app.worker.delivery) instead of one awaited callback each."""
        delivery: Delivery | None = getattr(self.app, "delivery", None)
        if delivery is None:
            await super()._drain_messages(fetcher)
            return
        consumer_stopped, fetcher_stopped = self._stopped.is_set, fetcher._stopped.is_set
        try:
            while not (consumer_stopped() or fetcher_stopped()):
                self.diag.set_flag(CONSUMER_FETCHING)
                await self.sleep(0)  # getmany can return at once, again and again
                if not self.should_stop:
                    await self._drain_fetch(delivery)
                self.diag.unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if not self.transport.app.should_stop:
                raise
            log.info("Broker stopped consumer, shutting down...")
        except asyncio.CancelledError:
            if not self.transport.app.should_stop:
                raise
            log.info("Consumer shutting down for user cancel.")
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)

    async def _drain_fetch(self, delivery: Delivery) -> None:
        """One fetch: each batch topic partition's records as one batch, the others (the
        changelogs in recovery) through faust's callback one by one, as faust would."""
        batches: dict[tuple[Any, int], RecordBatch] = {}
        since_yield = 0
        async for tp, message in self.getmany(timeout=1.0):
            since_yield += 1
            if since_yield > YIELD_EVERY:
                await asyncio.sleep(0)
                since_yield = 0
            if not await self._read(tp, message):
                continue
            if delivery.wants(tp.topic):
                slot = (tp, message.generation_id)
                if slot in batches:
                    batches[slot].messages.append(message)
                else:
                    batches[slot] = RecordBatch(tp, [message], message.generation_id)
                continue
            await self._commit_if_due()
            await self.wait_first(self.callback(message), self.suspend_flow.wait())
        for batch in batches.values():
            await self._commit_if_due()
            await self.wait_first(delivery.put(batch), self.suspend_flow.wait())

    async def _read(self, tp: Any, message: Any) -> bool:
        """faust's read-offset bookkeeping for one record: False for one read already, a
        gap recorded before one past the next (faust commits through gaps)."""
        offset: int = message.offset
        read_offset: int | None = self._read_offset[tp]
        if read_offset is not None and offset < read_offset:
            return False
        gap = bool(read_offset) and offset - (read_offset or 0) > 1
        if gap and self.app.topics.acks_enabled_for(message.topic):
            await self._add_gap(tp, (read_offset or 0) + 1, offset)
        self._read_offset[tp] = offset
        return True

    async def _commit_if_due(self) -> None:
        """faust's ``broker_commit_every``: commit after that many acks (off by default)."""
        commit_every = self._commit_every
        if commit_every is not None and self._n_acked >= commit_every:
            self._n_acked = 0
            await self.commit()

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[Any, Any]]:  # noqa: ASYNC109
        """faust's records, each streamed partition's in order from where it was sought to.

        A record past the next expected offset means the ones between were fetched and not
        delivered (faust drops records it fetched across a pause, a rebalance or a seek):
        seek back and let them come again. A record before it was delivered already.
        """
        await self._seek_to_missing_records()
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
            if tp in self._acked_to:  # nothing before `earliest` can be acked any more
                self._acked_to[tp] = max(self._acked_to[tp], earliest)
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
        """Add ``n`` to one of the app's ccmon_consumer_* counters (stream_app.metrics.pipeline)."""
        app: Any = self.app
        getattr(app.pipeline_metrics, counter).labels(tp.topic).inc(n)

    async def on_partitions_revoked(self, revoked: Set[Any]) -> None:
        for tp in revoked:
            self._next_offset.pop(tp, None)
            self._acked_to.pop(tp, None)
        await super().on_partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: Set[Any], generation_id: int = 0) -> None:
        self._next_offset.clear()  # positions are set again by the seek after recovery
        self._acked_to.clear()
        self._read_again_from.clear()
        await super().on_partitions_assigned(assigned, generation_id)

    async def seek_to_committed(self) -> Mapping[Any, int]:
        committed: Mapping[Any, int] = await super().seek_to_committed()
        streamed = [tp for tp in self.assignment() if not self._is_changelog_tp(tp)]
        never = [tp for tp in streamed if committed.get(tp) is None]
        reset = await self._seek_to_reset_position(never) if never else {}
        for tp in streamed:
            position = reset[tp] if tp in reset else committed[tp]
            self._next_offset[tp] = position
            # A commit still under way when the committed offsets were read: its run is done.
            self._acked_to[tp] = max(position, self._taken_to.get(tp, position))
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

    def ack(self, message: Any) -> bool:
        """faust's ack, except for a record its stream skipped without handing it to an agent
        (flow stopped, or fetched in an earlier generation): it is read again instead."""
        if not message.tracked and not self._is_changelog_tp(message.tp):
            return False
        acked: bool = super().ack(message)
        return acked

    def _new_offset(self, tp: Any) -> int | None:
        """The end of the run of acked records that starts at ``_acked_to``, or None.

        Replaces faust's computation for the partitions sought after recovery: faust's guard
        against a missing record at the head is off by one (issue #606) and compares with its
        record of the last commit, which is stale when a commit is cancelled after faust took
        its acks. A record missing at the head that is not with an agent is read again.
        """
        floor = self._acked_to.get(tp)
        if floor is None:  # before the seek after recovery: faust's own reckoning
            offset: int | None = super()._new_offset(tp)
            if offset is not None:
                self._taken_to[tp] = max(offset, self._taken_to.get(tp, offset))
            return offset
        acked = self._acked[tp]
        acked.sort()
        end, taken = floor, 0
        for acked_offset in acked:
            if acked_offset > end:
                break
            end = max(end, acked_offset + 1)  # below the floor: a record read twice
            taken += 1
        self._acked_index[tp].difference_update(acked[:taken])
        del acked[:taken]
        if end > floor:
            self._acked_to[tp] = self._taken_to[tp] = end
            return end
        if acked and not self._on_its_way(tp, floor):
            self._read_again(tp, floor, acked[0])
        return None

    def _on_its_way(self, tp: Any, offset: int) -> bool:
        """Is the record at ``offset`` with an agent, not acked yet?"""
        return any(
            m.offset == offset and m.tp == tp and not m.acked for m in list(self._unacked_messages)
        )

    def _read_again(self, tp: Any, offset: int, acked_from: int) -> None:
        """Seek ``tp`` back to ``offset`` before the next fetch (once per REREAD_AFTER_S)."""
        last = self._read_again_at.get(tp)
        now = time.monotonic()
        if last is not None and last[0] == offset and now - last[1] < REREAD_AFTER_S:
            return
        self._read_again_at[tp] = (offset, now)
        self._read_again_from[tp] = offset
        self._count("consumer_refetches", tp, 1)
        log.warning(
            "consumer: %s[%d] offset %d never reached an agent and %d-%d were acked after it; "
            "not committing past it, reading the partition again from it",
            tp.topic,
            tp.partition,
            offset,
            acked_from,
            max(self._acked[tp]),
        )

    async def _seek_to_missing_records(self) -> None:
        if not self._read_again_from:
            return
        pending, self._read_again_from = self._read_again_from, {}
        assigned = self.assignment()
        for tp, offset in pending.items():
            if tp in assigned:
                await self.seek(tp, offset)
                self._next_offset[tp] = offset


class Transport(faust_aiokafka.Transport):
    """The aiokafka transport with :class:`Consumer`."""

    Consumer = Consumer
