"""Is the worker still working? Ready (partitions assigned) is not enough: a consumer can hold
its partitions, have records to read, and deliver none. /healthz answers 503 then, so that a
supervisor (Kubernetes' liveness probe, systemd, `ccmon run`) restarts it.

Pure bookkeeping with an injected clock; the app feeds it every few seconds (stream_app.worker.app).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Liveness:
    """Stalled = records are waiting on an assigned partition and none was delivered to a stage
    for ``stall_after_s`` (rebalances and changelog recovery do not count as stalls)."""

    stall_after_s: float
    clock: Callable[[], float] = time.monotonic
    stalls: int = 0
    """How many times the worker was found stalled (a counter for /metrics)."""
    _delivered: int = -1
    _waiting_since: float | None = field(default=None)
    """First reading of the current run of readings with records waiting and none delivered."""
    _stalled: bool = False

    def observe(self, delivered: int, behind: int, settled: bool) -> None:
        """One reading: records delivered so far, records waiting uncommitted on the assigned
        input partitions, and whether the assignment is settled (no rebalance or recovery)."""
        now = self.clock()
        if delivered != self._delivered or behind <= 0 or not settled:
            self._delivered = delivered
            self._waiting_since = None
            self._stalled = False
            return
        if self._waiting_since is None:
            self._waiting_since = now
        if not self._stalled and now - self._waiting_since >= self.stall_after_s:
            self._stalled = True
            self.stalls += 1

    @property
    def live(self) -> bool:
        return not self._stalled

    @property
    def idle_s(self) -> float:
        """Seconds the current wait with nothing delivered has lasted (0 when none)."""
        return 0.0 if self._waiting_since is None else self.clock() - self._waiting_since
