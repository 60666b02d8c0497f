"""The benchmark's events: from the product's simulator when it is there, else the test generator.

Events come in occurrence (arrival) order, each routed to the topic of its ``type`` with the
key the spec recommends (:data:`stream_app.send.KEY_FIELDS`), and pre-loaded once so every
measured system reads the very same records.
"""

from __future__ import annotations

import importlib
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from stream_app.send import KEY_FIELDS

Event = dict[str, Any]

SIMULATOR = "stream_app.simulator.batch_events"
FALLBACK = "tests/datagen.py generate() (scaled up)"


@dataclass
class Record:
    """One record ready to produce."""

    topic: str
    key: bytes | None
    value: bytes


@dataclass
class Dataset:
    """The events, where they came from, and their records per topic."""

    source: str
    events: list[Event]
    records: list[Record] = field(default_factory=list)
    build_seconds: float = 0.0

    @property
    def mix(self) -> dict[str, int]:
        """Events per type, most frequent first."""
        return dict(Counter(str(e.get("type")) for e in self.events).most_common())

    @property
    def span(self) -> tuple[int, int]:
        """First and last occurred_at, epoch ms."""
        times = [occurred_ms(e) for e in self.events]
        return min(times), max(times)

    @property
    def mean_bytes(self) -> float:
        return sum(len(r.value) for r in self.records) / max(len(self.records), 1)


def occurred_ms(event: Event) -> int:
    """An event's occurred_at as epoch ms (the generators write valid times)."""
    value = event["occurred_at"]
    if isinstance(value, int):
        return value
    return int(datetime.fromisoformat(str(value)).timestamp() * 1000)


def event_key(event: Event) -> str | None:
    """The spec's recommended key: the first of the type's key fields present."""
    fields = KEY_FIELDS.get(str(event.get("type")), ())
    return next((event[f] for f in fields if isinstance(event.get(f), str) and event[f]), None)


def route(events: Iterable[Event], topics_by_type: dict[str, str]) -> list[Record]:
    """Topic (of the event's type) and key for every event, values as compact JSON."""
    records = []
    for event in events:
        key = event_key(event)
        records.append(
            Record(
                topic=topics_by_type[str(event["type"])],
                key=key.encode() if key is not None else None,
                value=orjson.dumps(event),
            )
        )
    return records


def simulator() -> Callable[..., list[Event]] | None:
    """``stream_app.simulator.batch_events`` if that module exists yet."""
    try:
        module = importlib.import_module("stream_app.simulator")
    except ImportError:
        return None
    batch: Callable[..., list[Event]] | None = getattr(module, "batch_events", None)
    return batch


def _from_simulator(batch: Callable[..., list[Event]], count: int, seed: int) -> list[Event]:
    """``count`` simulated events that all lie in the past (the worker rejects the future)."""
    now_ms = int(time.time() * 1000)
    start = (datetime.now(UTC) - timedelta(days=30)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    events = batch(count, seed=seed, start=start)
    excess_ms = max(occurred_ms(e) for e in events) - (now_ms - 3_600_000)
    if excess_ms > 0:  # a longer span than a month: start earlier, same seed, same events
        start -= timedelta(milliseconds=excess_ms + 86_400_000)
        events = batch(count, seed=seed, start=start)
    return events


def _from_datagen(count: int, seed: int) -> list[Event]:
    """The integration tests' generator with more contacts per day, cut to ``count`` events."""
    from tests.datagen import generate  # the repository root is on sys.path for python -m

    days = 7
    per_contact = 3.35  # started + answered/abandoned + resolved + surveys + duplicates
    contacts_per_day = max(20, math.ceil(count / per_contact / days * 1.05))
    start = (datetime.now(UTC) - timedelta(days=days + 2)).replace(
        hour=6, minute=0, second=0, microsecond=0
    )
    while True:
        dataset = generate(
            seed,
            start=start,
            days=days,
            contacts_per_day=contacts_per_day,
            customers=max(160, contacts_per_day * days // 6),
        )
        if len(dataset.events) >= count:
            return dataset.events[:count]
        contacts_per_day = math.ceil(contacts_per_day * count / len(dataset.events) * 1.05)


def build(count: int, topics_by_type: dict[str, str], seed: int = 1) -> Dataset:
    """``count`` events in occurrence order, routed to ``topics_by_type``."""
    t0 = time.monotonic()
    batch = simulator()
    if batch is not None:
        dataset = Dataset(source=SIMULATOR, events=_from_simulator(batch, count, seed))
    else:
        dataset = Dataset(source=FALLBACK, events=_from_datagen(count, seed))
    dataset.records = route(dataset.events, topics_by_type)
    dataset.build_seconds = time.monotonic() - t0
    return dataset


def restamped(event: Event, suffix: str, now_ms: int) -> Event:
    """A copy of ``event`` happening now, with ids made unique by ``suffix`` (live load)."""
    copy = dict(event)
    copy["event_id"] = f"{event['event_id']}{suffix}"
    copy["occurred_at"] = now_ms
    if isinstance(copy.get("contact_id"), str):
        copy["contact_id"] = f"{copy['contact_id']}{suffix}"
    return copy
