"""End-to-end latency: produce -> visible on /metrics and in the JSON API, at fixed load rates.

Each rate gets fresh topics and a fresh worker (a backlog left by a rate the worker cannot
sustain must not spill into the next one). In the background the benchmark's events, made
current (``occurred_at`` = now, ids suffixed per pass), are streamed at the rate; every
``probe_every_s`` one ``contact.started`` on the dedicated queue ``zz-probe`` is sent by its own
unbatched producer. Pollers read ``/api/kpis?queue=zz-probe`` (fast, the answer is small) and
``/metrics`` (every ``metrics_every_s``: a full scrape costs the worker real CPU) and note when
the probe queue's offered count first reaches each probe's sequence number. Latency is that
moment minus the probe's send time; a probe not seen ``tail_s`` after the load stopped counts
as infinitely late (reported as ">").
"""

from __future__ import annotations

import asyncio
import itertools
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
from confluent_kafka import Producer

from bench.data import Event, event_key, restamped
from bench.kafka import KEY_PARTITIONER
from bench.worker import Worker, WorkerFailed, wait_ready
from stream_app.kafka_admin import ensure_topics
from stream_app.settings import Settings

PROBE_QUEUE = "zz-probe"
PROBE_LINE = re.compile(r'^ccmon_offered_total\{[^}]*queue="zz-probe"[^}]*\} ([0-9.e+-]+)$', re.M)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``inf`` entries are probes never seen)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Seen:
    """When each probe sequence number was first visible through one endpoint."""

    at: dict[int, float] = field(default_factory=dict)
    polls: int = 0
    poll_seconds: float = 0.0

    def record(self, count: int, now: float) -> None:
        for seq in range(len(self.at) + 1, count + 1):
            self.at.setdefault(seq, now)

    def latencies(self, sent: dict[int, float]) -> list[float]:
        return [self.at[s] - t if s in self.at else math.inf for s, t in sent.items()]


@dataclass
class RateResult:
    """One load rate."""

    target_rate: int
    seconds: float = 0.0
    produced: int = 0
    consumed: float = 0.0
    """Records the worker consumed while the load ran (load + probes)."""
    probes: int = 0
    api: list[float] = field(default_factory=list)
    metrics: list[float] = field(default_factory=list)
    api_poll_ms: float = 0.0
    metrics_poll_ms: float = 0.0
    error: str = ""

    @property
    def produced_rate(self) -> float:
        return self.produced / self.seconds if self.seconds else 0.0

    @property
    def consumed_rate(self) -> float:
        return self.consumed / self.seconds if self.seconds else 0.0

    def unseen(self, which: str) -> int:
        return sum(1 for v in getattr(self, which) if math.isinf(v))


def _probe(rate: int, seq: int) -> tuple[bytes, bytes]:
    contact = f"probe-{rate}-{seq}"
    event = {
        "event_id": contact,
        "type": "contact.started",
        "occurred_at": time.time_ns() // 1_000_000,
        "contact_id": contact,
        "customer_id": "zz-probe-customer",
        "queue": PROBE_QUEUE,
        "channel": "voice",
    }
    return contact.encode(), orjson.dumps(event)


def _load_stream(events: list[Event]) -> Iterator[tuple[str, Event]]:
    """The benchmark's events forever, each pass with its own id suffix."""
    for n in itertools.count():
        suffix = f"~L{n}"
        for event in events:
            yield suffix, event


async def measure_rate(
    base: Settings,
    tag: str,
    rate: int,
    events: list[Event],
    workdir: Path,
    *,
    seconds: float,
    ports: Callable[[], int],
    probe_every_s: float = 0.1,
    metrics_every_s: float = 1.0,
    tail_s: float = 20.0,
    status: Callable[[str], None] | None = None,
) -> RateResult:
    """Stream ``rate`` events/s into a fresh worker for ``seconds``; probe its visibility."""
    settings = base.model_copy(
        update={
            "topic_namespace": f"{tag}l{rate}.",
            "app_id": f"ccmon-{tag}-l{rate}",
            "web_port": ports(),
        }
    )
    await ensure_topics(settings.bootstrap_servers, settings.all_topics, settings.topic_partitions)
    topics = settings.topics_by_type
    worker = Worker.start(settings, workdir, settings.app_id)
    result = RateResult(target_rate=rate)
    try:
        await wait_ready([worker])
        load, probes = _producers(settings.bootstrap_servers)
        run = _RateRun(
            rate, worker, topics, result, load, probes, _load_stream(events), probe_every_s
        )
        async with httpx.AsyncClient() as client:
            await run.measure(client, seconds, metrics_every_s, tail_s, status)
        run.summarize()
    except WorkerFailed as exc:
        result.error = str(exc)[:500]
    finally:
        worker.child.stop()
    return result


def _producers(bootstrap: str) -> tuple[Producer, Producer]:
    """The load's batching producer and the probes' unbatched one."""
    load = Producer(
        {
            "bootstrap.servers": bootstrap,
            "log_level": 4,
            **KEY_PARTITIONER,
            "linger.ms": 5,
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    probes = Producer(
        {
            "bootstrap.servers": bootstrap,
            "log_level": 4,
            **KEY_PARTITIONER,
            "linger.ms": 0,
        }
    )
    return load, probes


@dataclass
class _RateRun:
    """One rate against one worker: the load, the probes, and the pollers that see them."""

    rate: int
    worker: Worker
    topics: dict[str, str]
    result: RateResult
    load: Producer
    probes: Producer
    source: Iterator[tuple[str, Event]]
    probe_every_s: float
    sent: dict[int, float] = field(default_factory=dict)
    """Send time (perf_counter) of each probe, by sequence number."""
    api_seen: Seen = field(default_factory=Seen)
    metrics_seen: Seen = field(default_factory=Seen)
    running: bool = True

    async def measure(
        self,
        client: httpx.AsyncClient,
        seconds: float,
        metrics_every_s: float,
        tail_s: float,
        status: Callable[[str], None] | None,
    ) -> None:
        """Load and probe for ``seconds``, then poll until every probe is seen or the tail ends."""
        rate, worker, result, sent = self.rate, self.worker, self.result, self.sent
        consumed0 = (await worker.counts(client)).consumed
        pollers = [
            asyncio.create_task(self.poll_api(client)),
            asyncio.create_task(self.poll_metrics(client, metrics_every_s)),
        ]
        started = time.perf_counter()
        producers = [
            asyncio.create_task(self.produce_load()),
            asyncio.create_task(self.produce_probes()),
        ]
        while time.perf_counter() - started < seconds:
            if not worker.child.alive:
                raise WorkerFailed(f"worker exited: {worker.child.log_tail()}")
            if status is not None:
                status(
                    f"latency {rate:,}/s: {time.perf_counter() - started:.0f}/{seconds:.0f} s, "
                    f"produced {result.produced:,}, probes seen {len(self.api_seen.at)}/{len(sent)}"
                )
            await asyncio.sleep(0.5)
        self.running = False
        await asyncio.gather(*producers)
        result.seconds = time.perf_counter() - started
        self.load.flush(30)
        self.probes.flush(30)
        result.consumed = (await worker.counts(client)).consumed - consumed0
        await self.wait_tail(tail_s)
        for task in pollers:
            task.cancel()
        await asyncio.gather(*pollers, return_exceptions=True)

    async def wait_tail(self, tail_s: float) -> None:
        """Until both endpoints saw every probe, for at most ``tail_s``."""
        sent = self.sent
        deadline = time.perf_counter() + tail_s
        for _ in range(int(tail_s / 0.2)):
            if len(self.api_seen.at) >= len(sent) and len(self.metrics_seen.at) >= len(sent):
                break
            if time.perf_counter() > deadline:
                break
            await asyncio.sleep(0.2)

    def summarize(self) -> None:
        """Latencies and mean poll times into the result."""
        result, sent = self.result, self.sent
        api_seen, metrics_seen = self.api_seen, self.metrics_seen
        result.probes = len(sent)
        result.api = api_seen.latencies(sent)
        result.metrics = metrics_seen.latencies(sent)
        result.api_poll_ms = 1000 * api_seen.poll_seconds / max(api_seen.polls, 1)
        result.metrics_poll_ms = 1000 * metrics_seen.poll_seconds / max(metrics_seen.polls, 1)

    async def produce_load(self) -> None:
        """The load at ``rate`` events/s, made current as it goes out."""
        rate, result, load, topics = self.rate, self.result, self.load, self.topics
        source = self.source
        t0 = time.perf_counter()
        while self.running:
            due = int(rate * (time.perf_counter() - t0)) - result.produced
            now_ms = time.time_ns() // 1_000_000
            for _ in range(max(due, 0)):
                suffix, event = next(source)
                live = restamped(event, suffix, now_ms)
                key = event_key(live)
                try:
                    load.produce(
                        topics[str(live["type"])],
                        orjson.dumps(live),
                        key.encode() if key is not None else None,
                    )
                except BufferError:
                    load.poll(0.01)
                    break
                result.produced += 1
            load.poll(0)
            await asyncio.sleep(0.005)

    async def produce_probes(self) -> None:
        """One probe every ``probe_every_s``, its send time noted."""
        seq = 0
        next_at = time.perf_counter()
        while self.running:
            seq += 1
            key, value = _probe(self.rate, seq)
            self.sent[seq] = time.perf_counter()
            self.probes.produce(self.topics["contact.started"], value, key)
            self.probes.poll(0)
            next_at += self.probe_every_s
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    async def poll_api(self, client: httpx.AsyncClient) -> None:
        """The probe queue's offered count from the JSON API, every 20 ms."""
        url = f"{self.worker.base_url}/api/kpis"
        api_seen = self.api_seen
        while True:
            t0 = time.perf_counter()
            try:
                response = await client.get(url, params={"queue": PROBE_QUEUE}, timeout=30)
                offered = int(response.json().get("counters", {}).get("offered", 0))
            except (httpx.HTTPError, ValueError):
                offered = 0
            now = time.perf_counter()
            api_seen.polls += 1
            api_seen.poll_seconds += now - t0
            api_seen.record(offered, now)
            await asyncio.sleep(0.02)

    async def poll_metrics(self, client: httpx.AsyncClient, every_s: float) -> None:
        """The probe queue's offered count from a full ``/metrics`` scrape, every ``every_s``."""
        url = f"{self.worker.base_url}/metrics"
        metrics_seen = self.metrics_seen
        while True:
            t0 = time.perf_counter()
            try:
                text = (await client.get(url, timeout=60)).text
            except httpx.HTTPError:
                text = ""
            now = time.perf_counter()
            metrics_seen.polls += 1
            metrics_seen.poll_seconds += now - t0
            metrics_seen.record(int(sum(float(v) for v in PROBE_LINE.findall(text))), now)
            await asyncio.sleep(max(0.0, every_s - (now - t0)))
