"""The counters of the windows this worker owns: the sum of the facts of its states.

Updated by difference (facts after an event minus facts before it), rebuilt from the states
after a restart or rebalance, and read by the JSON API and the metrics collector. Every value is
an integer (durations in ms) so adding and subtracting is exact; ``counters()`` converts the
duration sums to seconds on the way out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from stream_app.engine.windows import Facts, WindowKey
from stream_app.kpi.formulas import COUNTER_NAMES

MS_SUMS = frozenset({"answered_wait_seconds_sum", "handle_seconds_sum"})
"""Counters held as integer milliseconds inside the engine."""


class KpiView:
    """Window counters by (window_kind, start_ms, dim_kind, dim_value).

    Held per window, ``(kind, start) -> (dim_kind, dim_value) -> counters``, so listing one
    window's dimension values or dropping old windows never walks every bucket.
    """

    def __init__(self) -> None:
        self._windows: dict[tuple[str, int], dict[tuple[str, str], dict[str, int]]] = {}
        self._kept_from: dict[str, int] = {}
        """Per window kind, the earliest start still kept; older facts are ignored."""

    def __len__(self) -> int:
        return sum(len(dims) for dims in self._windows.values())

    def clear(self) -> None:
        self._windows.clear()
        self._kept_from.clear()

    def apply(self, old: Facts | None, new: Facts | None) -> None:
        """Replace a state's old contribution with its new one."""
        if old:
            self._add(old, -1)
        if new:
            self._add(new, 1)

    def _add(self, facts: Facts, sign: int) -> None:
        windows = self._windows
        kept_from = self._kept_from
        for (kind, start, dim_kind, dim_value), amounts in facts.items():
            if start < kept_from.get(kind, start):
                continue
            window = windows.get((kind, start))
            if window is None:
                window = windows[(kind, start)] = {}
            dim = (dim_kind, dim_value)
            bucket = window.get(dim)
            if bucket is None:
                bucket = window[dim] = {}
            for name, amount in amounts.items():
                value = bucket.get(name, 0) + sign * int(amount)
                if value:
                    bucket[name] = value
                else:
                    bucket.pop(name, None)
            if not bucket:
                del window[dim]
                if not window:
                    del windows[(kind, start)]

    def prune(self, kept_from: dict[str, int]) -> int:
        """Forget windows of each kind that start before its ``kept_from`` (out of horizon)."""
        for kind, start in kept_from.items():
            self._kept_from[kind] = max(self._kept_from.get(kind, start), start)
        old = [w for w in self._windows if w[1] < self._kept_from.get(w[0], w[1])]
        dropped = 0
        for window in old:
            dropped += len(self._windows.pop(window))
        return dropped

    def starts(self, kind: str) -> list[int]:
        """Kept window starts of a kind, oldest first."""
        return sorted(start for k, start in self._windows if k == kind)

    def dim_values(self, kind: str, start_ms: int, dim_kind: str) -> list[str]:
        """Dimension values with data in one window."""
        window = self._windows.get((kind, start_ms), {})
        return sorted(value for dk, value in window if dk == dim_kind)

    def counters(
        self, kind: str, starts: Iterable[int], dim_kind: str, dim_value: str
    ) -> dict[str, float]:
        """Summed counters over the given windows for one dimension value (seconds for sums)."""
        total: dict[str, float] = dict.fromkeys(COUNTER_NAMES, 0)
        dim = (dim_kind, dim_value)
        for start in starts:
            window = self._windows.get((kind, start))
            bucket = window.get(dim) if window else None
            if bucket:
                for name, amount in bucket.items():
                    total[name] += amount
        for name in MS_SUMS:
            total[name] = total[name] / 1000
        return total

    def items(self) -> Iterator[tuple[WindowKey, dict[str, int]]]:
        """Raw buckets (ms sums), for snapshots."""
        for (kind, start), window in self._windows.items():
            for (dim_kind, dim_value), bucket in window.items():
                yield (kind, start, dim_kind, dim_value), bucket
