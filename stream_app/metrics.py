"""Every Prometheus metric of the worker, built as one typed bundle against a registry passed in.

A test builds the bundle on a fresh ``CollectorRegistry``; the worker builds it once on its own
registry and serves that registry on ``/metrics``. Names follow Prometheus conventions: base
units, ``_total`` counters, bounded label sets.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, disable_created_metrics

# `_created` series double the exposition and no query of ours reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus_client


@dataclass(frozen=True)
class PipelineMetrics:
    """Health of the event pipeline: what came in, what was turned away and why."""

    events_consumed: Counter
    events_accepted: Counter
    events_rejected: Counter
    events_duplicate: Counter
    events_late: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry, prefix: str = "ccmon") -> PipelineMetrics:
        return cls(
            events_consumed=Counter(
                f"{prefix}_events_consumed",
                "Records read from the input topics, before validation.",
                ["topic"],
                registry=registry,
            ),
            events_accepted=Counter(
                f"{prefix}_events_accepted",
                "Valid events passed on to the KPI engine (duplicates included).",
                ["type"],
                registry=registry,
            ),
            events_rejected=Counter(
                f"{prefix}_events_rejected",
                "Records sent to the dead-letter topic, by reason (docs/events.md).",
                ["reason"],
                registry=registry,
            ),
            events_duplicate=Counter(
                f"{prefix}_events_duplicate",
                "Valid events whose event_id was already applied (dropped, counted once).",
                ["type"],
                registry=registry,
            ),
            events_late=Counter(
                f"{prefix}_events_late",
                "Valid events older than the kept horizon behind the event-time clock.",
                ["type"],
                registry=registry,
            ),
        )
