"""The KPI engine of one worker: states in two tables, counters in a view, an event-time clock.

Faust-agnostic on purpose: the tables are any ``MutableMapping[str, bytes]`` (faust tables in
the worker, dicts in tests), so the whole engine is testable without a broker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field

import orjson

from stream_app.engine.apply import (
    apply_to_contact,
    apply_to_customer,
    contact_key,
    contact_waiting_since,
)
from stream_app.engine.contributions import (
    State,
    contact_contributions,
    contribution_delta,
    crr_contribution,
    customer_contributions,
)
from stream_app.engine.view import KpiView
from stream_app.engine.windows import DAY, SPAN_MS, Contribution, Expander, Facts, kept_from
from stream_app.events import Event
from stream_app.kpi.formulas import KpiParams, ParamsBook, month_start_ms, next_month_start_ms

log = logging.getLogger(__name__)


@dataclass
class EngineStats:
    """Event outcomes at the entity stage, read by the metrics bundle."""

    applied: dict[str, int] = field(default_factory=dict)
    duplicate: dict[str, int] = field(default_factory=dict)
    finished: dict[str, int] = field(default_factory=dict)
    """Events each stage (contact, customer) is done with, applied or duplicate: an event
    reaches both stages and counts as applied at one, so only this says the other is done."""

    @staticmethod
    def bump(counter: dict[str, int], event_type: str) -> None:
        counter[event_type] = counter.get(event_type, 0) + 1


@dataclass
class Engine:
    """Applies valid events to contact and customer states and keeps the window counters."""

    book: ParamsBook
    horizon_ms: int
    contacts: MutableMapping[str, bytes]
    customers: MutableMapping[str, bytes]
    partition_of: Callable[[str], int] = lambda key: 0
    """Which partition of its stage a state key lives in (Kafka's partitioner in the worker)."""
    view: KpiView = field(default_factory=KpiView)
    clocks: dict[tuple[str, int], int] = field(default_factory=dict)
    """Newest occurred_at applied per stage partition; decides which windows are kept and which
    states can go. (Lateness is judged earlier, per input partition, by the intake.)"""
    waiting: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    """contact_id -> (queue, channel, started_at_ms) of contacts waiting now."""
    stats: EngineStats = field(default_factory=EngineStats)
    on_counts: Callable[[Sequence[Event], list[Contribution], list[Contribution]], None] | None = (
        None
    )
    """Called after each state update with the events applied and the contributions it took
    away and added (the view's own delta): feeds the all-time Prometheus counters."""
    expander: Expander = field(init=False)
    evictable: dict[str, dict[int, dict[str, int]]] = field(init=False)
    """stage -> partition -> key -> the state's newest occurred_at, for every state eviction
    may delete (customers with a status never go), so eviction reads no state."""

    def __post_init__(self) -> None:
        self.expander = Expander(self.book)
        self.evictable = {"contact": {}, "customer": {}}

    # -- applying events -----------------------------------------------------------------------

    @property
    def clock_ms(self) -> int:
        """The newest occurred_at applied anywhere on this worker (0 before any event)."""
        return max(self.clocks.values(), default=0)

    def apply_contact_event(self, key: str, event: Event) -> bool:
        """Apply an event routed by contact_id; False for a duplicate."""
        return self.apply_contact_events(key, (event,)) > 0

    def apply_customer_event(self, key: str, event: Event) -> bool:
        """Apply an event routed by customer_id; False for a duplicate."""
        return self.apply_customer_events(key, (event,)) > 0

    def apply_contact_events(
        self, key: str, events: Sequence[Event], partition: int | None = None
    ) -> int:
        """Apply one contact's events in order; how many were not duplicates.

        The same as applying them one by one, with one state read, one state write and one
        counter update for all of them. ``partition``: the key's partition, when known.
        """
        applied, state = self._apply(
            "contact",
            self.contacts,
            key,
            events,
            apply_to_contact,
            contact_contributions,
            partition,
            primary=_always,
        )
        if applied:
            self._track_waiting(key, state)
        return applied

    def apply_customer_events(
        self, key: str, events: Sequence[Event], partition: int | None = None
    ) -> int:
        """Apply one customer's events in order; how many were not duplicates."""
        applied, _ = self._apply(
            "customer",
            self.customers,
            key,
            events,
            apply_to_customer,
            customer_contributions,
            partition,
            primary=_without_contact,
        )
        return applied

    def _apply(
        self,
        stage: str,
        table: MutableMapping[str, bytes],
        key: str,
        events: Sequence[Event],
        apply: Callable[[State, Event], bool],
        contributions: Callable[[State, ParamsBook], list[Contribution]],
        partition: int | None,
        *,
        primary: Callable[[Event], bool],
    ) -> tuple[int, State]:
        """Apply each event unless the state has its event_id already (a duplicate, a replay)."""
        if partition is None:
            partition = self.partition_of(key)
        slot = (stage, partition)
        finished = self.stats.finished
        finished[stage] = finished.get(stage, 0) + len(events)
        raw = table.get(key)
        state: State = orjson.loads(raw) if raw else {}
        before = contributions(state, self.book) if state else []
        hook = self.on_counts
        applied_events: list[Event] = []
        applied = 0
        clock = self.clocks.get(slot, 0)
        for event in events:
            if event.event_id in state.get("ids", ()):
                if primary(event):
                    EngineStats.bump(self.stats.duplicate, event.event_type)
                continue
            apply(state, event)
            applied += 1
            clock = max(clock, event.occurred_at_ms)
            if primary(event):
                EngineStats.bump(self.stats.applied, event.event_type)
                applied_events.append(event)
        if not applied:
            return 0, state
        table[key] = orjson.dumps(state)
        self.clocks[slot] = clock
        removed, added = contribution_delta(before, contributions(state, self.book))
        expand = self.expander.expand
        self.view.apply(expand(removed) if removed else None, expand(added) if added else None)
        if hook is not None:
            self._notify(hook, applied_events, removed, added)
        self._index(stage, partition, key, state)
        return applied, state

    @staticmethod
    def _notify(
        hook: Callable[[Sequence[Event], list[Contribution], list[Contribution]], None],
        events: Sequence[Event],
        removed: list[Contribution],
        added: list[Contribution],
    ) -> None:
        try:
            hook(events, removed, added)
        except Exception:  # a metrics bug must never stop the KPI engine
            log.exception("on_counts hook failed for events %s", [e.event_id for e in events])

    def count_late(self, event: Event) -> None:
        """A late event (no window, no state): what it alone contributes, for the all-time
        counters only. FCR needs the customer's history, so a late resolution has none."""
        hook = self.on_counts
        if hook is None:
            return
        state: State = {}
        if contact_key(event) is not None:
            apply_to_contact(state, event)
            added = contact_contributions(state, self.book)
        else:
            apply_to_customer(state, event)
            added = customer_contributions(state, self.book)
        self._notify(hook, (event,), [], added)

    def _index(self, stage: str, partition: int, key: str, state: State) -> None:
        by_key = self.evictable[stage].setdefault(partition, {})
        if state.get("status"):
            by_key.pop(key, None)
        else:
            by_key[key] = state.get("last", 0)

    @property
    def params(self) -> KpiParams:
        """The deployment-wide parameters (queues may override them: ``book``)."""
        return self.book.default

    def _track_waiting(self, key: str, state: State) -> None:
        waiting = contact_waiting_since(state)
        if waiting is None:
            self.waiting.pop(key, None)
        else:
            self.waiting[key] = waiting

    # -- recovery and housekeeping ---------------------------------------------------------------

    def rebuild(
        self,
        contact_owned: Callable[[str], bool] = lambda key: True,
        customer_owned: Callable[[str], bool] = lambda key: True,
    ) -> None:
        """Recompute counters, clock, live queue and eviction index from the states owned now."""
        self.view.clear()
        self.waiting.clear()
        self.evictable = {"contact": {}, "customer": {}}
        clocks: dict[tuple[str, int], int] = {}
        facts: Facts = {}
        for stage, table, owned, contributions in (
            ("contact", self.contacts, contact_owned, contact_contributions),
            ("customer", self.customers, customer_owned, customer_contributions),
        ):
            for key, state in self._states(table, owned):
                self.expander.expand(contributions(state, self.book), facts)
                if stage == "contact":
                    self._track_waiting(key, state)
                partition = self.partition_of(key)
                slot = (stage, partition)
                clocks[slot] = max(clocks.get(slot, 0), state.get("last", 0))
                self._index(stage, partition, key, state)
        self.view.apply(None, facts)
        self.clocks = clocks
        self.prune()

    @staticmethod
    def _states(
        table: MutableMapping[str, bytes], owned: Callable[[str], bool]
    ) -> Iterable[tuple[str, State]]:
        for key, raw in list(table.items()):
            if raw and owned(key):
                yield key, orjson.loads(raw)

    def prune(self) -> None:
        """Drop windows that ended before the kept horizon of every partition."""
        if not self.clocks:
            return
        self.view.prune(kept_from(min(self.clocks.values()), self.horizon_ms))

    def evict(self, partition: int | None = None) -> int:
        """Delete states that can no longer change a kept window (bounded memory).

        Only states of ``partition`` when given (a table delete writes its tombstone to the
        changelog partition of the event being processed).
        """
        keep_ms = self.horizon_ms + SPAN_MS[DAY]
        lookback_ms = 2 * int(self.params.fcr_lookback_s * 1000)
        evicted = 0
        for stage, table, extra_ms in (
            ("contact", self.contacts, 0),
            ("customer", self.customers, lookback_ms),
        ):
            for p, by_key in self.evictable[stage].items():
                if partition is not None and p != partition:
                    continue
                cutoff = self.clocks.get((stage, p), 0) - keep_ms - extra_ms
                for key in [k for k, last in by_key.items() if last < cutoff]:
                    del by_key[key]
                    if key in table:
                        del table[key]
                    self.waiting.pop(key, None)
                    evicted += 1
        return evicted

    # -- reading -----------------------------------------------------------------------------------

    def reference_ms(self, wall_ms: int | None = None) -> int:
        """'Now' for live figures: the wall clock, or the event clock when replaying history."""
        wall = time.time_ns() // 1_000_000 if wall_ms is None else wall_ms
        return self.clock_ms if 0 < self.clock_ms < wall - 300_000 else wall

    def live_queue(self, now_ms: int) -> dict[str, tuple[int, float]]:
        """queue -> (contacts waiting now, longest current wait in seconds)."""
        out: dict[str, tuple[int, float]] = {}
        stale_before = self.clock_ms - self.horizon_ms
        for queue, _, started in self.waiting.values():
            if started < stale_before:
                continue
            count, longest = out.get(queue, (0, 0.0))
            out[queue] = (count + 1, max(longest, max(0, now_ms - started) / 1000))
        return out

    def crr(
        self, at_ms: int, owned: Callable[[str], bool] = lambda key: True
    ) -> tuple[int, int, int, int]:
        """(month_start_ms, month_end_ms, active at start, retained) for the month holding at_ms."""
        start = month_start_ms(at_ms, self.params.timezone)
        end = next_month_start_ms(at_ms, self.params.timezone)
        until = min(end, self.clock_ms + 1) if self.clock_ms < end else end
        active = retained = 0
        for _, state in self._states(self.customers, owned):
            if state.get("status"):
                a, r = crr_contribution(state, start, until)
                active += a
                retained += r
        return start, end, active, retained


def _always(event: Event) -> bool:
    return True


def _without_contact(event: Event) -> bool:
    """At the customer stage an event counts as applied only when no contact stage has it."""
    return contact_key(event) is None
