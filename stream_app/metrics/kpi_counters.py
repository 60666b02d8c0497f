"""All-time KPI counters for Prometheus, fed by the same contribution deltas as the window view.

Monotonic counters of every numerator and denominator by queue and channel (and, in the
``ccmon_agent_*`` families, by agent and team), so PromQL gives any window and grouping. The
engine hands over what each state update took away and added (``engine.contributions``, the one
place an event becomes counts): what is added goes to ``X_total``, what is taken away to
``X_retracted_total`` (counters never go down), so ``X_total - X_retracted_total`` equals the sum
of the API's windows. Only a survey (moved to its contact's agent when the resolution arrives)
and an FCR issue (re-ordered by a late contact) are ever taken away. See docs/metrics.md.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from stream_app.engine.windows import UNKNOWN, Contribution
from stream_app.events import ContactAbandoned, ContactAnswered, Event
from stream_app.kpi.formulas import ParamsBook

FCR_MEASURES = ("issues", "resolved_first", "withdrawn")
FCR_COUNTERS = tuple(f"fcr_{n}" for n in FCR_MEASURES)
NPS_COUNTERS = ("nps_responses", "nps_promoters", "nps_detractors")
QUEUE_COUNTERS = (
    "offered",
    "answered",
    "answered_wait_seconds",
    "answered_within_sl",
    "abandoned",
    "abandoned_short",
    "handled",
    "handle_seconds",
    *NPS_COUNTERS,
    *FCR_COUNTERS,
)
AGENT_COUNTERS = (
    "answered",
    "answered_wait_seconds",
    "handled",
    "handle_seconds",
    "csat_responses",
    "csat_satisfied",
    *NPS_COUNTERS,
    *FCR_COUNTERS,
)
CSAT_COUNTERS = ("csat_responses", "csat_satisfied", "csat_score")
RETRACTABLE = frozenset((*CSAT_COUNTERS, *NPS_COUNTERS, *FCR_COUNTERS))
"""Counters whose contributions can move: their ``_retracted`` families always exist."""
MS_COUNTERS = {
    "answered_wait_seconds_sum": "answered_wait_seconds",
    "handle_seconds_sum": "handle_seconds",
}
"""Contribution names in integer milliseconds -> the counter in seconds."""
WAIT_BUCKETS = (5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
OTHER_AGENTS = "(other)"
QUEUE_LABELS = ["queue", "channel"]
CSAT_LABELS = ["queue", "channel", "scale"]
AGENT_LABELS = ["queue", "channel", "agent", "team"]


@dataclass
class KpiCounters:
    """The KPI counter families of one worker, created against a registry passed in."""

    book: ParamsBook
    registry: CollectorRegistry
    prefix: str
    families: dict[tuple[str, str], Counter]
    """(kind: queue | csat | agent, counter name with ``_retracted`` when so) -> family."""
    wait: Histogram
    lag: Gauge
    agent_metrics: bool = True
    max_agents: int = 5000
    _agents_seen: set[str] = field(default_factory=set)
    _children: dict[tuple[str, str, tuple[str, ...]], Any] = field(default_factory=dict)
    """(family kind, counter name, label values) -> the labelled child: ``labels()`` costs
    more than the ``inc()`` itself, and a child once created lives as long as the family."""

    @classmethod
    def create(
        cls,
        registry: CollectorRegistry,
        book: ParamsBook,
        *,
        agent_metrics: bool = True,
        max_agents: int = 5000,
        prefix: str = "ccmon",
    ) -> KpiCounters:
        counters = cls(
            book=book,
            registry=registry,
            prefix=prefix,
            families={},
            wait=Histogram(
                f"{prefix}_wait_seconds",
                "Wait before a contact was answered or abandoned.",
                ["queue", "outcome"],
                buckets=WAIT_BUCKETS,
                registry=registry,
            ),
            lag=Gauge(
                f"{prefix}_processing_lag_seconds",
                "Wall clock minus occurred_at of the last event applied by this worker.",
                registry=registry,
            ),
            agent_metrics=agent_metrics,
            max_agents=max_agents,
        )
        kinds = {"queue": QUEUE_COUNTERS, "csat": CSAT_COUNTERS}
        if agent_metrics:
            kinds["agent"] = AGENT_COUNTERS
        for kind, names in kinds.items():
            for name in names:
                counters._family(kind, name)
                if name in RETRACTABLE:
                    counters._family(kind, f"{name}_retracted")
        return counters

    def _family(self, kind: str, name: str) -> Counter:
        """The family of ``name``; created on first use for a retraction nobody expected."""
        family = self.families.get((kind, name))
        if family is None:
            labels, scope, full = {
                "queue": (QUEUE_LABELS, "per queue", name),
                "csat": (CSAT_LABELS, "per queue and scale", name),
                "agent": (AGENT_LABELS, "per agent", f"agent_{name}"),
            }[kind]
            family = self.families[(kind, name)] = Counter(
                f"{self.prefix}_{full}",
                f"{name.replace('_', ' ')} ({scope}); docs/metrics.md",
                labels,
                registry=self.registry,
            )
        return family

    # -- counting ----------------------------------------------------------------------------

    def count(
        self,
        events: Sequence[Event],
        removed: Iterable[Contribution],
        added: Iterable[Contribution],
    ) -> None:
        """Engine hook: one state update's applied events and its contribution delta."""
        if events:
            self.lag.set(max(0.0, time.time() - events[-1].occurred_at_ms / 1000))
        for event in events:
            if isinstance(event, ContactAnswered | ContactAbandoned):
                outcome = "answered" if isinstance(event, ContactAnswered) else "abandoned"
                self._child("wait", "", (event.queue, outcome)).observe(event.wait_seconds)
        for contribution in removed:
            self._count(contribution, "_retracted")
        for contribution in added:
            self._count(contribution, "")

    def _count(self, contribution: Contribution, suffix: str) -> None:
        _, (queue, channel, agent, team), amounts, with_agent = contribution
        scale = next((n[15:] for n, _ in amounts if n.startswith("csat_responses_")), None)
        agent_labels = self._agent_labels(queue, channel, agent, team) if with_agent else None
        for name, amount in amounts:
            value: float = amount
            if name in MS_COUNTERS:
                name, value = MS_COUNTERS[name], amount / 1000
            elif name.startswith("csat_"):
                if name.startswith("csat_responses_"):
                    continue  # the scale label says it
                if name.startswith("csat_score_sum_"):
                    name = "csat_score"
                self._inc("csat", name + suffix, (queue, channel, scale or "5"), value)
                if agent_labels is not None and name in AGENT_COUNTERS:
                    self._inc("agent", name + suffix, agent_labels, value)
                continue
            self._inc("queue", name + suffix, (queue, channel), value)
            if agent_labels is not None and name in AGENT_COUNTERS:
                self._inc("agent", name + suffix, agent_labels, value)

    def _agent_labels(
        self, queue: str, channel: str, agent: str | None, team: str | None
    ) -> tuple[str, ...] | None:
        """Agent family labels; past ``max_agents`` distinct agents new ones share one series."""
        if not self.agent_metrics or agent is None:
            return None
        if agent not in self._agents_seen:
            if len(self._agents_seen) >= self.max_agents:
                agent = OTHER_AGENTS
            else:
                self._agents_seen.add(agent)
        return (queue, channel, agent, team or UNKNOWN)

    def _inc(self, kind: str, name: str, labels: tuple[str, ...], amount: float) -> None:
        if amount:
            self._child(kind, name, labels).inc(amount)
        elif (kind, name, labels) not in self._children:
            self._child(kind, name, labels)  # a zero still makes the series exist

    def _child(self, kind: str, name: str, labels: tuple[str, ...]) -> Any:
        key = (kind, name, labels)
        child = self._children.get(key)
        if child is None:
            family = self.wait if kind == "wait" else self._family(kind, name)
            child = self._children[key] = family.labels(*labels)
        return child
