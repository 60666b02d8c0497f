"""The events agent under faust's test context (memory store, no broker)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from stream_app.app import create_app
from stream_app.settings import Settings


async def test_agent_counts_each_record() -> None:
    """Every record the agent receives increments ccmon_events_consumed_total once."""
    registry = CollectorRegistry()
    app = create_app(Settings(app_id="ccmon-functional"), registry=registry)
    agent = app.agents["ccmon.events"]
    async with agent.test_context() as ctx:
        for n in range(3):
            await ctx.put(b'{"n": %d}' % n, key=b"c-1")
    total = sum(
        s.value
        for f in registry.collect()
        for s in f.samples
        if s.name == "ccmon_events_consumed_total"
    )
    assert total == 3.0
