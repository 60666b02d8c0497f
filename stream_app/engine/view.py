"""The counters of the windows this worker owns: the sum of the facts of its states.

Updated by difference (facts after an event minus facts before it), rebuilt from the states
after a restart or rebalance, and read by the JSON API and the metrics collector. Every value is
an integer (durations in ms) so adding and subtracting is exact; ``counters()`` converts the
duration sums to seconds on the way out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

from stream_app.engine.facts import Facts, WindowKey
from stream_app.kpi.formulas import COUNTER_NAMES

MS_SUMS = frozenset({"answered_wait_seconds_sum", "handle_seconds_sum"})
"""Counters held as integer milliseconds inside the engine."""

DIM_KINDS = ("all", "queue", "channel", "agent", "team")


class KpiView:
    """Window counters by (window_kind, start_ms, dim_kind, dim_value)."""

    def __init__(self) -> None:
        self._buckets: dict[WindowKey, dict[str, int]] = defaultdict(dict)
        self._kept_from: dict[str, int] = {}
        """Per window kind, the earliest start still kept; older facts are ignored."""

    def __len__(self) -> int:
        return len(self._buckets)

    def clear(self) -> None:
        self._buckets.clear()
        self._kept_from.clear()

    def apply(self, old: Facts | None, new: Facts | None) -> None:
        """Replace a state's old contribution with its new one."""
        if old:
            self._add(old, -1)
        if new:
            self._add(new, 1)

    def _add(self, facts: Facts, sign: int) -> None:
        buckets = self._buckets
        kept_from = self._kept_from
        for key, amounts in facts.items():
            if key[1] < kept_from.get(key[0], key[1]):
                continue
            bucket = buckets[key]
            for name, amount in amounts.items():
                value = bucket.get(name, 0) + sign * int(amount)
                if value:
                    bucket[name] = value
                else:
                    bucket.pop(name, None)
            if not bucket:
                del buckets[key]

    def prune(self, kept_from: dict[str, int]) -> int:
        """Forget windows of each kind that start before its ``kept_from`` (out of horizon)."""
        for kind, start in kept_from.items():
            self._kept_from[kind] = max(self._kept_from.get(kind, start), start)
        old = [k for k in self._buckets if k[1] < self._kept_from.get(k[0], k[1])]
        for key in old:
            del self._buckets[key]
        return len(old)

    def starts(self, kind: str) -> list[int]:
        """Kept window starts of a kind, oldest first."""
        return sorted({k[1] for k in self._buckets if k[0] == kind})

    def dim_values(self, kind: str, start_ms: int, dim_kind: str) -> list[str]:
        """Dimension values with data in one window."""
        return sorted(
            k[3] for k in self._buckets if k[0] == kind and k[1] == start_ms and k[2] == dim_kind
        )

    def counters(
        self, kind: str, starts: Iterable[int], dim_kind: str, dim_value: str
    ) -> dict[str, float]:
        """Summed counters over the given windows for one dimension value (seconds for sums)."""
        total: dict[str, float] = dict.fromkeys(COUNTER_NAMES, 0)
        for start in starts:
            bucket = self._buckets.get((kind, start, dim_kind, dim_value))
            if bucket:
                for name, amount in bucket.items():
                    total[name] += amount
        for name in MS_SUMS:
            total[name] = total[name] / 1000
        return total

    def items(self) -> Iterator[tuple[WindowKey, dict[str, int]]]:
        """Raw buckets (ms sums), for snapshots."""
        return iter(self._buckets.items())
