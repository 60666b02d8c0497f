"""/metrics is rendered off the event loop, with the engine's series read on the loop."""

from __future__ import annotations

import asyncio
import time

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from stream_app.engine.engine import Engine
from stream_app.kpi.formulas import KpiParams, ParamsBook
from stream_app.metrics.pipeline import EngineCollector, render_metrics
from tests.factories import valid_event


class SlowCollector(Collector):
    """Stands in for 10,000 agents' counters: pure-Python rendering that keeps the CPU busy.

    It stays busy until the event loop has ticked ``ticks_needed`` times (or ``deadline_s``
    passed), so the test does not depend on how fast the machine is: a loop blocked by the
    render never ticks and the collector gives up at the deadline; a loop that keeps running
    lets the collector finish as soon as the ticks are seen, however slow the machine.
    """

    def __init__(self, ticks: list[int], ticks_needed: int, deadline_s: float = 10.0) -> None:
        self.ticks = ticks
        self.ticks_needed = ticks_needed
        self.deadline_s = deadline_s
        self.ticks_seen: int | None = None
        """Loop ticks counted while this collector was busy (None until it ran)."""

    def collect(self) -> list[Metric]:
        at_start = self.ticks[0]
        deadline = time.monotonic() + self.deadline_s
        spins = 0
        while self.ticks[0] - at_start < self.ticks_needed and time.monotonic() < deadline:
            spins += 1
        self.ticks_seen = self.ticks[0] - at_start
        family = GaugeMetricFamily("slow_spins", "Busy-loop iterations while collecting.")
        family.add_metric([], spins)
        return [family]


def engine_with_one_started_contact() -> Engine:
    engine = Engine(
        book=ParamsBook(KpiParams(), {}), horizon_ms=48 * 3_600_000, contacts={}, customers={}
    )
    engine.apply_contact_event(
        "c1", valid_event("contact.started", contact_id="c1", queue="billing")
    )
    return engine


async def test_body_has_engine_series_and_counters() -> None:
    registry = CollectorRegistry()
    collector = EngineCollector(engine_with_one_started_contact())
    registry.register(collector)
    Counter("ccmon_demo", "A thread-safe client counter.", registry=registry).inc(3)
    body = (await render_metrics(registry, collector)).decode()
    assert 'ccmon_events_applied_total{type="contact.started"} 1.0' in body
    assert 'ccmon_queue_waiting_contacts{queue="billing"} 1.0' in body
    assert "ccmon_demo_total 3.0" in body
    # Outside a scrape the collector reads the engine afresh (the frozen copy is per thread).
    assert collector.collect()[0].samples[0].value == 1


async def test_event_loop_keeps_running_during_a_slow_render() -> None:
    registry = CollectorRegistry()
    collector = EngineCollector(engine_with_one_started_contact())
    registry.register(collector)
    ticks = [0]
    slow = SlowCollector(ticks, ticks_needed=10)
    registry.register(slow)

    async def tick() -> None:
        while True:
            await asyncio.sleep(0.01)
            ticks[0] += 1

    ticker = asyncio.create_task(tick())
    try:
        body = await render_metrics(registry, collector)
    finally:
        ticker.cancel()
    assert b"slow_spins" in body
    # On the loop, the busy render would allow no tick at all (the collector would give up
    # at its deadline with 0); off it, the loop keeps ticking while the collector is busy
    # (the render thread and the loop share the GIL in 5 ms slices).
    assert slow.ticks_seen is not None
    assert slow.ticks_seen >= 10, f"{slow.ticks_seen} loop ticks while the collector was busy"
