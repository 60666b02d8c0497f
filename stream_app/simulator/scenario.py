"""What the simulated contact center looks like: queues, teams, shifts and agents' skills.

A scenario is plain frozen data, so the model can be tested on small hand-made centers and a
site can describe its own center in YAML (``ccmon simulate --scenario FILE``). The built-in
``default_scenario`` is a mid-size center of six queues and 45 agents on shifts, staffed so that
the morning peak runs at a decent service level with a few percent abandoned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from stream_app.errors import UserError
from stream_app.events.records import Channel


@dataclass(frozen=True)
class QueueSpec:
    """One queue (skill): its traffic at the peak hour and how its contacts go."""

    name: str
    channel: Channel
    reasons: dict[str, float]
    """Contact reasons and their relative weights (FCR matches repeats by reason)."""
    peak_per_hour: float
    """Fresh arrivals per hour at the weekday peak; repeats and retrials come on top."""
    talk_s: float
    hold_s: float
    """Mean hold per contact, over all contacts (most have none)."""
    wrap_s: float
    patience_s: float
    """Mean time a customer waits before giving up (exponential, as in Erlang-A)."""
    resolve_p: float
    """Probability that a handled contact resolves the customer's issue."""
    ring_s: float = 4.0
    """Mean time from routing to answer (ringing, accepting a chat, opening an email)."""
    hold_p: float = 0.3
    """Share of contacts with any hold."""
    csat_p: float = 0.2
    """Share of handled contacts whose customer answers a CSAT survey."""
    survey_delay_s: float = 300.0
    """Median delay from the end of the contact to the survey answer."""
    retry_p: float = 0.4
    """Share of abandoning customers who try again soon (same reason)."""


@dataclass(frozen=True)
class ShiftSpec:
    """A block of agents working the same hours (local time; ``end`` < ``start`` is overnight).

    With ``lunch`` (local HH:MM) each agent takes an hour off, in three waves an hour apart
    from that time, which is what makes room for the lunch dip in the traffic.
    """

    start: str
    end: str
    agents: int
    lunch: str | None = None


@dataclass(frozen=True)
class TeamSpec:
    """A team: the queues all its agents serve, plus cross-skills for a share of them."""

    name: str
    skills: tuple[str, ...]
    shifts: tuple[ShiftSpec, ...]
    cross_skills: tuple[str, ...] = ()
    cross_share: float = 0.0


@dataclass(frozen=True)
class Scenario:
    """A whole center. ``scaled`` grows or shrinks it without changing its service level much."""

    name: str
    queues: tuple[QueueSpec, ...]
    teams: tuple[TeamSpec, ...]
    customers: int = 60_000
    """Size of the existing customer base that fresh contacts are drawn from."""
    signups_per_day: float = 40.0
    churns_per_day: float = 25.0
    nps_p: float = 0.06
    """Share of handled contacts followed by an NPS survey."""
    weekend_staffing: tuple[float, float] = (0.6, 0.45)
    """Share of each shift block working on Saturday and on Sunday."""

    def queue(self, name: str) -> QueueSpec:
        """The queue called ``name`` (a one-line error naming the known queues otherwise)."""
        for queue in self.queues:
            if queue.name == name:
                return queue
        known = ", ".join(q.name for q in self.queues)
        raise UserError(f"unknown queue {name!r} in scenario {self.name!r} (queues: {known})")

    @property
    def agent_count(self) -> int:
        """Agents in all teams and shifts."""
        return sum(s.agents for t in self.teams for s in t.shifts)

    def peak_events_per_s(self) -> float:
        """Estimated events per second at the weekday peak, to turn ``--rate`` into a scale.

        Per fresh contact: started + answered + resolved + its surveys, inflated by the
        repeats it causes (a geometric series); abandons and status events are small.
        """
        total = 0.0
        for q in self.queues:
            repeat = (1 - q.resolve_p) * REPEAT_UNRESOLVED_P + q.resolve_p * REPEAT_RESOLVED_P
            per_contact = 3.0 + q.csat_p + self.nps_p
            total += q.peak_per_hour / 3600 * per_contact / (1 - repeat)
        return total

    def peak_load(self) -> float:
        """Offered load at the weekday peak in Erlangs (busy agents needed), repeats included."""
        total = 0.0
        for q in self.queues:
            repeat = (1 - q.resolve_p) * REPEAT_UNRESOLVED_P + q.resolve_p * REPEAT_RESOLVED_P
            handle = q.ring_s + q.talk_s + q.hold_s + q.wrap_s
            total += q.peak_per_hour / 3600 * handle / (1 - repeat)
        return total

    def scaled(self, factor: float) -> Scenario:
        """The same center ``factor`` times the traffic, staffed to the same service level.

        Staffing follows the square-root rule (agents ~ load + beta x sqrt(load)): a bigger
        center needs proportionally fewer spare agents for the same waits, so scaling agents
        linearly would make it ever better served. Below about 0.3 the rounding of small
        shift blocks overstaffs.
        """
        if factor == 1:
            return self
        queues = tuple(replace(q, peak_per_hour=q.peak_per_hour * factor) for q in self.queues)
        load = self.peak_load()
        agents_factor = factor
        if load > 0:
            spare = SAFETY_STAFFING_BETA * math.sqrt(load)
            agents_factor = (factor * load + spare * math.sqrt(factor)) / (load + spare)
        teams = tuple(
            replace(
                t,
                shifts=tuple(
                    replace(s, agents=max(1, round(s.agents * agents_factor))) for s in t.shifts
                ),
            )
            for t in self.teams
        )
        return replace(
            self,
            name=f"{self.name} x{factor:g}",
            queues=queues,
            teams=teams,
            customers=max(100, math.ceil(self.customers * factor)),
            signups_per_day=self.signups_per_day * factor,
            churns_per_day=self.churns_per_day * factor,
        )

    def staffed(self, share: float) -> Scenario:
        """The same traffic with ``share`` of the agents (an understaffed or overstaffed center)."""
        teams = tuple(
            replace(
                t,
                shifts=tuple(replace(s, agents=max(1, round(s.agents * share))) for s in t.shifts),
            )
            for t in self.teams
        )
        return replace(self, name=f"{self.name} staffed {share:.0%}", teams=teams)


SAFETY_STAFFING_BETA = 1.6
"""Beta of the square-root staffing rule used by ``scaled``; with it the default center keeps
its morning service level (about 90 % within 20 s) from 1x to 40x."""
REPEAT_UNRESOLVED_P = 0.55
"""Share of unresolved issues whose customer comes back on the same reason."""
REPEAT_RESOLVED_P = 0.05
"""Share of resolved issues that come back anyway (the fix did not hold)."""


def _voice(**kwargs: Any) -> QueueSpec:
    return QueueSpec(channel="voice", ring_s=4.0, hold_p=0.35, csat_p=0.18, **kwargs)


def default_scenario() -> Scenario:
    """The built-in center: six queues, five teams, 45 agents on day, evening and night shifts."""
    return Scenario(name="default", queues=_default_queues(), teams=_default_teams())


def _default_queues() -> tuple[QueueSpec, ...]:
    return (_billing(), _support(), _sales(), _tech(), _claims(), _retention())


def _billing() -> QueueSpec:
    return _voice(
        name="billing",
        reasons={"invoice_question": 5, "payment_failed": 3, "refund": 2, "plan_change": 2},
        peak_per_hour=65,
        talk_s=290,
        hold_s=30,
        wrap_s=50,
        patience_s=300,
        resolve_p=0.82,
        survey_delay_s=240,
    )


def _support() -> QueueSpec:
    return QueueSpec(
        name="support",
        channel="chat",
        reasons={"login_problem": 4, "order_status": 4, "account_update": 2},
        peak_per_hour=45,
        talk_s=420,
        hold_s=15,
        hold_p=0.1,
        wrap_s=45,
        patience_s=420,
        resolve_p=0.74,
        ring_s=8.0,
        csat_p=0.32,
        survey_delay_s=60,
        retry_p=0.3,
    )


def _sales() -> QueueSpec:
    return _voice(
        name="sales",
        reasons={"new_subscription": 5, "upgrade": 3, "pricing_question": 2},
        peak_per_hour=30,
        talk_s=340,
        hold_s=25,
        wrap_s=55,
        patience_s=300,
        resolve_p=0.88,
        survey_delay_s=300,
    )


def _tech() -> QueueSpec:
    return _voice(
        name="tech",
        reasons={"no_connection": 4, "device_setup": 3, "slow_speed": 3},
        peak_per_hour=18,
        talk_s=470,
        hold_s=70,
        wrap_s=70,
        patience_s=420,
        resolve_p=0.64,
        survey_delay_s=300,
    )


def _claims() -> QueueSpec:
    return QueueSpec(
        name="claims",
        channel="email",
        reasons={"damage_claim": 3, "warranty": 3, "complaint": 2},
        peak_per_hour=16,
        talk_s=380,
        hold_s=0,
        hold_p=0.0,
        wrap_s=90,
        patience_s=172_800,
        resolve_p=0.7,
        ring_s=45.0,
        csat_p=0.12,
        survey_delay_s=10_800,
        retry_p=0.0,
    )


def _retention() -> QueueSpec:
    return QueueSpec(
        name="retention",
        channel="messaging",
        reasons={"cancel_request": 5, "price_complaint": 3},
        peak_per_hour=8,
        talk_s=380,
        hold_s=10,
        hold_p=0.1,
        wrap_s=60,
        patience_s=1_800,
        resolve_p=0.72,
        ring_s=15.0,
        csat_p=0.28,
        survey_delay_s=120,
        retry_p=0.2,
    )


# Shift blocks laid over the intraday curve (measured need: about 6 agents at 6 h, 24 at the
# morning peak, 23 in the afternoon, 11 at 19 h, 3 at night). Day blocks lunch in waves over
# the lunch dip; the flex team covers the evening and the night.
_DAWN, _EARLY, _DAY = ("06:00", "15:00"), ("07:00", "16:00"), ("08:00", "17:00")
_MORNING, _MID = ("09:00", "13:00"), ("10:00", "19:00")
_LATE, _EVENING, _NIGHT = ("13:00", "22:00"), ("16:00", "21:00"), ("22:00", "07:00")
_WITH_LUNCH = frozenset({_DAWN, _EARLY, _DAY, _MID})


def _shifts(*blocks: tuple[tuple[str, str], int]) -> tuple[ShiftSpec, ...]:
    return tuple(
        ShiftSpec(start, end, n, lunch="12:00" if (start, end) in _WITH_LUNCH else None)
        for (start, end), n in blocks
    )


def _default_teams() -> tuple[TeamSpec, ...]:
    return (
        TeamSpec(
            name="voice-north",
            skills=("billing", "sales"),
            cross_skills=("tech",),
            cross_share=0.25,
            shifts=_shifts((_DAWN, 2), (_EARLY, 4), (_DAY, 3), (_MORNING, 3), (_MID, 3)),
        ),
        TeamSpec(
            name="digital",
            skills=("support", "retention"),
            cross_skills=("claims",),
            cross_share=0.3,
            shifts=_shifts((_DAWN, 2), (_EARLY, 3), (_DAY, 2), (_MORNING, 1), (_MID, 1)),
        ),
        TeamSpec(
            name="tech",
            skills=("tech",),
            cross_skills=("support",),
            cross_share=0.4,
            shifts=_shifts((_DAWN, 1), (_EARLY, 1), (_DAY, 1), (_MORNING, 1), (_MID, 1)),
        ),
        TeamSpec(
            name="back-office",
            skills=("claims",),
            cross_skills=("billing",),
            cross_share=0.5,
            shifts=_shifts((_EARLY, 1), (_DAY, 1), (_MID, 1)),
        ),
        TeamSpec(
            name="flex",
            skills=("billing", "sales", "support", "tech", "retention"),
            shifts=_shifts((_LATE, 5), (_EVENING, 5), (_NIGHT, 3)),
        ),
    )


_ADAPTER: TypeAdapter[Scenario] = TypeAdapter(Scenario)


def load_scenario(path: Path) -> Scenario:
    """A scenario from YAML (same fields as the dataclasses), checked with one clear line."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"cannot read scenario {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"scenario {path} is not valid YAML: {_first_line(str(exc))}") from None
    try:
        scenario = _ADAPTER.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise UserError(
            f"scenario {path}: {where}: {first['msg']}; see docs/simulator.md, Scenarios"
        ) from None
    check_scenario(scenario, str(path))
    return scenario


def check_scenario(scenario: Scenario, where: str) -> None:
    """Cross-field rules a type cannot say: names unique, skills name queues, sane numbers."""
    names = [q.name for q in scenario.queues]
    problems: list[str] = []
    if not names:
        problems.append("no queues")
    if len(set(names)) != len(names):
        problems.append("queue names repeat")
    for q in scenario.queues:
        if not q.reasons or min(q.reasons.values()) <= 0:
            problems.append(f"queue {q.name}: reasons need positive weights")
        if q.peak_per_hour < 0 or min(q.talk_s, q.hold_s, q.wrap_s) < 0 or q.patience_s <= 0:
            problems.append(f"queue {q.name}: negative rate or duration")
        for p in (q.resolve_p, q.hold_p, q.csat_p, q.retry_p):
            if not 0 <= p <= 1:
                problems.append(f"queue {q.name}: probabilities must be 0..1")
                break
    for t in scenario.teams:
        unknown = sorted(set(t.skills + t.cross_skills) - set(names))
        if unknown:
            problems.append(f"team {t.name}: skill {unknown[0]!r} is no queue")
        for s in t.shifts:
            times = (s.start, s.end) if s.lunch is None else (s.start, s.end, s.lunch)
            if any(_minutes(x) is None for x in times):
                problems.append(f"team {t.name}: shift times must be HH:MM")
            if s.agents < 0:
                problems.append(f"team {t.name}: a shift has a negative number of agents")
    served = {skill for t in scenario.teams for skill in t.skills + t.cross_skills}
    for name in names:
        if name not in served:
            problems.append(f"queue {name}: no team serves it")
    if problems:
        raise UserError(f"scenario {where}: {problems[0]}")


def shift_minutes(shift: ShiftSpec) -> tuple[int, int, int | None]:
    """Start, end and lunch of a shift as minutes after local midnight (end may be < start)."""
    start, end = _minutes(shift.start), _minutes(shift.end)
    lunch = None if shift.lunch is None else _minutes(shift.lunch)
    if start is None or end is None or (shift.lunch is not None and lunch is None):
        raise UserError(f"shift {shift.start}-{shift.end}: times must be HH:MM")
    return start, end, lunch


def _minutes(text: str) -> int | None:
    hours, sep, minutes = text.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        return None
    value = int(hours) * 60 + int(minutes)
    return value if int(hours) <= 24 and int(minutes) < 60 and value <= 1440 else None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text
