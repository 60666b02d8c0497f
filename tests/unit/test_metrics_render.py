"""/metrics is rendered off the event loop, with the engine's series read on the loop."""

from __future__ import annotations

import asyncio
import time

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from stream_app.engine.engine import Engine
from stream_app.engine.facts import ParamsBook
from stream_app.kpi.formulas import KpiParams
from stream_app.metrics import EngineCollector, render_metrics
from tests.factories import valid_event


class SlowCollector(Collector):
    """Stands in for 10,000 agents' counters: half a second of pure-Python rendering."""

    def collect(self) -> list[Metric]:
        deadline = time.perf_counter() + 0.5
        spins = 0
        while time.perf_counter() < deadline:
            spins += 1
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
    registry.register(SlowCollector())
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    body = await render_metrics(registry, collector)
    elapsed = time.perf_counter() - started
    ticker.cancel()
    assert b"slow_spins" in body
    assert elapsed >= 0.5
    # On the loop, a 0.5 s render would allow no tick at all; off it, the loop keeps ticking
    # (the render thread and the loop share the GIL in 5 ms slices).
    assert ticks >= 10, f"{ticks} loop ticks in {elapsed:.2f} s of rendering"
