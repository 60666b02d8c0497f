"""The KPI engine of one worker: states in two tables, counters in a view, an event-time clock.

Faust-agnostic on purpose: the tables are any ``MutableMapping[str, bytes]`` (faust tables in
the worker, dicts in tests), so the whole engine is testable without a broker.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field

import orjson

from stream_app.engine.facts import Facts, State, contact_facts, crr_contribution, customer_facts
from stream_app.engine.state import (
    apply_to_contact,
    apply_to_customer,
    contact_key,
    contact_waiting_since,
)
from stream_app.engine.view import KpiView
from stream_app.events import Event
from stream_app.kpi.formulas import KpiParams, month_start_ms, next_month_start_ms

DAY_MS = 86_400_000
WINDOW_SPAN_MS = {"day": 25 * 3_600_000, "15m": 900_000, "1m": 60_000}
"""Longest possible length of each window kind (a local day is up to 25 h across DST)."""


@dataclass
class EngineStats:
    """Event outcomes at the entity stage, read by the metrics bundle."""

    applied: dict[str, int] = field(default_factory=dict)
    duplicate: dict[str, int] = field(default_factory=dict)
    late: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def bump(counter: dict[str, int], event_type: str) -> None:
        counter[event_type] = counter.get(event_type, 0) + 1


@dataclass
class Engine:
    """Applies valid events to contact and customer states and keeps the window counters."""

    params: KpiParams
    horizon_ms: int
    contacts: MutableMapping[str, bytes]
    customers: MutableMapping[str, bytes]
    view: KpiView = field(default_factory=KpiView)
    clock_ms: int = 0
    """Newest occurred_at applied: the stream's event-time clock."""
    waiting: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    """contact_id -> (queue, channel, started_at_ms) of contacts waiting now."""
    stats: EngineStats = field(default_factory=EngineStats)
    on_duplicate: Callable[[Event], None] | None = None
    on_late: Callable[[Event], None] | None = None

    # -- applying events -----------------------------------------------------------------------

    def is_late(self, event: Event) -> bool:
        """Older than the kept horizon behind the event-time clock: all-time counters only."""
        return event.occurred_at_ms < self.clock_ms - self.horizon_ms

    def apply_contact_event(self, key: str, event: Event) -> bool:
        """Apply an event routed by contact_id; False for a duplicate or a late event."""
        if self._late(event, primary=True):
            return False
        changed = self._update(self.contacts, key, event, apply_to_contact, self._contact_facts)
        if changed:
            state = self._load(self.contacts, key)
            self._track_waiting(key, state)
        self._count(event, changed, primary=True)
        return changed

    def apply_customer_event(self, key: str, event: Event) -> bool:
        """Apply an event routed by customer_id; False for a duplicate or a late event."""
        primary = contact_key(event) is None
        if self._late(event, primary=primary):
            return False
        changed = self._update(self.customers, key, event, apply_to_customer, self._customer_facts)
        self._count(event, changed, primary=primary)
        return changed

    def _late(self, event: Event, *, primary: bool) -> bool:
        if not self.is_late(event):
            return False
        if primary:
            EngineStats.bump(self.stats.late, event.event_type)
            if self.on_late:
                self.on_late(event)
        return True

    def _count(self, event: Event, changed: bool, *, primary: bool) -> None:
        if not primary:
            return
        if changed:
            EngineStats.bump(self.stats.applied, event.event_type)
            self.clock_ms = max(self.clock_ms, event.occurred_at_ms)
        else:
            EngineStats.bump(self.stats.duplicate, event.event_type)
            if self.on_duplicate:
                self.on_duplicate(event)

    def _update(
        self,
        table: MutableMapping[str, bytes],
        key: str,
        event: Event,
        apply: Callable[[State, Event], bool],
        facts: Callable[[State], Facts],
    ) -> bool:
        state = self._load(table, key)
        old = facts(state) if state else None
        if not apply(state, event):
            return False
        table[key] = orjson.dumps(state)
        self.view.apply(old, facts(state))
        return True

    @staticmethod
    def _load(table: MutableMapping[str, bytes], key: str) -> State:
        raw = table.get(key)
        return orjson.loads(raw) if raw else {}

    def _contact_facts(self, state: State) -> Facts:
        return contact_facts(state, self.params)

    def _customer_facts(self, state: State) -> Facts:
        return customer_facts(state, self.params)

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
        """Recompute counters, clock and live queue from the states this worker owns."""
        self.view.clear()
        self.waiting.clear()
        clock = 0
        for key, state in self._states(self.contacts, contact_owned):
            self.view.apply(None, self._contact_facts(state))
            self._track_waiting(key, state)
            clock = max(clock, state.get("last", 0))
        for _, state in self._states(self.customers, customer_owned):
            self.view.apply(None, self._customer_facts(state))
            clock = max(clock, state.get("last", 0))
        self.clock_ms = max(self.clock_ms, clock)
        self.prune()

    @staticmethod
    def _states(
        table: MutableMapping[str, bytes], owned: Callable[[str], bool]
    ) -> Iterable[tuple[str, State]]:
        for key, raw in list(table.items()):
            if raw and owned(key):
                yield key, orjson.loads(raw)

    def prune(self) -> None:
        """Drop windows that ended before the kept horizon, and long-finished states."""
        cutoff = self.clock_ms - self.horizon_ms
        self.view.prune({kind: cutoff - span for kind, span in WINDOW_SPAN_MS.items()})

    def evict(self, owned: Callable[[str], bool] = lambda key: True) -> int:
        """Delete states that can no longer change a kept window (bounded memory)."""
        contact_cutoff = self.clock_ms - self.horizon_ms - WINDOW_SPAN_MS["day"]
        customer_cutoff = contact_cutoff - 2 * int(self.params.fcr_lookback_s * 1000)
        evicted = 0
        for table, cutoff in ((self.contacts, contact_cutoff), (self.customers, customer_cutoff)):
            for key, state in list(self._states(table, owned)):
                if state.get("last", 0) < cutoff and not state.get("status"):
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
