"""Benchmark (not a test): /metrics exposition time and size for a large contact center.

Builds the worker's real metric bundles on a fresh registry, feeds them synthetic events for
N queues and M agents (every counter family gets series), then times `generate_latest` the way
the /metrics view calls it. Usage: python bench/bench_scrape.py [queues] [agents]
(``python -m bench --only scrape`` runs it for 1,000 and 10,000 agents into the report).
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from stream_app.engine.contributions import Dims, ParamsBook
from stream_app.events import (
    ContactAbandoned,
    ContactAnswered,
    ContactResolved,
    ContactStarted,
)
from stream_app.metrics.kpi_counters import KpiCounters
from stream_app.metrics.pipeline import PipelineMetrics


@dataclass
class ScrapeResult:
    """Exposition cost of one populated registry."""

    queues: int
    agents: int
    series: int
    bytes: int
    p50_s: float
    max_s: float


def measure(queues: int = 100, agents: int = 1000, repeats: int = 20) -> ScrapeResult:
    """Populate every family for ``queues`` x ``agents`` and time ``repeats`` expositions."""
    registry = CollectorRegistry()
    PipelineMetrics.create(registry)
    counters = KpiCounters.create(registry, ParamsBook())
    now = int(time.time() * 1000)
    for a in range(agents):
        queue = f"q{a % queues}"
        agent, team = f"agent{a}", f"team{a % 50}"
        common: dict[str, Any] = {
            "occurred_at_ms": now,
            "contact_id": f"c{a}",
            "queue": queue,
            "channel": "voice",
        }
        counters._count_contact_event(
            ContactStarted(event_id=f"s{a}", customer_id="x", **common), {}
        )
        counters._count_contact_event(
            ContactAnswered(
                event_id=f"a{a}", agent_id=agent, wait_seconds=12.0, team=team, **common
            ),
            {},
        )
        counters._count_contact_event(
            ContactAbandoned(event_id=f"b{a}", wait_seconds=3.0, **common), {}
        )
        counters._count_contact_event(
            ContactResolved(
                event_id=f"r{a}",
                customer_id="x",
                agent_id=agent,
                talk_seconds=200,
                hold_seconds=10,
                wrap_seconds=30,
                resolved=True,
                team=team,
                **common,
            ),
            {},
        )
        for name in (
            "csat_responses",
            "csat_satisfied",
            "nps_responses",
            "nps_promoters",
            "nps_detractors",
            "fcr_issues",
            "fcr_resolved_first",
            "fcr_withdrawn",
            "fcr_issues_retracted",
            "fcr_resolved_first_retracted",
            "fcr_withdrawn_retracted",
        ):
            counters._inc_agent(name, Dims(queue, "voice", agent, team))
    times = []
    body = b""
    for _ in range(repeats):
        t0 = time.perf_counter()
        body = generate_latest(registry)
        times.append(time.perf_counter() - t0)
    series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    return ScrapeResult(queues, agents, series, len(body), statistics.median(times), max(times))


def main(queues: int = 100, agents: int = 1000) -> None:
    r = measure(queues, agents)
    print(
        f"{r.queues} queues, {r.agents} agents: {r.series:,} series, {r.bytes / 1e6:.2f} MB, "
        f"scrape p50 {r.p50_s * 1000:.0f} ms, max {r.max_s * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main(*(int(x) for x in sys.argv[1:3]))
