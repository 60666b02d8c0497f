"""A deterministic multi-day event stream with every hard case of the spec, for comparisons.

It has duplicates, out-of-order and late events, surveys before and after their contact's
resolution (and surveys without a contact), repeat contacts within and beyond the FCR look-back
(with and without reasons), churn and rejoin across a month boundary, and short abandons.
Written from the spec, independently of the engine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

QUEUES = {"billing": "voice", "support": "chat", "sales": "voice", "claims": "email"}
TEAMS = {
    "a1": "red",
    "a2": "red",
    "a3": "blue",
    "a4": "blue",
    "a5": None,
    "a6": "green",
    "a7": "green",
    "a8": None,
}
REASONS = ["invoice", "password", "delivery", None]


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Dataset:
    """The stream in arrival order, and which events are deliberately late."""

    events: list[dict[str, Any]] = field(default_factory=list)
    late_event_ids: set[str] = field(default_factory=set)
    duplicates: int = 0


def generate(
    seed: int = 7,
    *,
    start: datetime = datetime(2026, 10, 27, 6, 0, tzinfo=UTC),
    days: int = 8,
    contacts_per_day: int = 220,
    customers: int = 160,
    late_days: int = 40,
) -> Dataset:
    """Events from `start` for `days` days, in a shuffled arrival order."""
    rng = random.Random(seed)
    timed: list[tuple[float, dict[str, Any]]] = []
    n_event = 0

    def add(
        kind: str, at: datetime, arrival_jitter_s: float = 0.0, **fields: Any
    ) -> dict[str, Any]:
        nonlocal n_event
        n_event += 1
        ev = {"event_id": f"ev-{n_event}", "type": kind, "occurred_at": iso(at), **fields}
        if rng.random() < 0.3:  # a third of the times as epoch milliseconds
            ev["occurred_at"] = int(at.timestamp() * 1000)
        timed.append((at.timestamp() + arrival_jitter_s, ev))
        return ev

    # Every customer is active before the stream starts; some churn, some come back, some join.
    for c in range(customers):
        add("customer.status", start - timedelta(days=30), customer_id=f"cu{c}", status="active")
    for c in rng.sample(range(customers), customers // 5):
        at = start + timedelta(days=rng.uniform(0, days))
        add("customer.status", at, customer_id=f"cu{c}", status="churned")
        if rng.random() < 0.3:
            add(
                "customer.status",
                at + timedelta(hours=rng.uniform(1, 40)),
                customer_id=f"cu{c}",
                status="active",
            )
    for c in range(customers, customers + 10):
        add(
            "customer.status",
            start + timedelta(days=rng.uniform(0, days)),
            customer_id=f"cu{c}",
            status="active",
        )

    n_contact = 0
    for day in range(days):
        for _ in range(contacts_per_day):
            n_contact += 1
            cid = f"k{n_contact}"
            # A small pool of heavy callers makes repeats within and beyond the look-back.
            customer = f"cu{rng.randrange(customers // 4 if rng.random() < 0.5 else customers)}"
            queue = rng.choice(list(QUEUES))
            channel = QUEUES[queue]
            t0 = start + timedelta(days=day, seconds=rng.uniform(0, 14 * 3600))
            reason = rng.choice(REASONS)
            jitter = rng.uniform(-900, 900)  # arrival out of event-time order by up to 15 min
            started = {
                "contact_id": cid,
                "customer_id": customer,
                "queue": queue,
                "channel": channel,
            }
            if reason:
                started["reason"] = reason
            add("contact.started", t0, jitter, **started)
            wait = round(rng.expovariate(1 / 25), 1)
            if rng.random() < 0.15:
                wait = rng.choice([round(rng.uniform(0, 5), 2), wait])  # some short abandons
                ab = {"contact_id": cid, "queue": queue, "channel": channel, "wait_seconds": wait}
                if rng.random() < 0.5:
                    ab["customer_id"] = customer
                add("contact.abandoned", t0 + timedelta(seconds=wait), jitter, **ab)
                continue
            agent = rng.choice(list(TEAMS))
            answered = {
                "contact_id": cid,
                "queue": queue,
                "channel": channel,
                "agent_id": agent,
                "wait_seconds": wait,
            }
            if TEAMS[agent]:
                answered["team"] = TEAMS[agent]
            t_ans = t0 + timedelta(seconds=wait)
            add("contact.answered", t_ans, jitter, **answered)
            talk, hold, wrap = (
                round(rng.uniform(60, 900), 1),
                rng.choice([0, 15, 42.5]),
                round(rng.uniform(5, 120), 1),
            )
            t_res = t_ans + timedelta(seconds=talk + hold + wrap)
            resolved = {
                "contact_id": cid,
                "customer_id": customer,
                "queue": queue,
                "channel": channel,
                "agent_id": agent,
                "talk_seconds": talk,
                "hold_seconds": hold,
                "wrap_seconds": wrap,
                "resolved": rng.random() < 0.75,
            }
            if TEAMS[agent]:
                resolved["team"] = TEAMS[agent]
            if reason:
                resolved["reason"] = reason
            add("contact.resolved", t_res, jitter, **resolved)
            if rng.random() < 0.45:
                # Surveys from 20 min before the resolution event (arrives first) to 6 h after.
                t_sv = t_res + timedelta(seconds=rng.uniform(-1200, 6 * 3600))
                survey: dict[str, Any] = {"customer_id": customer, "contact_id": cid}
                kind = rng.random()
                if kind < 0.45:
                    survey |= {"metric": "csat", "score": rng.randint(1, 5)}
                elif kind < 0.6:
                    survey |= {"metric": "csat", "scale": 10, "score": rng.randint(1, 10)}
                else:
                    survey |= {"metric": "nps", "score": rng.randint(0, 10)}
                if rng.random() < 0.1:
                    survey["queue"] = "sales"  # the survey's own dimension wins
                add("survey.submitted", t_sv, rng.uniform(-3600, 3600), **survey)
        # A survey with no contact at all, once a day.
        add(
            "survey.submitted",
            start + timedelta(days=day, hours=10),
            customer_id=f"cu{rng.randrange(customers)}",
            metric="nps",
            score=rng.randint(0, 10),
            queue="billing",
            channel="voice",
        )

    timed.sort(key=lambda item: item[0])
    stream = [ev for _, ev in timed]

    # Duplicates: exact copies re-sent a little later.
    dataset = Dataset()
    out: list[dict[str, Any]] = []
    for ev in stream:
        out.append(ev)
        if rng.random() < 0.03:
            out.insert(len(out) + rng.randint(0, 40), dict(ev))
            dataset.duplicates += 1
    # Late events: a whole contact far behind the clock, arriving at the end.
    for i in range(5):
        at = start + timedelta(days=days - late_days, hours=i)
        n_event += 1
        late = {
            "event_id": f"late-{i}",
            "type": "contact.started",
            "occurred_at": iso(at),
            "contact_id": f"late-k{i}",
            "customer_id": "cu1",
            "queue": "billing",
            "channel": "voice",
        }
        out.append(late)
        dataset.late_event_ids.add(late["event_id"])
    dataset.events = out
    return dataset
