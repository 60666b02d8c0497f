"""``ccmon simulate``: run the model against the real topics (or into a file) on a clock.

Time rule: the simulator never produces an event from the future. The simulated clock runs
``speed`` times faster than the wall clock while it is behind it, then continues in real time,
so ``--start today --speed 600`` fast-forwards today's traffic so far and then stays live.
Writing a file (``--out``) is unpaced, and the future is fine there.

Events go to the topic of their type, keyed as ``ccmon send`` keys them, with acks=all and
idempotence. Ctrl-C or SIGTERM stops cleanly: the producer is flushed and a one-line summary
counts the events per type.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka.errors import KafkaError

from stream_app.errors import UserError
from stream_app.events.decode import TOPIC_TYPES
from stream_app.kafka_admin import require_topics, started_producer
from stream_app.send import KEY_FIELDS
from stream_app.settings import Settings
from stream_app.simulator.clock import LocalTime, Pacing, parse_duration, parse_start
from stream_app.simulator.incidents import Incident, parse_incident
from stream_app.simulator.model import Simulation
from stream_app.simulator.scenario import Scenario, default_scenario, load_scenario
from stream_app.simulator.status import StatusLine

FLUSH_EVERY = 2000
"""Outstanding sends after which the producer's acknowledgements are awaited."""


@dataclass(frozen=True)
class SimulateOptions:
    """The ``ccmon simulate`` options, as typed (parsed and checked by ``plan``)."""

    speed: float = 1.0
    start: str = "now"
    rate: float | None = None
    seed: int | None = None
    incidents: tuple[str, ...] = ()
    duration: str | None = None
    max_events: int | None = None
    out: Path | None = None
    scenario: Path | None = None
    progress: bool = True


@dataclass(frozen=True)
class Plan:
    """Everything decided before the first event: the simulation and when to stop."""

    simulation: Simulation
    start: float
    end: float | None
    max_events: int | None
    speed: float
    seed: int
    scale: float


@dataclass
class RunSummary:
    """What a run produced, for the closing line and for tests."""

    by_type: Counter[str] = field(default_factory=Counter)
    sim_start: float = 0.0
    sim_end: float = 0.0
    seconds: float = 0.0
    seed: int = 0
    stopped_by: str = "end"
    local: LocalTime = field(default_factory=LocalTime)

    @property
    def events(self) -> int:
        """All events produced or written."""
        return sum(self.by_type.values())

    def line(self, verb: str = "produced") -> str:
        """One line: totals, per type (every type, so scripts can read it), times, seed."""
        per_type = ", ".join(f"{t} {self.by_type.get(t, 0)}" for t in TOPIC_TYPES)
        begin = self.local.format(self.sim_start, with_date=True)
        end = self.local.format(self.sim_end, with_date=True)
        return (
            f"{verb} {self.events} events ({per_type}); simulated {begin} to {end} "
            f"{self.local.name} in {self.seconds:.1f} s; seed {self.seed}; "
            f"stopped by {self.stopped_by}"
        )


def plan(options: SimulateOptions, settings: Settings, *, wall_now: float | None = None) -> Plan:
    """Parse and check every option (one-line errors) and build the simulation."""
    now = time.time() if wall_now is None else wall_now
    local = LocalTime(settings.timezone)
    start = parse_start(options.start, now, local)
    if start is None:
        raise UserError(
            f"--start {options.start!r}: use now, today, -DURATION (e.g. -2h) or an ISO time "
            "such as 2026-11-23T08:00:00+01:00"
        )
    end: float | None = None
    if options.duration is not None:
        seconds = parse_duration(options.duration)
        if seconds is None or seconds <= 0:
            raise UserError(
                f"--duration {options.duration!r}: not a duration; e.g. 30m, 90s, 2h or 1d"
            )
        end = start + seconds
    if options.out is not None and end is None and options.max_events is None:
        raise UserError("--out writes a finite file: give --duration or --events as well")
    scenario: Scenario = (
        default_scenario() if options.scenario is None else load_scenario(options.scenario)
    )
    scale = 1.0
    if options.rate is not None:
        if scenario.peak_events_per_s() <= 0:
            raise UserError(f"--rate: scenario {scenario.name!r} has no traffic to scale")
        scale = options.rate / scenario.peak_events_per_s()
        scenario = scenario.scaled(scale)
    # A file has no "moment the command starts": relative incident times count from --start.
    relative_to = start if options.out is not None else now
    names = [q.name for q in scenario.queues]
    incidents = [
        parse_incident(spec, relative_to=relative_to, sim_start=start, local=local, queues=names)
        for spec in options.incidents
    ]
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(10**6)
    simulation = Simulation(
        scenario,
        start=start,
        seed=seed,
        timezone=settings.timezone,
        incidents=incidents,
        tag=run_tag(seed, start, scenario, incidents),
    )
    return Plan(
        simulation=simulation,
        start=start,
        end=end,
        max_events=options.max_events,
        speed=options.speed,
        seed=seed,
        scale=scale,
    )


def run_tag(seed: int, start: float, scenario: Scenario, incidents: list[Incident]) -> str:
    """Six hex digits naming a run: ids differ between runs, yet rerunning the very same
    command (same seed, start, scenario and rate, incidents) makes the same ids, so its events
    are recognized as duplicates instead of counted twice."""
    text = repr((seed, round(start * 1000), scenario, incidents))
    return hashlib.blake2b(text.encode(), digest_size=3).hexdigest()


def write_file(plan: Plan, path: Path, *, progress: bool) -> RunSummary:
    """Write the planned events as JSON Lines, unpaced; Ctrl-C/SIGTERM keep what is written."""
    sim = plan.simulation
    summary = _summary(plan)
    stop = _SignalFlag()
    end_ms = None if plan.end is None else int(plan.end * 1000)
    t0 = time.monotonic()
    try:
        out = path.open("wb")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from None
    with stop, out, StatusLine(sim, live=progress) as status:
        for n, (ms, event) in enumerate(sim.timed_events(), start=1):
            if end_ms is not None and ms >= end_ms:
                summary.stopped_by = "duration"
                break
            out.write(orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE))
            summary.by_type[event["type"]] += 1
            if n == plan.max_events:
                summary.stopped_by = "events"
                break
            if n % 1000 == 0:
                status.tick(n, ms / 1000)
                if stop.raised:
                    summary.stopped_by = stop.raised
                    break
    summary.sim_end = sim.now if plan.end is None else min(sim.now, plan.end)
    summary.seconds = time.monotonic() - t0
    return summary


async def produce(
    plan: Plan,
    settings: Settings,
    *,
    progress: bool,
    wall: Callable[[], float] = time.time,
) -> RunSummary:
    """Produce the planned events to Kafka on the simulated clock, until a stop condition."""
    topics = settings.topics_by_type
    await require_topics(settings.bootstrap_servers, topics.values())
    producer = await started_producer(settings.bootstrap_servers, linger_ms=20)
    sim = plan.simulation
    summary = _summary(plan)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    stopped_by: dict[str, str] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _stopper(stop, stopped_by, sig.name))
    pacing = Pacing(plan.start, wall(), plan.speed)
    t0 = time.monotonic()

    def sim_clock() -> float:
        return pacing.sim_time(wall())

    pending: list[asyncio.Future[Any]] = []
    try:
        with StatusLine(sim, live=progress) as status:
            for sent, (ms, event) in enumerate(sim.timed_events()):
                t = ms / 1000
                target = t if plan.end is None else min(t, plan.end)
                while not stop.is_set():
                    delay = pacing.due(target) - wall()
                    if delay <= 0:
                        break
                    status.tick(sent, sim_clock())
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), min(delay, 0.25))
                if stop.is_set():
                    summary.stopped_by = stopped_by.get("by", "signal")
                    break
                if plan.end is not None and t >= plan.end:
                    summary.stopped_by = "duration"
                    break
                event_type = event["type"]
                key = next((event[f] for f in KEY_FIELDS[event_type] if event.get(f)), None)
                pending.append(
                    await producer.send(
                        topics[event_type],
                        orjson.dumps(event),
                        key=key.encode() if key is not None else None,
                    )
                )
                summary.by_type[event_type] += 1
                if len(pending) >= FLUSH_EVERY:
                    await asyncio.gather(*pending)
                    pending.clear()
                status.tick(sent + 1, min(t, sim_clock()))
                if sent + 1 == plan.max_events:
                    summary.stopped_by = "events"
                    break
            await asyncio.gather(*pending)
    except KafkaError as exc:
        raise UserError(
            f"producing to Kafka at {settings.bootstrap_servers} failed ({type(exc).__name__}) "
            f"after {summary.events} events; is the broker still up? ('ccmon stack status')"
        ) from None
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await producer.stop()  # flushes what is still buffered
    summary.sim_end = min(sim_clock(), plan.end) if plan.end is not None else sim_clock()
    summary.seconds = time.monotonic() - t0
    return summary


def _stopper(stop: asyncio.Event, record: dict[str, str], name: str) -> Callable[[], None]:
    def handler() -> None:
        record.setdefault("by", name)
        stop.set()

    return handler


def _summary(plan: Plan) -> RunSummary:
    return RunSummary(
        sim_start=plan.start, seed=plan.seed, local=plan.simulation.local, stopped_by="end"
    )


class _SignalFlag:
    """SIGINT/SIGTERM set a flag instead of interrupting, so a file is closed cleanly."""

    def __init__(self) -> None:
        self.raised = ""
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _SignalFlag:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)

    def _handle(self, signum: int, frame: object) -> None:
        self.raised = signal.Signals(signum).name


def run(options: SimulateOptions, settings: Settings) -> tuple[RunSummary, str]:
    """Plan and run (file or Kafka); returns the summary and the verb for its line."""
    the_plan = plan(options, settings)
    if options.out is not None:
        return write_file(the_plan, options.out, progress=options.progress), "wrote"
    return asyncio.run(produce(the_plan, settings, progress=options.progress)), "produced"
