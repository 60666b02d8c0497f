"""Unit tests of the pure KPI arithmetic: seed examples, spec fine print, windows and time zones.

Every seed example is built the way the engine builds it: real events applied to contact and
customer states, classified by ``engine.contributions`` (the one place an event becomes counts)
and summed into ``Counters``, never by writing counter values directly.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream_app.engine.apply import apply_to_contact, apply_to_customer
from stream_app.engine.contributions import contact_contributions, customer_contributions
from stream_app.events import Event
from stream_app.kpi import (
    COUNTER_NAMES,
    Counters,
    KpiParams,
    ParamsBook,
    abandonment_ratio,
    aht_seconds,
    asa_seconds,
    compute_kpis,
    crr_ratio,
    csat_mean,
    csat_ratio,
    csat_satisfied,
    day_start_ms,
    fcr_ratio,
    fcr_reason_matches,
    is_short_abandon,
    local_instant_ms,
    meets_target,
    month_start_ms,
    next_day_start_ms,
    next_month_start_ms,
    nps_class,
    nps_score,
    parse_reset,
    service_level_ratio,
    tumbling_start_ms,
    within_fcr_lookback,
    within_service_level,
)
from tests.factories import valid_event

pytestmark = pytest.mark.unit

DEFAULTS = KpiParams()
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ms(iso: str) -> int:
    """Epoch ms of an ISO time with offset (test helper)."""
    return (datetime.fromisoformat(iso) - EPOCH) // timedelta(milliseconds=1)


def local_iso(ts_ms: int, tz: str) -> str:
    """ISO local time of epoch ms in ``tz`` (test helper)."""
    return datetime.fromtimestamp(ts_ms / 1000, ZoneInfo(tz)).isoformat()


class Tally:
    """Events of one queue through the engine's classifier, summed into ``Counters``.

    Each call is one contact (or one customer for FCR) with fresh ids, so the counts are what
    ``contact_contributions``/``customer_contributions`` make of exactly those events.
    """

    def __init__(self, params: KpiParams = DEFAULTS) -> None:
        self.book = ParamsBook(default=params)
        self.total = Counters()
        self._n = 0

    def _contact(self, *events: Event, customer: bool = False) -> None:
        state: dict[str, Any] = {}
        for e in events:
            (apply_to_customer if customer else apply_to_contact)(state, e)
        classify = customer_contributions if customer else contact_contributions
        for _, _, amounts, _ in classify(state, self.book):
            for name, amount in amounts:
                if name.endswith("_seconds_sum"):
                    setattr(self.total, name, getattr(self.total, name) + amount / 1000)
                elif hasattr(self.total, name):
                    setattr(self.total, name, getattr(self.total, name) + amount)

    def _ids(self) -> dict[str, str]:
        self._n += 1
        return {"contact_id": f"c-{self._n}", "customer_id": f"cust-{self._n}"}

    def offered(self) -> None:
        ids = self._ids()
        self._contact(valid_event("contact.started", contact_id=ids["contact_id"]))

    def answered(self, wait_s: float) -> None:
        ids = self._ids()
        self._contact(
            valid_event("contact.answered", contact_id=ids["contact_id"], wait_seconds=wait_s)
        )

    def abandoned(self, wait_s: float) -> None:
        ids = self._ids()
        self._contact(
            valid_event("contact.abandoned", contact_id=ids["contact_id"], wait_seconds=wait_s)
        )

    def handled(self, talk_s: float, hold_s: float, wrap_s: float) -> None:
        times = {"talk_seconds": talk_s, "hold_seconds": hold_s, "wrap_seconds": wrap_s}
        self._contact(valid_event("contact.resolved", **self._ids(), **times))

    def survey(self, metric: str, score: int, scale: int) -> None:
        ids = self._ids()
        survey = valid_event(
            "survey.submitted", **ids, metric=metric, score=score, scale=scale, queue="billing"
        )
        self._contact(survey)

    def csat(self, score: int, scale: int) -> None:
        self.survey("csat", score, scale)

    def nps(self, score: int) -> None:
        self.survey("nps", score, 10)

    def fcr_issue(self, *, resolved_first: bool, repeated: bool = False) -> None:
        """One customer's issue; ``repeated`` adds a second contact a day later (a withdrawal)."""
        ids = self._ids()
        first = valid_event("contact.resolved", **ids, resolved=resolved_first, reason="billing")
        events = [first]
        if repeated:
            events.append(
                valid_event(
                    "contact.resolved",
                    customer_id=ids["customer_id"],
                    contact_id=ids["contact_id"] + "-repeat",
                    occurred_at="2026-11-24T09:00:00Z",
                    reason="billing",
                )
            )
        self._contact(*events, customer=True)


# --------------------------------------------------------------------------------------------
# Seed examples (Romanian and Turkish source article)
# --------------------------------------------------------------------------------------------


def test_seed_csat_ten_answers_give_70_percent_and_mean_3_7() -> None:
    """CSAT seed: answers 5,5,4,4,4,3,2,5,1,4 on a 5-point scale are 70 % satisfied, mean 3.7."""
    c_tally = Tally()
    for score in (5, 5, 4, 4, 4, 3, 2, 5, 1, 4):
        c_tally.csat(score, 5)
    c = c_tally.total
    assert c.csat_responses == 10
    assert csat_ratio(c) == pytest.approx(0.70)
    assert csat_mean(c, 5) == pytest.approx(3.7)
    assert csat_mean(c, 10) is None


def test_seed_fcr_80_of_100_issues_resolved_first_is_80_percent() -> None:
    """FCR seed: 100 issues, 80 resolved at the first contact, no repeats -> 80 %."""
    c_tally = Tally()
    for i in range(100):
        c_tally.fcr_issue(resolved_first=i < 80)
    c = c_tally.total
    assert fcr_ratio(c) == pytest.approx(0.80)


def test_seed_aht_100_calls_1000_minutes_is_600_seconds() -> None:
    """AHT seed: 100 calls totalling 1000 minutes of talk, hold and wrap -> 600 s (10 min)."""
    c_tally = Tally()
    for i in range(100):
        talk = 400.0 if i % 2 else 600.0  # half the calls shorter, half longer
        c_tally.handled(talk, 50.0, 50.0)
    c = c_tally.total
    assert c.handle_seconds_sum == pytest.approx(1000 * 60)
    assert aht_seconds(c) == pytest.approx(600.0)


def test_seed_nps_50_promoters_40_passives_10_detractors_is_40() -> None:
    """NPS seed: 50 % promoters - 10 % detractors -> 40, passives only in the denominator."""
    c_tally = Tally()
    scores = [9, 10] * 25 + [7, 8] * 20 + [0, 3, 5, 6, 6] * 2
    for score in scores:
        c_tally.nps(score)
    c = c_tally.total
    assert (c.nps_responses, c.nps_promoters, c.nps_detractors) == (100, 50, 10)
    assert nps_score(c) == pytest.approx(40.0)


def test_seed_crr_1000_to_800_is_80_percent() -> None:
    """CRR seed: 1000 active at the start, 200 churn, none join -> 80 %."""
    assert crr_ratio(1000, 800) == pytest.approx(0.80)


def test_seed_abandonment_80_answered_20_abandoned_is_20_percent() -> None:
    """Abandonment seed: 80 answered and 20 abandoned -> 20 % with the default threshold 0."""
    c_tally = Tally()
    for i in range(100):
        c_tally.offered()
        if i < 80:
            c_tally.answered(float(i % 40))
        else:
            c_tally.abandoned(float(i - 80))  # includes a 0 s abandon: still counts
    c = c_tally.total
    assert (c.offered, c.answered, c.abandoned, c.abandoned_short) == (100, 80, 20, 0)
    assert abandonment_ratio(c) == pytest.approx(0.20)


# --------------------------------------------------------------------------------------------
# Fine print: abandons and service level
# --------------------------------------------------------------------------------------------


def test_short_abandons_leave_numerator_and_denominator() -> None:
    """With a 5 s threshold a 3 s abandon leaves both sides; a 5 s abandon still counts."""
    params = KpiParams(short_abandon_threshold_s=5.0)
    c_tally = Tally(params)
    for _ in range(8):
        c_tally.answered(10.0)
    c_tally.abandoned(3.0)
    c_tally.abandoned(5.0)
    c = c_tally.total
    assert (c.abandoned, c.abandoned_short) == (2, 1)
    assert abandonment_ratio(c) == pytest.approx(1 / 9)
    assert service_level_ratio(c) == pytest.approx(8 / 9)


def test_short_abandon_is_strictly_below_threshold() -> None:
    """An abandon is short only when its wait is strictly below the threshold; 0 means none."""
    params = KpiParams(short_abandon_threshold_s=5.0)
    assert is_short_abandon(4.999, params)
    assert not is_short_abandon(5.0, params)
    assert not is_short_abandon(0.0, DEFAULTS)


def test_service_level_counts_waits_at_or_below_threshold() -> None:
    """Service level uses <= threshold: 20 s is within, 20.001 s is not."""
    assert within_service_level(20.0, DEFAULTS)
    assert not within_service_level(20.001, DEFAULTS)
    c_tally = Tally()
    c_tally.answered(20.0)
    c_tally.answered(20.001)
    c_tally.abandoned(30.0)
    c_tally.answered(0.0)
    c = c_tally.total
    assert service_level_ratio(c) == pytest.approx(2 / 4)
    assert asa_seconds(c) == pytest.approx(40.001 / 3)


def test_only_short_abandons_leave_no_data() -> None:
    """When every contact was a short abandon, abandonment and service level have no data."""
    params = KpiParams(short_abandon_threshold_s=5.0)
    c_tally = Tally(params)
    c_tally.abandoned(1.0)
    c = c_tally.total
    assert abandonment_ratio(c) is None
    assert service_level_ratio(c) is None


# --------------------------------------------------------------------------------------------
# Fine print: CSAT and NPS
# --------------------------------------------------------------------------------------------


def test_csat_ten_point_scale_nine_is_satisfied_eight_is_not() -> None:
    """On the 10-point scale 9 is satisfied and 8 is not; on the 5-point scale 4 is, 3 is not."""
    assert csat_satisfied(9, 10, DEFAULTS)
    assert not csat_satisfied(8, 10, DEFAULTS)
    assert csat_satisfied(4, 5, DEFAULTS)
    assert not csat_satisfied(3, 5, DEFAULTS)


def test_csat_pools_both_scales_and_keeps_means_per_scale() -> None:
    """CSAT % pools 5- and 10-point answers, each judged on its own scale; means stay apart."""
    c_tally = Tally()
    for score in (5, 3):
        c_tally.csat(score, 5)
    for score in (9, 8, 10):
        c_tally.csat(score, 10)
    c = c_tally.total
    assert (c.csat_responses, c.csat_satisfied) == (5, 3)
    assert csat_ratio(c) == pytest.approx(3 / 5)
    assert csat_mean(c, 5) == pytest.approx(4.0)
    assert csat_mean(c, 10) == pytest.approx(9.0)


def test_csat_rejects_unknown_scale() -> None:
    """Only 5- and 10-point CSAT scales exist."""
    with pytest.raises(ValueError, match="scale"):
        csat_satisfied(4, 7, DEFAULTS)
    with pytest.raises(ValueError, match="scale"):
        csat_mean(Counters(), 3)


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0, "detractor"),
        (6, "detractor"),
        (7, "passive"),
        (8, "passive"),
        (9, "promoter"),
        (10, "promoter"),
    ],
)
def test_nps_class_bounds(score: int, expected: str) -> None:
    """NPS classes: 0-6 detractor, 7-8 passive, 9-10 promoter, bounds included."""
    assert nps_class(score) == expected


@pytest.mark.parametrize("score", [-1, 11, True])
def test_nps_class_rejects_scores_outside_0_to_10(score: int) -> None:
    """NPS accepts integer scores 0-10 only."""
    with pytest.raises(ValueError, match="NPS"):
        nps_class(score)


def test_nps_all_promoters_is_100_all_detractors_is_minus_100() -> None:
    """NPS spans -100..100: only promoters give 100, only detractors -100."""
    promoters_tally, detractors_tally = Tally(), Tally()
    for _ in range(3):
        promoters_tally.nps(10)
        detractors_tally.nps(0)
    detractors = detractors_tally.total
    promoters = promoters_tally.total
    assert nps_score(promoters) == 100.0
    assert nps_score(detractors) == -100.0


# --------------------------------------------------------------------------------------------
# Fine print: FCR helpers and "no data"
# --------------------------------------------------------------------------------------------


def test_fcr_reason_matching_rules() -> None:
    """A reason matches only the same reason; a contact without reason matches any."""
    assert fcr_reason_matches("billing", "billing")
    assert not fcr_reason_matches("billing", "internet")
    assert not fcr_reason_matches(None, "billing")
    assert fcr_reason_matches("billing", None)
    assert fcr_reason_matches(None, None)


def test_fcr_lookback_is_inclusive() -> None:
    """Exactly 7 days later is within the look-back; one millisecond more is not."""
    first = ms("2024-05-01T10:00:00+00:00")
    week = 7 * 86400 * 1000
    assert within_fcr_lookback(first, first + week, DEFAULTS)
    assert not within_fcr_lookback(first, first + week + 1, DEFAULTS)
    assert not within_fcr_lookback(first, first - 1, DEFAULTS)


def test_fcr_withdrawal_takes_credit_back() -> None:
    """A withdrawn credit lowers FCR but the issue stays in the denominator."""
    c_tally = Tally()
    c_tally.fcr_issue(resolved_first=True)
    c_tally.fcr_issue(resolved_first=True, repeated=True)
    c = c_tally.total
    assert fcr_ratio(c) == pytest.approx(0.5)


def test_empty_denominators_are_no_data_never_zero() -> None:
    """Every KPI of empty counters is None, and so is CRR with nobody active at the start."""
    values = compute_kpis(Counters(), DEFAULTS)
    assert all(v is None for v in values.to_dict().values())
    assert crr_ratio(0, 0) is None


def test_crr_rejects_more_retained_than_active() -> None:
    """Retained customers are a subset of those active at the start."""
    with pytest.raises(ValueError, match="retained"):
        crr_ratio(10, 11)


def test_compute_kpis_combines_every_formula() -> None:
    """compute_kpis returns the same values as the single formulas."""
    c_tally = Tally()
    c_tally.answered(10.0)
    c_tally.abandoned(40.0)
    c_tally.handled(300.0, 0.0, 60.0)
    c_tally.csat(4, 5)
    c_tally.nps(9)
    c_tally.fcr_issue(resolved_first=True)
    c = c_tally.total
    values = compute_kpis(c)
    assert values.service_level == pytest.approx(0.5)
    assert values.abandonment == pytest.approx(0.5)
    assert values.asa_seconds == pytest.approx(10.0)
    assert values.aht_seconds == pytest.approx(360.0)
    assert values.csat == pytest.approx(1.0)
    assert values.csat_mean_5 == pytest.approx(4.0)
    assert values.csat_mean_10 is None
    assert values.nps == pytest.approx(100.0)
    assert values.fcr == pytest.approx(1.0)


# --------------------------------------------------------------------------------------------
# Parameters and targets
# --------------------------------------------------------------------------------------------


def test_params_defaults_follow_the_spec() -> None:
    """Defaults: SL 20 s, short abandon 0 s, CSAT 4/5 and 9/10, 7-day FCR look-back, UTC."""
    assert DEFAULTS.service_level_threshold_s == 20.0
    assert DEFAULTS.short_abandon_threshold_s == 0.0
    assert (DEFAULTS.csat_satisfied_min_5, DEFAULTS.csat_satisfied_min_10) == (4, 9)
    assert DEFAULTS.fcr_lookback_s == 7 * 86400
    assert DEFAULTS.timezone == "UTC"
    assert DEFAULTS.target("service_level") == 0.80
    assert DEFAULTS.target("nps") == 30


@pytest.mark.parametrize(
    "override",
    [
        {"service_level_threshold_s": -1.0},
        {"csat_satisfied_min_5": 6},
        {"csat_satisfied_min_10": 0},
        {"fcr_lookback_s": 0},
        {"timezone": "Mars/Olympus"},
        {"day_reset": "6am"},
    ],
)
def test_params_reject_invalid_values(override: dict[str, Any]) -> None:
    """Invalid parameters fail at construction with a ValueError."""
    with pytest.raises(ValueError):  # noqa: PT011 -- the messages differ per parameter
        dataclasses.replace(DEFAULTS, **override)


def test_meets_target_respects_direction() -> None:
    """Abandonment, ASA and AHT meet target at or below it; the others at or above."""
    assert meets_target("abandonment", 0.05, DEFAULTS) is True
    assert meets_target("abandonment", 0.06, DEFAULTS) is False
    assert meets_target("aht_seconds", 700.0, DEFAULTS) is False
    assert meets_target("service_level", 0.80, DEFAULTS) is True
    assert meets_target("nps", 29.0, DEFAULTS) is False
    assert meets_target("csat", None, DEFAULTS) is None


# --------------------------------------------------------------------------------------------
# Counters: combining and serializing
# --------------------------------------------------------------------------------------------


def test_counters_round_trip_through_orjson() -> None:
    """to_dict output survives orjson and from_dict restores equal counters."""
    c_tally = Tally()
    c_tally.answered(12.5)
    c_tally.csat(9, 10)
    c = c_tally.total
    restored = Counters.from_dict(orjson.loads(orjson.dumps(c.to_dict())))
    assert restored == c
    assert set(c.to_dict()) == set(COUNTER_NAMES)


def test_counters_from_dict_fills_missing_and_rejects_unknown() -> None:
    """Missing counters load as 0; an unknown counter name or a non-number is an error."""
    assert Counters.from_dict({"offered": 3}) == Counters(offered=3)
    with pytest.raises(ValueError, match="unknown counter"):
        Counters.from_dict({"offerred": 3})
    with pytest.raises(ValueError, match="number"):
        Counters.from_dict({"offered": "3"})
    with pytest.raises(ValueError, match="integer"):
        Counters.from_dict({"offered": 1.5})


def test_counters_add_and_merged_sum_every_field() -> None:
    """add sums in place; merged returns a new sum and leaves both inputs alone."""
    a_tally, b_tally = Tally(), Tally()
    a_tally.answered(10.0)
    b_tally.answered(30.0)
    b_tally.abandoned(5.0)
    a = a_tally.total
    b = b_tally.total
    total = a.merged(b)
    assert (total.answered, total.abandoned, total.answered_wait_seconds_sum) == (2, 1, 40.0)
    assert a.answered == 1
    a.add(b)
    assert a == total


def test_ratio_of_sums_not_sum_of_ratios() -> None:
    """Merged counters give the pooled ratio, not the mean of the two ratios."""
    a_tally, b_tally = Tally(), Tally()
    a_tally.abandoned(10.0)  # 1 of 1 abandoned
    for _ in range(9):
        b_tally.answered(1.0)  # 0 of 9 abandoned
    a = a_tally.total
    b = b_tally.total
    assert abandonment_ratio(a.merged(b)) == pytest.approx(0.1)


# --------------------------------------------------------------------------------------------
# Windows and time
# --------------------------------------------------------------------------------------------


def test_day_start_utc_midnight() -> None:
    """In UTC "today" starts at 00:00Z and ends at the next 00:00Z."""
    ts = ms("2024-05-10T13:45:00+00:00")
    assert day_start_ms(ts) == ms("2024-05-10T00:00:00+00:00")
    assert next_day_start_ms(ts) == ms("2024-05-11T00:00:00+00:00")


def test_day_start_bucharest_is_local_midnight() -> None:
    """Bucharest (EET/EEST): 22:30Z on 9 May is already 10 May, starting at 21:00Z."""
    ts = ms("2024-05-09T22:30:00+00:00")
    assert local_iso(day_start_ms(ts, "Europe/Bucharest"), "Europe/Bucharest") == (
        "2024-05-10T00:00:00+03:00"
    )


def test_day_start_istanbul_with_a_06_00_reset() -> None:
    """Istanbul (+03 all year) with reset 06:00: 05:59 local belongs to the previous day."""
    before = ms("2024-01-15T05:59:00+03:00")
    after = ms("2024-01-15T06:00:00+03:00")
    assert day_start_ms(before, "Europe/Istanbul", "06:00") == ms("2024-01-14T06:00:00+03:00")
    assert day_start_ms(after, "Europe/Istanbul", "06:00") == after
    assert next_day_start_ms(after, "Europe/Istanbul", "06:00") == ms("2024-01-16T06:00:00+03:00")


def test_day_across_spring_forward_is_23_hours() -> None:
    """Bucharest 31 Mar 2024 (clocks 03:00 -> 04:00) is a 23-hour day."""
    tz = "Europe/Bucharest"
    ts = ms("2024-03-31T12:00:00+03:00")
    start, end = day_start_ms(ts, tz), next_day_start_ms(ts, tz)
    assert start == ms("2024-03-31T00:00:00+02:00")
    assert end == ms("2024-04-01T00:00:00+03:00")
    assert end - start == 23 * 3600 * 1000


def test_day_across_fall_back_is_25_hours() -> None:
    """Bucharest 27 Oct 2024 (clocks 04:00 -> 03:00) is a 25-hour day."""
    tz = "Europe/Bucharest"
    ts = ms("2024-10-27T12:00:00+02:00")
    start, end = day_start_ms(ts, tz), next_day_start_ms(ts, tz)
    assert start == ms("2024-10-27T00:00:00+03:00")
    assert end - start == 25 * 3600 * 1000


def test_reset_inside_dst_gap_starts_at_the_change() -> None:
    """A 03:30 reset skipped by spring-forward starts the day when the clock jumps (04:00)."""
    tz = "Europe/Bucharest"
    ts = ms("2024-03-31T12:00:00+03:00")
    assert day_start_ms(ts, tz, "03:30") == ms("2024-03-31T04:00:00+03:00")
    assert local_instant_ms(date(2024, 3, 31), time(3, 30), tz) == ms("2024-03-31T01:00:00+00:00")


def test_reset_repeated_by_fall_back_uses_first_occurrence() -> None:
    """A 03:30 reset that happens twice (fall-back) starts the day at its first occurrence."""
    tz = "Europe/Bucharest"
    ts = ms("2024-10-27T12:00:00+02:00")
    assert day_start_ms(ts, tz, "03:30") == ms("2024-10-27T03:30:00+03:00")


def test_midnight_inside_dst_gap() -> None:
    """Sao Paulo 4 Nov 2018 skipped 00:00-01:00: the day starts at 01:00 local."""
    tz = "America/Sao_Paulo"
    ts = ms("2018-11-04T12:00:00-02:00")
    assert day_start_ms(ts, tz) == ms("2018-11-04T01:00:00-02:00")
    assert month_start_ms(ts, tz) == ms("2018-11-01T00:00:00-03:00")


def test_parse_reset_accepts_hh_mm_only() -> None:
    """Reset times are HH:MM or HH:MM:SS on a 24-hour clock."""
    assert parse_reset("06:00") == time(6, 0)
    assert parse_reset("23:59:30") == time(23, 59, 30)
    for bad in ("6:00", "24:00", "06-00", ""):
        with pytest.raises(ValueError, match="HH:MM"):
            parse_reset(bad)


def test_tumbling_15_minute_windows() -> None:
    """15-minute windows start on quarter hours; the boundary belongs to the next window."""
    size = 15 * 60
    assert tumbling_start_ms(ms("2024-05-10T13:44:59.999+00:00"), size) == ms(
        "2024-05-10T13:30:00+00:00"
    )
    assert tumbling_start_ms(ms("2024-05-10T13:45:00+00:00"), size) == ms(
        "2024-05-10T13:45:00+00:00"
    )
    with pytest.raises(ValueError, match="positive"):
        tumbling_start_ms(0, 0)


def test_month_boundaries_in_bucharest() -> None:
    """A Bucharest month starts at local midnight on the 1st: 22:30Z on 29 Feb is March."""
    tz = "Europe/Bucharest"
    late_feb_utc = ms("2024-02-29T22:30:00+00:00")
    assert month_start_ms(late_feb_utc, tz) == ms("2024-03-01T00:00:00+02:00")
    assert month_start_ms(late_feb_utc, "UTC") == ms("2024-02-01T00:00:00+00:00")
    # March spans the DST change: it ends at local midnight on 1 April, now at +03.
    assert next_month_start_ms(late_feb_utc, tz) == ms("2024-04-01T00:00:00+03:00")


def test_month_boundary_at_year_end() -> None:
    """December's month ends at 1 January of the next year; the boundary belongs to January."""
    tz = "Europe/Istanbul"
    new_year = ms("2025-01-01T00:00:00+03:00")
    assert next_month_start_ms(new_year - 1, tz) == new_year
    assert month_start_ms(new_year - 1, tz) == ms("2024-12-01T00:00:00+03:00")
    assert month_start_ms(new_year, tz) == new_year


ZONES = [
    "UTC",
    "Europe/Bucharest",
    "Europe/Istanbul",
    "America/New_York",
    "America/Sao_Paulo",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
]
TIMESTAMPS = st.integers(
    min_value=int(datetime(2000, 1, 1, tzinfo=UTC).timestamp() * 1000),
    max_value=int(datetime(2040, 1, 1, tzinfo=UTC).timestamp() * 1000),
)


@settings(max_examples=300, deadline=None)
@given(
    ts=TIMESTAMPS,
    tz=st.sampled_from(ZONES),
    reset=st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45])),
)
def test_day_window_always_holds_its_timestamp(ts: int, tz: str, reset: time) -> None:
    """For any time, zone and reset: start <= ts < end, 22-26 h long, and stable inside."""
    start, end = day_start_ms(ts, tz, reset), next_day_start_ms(ts, tz, reset)
    assert start <= ts < end
    assert 22 * 3600_000 <= end - start <= 26 * 3600_000
    assert day_start_ms(start, tz, reset) == start
    assert day_start_ms(end - 1, tz, reset) == start
    assert day_start_ms(end, tz, reset) == end


@settings(max_examples=200, deadline=None)
@given(ts=TIMESTAMPS, tz=st.sampled_from(ZONES))
def test_month_window_always_holds_its_timestamp(ts: int, tz: str) -> None:
    """For any time and zone: month start <= ts < next month start, and months chain."""
    start, end = month_start_ms(ts, tz), next_month_start_ms(ts, tz)
    assert start <= ts < end
    assert month_start_ms(end, tz) == end
    assert month_start_ms(end - 1, tz) == start
    assert datetime.fromtimestamp(start / 1000, ZoneInfo(tz)).day == 1
