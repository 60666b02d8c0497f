"""The simulated center behaves like one: valid, ordered events whose KPIs react to load.

KPIs are computed here from the events with a few lines each, independently of stream_app's
KPI code, so a simulator bug cannot hide behind an engine bug.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from stream_app.events import DEFAULT_MIN_TIME_MS, check_lines
from stream_app.simulator import batch_events
from stream_app.simulator.clock import LocalTime
from stream_app.simulator.incidents import parse_incident
from stream_app.simulator.model import Simulation
from stream_app.simulator.scenario import Scenario, default_scenario

pytestmark = pytest.mark.unit

Event = dict[str, Any]
MONDAY = datetime(2026, 11, 16, tzinfo=UTC).timestamp()
"""A Monday midnight (UTC): the default center's weekday pattern starts here."""
HOUR = 3600.0


def simulate(
    scenario: Scenario, *, start: float = MONDAY, hours: float, seed: int = 1, incidents: Any = ()
) -> list[tuple[int, Event]]:
    """``(occurred_at ms, event)`` of ``hours`` of simulated time from ``start``."""
    simulation = Simulation(scenario, start=start, seed=seed, incidents=incidents)
    end_ms = (start + hours * HOUR) * 1000
    out = []
    for ms, event in simulation.timed_events():
        if ms >= end_ms:
            break
        out.append((ms, event))
    return out


def at_ms(event: Event) -> int:
    """``occurred_at`` as epoch ms, parsed the plain way (not with the simulator's formatter)."""
    moment = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))
    return round(moment.timestamp() * 1000)


def queue_kpis(
    events: Iterable[tuple[int, Event]], lo: float, hi: float, queue: str | None = None
) -> tuple[float, float, int]:
    """(abandonment, service level at 20 s, contacts that left the queue) in [lo, hi)."""
    answered = abandoned = within = 0
    for ms, event in events:
        if not lo * 1000 <= ms < hi * 1000 or (queue and event.get("queue") != queue):
            continue
        if event["type"] == "contact.answered":
            answered += 1
            within += event["wait_seconds"] <= 20
        elif event["type"] == "contact.abandoned":
            abandoned += 1
    left = answered + abandoned
    return abandoned / left, within / left, left


def test_same_seed_same_events_other_seed_other_events() -> None:
    """batch_events is reproducible per seed, and the seed matters."""
    first = batch_events(3000, seed=5)
    assert first == batch_events(3000, seed=5)
    other = batch_events(3000, seed=6)
    assert [e["occurred_at"] for e in other] != [e["occurred_at"] for e in first]
    assert len(first) == 3000


def test_every_event_of_a_20k_run_is_valid_unique_and_in_order() -> None:
    """20,000 events with incidents all pass the worker's decoder, ids unique, times sorted."""
    local = LocalTime()
    incidents = [
        parse_incident(spec, relative_to=MONDAY, sim_start=MONDAY, local=local)
        for spec in (
            "abandon-spike:queue=billing,at=09:00,for=30m",
            "understaffed:queue=support,at=+10h,for=1h",
            "surge:queue=sales,at=14:00,for=20m,factor=4",
        )
    ]
    simulation = Simulation(default_scenario(), start=MONDAY, seed=11, incidents=incidents)
    events = [event for _, event in zip(range(20_000), simulation.timed_events(), strict=False)]
    assert len(events) == 20_000
    last_ms = at_ms(events[-1][1])
    summary = check_lines(
        (orjson.dumps(e) for _, e in events), min_time_ms=DEFAULT_MIN_TIME_MS, now_ms=last_ms
    )
    assert summary.rejected_total == 0, summary.render_text()
    assert summary.accepted == 20_000
    assert set(summary.accepted_by_type) == {
        "contact.started",
        "contact.answered",
        "contact.resolved",
        "contact.abandoned",
        "survey.submitted",
        "customer.status",
    }
    assert len({e["event_id"] for _, e in events}) == 20_000
    times = [at_ms(e) for _, e in events]
    assert times == sorted(times)
    assert times == [ms for ms, _ in events]
    for _, event in events:  # what the contract makes optional, the simulator always sends
        if event["type"] in ("contact.answered", "contact.resolved"):
            assert event["team"]
        assert event["occurred_at"].endswith("Z")
        assert len(event["occurred_at"]) == len("2026-11-16T00:00:00.000Z")


def test_night_is_quiet_peak_is_busy_weekend_lighter() -> None:
    """Arrivals follow the clock: night hours a few percent of the morning peak; Sunday light."""
    events = simulate(default_scenario(), hours=7 * 24)
    per_hour: Counter[tuple[int, int]] = Counter()
    for ms, event in events:
        if event["type"] == "contact.started":
            seconds = ms / 1000 - MONDAY
            per_hour[int(seconds // 86400), int(seconds % 86400 // HOUR)] += 1
    weekdays = range(5)
    night = sum(per_hour[d, h] for d in weekdays for h in (1, 2, 3, 4)) / 20
    peak = sum(per_hour[d, h] for d in weekdays for h in (10,)) / 5
    lunch = sum(per_hour[d, 13] for d in weekdays) / 5
    print(f"started per hour: night {night:.1f}, peak {peak:.1f}, 13 h {lunch:.1f}")
    assert night < 0.1 * peak
    assert lunch < 0.9 * peak
    monday = sum(per_hour[0, h] for h in range(24))
    sunday = sum(per_hour[6, h] for h in range(24))
    assert sunday < 0.5 * monday


def test_default_center_serves_the_morning_peak_decently() -> None:
    """9-12 h on weekdays: service level 75-95 %, abandonment a few percent (voice and chat)."""
    events = simulate(default_scenario(), hours=3 * 24, seed=2)
    voice_chat = [(ms, e) for ms, e in events if e.get("channel") in ("voice", "chat")]
    mornings = [(MONDAY + d * 86400 + 9 * HOUR, MONDAY + d * 86400 + 12 * HOUR) for d in range(3)]
    results = [queue_kpis(voice_chat, lo, hi) for lo, hi in mornings]
    abandoned = sum(a * n for a, _, n in results) / sum(n for *_, n in results)
    service = sum(s * n for _, s, n in results) / sum(n for *_, n in results)
    print(f"weekday mornings: service level {service:.1%}, abandonment {abandoned:.1%}")
    assert 0.75 <= service <= 0.95
    assert 0.01 <= abandoned <= 0.07


def test_understaffed_center_waits_longer_and_loses_more_customers() -> None:
    """The same traffic with 70 % of the agents: clearly more abandons, lower service level."""
    normal = simulate(default_scenario(), hours=24, seed=3)
    short = simulate(default_scenario().staffed(0.7), hours=24, seed=3)
    ab_normal, sl_normal, _ = queue_kpis(normal, MONDAY, MONDAY + 86400)
    ab_short, sl_short, _ = queue_kpis(short, MONDAY, MONDAY + 86400)
    print(
        f"normal: abandonment {ab_normal:.1%}, SL {sl_normal:.1%}; "
        f"understaffed: abandonment {ab_short:.1%}, SL {sl_short:.1%}"
    )
    assert ab_short > 2 * ab_normal
    assert sl_short < sl_normal - 0.15


def test_understaffed_incident_hits_its_queue_in_its_window() -> None:
    """Half of support's agents offline for 2 h: support's abandonment soars, SL collapses."""
    local = LocalTime()
    incident = parse_incident(
        "understaffed:queue=support,at=09:30,for=2h,agents=50%",
        relative_to=MONDAY,
        sim_start=MONDAY,
        local=local,
    )
    scenario = default_scenario().scaled(2)
    base = simulate(scenario, hours=12, seed=4)
    hit = simulate(scenario, hours=12, seed=4, incidents=[incident])
    window = (MONDAY + 10 * HOUR, MONDAY + 11.5 * HOUR)
    ab_base, sl_base, _ = queue_kpis(base, *window, queue="support")
    ab_hit, sl_hit, _ = queue_kpis(hit, *window, queue="support")
    print(f"support 10-11:30: normal {ab_base:.1%}/{sl_base:.1%}, hit {ab_hit:.1%}/{sl_hit:.1%}")
    assert ab_hit > 3 * ab_base
    assert sl_hit < sl_base - 0.3


def test_abandon_spike_raises_its_queue_only() -> None:
    """An abandon spike on billing: its ratio in the window > 2x the hour before; others calm."""
    local = LocalTime()
    incident = parse_incident(
        "abandon-spike:queue=billing,at=10:00,for=1h",
        relative_to=MONDAY,
        sim_start=MONDAY,
        local=local,
    )
    scenario = default_scenario().scaled(3)
    base = simulate(scenario, hours=12, seed=5)
    spike = simulate(scenario, hours=12, seed=5, incidents=[incident])
    before = (MONDAY + 9 * HOUR, MONDAY + 10 * HOUR)
    window = (MONDAY + 10 * HOUR, MONDAY + 11 * HOUR)
    ab_before, _, _ = queue_kpis(spike, *before, queue="billing")
    ab_window, _, _ = queue_kpis(spike, *window, queue="billing")
    print(f"billing abandonment: hour before {ab_before:.1%}, during the spike {ab_window:.1%}")
    assert ab_window > 2 * ab_before
    assert ab_window > 0.12
    for queue in ("support", "sales", "tech", "retention"):
        calm, _, n = queue_kpis(base, *window, queue=queue)
        during, _, _ = queue_kpis(spike, *window, queue=queue)
        assert during <= calm + 0.05, (queue, calm, during, n)


def test_surge_multiplies_arrivals_in_its_window() -> None:
    """surge factor 3 on sales for an hour: about three times the sales contacts started."""
    local = LocalTime()
    incident = parse_incident(
        "surge:queue=sales,at=14:00,for=1h,factor=3",
        relative_to=MONDAY,
        sim_start=MONDAY,
        local=local,
    )
    base = simulate(default_scenario().scaled(2), hours=15, seed=6)
    surge = simulate(default_scenario().scaled(2), hours=15, seed=6, incidents=[incident])

    def started(events: list[tuple[int, Event]], queue: str) -> int:
        lo, hi = (MONDAY + 14 * HOUR) * 1000, (MONDAY + 15 * HOUR) * 1000
        return sum(
            1
            for ms, e in events
            if lo <= ms < hi and e["type"] == "contact.started" and e["queue"] == queue
        )

    ratio = started(surge, "sales") / started(base, "sales")
    assert 2.3 < ratio < 3.7
    assert started(surge, "claims") == pytest.approx(started(base, "claims"), rel=0.1)


def test_unresolved_issues_come_back_with_the_same_reason_within_a_week() -> None:
    """Repeat contacts of the same customer and reason exist, mostly after unresolved ones."""
    events = simulate(default_scenario(), hours=8 * 24, seed=7)
    handled: dict[tuple[str, str], list[tuple[int, bool]]] = defaultdict(list)
    for ms, event in events:
        if event["type"] == "contact.resolved":
            handled[event["customer_id"], event["reason"]].append((ms, event["resolved"]))
    repeated = Counter[bool]()
    firsts = Counter[bool]()
    for contacts in handled.values():
        for n, (ms, resolved) in enumerate(contacts):
            if ms / 1000 >= MONDAY + 86400:
                break  # only the first day's contacts have their whole week simulated
            firsts[resolved] += 1
            if n + 1 < len(contacts) and contacts[n + 1][0] - ms <= 7 * 86400 * 1000:
                repeated[resolved] += 1
    unresolved_rate = repeated[False] / firsts[False]
    resolved_rate = repeated[True] / firsts[True]
    print(f"repeat within 7 days: unresolved {unresolved_rate:.0%}, resolved {resolved_rate:.0%}")
    assert repeated[False] + repeated[True] > 150
    assert unresolved_rate > 0.3
    assert resolved_rate < 0.15


def test_surveys_come_after_their_contact_and_depend_on_the_outcome() -> None:
    """Each survey follows its contact's end; resolved contacts get better CSAT than others."""
    events = simulate(default_scenario(), hours=4 * 24, seed=8)
    ended: dict[str, int] = {}
    resolved: dict[str, bool] = {}
    scores: dict[bool, list[int]] = {True: [], False: []}
    surveys = with_queue = 0
    for ms, event in events:
        if event["type"] in ("contact.resolved", "contact.abandoned"):
            ended[event["contact_id"]] = ms
            resolved[event["contact_id"]] = event.get("resolved", False)
        elif event["type"] == "survey.submitted":
            surveys += 1
            with_queue += "queue" in event
            assert ms > ended[event["contact_id"]]
            if event["metric"] == "csat" and event.get("scale", 5) == 5:
                scores[resolved[event["contact_id"]]].append(event["score"])
    satisfied = {k: sum(s >= 4 for s in v) / len(v) for k, v in scores.items()}
    print(f"CSAT satisfied: resolved {satisfied[True]:.0%}, unresolved {satisfied[False]:.0%}")
    assert surveys > 500
    assert 0.2 * surveys < with_queue < 0.6 * surveys  # the rest are enriched by ccmon
    assert satisfied[True] > satisfied[False] + 0.4


def test_a_normal_day_meets_the_csat_floor_and_a_positive_nps() -> None:
    """Without incidents the demo center sits near its targets (deploy/kpi-targets.yaml: CSAT
    80 %, alert floor 70 %; NPS 30, floor 0), so the CSAT-drop alert stays quiet."""
    events = [event for _, event in simulate(default_scenario(), hours=3 * 24, seed=11)]
    csat = [e for e in events if e["type"] == "survey.submitted" and e["metric"] == "csat"]
    satisfied = sum(e["score"] >= (9 if e.get("scale", 5) == 10 else 4) for e in csat) / len(csat)
    nps = [e["score"] for e in events if e["type"] == "survey.submitted" and e["metric"] == "nps"]
    score = 100 * (sum(s >= 9 for s in nps) - sum(s <= 6 for s in nps)) / len(nps)
    print(f"CSAT {satisfied:.1%} of {len(csat)}, NPS {score:.0f} of {len(nps)}")
    assert 0.74 < satisfied < 0.86
    assert 15 < score < 65


def test_customers_come_back_and_sign_up_and_churn() -> None:
    """Customers are reused across contacts; status events are rare sign-ups and churns."""
    events = simulate(default_scenario(), hours=3 * 24, seed=9)
    per_customer = Counter(e["customer_id"] for _, e in events if e["type"] == "contact.started")
    statuses = Counter(e["status"] for _, e in events if e["type"] == "customer.status")
    assert sum(1 for n in per_customer.values() if n > 1) > 100
    assert statuses["active"] > 20
    assert statuses["churned"] > 10
    assert sum(statuses.values()) < 0.05 * len(events)


def test_rate_scales_events_per_second_and_keeps_the_service_level() -> None:
    """Four times the target rate: about four times the events at the peak, SL not worse."""
    base = default_scenario()
    measured = {}
    for rate in (0.2, 0.8):
        scenario = base.scaled(rate / base.peak_events_per_s())
        events = simulate(scenario, hours=11, seed=10)
        peak = [(ms, e) for ms, e in events if ms >= (MONDAY + 10 * HOUR) * 1000]
        _, service, _ = queue_kpis(peak, MONDAY + 10 * HOUR, MONDAY + 11 * HOUR)
        measured[rate] = (len(peak) / HOUR, service)
    print(f"rate -> (events/s at 10-11 h, SL): {measured}")
    (low_eps, low_sl), (high_eps, high_sl) = measured[0.2], measured[0.8]
    assert 3.4 < high_eps / low_eps < 4.6
    assert low_eps == pytest.approx(0.2, rel=0.3)
    assert high_sl >= low_sl - 0.05


def test_batch_events_speed() -> None:
    """batch_events(100_000): timing printed for the record, not asserted."""
    t0 = time.perf_counter()
    events = batch_events(100_000)
    seconds = time.perf_counter() - t0
    print(f"batch_events(100_000): {seconds:.2f} s, {len(events) / seconds:,.0f} events/s")
    assert len(events) == 100_000
