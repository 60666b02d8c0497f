"""The status line of a running simulation: live (rich) on a terminal, plain lines otherwise.

Someone watching a demo wants to see the center at a glance (simulated clock, throughput,
who is waiting where, abandons, which incidents run); a CI log wants a line every few seconds
rather than terminal control codes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.text import Text

from stream_app.simulator.model import Simulation

PLAIN_EVERY_S = 10.0
"""Seconds between plain status lines when the live line is off."""
LIVE_EVERY_S = 0.25


class StatusLine:
    """Shows ``render()`` live or as a plain line every ``PLAIN_EVERY_S``; a context manager."""

    def __init__(
        self,
        simulation: Simulation,
        *,
        live: bool,
        echo: Callable[[str], None] = print,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.simulation = simulation
        self.events = 0
        self._echo = echo
        self._clock = clock
        self._live = Live(Text(""), console=Console(), refresh_per_second=4) if live else None
        self._t0 = clock()
        self._last_shown = self._t0 if live else self._t0 - PLAIN_EVERY_S + 2
        self._rate_mark = (self._t0, 0)
        self._rate = 0.0

    def __enter__(self) -> StatusLine:
        if self._live is not None:
            self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.update(Text(self.render(self.simulation.now)))
            self._live.__exit__(exc_type, exc, tb)

    def tick(self, events: int, sim_clock: float) -> None:
        """Record progress; redraw when it is time (cheap to call per event)."""
        self.events = events
        now = self._clock()
        every = LIVE_EVERY_S if self._live is not None else PLAIN_EVERY_S
        if now - self._last_shown < every:
            return
        self._last_shown = now
        mark_t, mark_n = self._rate_mark
        if now - mark_t >= 1.0:
            self._rate = (events - mark_n) / (now - mark_t)
            self._rate_mark = (now, events)
        line = self.render(sim_clock)
        if self._live is not None:
            self._live.update(Text(line))
        else:
            self._echo(line)

    def render(self, sim_clock: float) -> str:
        """One line: clock, events, rate, waiting per queue, abandons, incidents."""
        sim = self.simulation
        waiting = " ".join(f"{name} {n}" for name, n in sim.waiting().items())
        abandoned = sum(sim.abandoned().values())
        running = [i.describe() for i in sim.incidents if i.active(sim_clock)]
        incidents = ", ".join(running) if running else "none"
        return (
            f"sim {sim.local.format(sim_clock, with_date=True)} | {self.events:,} events | "
            f"{self._rate:,.1f} ev/s | waiting: {waiting} | abandoned {abandoned:,} | "
            f"incidents: {incidents}"
        )
