"""Tests of the independent batch reference, and the one place it meets stream_app's formulas.

The hand-computed scenarios pin the reference to the spec's fine print (dedupe, survey
attribution, FCR look-back, CRR months, short abandons). The cross-check at the end feeds the
reference's counters to ``stream_app.kpi.formulas`` and requires the same KPI values as the
reference's own ``kpis_from_counters``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream_app.kpi import Counters, KpiParams, compute_kpis, crr_ratio
from tests.reference.batch_kpis import (
    Table,
    batch_counters,
    crr,
    day_start_iso,
    dedupe,
    kpis_from_counters,
    quarter_start_iso,
    to_ms,
)

pytestmark = pytest.mark.unit

Event = dict[str, Any]
_ids: Iterator[int] = itertools.count()
BASE = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)  # a Monday morning
ALL_TIME = ("all", "all")


def at(days: float = 0, minutes: float = 0, seconds: float = 0) -> str:
    """RFC 3339 time relative to BASE (test helper)."""
    return (BASE + timedelta(days=days, minutes=minutes, seconds=seconds)).isoformat()


def event(kind: str, occurred_at: str | int, **fields: Any) -> Event:
    """A valid event of ``kind`` with a fresh event_id unless one is given (test helper)."""
    event_id = fields.pop("event_id", f"ev-{next(_ids)}")
    return {"event_id": event_id, "type": kind, "occurred_at": occurred_at, **fields}


def started(contact: str, when: str, customer: str = "cu1", **kw: Any) -> Event:
    """A contact.started event, queue billing on voice by default (test helper)."""
    fields = {"queue": "billing", "channel": "voice", **kw}
    return event("contact.started", when, contact_id=contact, customer_id=customer, **fields)


def answered(contact: str, when: str, wait: float, **kw: Any) -> Event:
    """A contact.answered event by agent a1 of team t1 by default (test helper)."""
    fields = {"queue": "billing", "channel": "voice", "agent_id": "a1", "team": "t1", **kw}
    return event("contact.answered", when, contact_id=contact, wait_seconds=wait, **fields)


def abandoned(contact: str, when: str, wait: float, **kw: Any) -> Event:
    """A contact.abandoned event (test helper)."""
    fields = {"queue": "billing", "channel": "voice", **kw}
    return event("contact.abandoned", when, contact_id=contact, wait_seconds=wait, **fields)


def resolved(contact: str, when: str, customer: str = "cu1", ok: bool = True, **kw: Any) -> Event:
    """A contact.resolved event, 5 min talk, 1 min hold, 1 min wrap by default (test helper)."""
    fields = {
        "queue": "billing",
        "channel": "voice",
        "agent_id": "a1",
        "team": "t1",
        "talk_seconds": 300,
        "hold_seconds": 60,
        "wrap_seconds": 60,
        **kw,
    }
    return event(
        "contact.resolved", when, contact_id=contact, customer_id=customer, resolved=ok, **fields
    )


def survey(when: str, metric: str, score: int, customer: str = "cu1", **kw: Any) -> Event:
    """A survey.submitted event (test helper)."""
    return event("survey.submitted", when, customer_id=customer, metric=metric, score=score, **kw)


def status(customer: str, when: str, value: str) -> Event:
    """A customer.status event (test helper)."""
    return event("customer.status", when, customer_id=customer, status=value)


def row(table: Table, dim_kind: str = "all", dim_value: str = "all") -> dict[str, int | float]:
    """The all-time row of one dimension value, empty when absent (test helper)."""
    return table.get(("all", "all", dim_kind, dim_value), {})


# --------------------------------------------------------------------------------------------
# Time parsing and windows
# --------------------------------------------------------------------------------------------


def test_to_ms_reads_rfc3339_offsets_fractions_and_epoch_ms() -> None:
    """RFC 3339 with Z or an offset, fractions cut to ms, and integer epoch ms all parse."""
    assert to_ms("1970-01-01T00:00:00Z") == 0
    assert to_ms("1970-01-01T02:00:00.5+02:00") == 500
    assert to_ms("2024-05-06T09:00:00.123999999z") == to_ms("2024-05-06T09:00:00.123Z")
    assert to_ms(1_714_986_000_000) == to_ms("2024-05-06T09:00:00Z")
    with pytest.raises(ValueError, match="offset"):
        to_ms("2024-05-06T09:00:00")


def test_windows_quarter_hours_in_utc_days_in_timezone() -> None:
    """15-min windows are UTC quarter hours; days follow the timezone (22:30Z is next day)."""
    ts = to_ms("2024-05-09T22:37:00Z")
    assert quarter_start_iso(ts) == "2024-05-09T22:30:00+00:00"
    assert day_start_iso(ts, "UTC") == "2024-05-09T00:00:00+00:00"
    assert day_start_iso(ts, "Europe/Bucharest") == "2024-05-10T00:00:00+03:00"
    assert day_start_iso(to_ms("2018-11-04T12:00:00Z"), "America/Sao_Paulo") == (
        "2018-11-04T01:00:00-02:00"
    )


def test_event_counts_in_the_windows_of_its_own_occurred_at() -> None:
    """An answered event lands in all-time, its UTC day and its quarter hour."""
    table = batch_counters([answered("c1", "2024-05-09T22:37:00Z", 12)])
    assert table[("day", "2024-05-09T00:00:00+00:00", "queue", "billing")]["answered"] == 1
    assert table[("15m", "2024-05-09T22:30:00+00:00", "agent", "a1")]["answered"] == 1
    assert table[("all", "all", "all", "all")]["answered_wait_seconds_sum"] == 12.0


# --------------------------------------------------------------------------------------------
# Dedupe and breakdown rules
# --------------------------------------------------------------------------------------------


def test_duplicate_event_id_first_arrival_wins_across_types() -> None:
    """A repeated event_id is dropped, even with a different payload or type."""
    first = started("c1", at(), queue="billing", event_id="dup")
    again = started("c1", at(), queue="sales", event_id="dup")
    other_type = abandoned("c1", at(minutes=1), 30, event_id="dup")
    events = [first, again, other_type]
    assert [e for _, e in dedupe(events)] == [first]
    table = batch_counters(events)
    assert row(table, "queue", "billing") == {"offered": 1}
    assert row(table, "queue", "sales") == {}
    assert "abandoned" not in row(table)


def test_offered_abandons_and_service_level_have_no_agent_or_team_rows() -> None:
    """Agent and team rows carry answered and handled counters but never SL or abandons."""
    events = [
        started("c1", at()),
        answered("c1", at(seconds=15), 15),
        resolved("c1", at(minutes=10)),
        started("c2", at(minutes=1)),
        abandoned("c2", at(minutes=2), 60),
    ]
    table = batch_counters(events)
    agent = row(table, "agent", "a1")
    assert agent == {
        "answered": 1,
        "answered_wait_seconds_sum": 15.0,
        "handled": 1,
        "handle_seconds_sum": 420.0,
        "fcr_issues": 1,
        "fcr_resolved_first": 1,
        "fcr_withdrawn": 0,
    }
    assert row(table, "team", "t1") == agent
    queue = row(table, "queue", "billing")
    assert (queue["offered"], queue["answered_within_sl"], queue["abandoned"]) == (2, 1, 1)


def test_missing_team_is_unknown() -> None:
    """An answered or resolved event without team counts under team "(unknown)"."""
    table = batch_counters([answered("c1", at(), 5, team=None), resolved("c1", at(1), team=None)])
    assert row(table, "team", "(unknown)")["answered"] == 1
    assert row(table, "team", "(unknown)")["handled"] == 1


def test_short_abandons_with_a_5_second_threshold() -> None:
    """Threshold 5 s: a 3 s abandon leaves abandonment and SL, a 5 s abandon counts."""
    events = [answered(f"a{i}", at(minutes=i), 10) for i in range(8)]
    events += [abandoned("s1", at(minutes=9), 3), abandoned("s2", at(minutes=9), 5)]
    table = batch_counters(events, short_abandon_threshold_s=5)
    totals = row(table)
    assert (totals["abandoned"], totals["abandoned_short"]) == (2, 1)
    kpis = kpis_from_counters(totals)
    assert kpis["abandonment"] == pytest.approx(1 / 9)
    assert kpis["service_level"] == pytest.approx(8 / 9)
    default = row(batch_counters(events))
    assert default["abandoned_short"] == 0


def test_service_level_threshold_is_inclusive() -> None:
    """A wait of exactly the threshold is within service level."""
    table = batch_counters([answered("c1", at(), 20), answered("c2", at(), 20.5)])
    assert row(table)["answered_within_sl"] == 1


# --------------------------------------------------------------------------------------------
# Survey attribution
# --------------------------------------------------------------------------------------------


def test_survey_arriving_before_its_contact_is_attributed_through_contact_id() -> None:
    """A survey that arrives and occurs before the resolution gets the resolved event's
    agent and team, but counts in its own quarter hour."""
    events = [
        survey(at(minutes=5), "csat", 5, contact_id="c1"),
        started("c1", at(), queue="sales", channel="chat"),
        resolved("c1", at(minutes=20), queue="sales", channel="chat", agent_id="a7", team="t7"),
    ]
    table = batch_counters(events)
    for dim in [("queue", "sales"), ("channel", "chat"), ("agent", "a7"), ("team", "t7")]:
        assert row(table, *dim)["csat_satisfied"] == 1, dim
    quarter = ("15m", "2024-05-06T09:00:00+00:00", "agent", "a7")
    assert table[quarter]["csat_responses"] == 1
    assert "handled" not in table[quarter]  # the resolution is in the 09:15 quarter


def test_survey_without_resolution_uses_started_event_and_unknown_agent() -> None:
    """With only a started event, queue and channel come from it; agent and team are unknown."""
    events = [
        started("c1", at(), queue="sales", channel="email"),
        survey(at(minutes=5), "nps", 10, contact_id="c1"),
    ]
    table = batch_counters(events)
    assert row(table, "queue", "sales")["nps_promoters"] == 1
    assert row(table, "channel", "email")["nps_promoters"] == 1
    assert row(table, "agent", "(unknown)")["nps_responses"] == 1
    assert row(table, "team", "(unknown)")["nps_responses"] == 1


def test_survey_keeps_its_own_dimensions_and_fills_the_rest() -> None:
    """Dimensions on the survey win; each missing one comes from the resolved event."""
    events = [
        resolved("c1", at(), queue="sales", agent_id="a7", team="t7"),
        survey(at(), "csat", 9, scale=10, contact_id="c1", agent_id="a9"),
        survey(at(minutes=1), "csat", 2, customer="cu9"),  # no contact, no dimensions
    ]
    table = batch_counters(events)
    assert row(table, "agent", "a9")["csat_satisfied"] == 1
    assert row(table, "team", "t7")["csat_responses_10"] == 1
    assert row(table, "queue", "sales")["csat_score_sum_10"] == 9
    assert row(table, "queue", "(unknown)")["csat_score_sum_5"] == 2


# --------------------------------------------------------------------------------------------
# FCR
# --------------------------------------------------------------------------------------------


def fcr_row(table: Table, dim: tuple[str, str] = ALL_TIME) -> tuple[int, int, int]:
    """(issues, resolved first, withdrawn) of an all-time row (test helper)."""
    r = row(table, *dim)
    issues, credited = int(r.get("fcr_issues", 0)), int(r.get("fcr_resolved_first", 0))
    return issues, credited, int(r.get("fcr_withdrawn", 0))


def test_repeat_within_lookback_withdraws_in_first_contacts_window_and_agent() -> None:
    """A repeat 2 days later withdraws the credit from the first contact's day and agent."""
    events = [
        resolved("c1", at(), reason="billing", agent_id="a1"),
        resolved("c2", at(days=2), reason="billing", agent_id="a2", team="t2"),
    ]
    table = batch_counters(events)
    assert fcr_row(table) == (1, 1, 1)
    assert fcr_row(table, ("agent", "a1")) == (1, 1, 1)
    assert fcr_row(table, ("agent", "a2")) == (0, 0, 0)
    first_day = ("day", "2024-05-06T00:00:00+00:00", "all", "all")
    assert table[first_day]["fcr_withdrawn"] == 1
    assert "fcr_withdrawn" not in table[("day", "2024-05-08T00:00:00+00:00", "all", "all")]
    assert kpis_from_counters(row(table))["fcr"] == 0.0


def test_exactly_seven_days_later_is_still_a_repeat() -> None:
    """The look-back is inclusive: a contact exactly 7 days later repeats the issue."""
    events = [resolved("c1", at(), reason="x"), resolved("c2", at(days=7), reason="x")]
    assert fcr_row(batch_counters(events)) == (1, 1, 1)


def test_contact_beyond_lookback_starts_a_new_issue() -> None:
    """A contact 7 days and 1 ms later starts a new issue; neither credit is withdrawn."""
    later = (BASE + timedelta(days=7, milliseconds=1)).isoformat()
    events = [resolved("c1", at(), reason="x"), resolved("c2", later, reason="x")]
    assert fcr_row(batch_counters(events)) == (2, 2, 0)


def test_reasonless_repeat_matches_any_reason_but_not_the_reverse() -> None:
    """A contact without reason repeats any earlier one; one with a reason only its reason."""
    reasonless_repeat = [resolved("c1", at(), reason="billing"), resolved("c2", at(days=1))]
    assert fcr_row(batch_counters(reasonless_repeat)) == (1, 1, 1)
    other_reason = [resolved("c1", at(), reason="billing"), resolved("c2", at(1), reason="wifi")]
    assert fcr_row(batch_counters(other_reason)) == (2, 2, 0)
    after_reasonless = [resolved("c1", at()), resolved("c2", at(days=1), reason="billing")]
    assert fcr_row(batch_counters(after_reasonless)) == (2, 2, 0)


def test_other_customers_never_repeat() -> None:
    """Repeats are per customer."""
    events = [resolved("c1", at(), customer="cu1"), resolved("c2", at(1), customer="cu2")]
    assert fcr_row(batch_counters(events)) == (2, 2, 0)


def test_credit_is_withdrawn_once_and_only_if_given() -> None:
    """Two repeats withdraw one credit; an issue unresolved at first contact has none to lose."""
    twice = [resolved("c1", at()), resolved("c2", at(days=1)), resolved("c3", at(days=2))]
    assert fcr_row(batch_counters(twice)) == (1, 1, 1)
    unresolved = [resolved("c1", at(), ok=False), resolved("c2", at(days=1))]
    assert fcr_row(batch_counters(unresolved)) == (1, 0, 0)


def test_chained_repeat_belongs_to_the_first_issue_without_withdrawing_twice() -> None:
    """Day 0, 5 and 11 (same reason): day 11 repeats day 5's issue (started day 0) but is past
    that issue's look-back, so it neither withdraws nor starts an issue."""
    events = [
        resolved("c1", at(), reason="x"),
        resolved("c2", at(days=5), reason="x", ok=False),
        resolved("c3", at(days=11), reason="x"),
    ]
    assert fcr_row(batch_counters(events)) == (1, 1, 1)
    no_first_repeat = [resolved("c1", at(), reason="x"), resolved("c3", at(days=11), reason="x")]
    assert fcr_row(batch_counters(no_first_repeat)) == (2, 2, 0)


def test_fcr_follows_event_time_not_arrival_order() -> None:
    """A repeat that arrives before the first contact is still the repeat."""
    events = [
        resolved("c2", at(days=3), agent_id="a2"),
        resolved("c1", at(), agent_id="a1", ok=True),
    ]
    table = batch_counters(events)
    assert fcr_row(table, ("agent", "a1")) == (1, 1, 1)
    assert fcr_row(table, ("agent", "a2")) == (0, 0, 0)


def test_contact_counts_once_for_fcr_but_every_resolution_is_handled() -> None:
    """A transferred contact with two resolved events is handled twice, one FCR contact."""
    events = [
        resolved("c1", at(minutes=10), agent_id="a2", ok=True),
        resolved("c1", at(), agent_id="a1", ok=False),
    ]
    table = batch_counters(events)
    assert row(table)["handled"] == 2
    assert fcr_row(table) == (1, 0, 0)  # the earliest resolution (a1, unresolved) decides
    assert fcr_row(table, ("agent", "a1")) == (1, 0, 0)


# --------------------------------------------------------------------------------------------
# CRR
# --------------------------------------------------------------------------------------------


def test_crr_month_boundary_churn_join_and_rejoin() -> None:
    """February: churn inside the month loses, churn at the month's end does not, joiners and
    rejoiners follow the spec, and the latest status by occurred_at decides."""
    feb, mar = "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"
    events = [
        status("stays", "2024-01-10T00:00:00Z", "active"),
        status("churns", "2024-01-10T00:00:00Z", "active"),
        status("churns", "2024-02-15T00:00:00Z", "churned"),
        status("churns_at_end", "2024-01-10T00:00:00Z", "active"),
        status("churns_at_end", mar, "churned"),  # belongs to March
        status("joins", "2024-02-10T00:00:00Z", "active"),
        status("joins_at_start", feb, "active"),  # joined in February
        status("rejoins", "2024-01-10T00:00:00Z", "active"),
        status("rejoins", "2024-02-03T00:00:00Z", "churned"),
        status("rejoins", "2024-02-20T00:00:00Z", "active"),
        status("late_news", "2024-01-25T00:00:00Z", "active"),
        status("late_news", "2024-01-20T00:00:00Z", "churned"),  # arrives later, is older
        status("churned_before", "2024-01-05T00:00:00Z", "churned"),
    ]
    active_at_start, retained = crr(events, feb, mar)
    assert (active_at_start, retained) == (5, 4)  # stays, churns, at_end, rejoins, late_news


def test_crr_months_in_bucharest_start_at_local_midnight() -> None:
    """A churn at 22:30Z on 31 Jan is already February in Bucharest (+02:00)."""
    events = [
        status("cu1", "2024-01-10T00:00:00Z", "active"),
        status("cu1", "2024-01-31T22:30:00Z", "churned"),
    ]
    assert crr(events, "2024-02-01T00:00:00+02:00", "2024-03-01T00:00:00+02:00") == (1, 0)
    assert crr(events, "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z") == (0, 0)


def test_crr_seed_1000_to_800() -> None:
    """CRR seed through events: 1000 active, 200 churn during the month -> 80 %."""
    events = [status(f"cu{i}", "2024-01-15T00:00:00Z", "active") for i in range(1000)]
    events += [status(f"cu{i}", "2024-02-10T00:00:00Z", "churned") for i in range(200)]
    active_at_start, retained = crr(events, "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z")
    assert (active_at_start, retained) == (1000, 800)
    assert crr_ratio(active_at_start, retained) == pytest.approx(0.80)


# --------------------------------------------------------------------------------------------
# Seed examples through the reference
# --------------------------------------------------------------------------------------------


def test_seed_examples_through_the_reference() -> None:
    """The CSAT, FCR, AHT, NPS and abandonment seeds, as events, give the seed values."""
    events: list[Event] = []
    for i, score in enumerate((5, 5, 4, 4, 4, 3, 2, 5, 1, 4)):
        events.append(survey(at(minutes=i), "csat", score, customer=f"s{i}"))
    for i in range(100):  # 100 issues of distinct customers, 80 resolved, 1000 min in all
        talk = 400 if i % 2 else 600  # + 50 s hold + 50 s wrap: 600 s on average
        times = {"talk_seconds": talk, "hold_seconds": 50, "wrap_seconds": 50}
        events.append(resolved(f"c{i}", at(minutes=i), customer=f"f{i}", ok=i < 80, **times))
        # 50 % promoters, 40 % passives, 10 % detractors
        nps = 9 if i < 50 else 8 if i < 90 else 3
        events.append(survey(at(minutes=i), "nps", nps, customer=f"f{i}"))
        events.append(
            answered(f"q{i}", at(minutes=i), 5) if i < 80 else abandoned(f"q{i}", at(), 40)
        )
    kpis = kpis_from_counters(row(batch_counters(events)))
    assert kpis["csat"] == pytest.approx(0.70)
    assert kpis["csat_mean_5"] == pytest.approx(3.7)
    assert kpis["fcr"] == pytest.approx(0.80)
    assert kpis["aht_seconds"] == pytest.approx(600.0)
    assert kpis["nps"] == pytest.approx(40.0)
    assert kpis["abandonment"] == pytest.approx(0.20)


def test_kpis_from_counters_empty_is_no_data() -> None:
    """An empty row gives None for every KPI."""
    assert all(v is None for v in kpis_from_counters({}).values())


# --------------------------------------------------------------------------------------------
# Cross-check: reference counters through stream_app.kpi.formulas
# --------------------------------------------------------------------------------------------

QUEUES = ["billing", "sales"]
CHANNELS = ["voice", "chat", "email"]
AGENTS = ["a1", "a2", "a3"]
REASONS = [None, "billing", "wifi"]


@st.composite
def contact_events(draw: st.DrawFn, contact: str) -> list[Event]:
    """All events of one contact, at random times within 10 days (hypothesis strategy)."""
    minute = draw(st.integers(0, 10 * 24 * 60))
    customer = draw(st.sampled_from(["cu1", "cu2", "cu3"]))
    queue, channel = draw(st.sampled_from(QUEUES)), draw(st.sampled_from(CHANNELS))
    agent = draw(st.sampled_from(AGENTS))
    team = draw(st.sampled_from([None, "t1", "t2"]))
    wait = draw(st.sampled_from([0, 3, 5, 20, 20.5, 90]))
    out = [started(contact, at(minutes=minute), customer, queue=queue, channel=channel)]
    outcome = draw(st.sampled_from(["answered", "abandoned", "waiting"]))
    same = {"queue": queue, "channel": channel}
    if outcome == "abandoned":
        out.append(abandoned(contact, at(minutes=minute, seconds=wait), wait, **same))
    elif outcome == "answered":
        when = at(minutes=minute, seconds=wait)
        out.append(answered(contact, when, wait, agent_id=agent, team=team, **same))
        for leg in range(draw(st.integers(0, 2))):
            out.append(
                resolved(
                    contact,
                    at(minutes=minute + 5 + leg),
                    customer,
                    ok=draw(st.booleans()),
                    agent_id=agent,
                    team=team,
                    reason=draw(st.sampled_from(REASONS)),
                    talk_seconds=draw(st.integers(0, 900)),
                    **same,
                )
            )
    for _ in range(draw(st.integers(0, 2))):
        metric = draw(st.sampled_from(["csat", "nps"]))
        extra: dict[str, Any] = {"contact_id": contact}
        if metric == "csat":
            scale = draw(st.sampled_from([5, 10]))
            extra["scale"] = scale
            score = draw(st.integers(1, scale))
        else:
            score = draw(st.integers(0, 10))
        when = at(minutes=minute + draw(st.integers(-10, 600)))
        out.append(survey(when, metric, score, customer, **extra))
    return out


@st.composite
def event_streams(draw: st.DrawFn) -> list[Event]:
    """Several contacts' events in shuffled arrival order, with some duplicates."""
    events: list[Event] = []
    for n in range(draw(st.integers(1, 16))):
        events.extend(draw(contact_events(f"c{n}")))
    arrival = draw(st.permutations(events))
    duplicates = draw(st.lists(st.sampled_from(arrival), max_size=3))
    return [*arrival, *duplicates]


def assert_same_kpis(counters: dict[str, int | float], params: KpiParams) -> None:
    """stream_app's compute_kpis and the reference's kpis_from_counters agree on one row."""
    ours = compute_kpis(Counters.from_dict(counters), params).to_dict()
    theirs = kpis_from_counters(counters)
    assert set(ours) == set(theirs)
    for name, value in theirs.items():
        if value is None:
            assert ours[name] is None, (name, counters)
        else:
            other = ours[name]
            assert other is not None, (name, counters)
            assert math.isclose(other, value, rel_tol=1e-12, abs_tol=1e-12), (name, counters)


@settings(max_examples=60, deadline=None)
@given(events=event_streams(), short=st.sampled_from([0.0, 5.0]))
def test_reference_counters_give_the_same_kpis_in_stream_app(
    events: list[Event], short: float
) -> None:
    """For random event streams, every reference row gives identical KPIs in both codebases."""
    params = KpiParams(short_abandon_threshold_s=short)
    table = batch_counters(events, short_abandon_threshold_s=short)
    assert table, "every stream has at least one started event"
    for counters in table.values():
        assert_same_kpis(counters, params)


def test_seed_rows_give_the_same_kpis_in_stream_app() -> None:
    """The seed-example rows agree between the reference and stream_app."""
    events = [survey(at(minutes=i), "csat", s) for i, s in enumerate((5, 5, 4, 4, 4, 3, 2, 5))]
    events += [resolved("c1", at()), resolved("c2", at(1)), answered("c3", at(), 25)]
    events += [abandoned("c4", at(), 2), survey(at(), "nps", 6)]
    for counters in batch_counters(events).values():
        assert_same_kpis(counters, KpiParams())
