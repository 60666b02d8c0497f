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

from stream_app.engine.engine import Engine
from stream_app.events import (
    ContactAbandoned,
    ContactAnswered,
    ContactResolved,
    ContactStarted,
    Event,
    SurveySubmitted,
)
from stream_app.kpi.formulas import ParamsBook
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
    engine = Engine(book=ParamsBook(), horizon_ms=48 * 3_600_000, contacts={}, customers={})
    engine.on_counts = counters.count
    now = int(time.time() * 1000)
    for a in range(agents):
        for contact_id, events in _agent_contacts(a, queues, now).items():
            engine.apply_contact_events(contact_id, events)
            engine.apply_customer_events(f"x{a}", events)
    times = []
    body = b""
    for _ in range(repeats):
        t0 = time.perf_counter()
        body = generate_latest(registry)
        times.append(time.perf_counter() - t0)
    series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    return ScrapeResult(queues, agents, series, len(body), statistics.median(times), max(times))


def _agent_contacts(a: int, queues: int, now: int) -> dict[str, list[Event]]:
    """One agent's contacts through the engine, so every family gets series: surveys before
    the resolution (counted, then moved to the agent: ``_retracted``), an answered and an
    abandoned contact, and a repeat that withdraws the first contact's FCR credit."""
    queue, agent, team = f"q{a % queues}", f"agent{a}", f"team{a % 50}"
    common: dict[str, Any] = {"queue": queue, "channel": "voice"}
    c1, c2, c3 = f"c{a}", f"c{a}-b", f"c{a}-r"

    def resolved(contact: str, n: int) -> ContactResolved:
        return ContactResolved(
            event_id=f"r{contact}",
            occurred_at_ms=now + n,
            contact_id=contact,
            customer_id=f"x{a}",
            agent_id=agent,
            talk_seconds=200,
            hold_seconds=10,
            wrap_seconds=30,
            resolved=True,
            team=team,
            **common,
        )

    surveys = [
        SurveySubmitted(
            event_id=f"v{m}{a}",
            occurred_at_ms=now,
            customer_id=f"x{a}",
            metric=m,
            score=9,
            scale=10,
            contact_id=c1,
        )
        for m in ("csat", "nps")
    ]
    return {
        c1: [
            ContactStarted(
                event_id=f"s{a}", occurred_at_ms=now, contact_id=c1, customer_id=f"x{a}", **common
            ),
            *surveys,
            ContactAnswered(
                event_id=f"a{a}",
                occurred_at_ms=now,
                contact_id=c1,
                agent_id=agent,
                wait_seconds=12.0,
                team=team,
                **common,
            ),
            resolved(c1, 1),
        ],
        c2: [
            ContactAbandoned(
                event_id=f"b{a}", occurred_at_ms=now, contact_id=c2, wait_seconds=3.0, **common
            )
        ],
        c3: [resolved(c3, 2)],
    }


def main(queues: int = 100, agents: int = 1000) -> None:
    r = measure(queues, agents)
    print(
        f"{r.queues} queues, {r.agents} agents: {r.series:,} series, {r.bytes / 1e6:.2f} MB, "
        f"scrape p50 {r.p50_s * 1000:.0f} ms, max {r.max_s * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main(*(int(x) for x in sys.argv[1:3]))
