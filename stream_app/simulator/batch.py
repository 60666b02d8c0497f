"""``batch_events``: the first N events of the default center, unpaced, for benchmarks.

Benchmarks need a fixed, realistic event mix quickly and reproducibly: the default scenario
scaled by ``BATCH_SCALE`` (about 64,000 events per simulated weekday), from a fixed Monday
midnight, with ids tagged by the seed.
"""

from __future__ import annotations

import gc
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from stream_app.simulator.model import Simulation
from stream_app.simulator.scenario import default_scenario

BATCH_START = datetime(2026, 11, 2, tzinfo=UTC)
"""A Monday midnight (UTC), so the same call always gives the same events."""
BATCH_SCALE = 10.0
"""Ten default centers' worth of traffic: 1,000,000 events span about two and a half weeks."""


def batch_events(
    count: int, *, seed: int = 1, start: datetime | None = None
) -> list[dict[str, Any]]:
    """The first ``count`` events of the default scenario (scaled), in occurrence order.

    Same ``seed`` and ``start``, same events. ``start`` must be timezone-aware.
    """
    moment = BATCH_START if start is None else start
    if moment.tzinfo is None:
        raise ValueError("start must be timezone-aware, e.g. datetime(2026, 11, 2, tzinfo=UTC)")
    simulation = Simulation(
        default_scenario().scaled(BATCH_SCALE), start=moment.timestamp(), seed=seed
    )
    # A million live dicts make every cyclic-GC pass walk them all; the events hold no cycles,
    # so pausing the collector while they are made saves about a quarter of the time.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return list(islice(simulation.events(), count))
    finally:
        if was_enabled:
            gc.enable()
