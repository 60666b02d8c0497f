"""Replay a generated dataset through real workers while faults hit them; then compare.

A run sends the dataset (duplicates, disorder, late and bad records) in slices with
``ccmon send``, a random 0.5-3 s apart; meanwhile it applies the plan's faults one after
another, each a random 0.5-3 s after the last one ended (mid-processing, mid-recovery or
idle, as it falls): a worker SIGKILLed and a new one started with the same app id, a rolling
SIGTERM restart of every worker, or the broker SIGKILLed and started again. At the end,
acting as a supervisor would (restarting a worker whose /healthz says it is not live), it
waits until the group has committed the end offset of every input and internal partition,
then compares every worker's API with the independent reference (``tests.reference``) and
reports committed offsets that ever moved backwards.
"""

from __future__ import annotations

import random
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stream_app.devstack import kafka as devkafka
from stream_app.settings import Settings
from stream_app.worker.app import internal_topic_names
from tests.comparison import ENGINE_ENV, api_differences, expected_rows
from tests.datagen import Dataset, generate
from tests.offsets import CommitWatcher, lag
from tests.workers import WorkerProcess, free_port, in_flight, send, write_jsonl

FAULTS = ("kill", "broker", "rolling")


@dataclass(frozen=True)
class Plan:
    """A fault mix and the data it hits."""

    seed: int = 1
    kills: int = 5
    broker_restarts: int = 0
    rolling: int = 0
    workers: int = 1
    days: int = 2
    contacts_per_day: int = 1850
    settle_timeout_s: float = 300.0
    broker_down_s: float = 3.0
    """A killed broker is started again after a random 0.5 s to this long."""
    worker_command: tuple[str, ...] = ("stream_app", "worker")
    """``python -m`` arguments of a worker (tests.chaos.stock_worker: faust's own consumer)."""

    def faults(self, rng: random.Random) -> list[str]:
        """The plan's faults in a random order."""
        kinds = ["kill"] * self.kills + ["broker"] * self.broker_restarts
        kinds += ["rolling"] * self.rolling
        rng.shuffle(kinds)
        return kinds


@dataclass
class Outcome:
    """What a run did and found."""

    plan: Plan
    events: int = 0
    log: list[str] = field(default_factory=list)
    differences: dict[str, list[str]] = field(default_factory=dict)
    """Per worker URL: its API's differences from the reference."""
    lag: dict[tuple[str, int], int] = field(default_factory=dict)
    backwards: list[str] = field(default_factory=list)
    skipped_offsets: list[str] = field(default_factory=list)
    """Workers' log lines saying the fetch path jumped over offsets (stream_app.worker.consumer)."""
    refetches: int = 0
    """Times a worker read a partition again from the last record it delivered."""
    rereads: int = 0
    """Times a worker read a partition again from a record that never reached an agent."""
    supervisor_restarts: int = 0
    send_retries: int = 0
    """Slices sent again because ``ccmon send`` found no broker (down during a fault)."""
    stop_seconds: list[float] = field(default_factory=list)
    """How long each SIGTERM took to stop a worker."""
    stop_codes: list[int] = field(default_factory=list)
    """The exit code of each worker stopped with SIGTERM (0: a clean stop)."""
    seconds: float = 0.0

    @property
    def exact(self) -> bool:
        clean = not self.lag and not self.backwards and not self.skipped_offsets
        return clean and not any(self.differences.values())

    def summary(self) -> str:
        diffs = {url: len(d) for url, d in self.differences.items()}
        first = next((d[:5] for d in self.differences.values() if d), [])
        return (
            f"seed {self.plan.seed}: {'EXACT' if self.exact else 'NOT EXACT'}; {self.events} "
            f"records, faults {self.log}; differences per worker {diffs} {first}; "
            f"lag {self.lag}; backwards {self.backwards}; skipped offsets "
            f"{self.skipped_offsets[:3]}; refetches {self.refetches}; rereads {self.rereads}; "
            f"supervisor restarts "
            f"{self.supervisor_restarts}; sends retried {self.send_retries}; SIGTERM stops "
            f"{[round(s, 1) for s in self.stop_seconds]} s; {self.seconds:.0f} s"
        )


def chaos_dataset(plan: Plan, rng: random.Random) -> tuple[Dataset, list[dict[str, Any]]]:
    """The generated dataset, and the stream to send: it with about 2 % bad records mixed in
    (the worker dead-letters them; the reference never sees them, so they change nothing)."""
    dataset = generate(
        plan.seed,
        days=plan.days,
        contacts_per_day=plan.contacts_per_day,
        customers=max(160, plan.contacts_per_day // 3),
    )
    breakers: list[dict[str, Any]] = [  # wrong for every event type (KPI-SPEC 2, 6)
        {"occurred_at": "yesterday"},
        {"event_id": ""},
        {"schema_version": 99},
    ]
    events: list[dict[str, Any]] = []
    for n, event in enumerate(dataset.events):
        events.append(event)
        if rng.random() < 0.02 and event["event_id"] not in dataset.late_event_ids:
            events.append({**event, "event_id": f"bad-{n}", **rng.choice(breakers)})
    return dataset, events


class Cluster:
    """The workers of one app id on the local broker, each in a slot of its own (port, data
    directory and log names stay with the slot across restarts)."""

    def __init__(
        self, settings: Settings, workdir: Path, size: int, command: tuple[str, ...]
    ) -> None:
        self.settings, self.workdir, self.command = settings, workdir, command
        self.slots = [settings.model_copy(update={"web_port": free_port()}) for _ in range(size)]
        self.workers: list[WorkerProcess | None] = [None] * size
        self.starts = 0

    def start(self, slot: int) -> WorkerProcess:
        self.starts += 1
        log = self.workdir / f"worker{slot}-{self.starts}.log"
        data = self.workdir / f"data{slot}"
        worker = WorkerProcess.start(self.slots[slot], log, data, self.command)
        self.workers[slot] = worker
        return worker

    def live(self) -> list[WorkerProcess]:
        return [w for w in self.workers if w is not None and w.proc.poll() is None]

    def stop_all(self) -> None:
        for worker in self.live():
            worker.stop()


def _kill(cluster: Cluster, rng: random.Random, outcome: Outcome) -> None:
    slot = rng.randrange(len(cluster.slots))
    worker = cluster.workers[slot]
    if worker is not None:
        worker.stop(sig=signal.SIGKILL)
    cluster.start(slot).wait_ready(timeout_s=120)
    outcome.log.append(f"kill w{slot}")


def _rolling(cluster: Cluster, rng: random.Random, outcome: Outcome) -> None:
    for slot, worker in enumerate(cluster.workers):
        if worker is not None:
            t0 = time.monotonic()
            outcome.stop_codes.append(worker.stop(sig=signal.SIGTERM, timeout_s=60))
            outcome.stop_seconds.append(time.monotonic() - t0)
        cluster.start(slot).wait_ready(timeout_s=120)
    outcome.log.append("rolling")


def _broker(cluster: Cluster, rng: random.Random, outcome: Outcome) -> None:
    """SIGKILL one broker of the local stack (the only one, or one of a cluster's), start it
    again 0.5 s to ``broker_down_s`` later."""
    handles = devkafka.broker_handles(cluster.settings)
    n = rng.randrange(len(handles))
    assert handles[n].pid() is not None, "the local broker is not ours (`ccmon stack up`'s?)"
    handles[n].stop(timeout_s=0, sig=signal.SIGKILL)
    t0 = time.monotonic()
    time.sleep(rng.uniform(0.5, max(0.5, outcome.plan.broker_down_s)))
    devkafka.broker_services(cluster.settings)[n].start()
    name = "broker" if len(handles) == 1 else f"broker {n + 1}"
    outcome.log.append(f"{name} (down {time.monotonic() - t0:.1f} s)")


APPLY: dict[str, Callable[[Cluster, random.Random, Outcome], None]] = {
    "kill": _kill,
    "rolling": _rolling,
    "broker": _broker,
}


def settle(cluster: Cluster, topics: list[str], outcome: Outcome, timeout_s: float) -> None:
    """Until every input and internal partition is committed to its end and no stage is
    behind; a worker that exited, or whose /healthz says it is not live, is restarted."""
    settings = cluster.settings
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for slot, worker in enumerate(cluster.workers):
            health = worker.health() if worker is not None else None
            dead = worker is None or worker.proc.poll() is not None
            if dead or (health is not None and health.get("live") is False):
                if worker is not None:
                    worker.stop(sig=signal.SIGKILL)
                cluster.start(slot).wait_ready(timeout_s=120)
                outcome.supervisor_restarts += 1
                outcome.log.append(f"supervisor restart w{slot} ({health})")
        try:
            behind = lag(settings.bootstrap_servers, settings.app_id, topics)
            if not behind and in_flight(cluster.live()) == 0:
                outcome.lag = {}
                return
            outcome.lag = behind
        except Exception as exc:  # a worker restarting; ask again
            outcome.log.append(f"settle: {type(exc).__name__}")
        time.sleep(1.0)


class Sender(threading.Thread):
    """Sends the stream in slices with ``ccmon send``, a random 0.5-3 s apart, while the
    faults happen. A slice sent while the broker is down is retried by the producer; one whose
    ``ccmon send`` found no broker to start with (nothing sent) is sent again a second later,
    as an upstream system's connector would, until ``UNREACHABLE_RETRY_S`` have passed."""

    UNREACHABLE_RETRY_S = 600.0

    def __init__(
        self,
        settings: Settings,
        stream: list[dict[str, Any]],
        workdir: Path,
        rng: random.Random,
        slices: int,
    ) -> None:
        super().__init__(daemon=True, name="sender")
        self.settings, self.workdir, self.rng = settings, workdir, rng
        size = -(-len(stream) // slices)
        self.slices = [stream[i : i + size] for i in range(0, len(stream), size)]
        self.failures: list[str] = []
        self.unreachable_retries = 0

    def run(self) -> None:
        for n, events in enumerate(self.slices):
            path = write_jsonl(self.workdir / f"slice-{n:03d}.jsonl", events)
            failure = self._send(path)
            if failure is not None:
                self.failures.append(f"slice {n}: {failure[-500:]}")
            time.sleep(self.rng.uniform(0.5, 3.0))

    def _send(self, path: Path) -> str | None:
        """None once the slice is sent, else what ``ccmon send`` said."""
        deadline = time.monotonic() + self.UNREACHABLE_RETRY_S
        while True:
            proc = send(self.settings, path, self.workdir)
            output = proc.communicate(timeout=600)[0].decode(errors="replace")
            if proc.returncode == 0:
                return None
            if "Kafka is not reachable" not in output or time.monotonic() > deadline:
                return output
            self.unreachable_retries += 1
            time.sleep(1.0)


def run(plan: Plan, stack: Settings, workdir: Path) -> Outcome:
    """One chaos run on its own topics and app id (deleted by the caller's fixture or CLI)."""
    t0 = time.monotonic()
    rng = random.Random(plan.seed)
    outcome = Outcome(plan)
    dataset, stream = chaos_dataset(plan, rng)
    expected = expected_rows(dataset)
    outcome.events = len(stream)
    settings = stack.model_copy(update=ENGINE_ENV)
    topics = [*settings.topics_by_type.values(), *internal_topic_names(settings.app_id)]
    faults = plan.faults(rng)
    cluster = Cluster(settings, workdir, plan.workers, plan.worker_command)
    watcher = CommitWatcher(settings.bootstrap_servers, settings.app_id)
    sender = Sender(settings, stream, workdir, random.Random(plan.seed + 1), 4 * len(faults) + 2)
    try:
        for slot in range(plan.workers):
            cluster.start(slot).wait_ready(timeout_s=120)
        watcher.start()
        sender.start()
        for fault in faults:
            time.sleep(rng.uniform(0.5, 3.0))
            APPLY[fault](cluster, rng, outcome)
        sender.join()
        outcome.send_retries = sender.unreachable_retries
        assert not sender.failures, sender.failures
        settle(cluster, topics, outcome, plan.settle_timeout_s)
        watcher.stop()
        outcome.backwards = watcher.backwards
        for worker in cluster.live():
            outcome.differences[worker.base_url] = api_differences(
                worker.base_url, dataset, expected
            )
    finally:
        watcher.stop()
        cluster.stop_all()
    lines = [
        line
        for log in sorted(workdir.glob("worker*.log"))
        for line in log.read_text(errors="replace").splitlines()
    ]
    outcome.skipped_offsets = [line for line in lines if "skipped by the fetch path" in line]
    outcome.refetches = sum("records fetched, not delivered" in line for line in lines)
    outcome.rereads = sum("never reached an agent" in line for line in lines)
    outcome.seconds = time.monotonic() - t0
    return outcome


def namespaced(stack: Settings) -> Settings:
    """Settings with a topic namespace and app id of their own (as the tests' fixture makes)."""
    tag = f"c{uuid.uuid4().hex[:10]}"
    return stack.model_copy(update={"topic_namespace": f"{tag}.", "app_id": f"ccmon-{tag}"})
