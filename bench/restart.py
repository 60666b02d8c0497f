"""What a restart costs: ``python -m bench.restart``. Figures, never a pass/fail.

1. **Stop under backlog.** A worker with a large backlog (events pre-loaded to its input
   topics) gets SIGTERM while it works through them: seconds to exit, and its exit code.
2. **Time to ready with N contact states.** A restarted worker with the memory store reads its
   whole changelogs back before it serves numbers (docs/engine.md, "Restarts and the store").
   This writes N contact states to a fresh app's contacts changelog exactly as the worker writes
   them (key: the table's JSON key, value: the orjson state made by ``stream_app.engine.apply``
   from real decoded events, partition: the key's), then starts a worker and reports process
   start -> ready (/healthz: recovered and view rebuilt), split by the worker's log into start
   and joining the group, reading the changelog and rebuilding the view, with the peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Producer

from bench import data, kafka
from bench.kafka import delete_topics
from bench.run import free_port
from bench.worker import Worker, wait_ready
from stream_app.engine.apply import apply_to_contact
from stream_app.engine.records import ContactState
from stream_app.events import Accepted, decode_event
from stream_app.kafka_admin import ensure_topics
from stream_app.settings import Settings
from stream_app.worker.partitioner import partition_of

TEMPLATES = 240
"""Distinct contact histories (queues, agents, times over the last day) the states are cut from."""
QUEUES = ("billing", "support", "sales", "claims", "tech", "retention")


def _event(kind: str, contact: str, at: datetime, **fields: Any) -> Any:
    raw = orjson.dumps(
        {
            "event_id": f"{contact}-{kind}",
            "type": kind,
            "occurred_at": at.isoformat().replace("+00:00", "Z"),
            "contact_id": contact,
            **fields,
        }
    )
    result = decode_event(raw, expected_type=None, kafka_timestamp_ms=None, min_time_ms=0)
    assert isinstance(result, Accepted), result
    return result.event


def template_state(n: int, now: datetime) -> ContactState:
    """One handled contact's state, as the contact stage keeps it (started, answered,
    resolved, a survey)."""
    contact, queue = f"t{n}", QUEUES[n % len(QUEUES)]
    t0 = now - timedelta(minutes=6 * n)
    base = {"queue": queue, "channel": "voice"}
    agent = {"agent_id": f"a{n % 40}", "team": f"team{n % 5}"}
    state: ContactState = {}
    for event in (
        _event("contact.started", contact, t0, customer_id=f"cu{n}", **base),
        _event(
            "contact.answered",
            contact,
            t0 + timedelta(seconds=15),
            wait_seconds=15.0,
            **base,
            **agent,
        ),
        _event(
            "contact.resolved",
            contact,
            t0 + timedelta(seconds=400),
            customer_id=f"cu{n}",
            talk_seconds=300.0,
            hold_seconds=20.0,
            wrap_seconds=65.0,
            resolved=True,
            **base,
            **agent,
        ),
        _event(
            "survey.submitted",
            contact,
            t0 + timedelta(seconds=900),
            customer_id=f"cu{n}",
            metric="csat",
            score=4,
        ),
    ):
        apply_to_contact(state, event)
    return state


def write_changelog(settings: Settings, topic: str, states: int) -> float:
    """Produce ``states`` contact states to ``topic``; seconds it took."""
    now = datetime.now(UTC)
    templates = [template_state(n, now) for n in range(TEMPLATES)]
    producer = Producer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "acks": "all",
            "linger.ms": 20,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 500_000,
            "log_level": 4,
        }
    )
    t0 = time.monotonic()
    for n in range(states):
        key = f"k{n}"
        state = templates[n % TEMPLATES].copy()
        state["ids"] = [f"{key}-{i}" for i in range(len(state["ids"]))]
        value = orjson.dumps(state)
        partition = partition_of(key, settings.topic_partitions)
        while True:
            try:
                producer.produce(topic, value, orjson.dumps(key), partition=partition)
                break
            except BufferError:
                producer.poll(0.05)
        if n % 20_000 == 0:
            producer.poll(0)
    if producer.flush(300):
        raise RuntimeError("changelog records not delivered")
    return time.monotonic() - t0


def phases(log: str) -> dict[str, float]:
    """When the worker logged its start, its assignment and the end of its changelog read."""
    marks = {
        "start": r"\[\^Worker\]: Starting",
        "assigned": r"Executing _on_partitions_assigned",
        "read": r"Done reading from changelog topics|Recovery complete",
    }
    at: dict[str, float] = {}
    for line in log.splitlines():
        stamp = re.match(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]", line)
        for name, pattern in marks.items():
            if stamp and name not in at and re.search(pattern, line):
                when = datetime.strptime(stamp[1], "%Y-%m-%d %H:%M:%S,%f")
                at[name] = when.timestamp()
    return at


def fresh_settings() -> tuple[str, Settings]:
    tag = f"r{uuid.uuid4().hex[:6]}"
    settings = Settings().model_copy(
        update={"topic_namespace": f"{tag}.", "app_id": f"ccmon-{tag}", "web_port": free_port()}
    )
    return tag, settings


async def measure_stop(events: int, working_s: float) -> dict[str, Any]:
    """SIGTERM a worker ``working_s`` after it is ready, with ``events`` waiting for it."""
    tag, settings = fresh_settings()
    await ensure_topics(settings.bootstrap_servers, settings.all_topics, settings.topic_partitions)
    workdir = Path(tempfile.mkdtemp(prefix="ccmon-restart-"))
    try:
        dataset = data.build(events, settings.topics_by_type)
        await asyncio.to_thread(kafka.preload, settings.bootstrap_servers, dataset.records)
        worker = Worker.start(settings, workdir, "worker")
        await wait_ready([worker], timeout_s=600)
        await asyncio.sleep(working_s)
        t0 = time.monotonic()
        code = await asyncio.to_thread(worker.child.stop, 120.0)
        stop_s = time.monotonic() - t0
    finally:
        await delete_topics(settings.bootstrap_servers, tag)
    return {"events": events, "working_s": working_s, "stop_s": stop_s, "code": code}


async def measure(states: int) -> dict[str, Any]:
    tag, settings = fresh_settings()
    changelog = f"{settings.app_id}-contacts_v1-changelog"
    await ensure_topics(settings.bootstrap_servers, settings.all_topics, settings.topic_partitions)
    await ensure_topics(
        settings.bootstrap_servers,
        [changelog],
        settings.topic_partitions,
        {"cleanup.policy": "compact"},
    )
    workdir = Path(tempfile.mkdtemp(prefix="ccmon-restart-"))
    try:
        produce_s = await asyncio.to_thread(write_changelog, settings, changelog, states)
        started = time.time()
        worker = Worker.start(settings, workdir, "worker")
        await wait_ready([worker], timeout_s=3600)
        ready = time.time()
        rss = worker.child.peak_rss()
        worker.child.stop()
        at = phases(worker.child.log.read_text(errors="replace"))
    finally:
        await delete_topics(settings.bootstrap_servers, tag)
    return {
        "states": states,
        "produce_s": produce_s,
        "ready_s": ready - started,
        "join_s": at["assigned"] - started,
        "read_s": at["read"] - at["assigned"],
        "rebuild_s": ready - at["read"],
        "peak_rss_mib": rss / 2**20,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.restart", description=__doc__)
    parser.add_argument("--states", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--backlog", type=int, default=200_000, help="events (0: skip)")
    args = parser.parse_args(argv)
    if args.backlog:
        r = asyncio.run(measure_stop(args.backlog, working_s=10.0))
        print(
            f"SIGTERM {r['working_s']:.0f} s into a backlog of {r['events']:,} events: stopped "
            f"in {r['stop_s']:.1f} s, exit code {r['code']}\n",
            flush=True,
        )
    if not args.states:
        return
    print(
        "| contact states | process start -> ready s | start + join group s "
        "| read changelog s | rebuild view s | peak RSS MiB |"
    )
    print("|---|---|---|---|---|---|")
    for states in args.states:
        r = asyncio.run(measure(states))
        print(
            f"| {r['states']:,} | {r['ready_s']:.1f} | {r['join_s']:.1f} | {r['read_s']:.1f} "
            f"| {r['rebuild_s']:.1f} | {r['peak_rss_mib']:,.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
