"""The contact center in motion: a discrete-event simulation in simulated time.

Waits are not drawn from a distribution; they emerge, as in a real center, from agents being
busy. Contacts arrive per queue as a non-homogeneous Poisson process (thinning against the
intraday pattern), wait FIFO, and each customer gives up after an exponential patience
(Erlang-A: understaffing raises waits and abandonment together). A freed agent takes the
longest-waiting contact among its skills; an arriving contact goes to the longest-idle skilled
agent. Agents stay busy through wrap-up, work shifts, and can be taken offline by incidents.
Unresolved issues come back as repeat contacts on the same reason (so FCR means something),
surveys follow minutes to hours later and depend on the wait and the outcome, and customers
sign up and churn.

Everything happens at the moment popped from one heap, so events come out in ``occurred_at``
order. Events are plain dicts as the v1 contract wants them; this loop is the hot path of
``batch_events`` and is written for speed (slots, local variables, one cached time format).
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from bisect import bisect_right
from collections import OrderedDict, deque
from collections.abc import Iterator, Sequence
from typing import Any

from stream_app.simulator.clock import LocalTime, TimestampFormatter
from stream_app.simulator.incidents import (
    Incident,
    arrival_factor,
    max_arrival_factor,
    patience_factor,
)
from stream_app.simulator.pattern import DAILY_PEAK_HOURS, ArrivalPattern
from stream_app.simulator.scenario import (
    REPEAT_RESOLVED_P,
    REPEAT_UNRESOLVED_P,
    QueueSpec,
    Scenario,
    shift_minutes,
)

Event = dict[str, Any]

# Heap entry kinds.
_ARRIVAL, _ABANDON, _ANSWER, _DONE, _RING_ABANDON = 0, 1, 2, 3, 4
_SURVEY, _RETURN, _CUSTOMER, _SHIFT, _INCIDENT_ON, _INCIDENT_OFF = 5, 6, 7, 8, 9, 10

# Contact states.
_WAITING, _RINGING, _TALKING, _ABANDONED, _DONE_STATE = 0, 1, 2, 3, 4

MAX_WAIT_S = 86_000.0
"""Patience cap: every wait stays below the contract's 24 h limit on durations."""
MAX_SURVEY_DELAY_S = 2 * 86400.0
RETRY_MEDIAN_S = 600.0
"""Median time before an abandoning customer tries again."""
COMMENTS = (
    "Quick and friendly.",
    "Took too long to get through.",
    "Problem solved, thanks!",
    "Had to explain everything twice.",
    "Very helpful agent.",
    "Still not fixed.",
)


class _Queue:
    """Run-time state of one queue."""

    __slots__ = (
        "abandoned",
        "channel",
        "hold_mu",
        "idle",
        "max_factor",
        "n_waiting",
        "name",
        "rate_max",
        "reason_weights",
        "reasons",
        "rng",
        "spec",
        "talk_mu",
        "waiting",
        "wrap_mu",
    )

    def __init__(self, spec: QueueSpec, seed: int, max_factor: float) -> None:
        self.spec = spec
        self.name = spec.name
        self.channel = spec.channel
        self.waiting: deque[_Contact] = deque()
        self.idle: OrderedDict[_Agent, None] = OrderedDict()
        self.n_waiting = 0
        self.abandoned = 0
        self.max_factor = max_factor
        self.rate_max = spec.peak_per_hour / 3600 * max_factor
        self.reasons = list(spec.reasons)
        self.reason_weights = list(itertools.accumulate(spec.reasons.values()))
        # Arrivals draw from their own stream, so an incident elsewhere leaves them unchanged.
        self.rng = random.Random(f"{seed}/arrivals/{spec.name}")
        self.talk_mu = _lognormal_mu(spec.talk_s, 0.55)
        self.hold_mu = _lognormal_mu(spec.hold_s / spec.hold_p, 0.7) if spec.hold_p > 0 else 0.0
        self.wrap_mu = _lognormal_mu(spec.wrap_s, 0.4)


class _Agent:
    """Run-time state of one agent."""

    __slots__ = (
        "agent_id",
        "bias",
        "busy",
        "end_min",
        "lunch_min",
        "offline",
        "on_shift",
        "primary",
        "queues",
        "rank",
        "roster",
        "speed",
        "start_min",
        "team",
    )

    def __init__(self, agent_id: str, team: str, queues: list[_Queue], primary: int) -> None:
        self.agent_id = agent_id
        self.team = team
        self.queues = queues
        self.primary = primary
        self.busy = False
        self.on_shift = False
        self.offline = 0
        self.speed = 1.0
        self.bias = 0.0
        self.start_min = 0
        self.end_min = 0
        self.lunch_min = -1
        self.rank = 0
        self.roster = 1


class _Contact:
    """One contact from arrival to its end."""

    __slots__ = (
        "answer_ms",
        "arrival",
        "arrival_ms",
        "contact_id",
        "customer",
        "deadline",
        "queue",
        "reason",
        "resolved",
        "state",
    )

    def __init__(
        self, contact_id: str, customer: str, queue: _Queue, reason: str, t: float, ms: int
    ) -> None:
        self.contact_id = contact_id
        self.customer = customer
        self.queue = queue
        self.reason = reason
        self.arrival = t
        self.arrival_ms = ms
        self.deadline = t
        self.state = _WAITING
        self.answer_ms = 0
        self.resolved = False


def _lognormal_mu(mean: float, sigma: float) -> float:
    """The mu giving a lognormal of this mean (mean = exp(mu + sigma^2 / 2))."""
    return math.log(max(mean, 1e-3)) - sigma * sigma / 2


class Simulation:
    """One run of a scenario from ``start`` (epoch seconds); iterate ``timed_events()``.

    ``tag`` prefixes every event and contact id, so two runs never share ids (a shared
    ``event_id`` would be counted as a duplicate). The same scenario, start, seed, incidents
    and tag always give the same events.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        start: float,
        seed: int = 1,
        timezone: str = "UTC",
        incidents: Sequence[Incident] = (),
        tag: str | None = None,
    ) -> None:
        self.scenario = scenario
        self.start = start
        self.now = start
        self.local = LocalTime(timezone)
        self.pattern = ArrivalPattern(self.local)
        self.incidents = tuple(incidents)
        self.tag = tag if tag is not None else f"s{seed}"
        self.rng = random.Random(f"{seed}/service")
        self._incident_rng = random.Random(f"{seed}/incidents")
        self._customer_rng = random.Random(f"{seed}/customers")
        self.queues = [
            _Queue(spec, seed, max_arrival_factor(self.incidents, spec.name))
            for spec in scenario.queues
        ]
        self._queue_by_name = {q.name: q for q in self.queues}
        self.agents = self._build_agents()
        self._heap: list[tuple[float, int, int, Any, Any]] = []
        self._seq = 0
        self._next_event = 0
        self._next_contact = 0
        self.customers = scenario.customers
        self._churned: set[int] = set()
        self._shift_cache: dict[tuple[int, int, int, int], tuple[tuple[float, float], ...]] = {}
        self._offline_by_incident: dict[int, list[_Agent]] = {}
        self._format = TimestampFormatter()
        self._patience_incidents = any(i.kind == "abandon-spike" for i in self.incidents)
        self._surge_incidents = any(i.kind == "surge" for i in self.incidents)
        self._started = False

    # --- public view for status lines ---------------------------------------------------

    def waiting(self) -> dict[str, int]:
        """Contacts waiting in each queue right now."""
        return {q.name: q.n_waiting for q in self.queues}

    def abandoned(self) -> dict[str, int]:
        """Abandons so far per queue."""
        return {q.name: q.abandoned for q in self.queues}

    # --- set-up -------------------------------------------------------------------------

    def _build_agents(self) -> list[_Agent]:
        scenario = self.scenario
        width = max(3, len(str(scenario.agent_count)))
        agents: list[_Agent] = []
        skill_rng = random.Random(f"{scenario.name}/agents")
        lunch_wave = 0
        for team in scenario.teams:
            size = sum(s.agents for s in team.shifts)
            n_cross = round(size * team.cross_share)
            member = 0
            for shift in team.shifts:
                start_min, end_min, lunch_min = shift_minutes(shift)
                for rank in range(shift.agents):
                    skills = list(team.skills)
                    # Spread cross-skills over the shifts rather than the first shift only.
                    if (
                        team.cross_skills
                        and (member * n_cross) // size != ((member + 1) * n_cross) // size
                    ):
                        skills += [s for s in team.cross_skills if s not in skills]
                    queues = [self._queue_by_name[s] for s in skills]
                    agent_id = f"a-{len(agents) + 1:0{width}d}"
                    agent = _Agent(agent_id, team.name, queues, len(team.skills))
                    agent.speed = skill_rng.lognormvariate(0.0, 0.12)
                    agent.bias = skill_rng.gauss(0.0, 0.2)
                    agent.start_min, agent.end_min = start_min, end_min
                    agent.rank, agent.roster = rank, shift.agents
                    if lunch_min is not None:  # three waves, an hour apart
                        agent.lunch_min = lunch_min + 60 * (lunch_wave % 3)
                        lunch_wave += 1
                    agents.append(agent)
                    member += 1
        return agents

    def _push(self, t: float, kind: int, a: Any = None, b: Any = None) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, kind, a, b))

    def _prime(self) -> None:
        t0 = self.start
        for q in self.queues:
            if q.rate_max > 0:
                self._push(t0 + q.rng.expovariate(q.rate_max), _ARRIVAL, q)
        status_per_s = self._status_rate()
        if status_per_s > 0:
            self._push(t0 + self._customer_rng.expovariate(status_per_s), _CUSTOMER)
        for agent in self.agents:
            on, change = self._shift_state(agent, t0)
            agent.on_shift = on
            if on:
                self._make_idle(agent)
            self._push(change, _SHIFT, agent)
        for n, incident in enumerate(self.incidents):
            if incident.kind == "understaffed" and incident.end > t0:
                self._push(max(incident.start, t0), _INCIDENT_ON, n)
                self._push(max(incident.end, t0), _INCIDENT_OFF, n)

    def _status_rate(self) -> float:
        per_day = self.scenario.signups_per_day + self.scenario.churns_per_day
        return per_day / (DAILY_PEAK_HOURS * 3600)

    # --- shifts -------------------------------------------------------------------------

    def _works(self, agent: _Agent, ordinal: int) -> bool:
        weekday = (ordinal - 1) % 7  # date.fromordinal(1) was a Monday
        if weekday < 5:
            return True
        share = self.scenario.weekend_staffing[weekday - 5]
        on_duty = math.ceil(share * agent.roster)
        return (agent.rank + ordinal) % agent.roster < on_duty

    def _intervals(self, agent: _Agent, ordinal: int) -> tuple[tuple[float, float], ...]:
        """The agent's working intervals of the shift starting on local day ``ordinal``."""
        key = (agent.start_min, agent.end_min, agent.lunch_min, ordinal)
        intervals = self._shift_cache.get(key)
        if intervals is None:
            day = self.local.day_start(ordinal)
            end_min = agent.end_min if agent.end_min > agent.start_min else agent.end_min + 1440
            at = self.local.at
            if agent.start_min < agent.lunch_min < end_min - 60:
                intervals = (
                    (at(day, agent.start_min), at(day, agent.lunch_min)),
                    (at(day, agent.lunch_min + 60), at(day, end_min)),
                )
            else:
                intervals = ((at(day, agent.start_min), at(day, end_min)),)
            self._shift_cache[key] = intervals
        return intervals

    def _shift_state(self, agent: _Agent, t: float) -> tuple[bool, float]:
        """Whether ``agent`` is working at ``t``, and when that next changes."""
        today = self.local.day_number(t)
        for ordinal in (today - 1, today):
            if self._works(agent, ordinal):
                for start, end in self._intervals(agent, ordinal):
                    if start <= t < end:
                        return True, end
        for ordinal in range(today - 1, today + 9):
            if self._works(agent, ordinal):
                for start, _ in self._intervals(agent, ordinal):
                    if start > t:
                        return False, start
        return False, t + 7 * 86400  # unreachable (weekdays are always worked); a safe retry

    # --- routing ------------------------------------------------------------------------

    def _make_idle(self, agent: _Agent) -> None:
        for q in agent.queues:
            q.idle[agent] = None

    def _leave_idle(self, agent: _Agent) -> None:
        for q in agent.queues:
            q.idle.pop(agent, None)

    def _agent_free(self, agent: _Agent, t: float) -> None:
        """An agent can take work: the longest-waiting contact of its skills, else idle."""
        agent.busy = False
        if not agent.on_shift or agent.offline:
            return
        best: _Contact | None = None
        best_q: _Queue | None = None
        for n, q in enumerate(agent.queues):
            if n == agent.primary and best is not None:
                break  # cross-skills only take overflow, when the team's own queues are empty
            waiting = q.waiting
            while waiting and waiting[0].state != _WAITING:
                waiting.popleft()
            if waiting and (best is None or waiting[0].arrival < best.arrival):
                best, best_q = waiting[0], q
        if best is None or best_q is None:
            self._make_idle(agent)
            return
        best_q.waiting.popleft()
        best_q.n_waiting -= 1
        self._assign(agent, best, t)

    def _assign(self, agent: _Agent, contact: _Contact, t: float) -> None:
        agent.busy = True
        self._leave_idle(agent)
        contact.state = _RINGING
        spec = contact.queue.spec
        answer_at = t + spec.ring_s * (0.4 + 1.2 * self.rng.random())
        if contact.deadline < answer_at:  # hangs up while it rings
            self._push(contact.deadline, _RING_ABANDON, contact, agent)
        else:
            self._push(answer_at, _ANSWER, contact, agent)

    # --- the loop -----------------------------------------------------------------------

    def events(self) -> Iterator[Event]:
        """The events in occurrence order, without end (stop by slicing)."""
        for _, event in self.timed_events():
            yield event

    def timed_events(self) -> Iterator[tuple[int, Event]]:
        """``(occurred_at epoch ms, event)`` in occurrence order, without end.

        The hot loop: a heap entry costs the Python calls it did written out here (the
        methods it calls inline ``_push``)."""
        self._begin()
        heap = self._heap
        heappop = heapq.heappop
        fmt = self._format
        tag = self.tag
        out: list[tuple[int, Event]] = []
        while heap:
            t, _, kind, a, b = heappop(heap)
            self.now = t
            ms = int(t * 1000)
            if kind == _ARRIVAL:
                started = self._arrival(a, t, ms)
                if started is not None:
                    out.append(started)
            elif kind == _ANSWER:
                out.append(self._answer(a, b, t, ms))
            elif kind == _DONE:
                out.append(self._resolve(a, b, t, ms))
                self._agent_free(b[0], t)
            elif kind == _ABANDON:
                contact: _Contact = a
                if contact.state != _WAITING:
                    continue
                contact.queue.n_waiting -= 1
                out.append(self._abandon(contact, t, ms))
            elif kind == _RING_ABANDON:
                out.append(self._abandon(a, t, ms))
                self._agent_free(b, t)
            elif kind == _SURVEY:
                self._next_event += 1
                event: Event = {
                    "event_id": f"{tag}-e{self._next_event}",
                    "type": "survey.submitted",
                    "occurred_at": fmt(ms),
                }
                event.update(a)
                out.append((ms, event))
            elif kind == _RETURN:
                customer, q, reason = a
                out.append(self._arrive(q, customer, reason, t, ms))
            elif kind == _CUSTOMER:
                status_event = self._customer_status(t, ms)
                if status_event is not None:
                    out.append((ms, status_event))
            elif kind == _SHIFT:
                self._shift_change(a, t)
            elif kind == _INCIDENT_ON:
                self._understaff(a, t)
            elif kind == _INCIDENT_OFF:
                self._restaff(a, t)
            if out:
                yield from out
                out.clear()

    def _begin(self) -> None:
        if self._started:
            raise RuntimeError("a Simulation runs once; create another one")
        self._started = True
        self._prime()

    # --- pieces of the loop -------------------------------------------------------------

    def _arrival(self, q: _Queue, t: float, ms: int) -> tuple[int, Event] | None:
        """A candidate arrival (Poisson at the queue's top rate), thinned by the pattern."""
        qrng = q.rng
        self._seq += 1  # self._push, inlined: the next arrival of this queue
        heapq.heappush(self._heap, (t + qrng.expovariate(q.rate_max), self._seq, _ARRIVAL, q, None))
        level = self.pattern(t)
        if self._surge_incidents:
            level *= arrival_factor(self.incidents, q.name, t)
        if qrng.random() * q.max_factor >= level:
            return None
        weights = q.reason_weights
        reason = q.reasons[bisect_right(weights, qrng.random() * weights[-1])]
        customer = self._pick_customer(qrng)
        return self._arrive(q, customer, reason, t, ms)

    def _answer(self, contact: _Contact, agent: _Agent, t: float, ms: int) -> tuple[int, Event]:
        """The agent answers: draw talk, hold and wrap-up, and schedule the end."""
        rng = self.rng
        contact.state = _TALKING
        contact.answer_ms = ms
        q = contact.queue
        spec = q.spec
        talk = min(14_400, round(rng.lognormvariate(q.talk_mu, 0.55) * agent.speed))
        hold = 0
        if spec.hold_p > 0 and rng.random() < spec.hold_p:
            hold = min(7_200, round(rng.lognormvariate(q.hold_mu, 0.7)))
        wrap = min(3_600, round(rng.lognormvariate(q.wrap_mu, 0.4)))
        contact.resolved = rng.random() < spec.resolve_p
        self._seq += 1  # self._push, inlined
        done = (t + talk + hold + wrap, self._seq, _DONE, contact, (agent, talk, hold, wrap))
        heapq.heappush(self._heap, done)
        self._next_event += 1
        return (
            ms,
            {
                "event_id": f"{self.tag}-e{self._next_event}",
                "type": "contact.answered",
                "occurred_at": self._format(ms),
                "contact_id": contact.contact_id,
                "queue": q.name,
                "channel": q.channel,
                "agent_id": agent.agent_id,
                "team": agent.team,
                "wait_seconds": (ms - contact.arrival_ms) / 1000,
            },
        )

    def _resolve(
        self, contact: _Contact, handling: tuple[_Agent, int, int, int], t: float, ms: int
    ) -> tuple[int, Event]:
        """The contact ends (the agent is freed next): its event, then the surveys and the
        repeat contact it may lead to."""
        agent, talk, hold, wrap = handling
        contact.state = _DONE_STATE
        q = contact.queue
        self._next_event += 1
        event: Event = {
            "event_id": f"{self.tag}-e{self._next_event}",
            "type": "contact.resolved",
            "occurred_at": self._format(ms),
            "contact_id": contact.contact_id,
            "customer_id": contact.customer,
            "queue": q.name,
            "channel": q.channel,
            "agent_id": agent.agent_id,
            "team": agent.team,
            "talk_seconds": talk,
            "hold_seconds": hold,
            "wrap_seconds": wrap,
            "resolved": contact.resolved,
            "reason": contact.reason,
        }
        rng = self.rng
        spec = q.spec
        wait = (contact.answer_ms - contact.arrival_ms) / 1000
        penalty = min(1.5, 1.5 * wait / min(spec.patience_s, 3600))
        base = (5.05 if contact.resolved else 3.1) - penalty + agent.bias
        if rng.random() < spec.csat_p:
            scale = 10 if rng.random() < 0.15 else 5
            self._schedule_survey(contact, agent, "csat", base + rng.gauss(0, 0.75), scale, t)
        if rng.random() < self.scenario.nps_p:
            self._schedule_survey(contact, agent, "nps", base + rng.gauss(0, 0.9), 10, t)
        repeat_p = REPEAT_RESOLVED_P if contact.resolved else REPEAT_UNRESOLVED_P
        if rng.random() < repeat_p:
            self._push(t + self._return_delay(t), _RETURN, (contact.customer, q, contact.reason))
        return ms, event

    def _pick_customer(self, rng: random.Random) -> str:
        number = rng.randrange(self.customers)
        while number in self._churned:
            number = rng.randrange(self.customers)
        return f"cu-{number}"

    def _arrive(
        self, q: _Queue, customer: str, reason: str, t: float, ms: int
    ) -> tuple[int, Event]:
        """A contact enters ``q``: to the longest-idle agent, or to the back of the line."""
        patience = q.rng.expovariate(1.0 / q.spec.patience_s)
        self._next_contact += 1
        contact = _Contact(f"{self.tag}-c{self._next_contact}", customer, q, reason, t, ms)
        if self._patience_incidents:
            patience *= patience_factor(self.incidents, q.name, t)
        contact.deadline = t + min(patience, MAX_WAIT_S)
        if q.idle:
            agent = next(iter(q.idle))
            self._assign(agent, contact, t)
        else:
            q.waiting.append(contact)
            q.n_waiting += 1
            self._push(contact.deadline, _ABANDON, contact)
        self._next_event += 1
        return (
            ms,
            {
                "event_id": f"{self.tag}-e{self._next_event}",
                "type": "contact.started",
                "occurred_at": self._format(ms),
                "contact_id": contact.contact_id,
                "customer_id": customer,
                "queue": q.name,
                "channel": q.channel,
                "reason": reason,
            },
        )

    def _abandon(self, contact: _Contact, t: float, ms: int) -> tuple[int, Event]:
        contact.state = _ABANDONED
        q = contact.queue
        q.abandoned += 1
        rng = self.rng
        wait = (ms - contact.arrival_ms) / 1000
        if rng.random() < q.spec.retry_p:
            delay = rng.lognormvariate(math.log(RETRY_MEDIAN_S), 1.0)
            self._push(t + delay, _RETURN, (contact.customer, q, contact.reason))
        if rng.random() < self.scenario.nps_p / 2:  # some who gave up say so in a survey
            latent = 2.2 - min(1.5, wait / q.spec.patience_s) + rng.gauss(0.0, 0.8)
            self._schedule_survey(contact, None, "nps", latent, 10, t)
        self._next_event += 1
        return (
            ms,
            {
                "event_id": f"{self.tag}-e{self._next_event}",
                "type": "contact.abandoned",
                "occurred_at": self._format(ms),
                "contact_id": contact.contact_id,
                "customer_id": contact.customer,
                "queue": q.name,
                "channel": q.channel,
                "wait_seconds": wait,
            },
        )

    def _return_delay(self, t: float) -> float:
        """Hours to days, mostly within the week, at a time of day when people call."""
        rng = self.rng
        delay = 3600.0
        for _ in range(20):
            if rng.random() < 0.45:
                delay = min(rng.lognormvariate(math.log(3 * 3600), 0.9), 2 * 86400)
            else:
                delay = rng.uniform(0.6, 6.5) * 86400
            if rng.random() < self.pattern(t + delay):
                break
        return delay

    def _schedule_survey(
        self,
        contact: _Contact,
        agent: _Agent | None,
        metric: str,
        latent: float,
        scale: int,
        t: float,
    ) -> None:
        rng = self.rng
        q = contact.queue
        if metric == "nps":
            score = max(0, min(10, round(latent * 2)))
        elif scale == 10:
            score = max(1, min(10, round(latent * 2)))
        else:
            score = max(1, min(5, round(latent)))
        fields: Event = {
            "customer_id": contact.customer,
            "contact_id": contact.contact_id,
            "metric": metric,
            "score": score,
        }
        if metric == "csat" and (scale == 10 or rng.random() < 0.7):
            fields["scale"] = scale  # 5 is the default: often left out
        if rng.random() < 0.4:  # the rest are attributed through contact_id by ccmon
            fields["queue"] = q.name
            fields["channel"] = q.channel
            if agent is not None:
                fields["agent_id"] = agent.agent_id
                fields["team"] = agent.team
        if rng.random() < 0.1:
            fields["comment"] = COMMENTS[rng.randrange(len(COMMENTS))]
        median = q.spec.survey_delay_s if metric == "csat" else 4 * q.spec.survey_delay_s
        delay = min(rng.lognormvariate(math.log(median), 1.0), MAX_SURVEY_DELAY_S)
        self._push(t + max(delay, 1.0), _SURVEY, fields)

    def _customer_status(self, t: float, ms: int) -> Event | None:
        """Next sign-up or churn candidate (thinned by the pattern), then this one's event."""
        rng = self._customer_rng
        rate = self._status_rate()
        self._push(t + rng.expovariate(rate), _CUSTOMER)
        scenario = self.scenario
        total = scenario.signups_per_day + scenario.churns_per_day
        if rng.random() >= self.pattern(t):
            return None
        if rng.random() < scenario.signups_per_day / total:
            number = self.customers
            self.customers += 1
            status = "active"
        else:
            number = rng.randrange(self.customers)
            status = "churned"
            if number in self._churned or len(self._churned) * 2 > self.customers:
                return None
            self._churned.add(number)
        self._next_event += 1
        return {
            "event_id": f"{self.tag}-e{self._next_event}",
            "type": "customer.status",
            "occurred_at": self._format(ms),
            "customer_id": f"cu-{number}",
            "status": status,
        }

    def _shift_change(self, agent: _Agent, t: float) -> None:
        """The agent's shift starts or ends (or a lunch hour); schedule the next change."""
        on, change = self._shift_state(agent, t + 0.001)
        self._push(change, _SHIFT, agent)
        if on != agent.on_shift:
            agent.on_shift = on
            if on and not agent.busy:
                self._agent_free(agent, t)
            elif not on:
                self._leave_idle(agent)  # a busy agent finishes the contact first

    def _understaff(self, n: int, t: float) -> None:
        """Take the incident's share of the on-shift agents serving its queue offline."""
        incident = self.incidents[n]
        q = self._queue_by_name[incident.queue]
        serving = [a for a in self.agents if q in a.queues and a.on_shift and not a.offline]
        chosen = self._incident_rng.sample(serving, round(len(serving) * incident.value))
        for agent in chosen:
            agent.offline += 1
            self._leave_idle(agent)
        self._offline_by_incident[n] = chosen

    def _restaff(self, n: int, t: float) -> None:
        """The understaffing incident ``n`` is over: its agents come back."""
        for agent in self._offline_by_incident.pop(n, []):
            agent.offline -= 1
            if not agent.busy:
                self._agent_free(agent, t)
