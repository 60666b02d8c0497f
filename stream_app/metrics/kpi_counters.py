"""All-time KPI counters for Prometheus, counted as the engine applies each event.

Monotonic counters of every numerator and denominator by queue and channel (and, in the
``ccmon_agent_*`` families, by agent and team), so PromQL gives any window and grouping. They are
incremented once per applied event (duplicates and replays never reach here), at the event's
dimensions as known when it is applied; the JSON API's windows stay exact when a later event
re-attributes a survey, these counters do not go back; surveys of a contact are counted once its
resolution is known, so they carry its agent. See docs/metrics.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from stream_app.engine.apply import survey_record as _survey_record
from stream_app.engine.contributions import (
    UNKNOWN,
    Dims,
    ParamsBook,
    State,
    fcr_issues,
    survey_amounts,
    survey_dims,
)
from stream_app.events import (
    ContactAbandoned,
    ContactAnswered,
    ContactResolved,
    ContactStarted,
    CustomerStatus,
    Event,
    SurveySubmitted,
)
from stream_app.kpi.formulas import is_short_abandon, within_service_level

FCR_MEASURES = ("issues", "resolved_first", "withdrawn")
QUEUE_COUNTERS = (
    "offered",
    "answered",
    "answered_wait_seconds",
    "answered_within_sl",
    "abandoned",
    "abandoned_short",
    "handled",
    "handle_seconds",
    "nps_responses",
    "nps_promoters",
    "nps_detractors",
    *(f"fcr_{n}{suffix}" for n in FCR_MEASURES for suffix in ("", "_retracted")),
)
AGENT_COUNTERS = (
    "answered",
    "answered_wait_seconds",
    "handled",
    "handle_seconds",
    "csat_responses",
    "csat_satisfied",
    "nps_responses",
    "nps_promoters",
    "nps_detractors",
    *(f"fcr_{n}{suffix}" for n in FCR_MEASURES for suffix in ("", "_retracted")),
)
CSAT_COUNTERS = ("csat_responses", "csat_satisfied", "csat_score")
WAIT_BUCKETS = (5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
OTHER_AGENTS = "(other)"


@dataclass
class KpiCounters:
    """The KPI counter families of one worker, created against a registry passed in."""

    book: ParamsBook
    queue: dict[str, Counter]
    csat: dict[str, Counter]
    agent: dict[str, Counter]
    wait: Histogram
    lag: Gauge
    agent_metrics: bool = True
    max_agents: int = 5000
    _agents_seen: set[str] | None = None
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
        def counter(name: str, labels: list[str], scope: str) -> Counter:
            return Counter(
                f"{prefix}_{name}",
                f"{name.replace('_', ' ')} ({scope}); docs/metrics.md",
                labels,
                registry=registry,
            )

        return cls(
            book=book,
            queue={n: counter(n, ["queue", "channel"], "per queue") for n in QUEUE_COUNTERS},
            csat={
                n: counter(n, ["queue", "channel", "scale"], "per queue and scale")
                for n in CSAT_COUNTERS
            },
            agent=(
                {
                    n: counter(f"agent_{n}", ["queue", "channel", "agent", "team"], "per agent")
                    for n in AGENT_COUNTERS
                }
                if agent_metrics
                else {}
            ),
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
            _agents_seen=set(),
        )

    # -- counting ----------------------------------------------------------------------------

    def on_change(self, stage: str, event: Event, old: bytes | None, new: State) -> None:
        """Engine hook: count one applied event (and FCR changes of its customer)."""
        self.lag.set(max(0.0, time.time() - event.occurred_at_ms / 1000))
        if stage == "contact":
            self._count_contact_event(event, new)
            self._count_contact_surveys(event, old, new)
        elif isinstance(event, ContactResolved):
            self._count_fcr(orjson.loads(old) if old else {}, new)
        elif isinstance(event, SurveySubmitted):
            self._count_survey(new["surveys"][-1], None)

    def count_late(self, event: Event) -> None:
        """A late event (no window, no state): count it at its own dimensions, all-time only.

        Surveys carry only their own fields (else ``(unknown)``); FCR needs the customer's
        history, so a late resolved event counts as handled but not in FCR.
        """
        if isinstance(event, SurveySubmitted):
            self._count_survey(_survey_record(event), None)
        elif not isinstance(event, CustomerStatus):
            self._count_contact_event(event, {})

    def _child(self, kind: str, name: str, labels: tuple[str, ...]) -> Any:
        key = (kind, name, labels)
        child = self._children.get(key)
        if child is None:
            family: Counter | Histogram
            if kind == "wait":
                family = self.wait
            else:
                family = {"queue": self.queue, "csat": self.csat, "agent": self.agent}[kind][name]
            child = self._children[key] = family.labels(*labels)
        return child

    def _inc(self, name: str, dims: Dims, amount: float = 1.0) -> None:
        self._child("queue", name, (dims.queue, dims.channel)).inc(amount)

    def _inc_agent(self, name: str, dims: Dims, amount: float = 1.0) -> None:
        if not self.agent or dims.agent is None:
            return
        agent = dims.agent
        seen = self._agents_seen if self._agents_seen is not None else set()
        if agent not in seen:
            if len(seen) >= self.max_agents:
                agent = OTHER_AGENTS
            else:
                seen.add(agent)
        labels = (dims.queue, dims.channel, agent, dims.team or UNKNOWN)
        self._child("agent", name, labels).inc(amount)

    def _count_contact_event(self, event: Event, state: State) -> None:
        if isinstance(event, ContactStarted):
            self._inc("offered", Dims(event.queue, event.channel))
        elif isinstance(event, ContactAnswered):
            dims = Dims(event.queue, event.channel, event.agent_id, event.team)
            for name, amount in (("answered", 1.0), ("answered_wait_seconds", event.wait_seconds)):
                self._inc(name, dims, amount)
                self._inc_agent(name, dims, amount)
            if within_service_level(event.wait_seconds, self.book.for_queue(event.queue)):
                self._inc("answered_within_sl", dims)
            self._child("wait", "", (event.queue, "answered")).observe(event.wait_seconds)
        elif isinstance(event, ContactAbandoned):
            dims = Dims(event.queue, event.channel)
            self._inc("abandoned", dims)
            if is_short_abandon(event.wait_seconds, self.book.for_queue(event.queue)):
                self._inc("abandoned_short", dims)
            self._child("wait", "", (event.queue, "abandoned")).observe(event.wait_seconds)
        elif isinstance(event, ContactResolved):
            dims = Dims(event.queue, event.channel, event.agent_id, event.team)
            handle = event.talk_seconds + event.hold_seconds + event.wrap_seconds
            for name, amount in (("handled", 1.0), ("handle_seconds", handle)):
                self._inc(name, dims, amount)
                self._inc_agent(name, dims, amount)

    def _count_contact_surveys(self, event: Event, old: bytes | None, new: State) -> None:
        """Count a contact's surveys once its resolution (and so its agent) is known.

        A survey that arrives first waits for the resolved event, so the counters attribute it
        as the JSON API does; surveys of a contact never resolved are not counted here.
        """
        if isinstance(event, SurveySubmitted) and new.get("resolved"):
            self._count_survey(new["surveys"][-1], new)
        elif isinstance(event, ContactResolved) and len(new.get("resolved", ())) == 1:
            for survey in new.get("surveys", ()):
                self._count_survey(survey, new)

    def _count_survey(self, survey: State, contact: State | None) -> None:
        dims = survey_dims(survey, contact)
        amounts = survey_amounts(survey, self.book.for_queue(dims.queue))
        if survey["m"] == "csat":
            scale = str(survey.get("sc") or 5)
            labels = (dims.queue, dims.channel, scale)
            self._child("csat", "csat_responses", labels).inc()
            self._child("csat", "csat_satisfied", labels).inc(amounts["csat_satisfied"])
            self._child("csat", "csat_score", labels).inc(survey["s"])
            self._inc_agent("csat_responses", dims)
            self._inc_agent("csat_satisfied", dims, amounts["csat_satisfied"])
            return
        for name in ("nps_responses", "nps_promoters", "nps_detractors"):
            self._inc(name, dims, amounts[name])
            self._inc_agent(name, dims, amounts[name])

    def _count_fcr(self, old: State, new: State) -> None:
        """Count the change in a customer's issues, credits and withdrawals.

        Contacts can arrive out of event-time order, so an earlier issue can turn out to be a
        repeat: what goes away is counted in ``*_retracted_total`` (counters never go down),
        and ``X_total - X_retracted_total`` is exact.
        """
        before = fcr_issues(old, self.book) if old else {}
        after = fcr_issues(new, self.book)
        for contact_id in before.keys() | after.keys():
            was, now = before.get(contact_id), after.get(contact_id)
            dims = (now or was).dims  # type: ignore[union-attr]  # one of them exists
            for name, a, b in (
                ("fcr_issues", was is not None, now is not None),
                (
                    "fcr_resolved_first",
                    bool(was and was.resolved_first),
                    bool(now and now.resolved_first),
                ),
                ("fcr_withdrawn", bool(was and was.withdrawn), bool(now and now.withdrawn)),
            ):
                if b and not a:
                    self._inc(name, dims)
                    self._inc_agent(name, dims)
                elif a and not b:
                    self._inc(f"{name}_retracted", dims)
                    self._inc_agent(f"{name}_retracted", dims)
