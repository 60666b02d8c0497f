"""Running real ccmon workers (``python -m stream_app worker``) and watching them finish.

"Processed": every worker's ``/metrics`` together show every loaded record consumed, every
accepted, on-time event applied at its primary stage (``ccmon_events_applied_total`` +
``ccmon_events_duplicate_total`` = ``ccmon_events_accepted_total`` - ``ccmon_events_late_total``),
and each stage done with every event routed to it (``ccmon_stage_events_total`` >=
``ccmon_events_routed_total``, by stage: a contact.resolved's customer stage may lag behind).
"Committed": the consumer group (= app id) has committed the end offset of every partition of
the input topics and of the two internal re-keyed topics, so the secondary (customer) stage is
done too and a restart would not reprocess anything.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.kafka import GroupWatch, Offsets, caught_up, end_offsets
from bench.proc import Child, python
from stream_app.settings import Settings
from stream_app.worker.app import internal_topic_names

LINE = re.compile(r"^(ccmon_(?:events|stage)_[a-z]+_total)(?:\{([^}]*)\})? ([0-9.e+-]+)$")
STAGE = re.compile(r'stage="([a-z]+)"')


@dataclass
class PipelineCounts:
    """The pipeline-health counters of one or more workers, summed."""

    consumed: float = 0.0
    accepted: float = 0.0
    rejected: float = 0.0
    late: float = 0.0
    applied: float = 0.0
    duplicate: float = 0.0
    routed: dict[str, float] = field(default_factory=dict)
    """Events handed to each stage (``ccmon_events_routed_total``, by stage)."""
    finished: dict[str, float] = field(default_factory=dict)
    """Events each stage is done with (``ccmon_stage_events_total``, by stage)."""

    def add(self, other: PipelineCounts) -> None:
        for name, value in vars(self).items():
            if isinstance(value, dict):
                for stage, count in getattr(other, name).items():
                    value[stage] = value.get(stage, 0.0) + count
            else:
                setattr(self, name, value + getattr(other, name))

    @classmethod
    def parse(cls, text: str) -> PipelineCounts:
        counts = cls()
        for line in text.splitlines():
            if not line.startswith(("ccmon_events_", "ccmon_stage_")):
                continue
            match = LINE.match(line)
            if not match:
                continue
            metric, labels, value = match.group(1), match.group(2) or "", float(match.group(3))
            if metric in ("ccmon_events_routed_total", "ccmon_stage_events_total"):
                stage = STAGE.search(labels)
                into = counts.routed if metric == "ccmon_events_routed_total" else counts.finished
                if stage:
                    into[stage.group(1)] = into.get(stage.group(1), 0.0) + value
                continue
            name = metric[len("ccmon_events_") : -len("_total")]
            if hasattr(counts, name):
                setattr(counts, name, getattr(counts, name) + value)
        return counts

    @property
    def done(self) -> float:
        """Records at their end: applied, duplicate, late or rejected."""
        return self.applied + self.duplicate + self.late + self.rejected

    def processed(self, loaded: int) -> bool:
        return (
            self.consumed >= loaded
            and self.accepted + self.rejected >= loaded
            and self.applied + self.duplicate >= self.accepted - self.late
            and all(self.finished.get(stage, 0.0) >= n for stage, n in self.routed.items())
        )


def worker_env(settings: Settings, data_dir: Path) -> dict[str, str]:
    """The environment of a worker child: the harness's own plus the settings that differ."""
    env = {**os.environ}
    env.update(
        CCMON_KAFKA_BOOTSTRAP=settings.bootstrap_servers,
        CCMON_TOPIC_NAMESPACE=settings.topic_namespace,
        CCMON_APP_ID=settings.app_id,
        CCMON_WEB_HOST=settings.web_host,
        CCMON_WEB_PORT=str(settings.web_port),
        CCMON_DATA_DIR=str(data_dir),
    )
    return env


@dataclass
class Worker:
    """One worker child and its base URL."""

    settings: Settings
    child: Child
    ready_at: float | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.settings.web_host}:{self.settings.web_port}"

    @classmethod
    def start(cls, settings: Settings, workdir: Path, name: str) -> Worker:
        child = Child.start(
            name,
            [python(), "-m", "stream_app", "worker"],
            worker_env(settings, workdir / f"{name}-data"),
            workdir / f"{name}.log",
        )
        return cls(settings, child)

    async def ready(self, client: httpx.AsyncClient) -> bool:
        try:
            response = await client.get(f"{self.base_url}/healthz", timeout=2)
            return bool(response.json().get("ready"))
        except (httpx.HTTPError, ValueError):
            return False

    async def counts(self, client: httpx.AsyncClient) -> PipelineCounts:
        response = await client.get(f"{self.base_url}/metrics", timeout=30)
        response.raise_for_status()
        return PipelineCounts.parse(response.text)


class WorkerFailed(RuntimeError):
    """A worker exited or stalled; the message carries its log's tail."""


async def wait_ready(workers: list[Worker], timeout_s: float = 180.0) -> None:
    """Until every worker's /healthz says ready (partitions assigned)."""
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient() as client:
        while any(w.ready_at is None for w in workers):
            for w in workers:
                if w.ready_at is None:
                    if not w.child.alive:
                        raise WorkerFailed(
                            f"{w.child.name} exited {w.child.proc.returncode}: {w.child.log_tail()}"
                        )
                    if await w.ready(client):
                        w.ready_at = time.monotonic()
            if time.monotonic() > deadline:
                raise WorkerFailed(f"not ready in {timeout_s:.0f} s")
            await asyncio.sleep(0.1)


class Rates:
    """events/s of a measured run, to processed and to committed (peer and workers alike)."""

    loaded: int
    processed_s: float
    committed_s: float

    @property
    def rate(self) -> float:
        return self.loaded / self.processed_s if self.processed_s > 0 else 0.0

    @property
    def committed_rate(self) -> float:
        return self.loaded / self.committed_s if self.committed_s > 0 else 0.0


@dataclass
class RunResult(Rates):
    """One measured run of N workers over the pre-loaded topics."""

    workers: int
    loaded: int
    startup_s: list[float] = field(default_factory=list)
    """Process start -> /healthz ready, per worker."""
    processed_s: float = 0.0
    """First worker ready -> processed."""
    committed_s: float = 0.0
    """First worker ready -> committed."""
    cpu_s: float = 0.0
    """CPU seconds of all workers from start to committed (startup included)."""
    cpu_startup_s: float = 0.0
    """CPU seconds spent before the first worker was ready."""
    peak_rss: int = 0
    """Sum over workers of each one's peak resident set, bytes."""
    counts: PipelineCounts = field(default_factory=PipelineCounts)
    scrapes: int = 0
    scrape_s: float = 0.0
    """/metrics scrapes the harness made to see progress, and their total duration."""
    logs: list[str] = field(default_factory=list)


async def run_workers(
    base: Settings,
    app_id: str,
    count: int,
    loaded: int,
    input_ends: Offsets,
    workdir: Path,
    *,
    progress: Callable[[float], None] | None = None,
    stall_s: float = 180.0,
    max_scrape_every_s: float = 20.0,
    ports: Callable[[], int],
) -> RunResult:
    """Start ``count`` workers of a fresh app id, measure until processed and committed.

    A full /metrics scrape costs the worker real CPU (hundreds of ms with thousands of agent
    series), so it is scraped like Prometheus would (every ``max_scrape_every_s``) and more
    often only when the estimated end is near; the number and time of scrapes are reported.
    """
    workers = [
        Worker.start(
            base.model_copy(update={"app_id": app_id, "web_port": ports()}),
            workdir,
            f"{app_id}-w{i}",
        )
        for i in range(count)
    ]
    result = RunResult(workers=count, loaded=loaded, logs=[str(w.child.log) for w in workers])
    try:
        await wait_ready(workers)
        first_ready = min(w.ready_at or 0.0 for w in workers)
        result.startup_s = [(w.ready_at or 0.0) - w.child.started for w in workers]
        result.cpu_startup_s = sum(w.child.cpu_seconds() for w in workers)
        internal = list(internal_topic_names(app_id))
        watch = _RunWatch(workers, result, progress, stall_s, max_scrape_every_s)
        async with (
            httpx.AsyncClient() as client,
            GroupWatch(base.bootstrap_servers, app_id) as group,
        ):
            while not (watch.processed_at and watch.committed_at):
                now = time.monotonic()
                _raise_if_exited(workers)
                if not watch.processed_at and now >= watch.next_scrape:
                    await watch.scrape(client, now)
                if not watch.committed_at and now >= watch.next_commit_check:
                    watch.next_commit_check = now + 0.5
                    await watch.check_committed(group, input_ends, base.bootstrap_servers, internal)
                await asyncio.sleep(0.1)
        result.processed_s = watch.processed_at - first_ready
        result.committed_s = watch.committed_at - first_ready
        result.cpu_s = sum(w.child.cpu_seconds() for w in workers)
        result.peak_rss = sum(w.child.peak_rss() for w in workers)
    finally:
        for w in workers:
            w.child.stop()
    return result


def _raise_if_exited(workers: list[Worker]) -> None:
    for w in workers:
        if not w.child.alive:
            raise WorkerFailed(
                f"{w.child.name} exited {w.child.proc.returncode}: {w.child.log_tail()}"
            )


class _RunWatch:
    """When a run of workers was processed and committed, and when to look next."""

    def __init__(
        self,
        workers: list[Worker],
        result: RunResult,
        progress: Callable[[float], None] | None,
        stall_s: float,
        max_scrape_every_s: float,
    ) -> None:
        self.workers = workers
        self.result = result
        self.progress = progress
        self.stall_s = stall_s
        self.max_scrape_every_s = max_scrape_every_s
        self.last_done, self.last_move = -1.0, time.monotonic()
        self.processed_at = self.committed_at = 0.0
        self.next_scrape = self.next_commit_check = 0.0

    async def scrape(self, client: httpx.AsyncClient, now: float) -> None:
        """Sum the workers' counters: processed yet? Else when to scrape next (or stalled)."""
        result, loaded = self.result, self.result.loaded
        counts = PipelineCounts()
        for w in self.workers:
            counts.add(await w.counts(client))
        seen = time.monotonic()
        result.scrapes += 1
        result.scrape_s += seen - now
        result.counts = counts
        if self.progress is not None:
            self.progress(counts.done)
        if counts.processed(loaded):
            self.processed_at = seen
        elif counts.done != self.last_done:
            rate = (counts.done - max(self.last_done, 0)) / max(seen - self.last_move, 1e-3)
            eta = (loaded - counts.done) / rate if rate > 0 else 3.0
            self.next_scrape = seen + min(max(eta / 3, 0.25), self.max_scrape_every_s)
            self.last_done, self.last_move = counts.done, seen
        elif seen - self.last_move > self.stall_s:
            raise WorkerFailed(
                f"no progress for {self.stall_s:.0f} s at {counts} (loaded {loaded}): "
                f"{self.workers[0].child.log_tail()}"
            )
        else:
            self.next_scrape = seen + self.max_scrape_every_s

    async def check_committed(
        self, group: GroupWatch, input_ends: Offsets, bootstrap: str, internal: list[str]
    ) -> None:
        """Committed: the group is at the end of the input topics, then of the internal ones."""
        committed = await group.committed()
        if caught_up(committed, input_ends):
            ends = await end_offsets(bootstrap, internal)
            if caught_up(committed, ends):
                self.committed_at = time.monotonic()
