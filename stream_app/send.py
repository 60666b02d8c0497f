"""Produce a JSON Lines file of events to the spec's topics (`ccmon send`).

Each line goes to the topic of its ``type``, keyed as the spec recommends (contacts by
``contact_id``, surveys by ``contact_id`` or else ``customer_id``, customers by
``customer_id``). Lines are sent as they are, valid or not: validation is the worker's job
(and ``ccmon check``'s before going live). Either as fast as the broker takes them, or paced
by ``occurred_at`` with a speed-up factor, so last week's traffic can be replayed as it
happened, or ten times faster.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from stream_app.errors import UserError
from stream_app.kafka_admin import started_producer
from stream_app.settings import Settings

KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "contact.started": ("contact_id",),
    "contact.answered": ("contact_id",),
    "contact.resolved": ("contact_id",),
    "contact.abandoned": ("contact_id",),
    "survey.submitted": ("contact_id", "customer_id"),
    "customer.status": ("customer_id",),
}
"""The spec's recommended key per event type: the first of these fields present."""


@dataclass
class SendSummary:
    """What `send` did, for the closing line and for tests."""

    sent_by_topic: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def sent(self) -> int:
        return sum(self.sent_by_topic.values())


@dataclass(frozen=True)
class Routed:
    """One line ready to produce."""

    topic: str
    key: bytes | None
    value: bytes
    occurred_at_ms: int | None


def _pace_time_ms(value: Any) -> int | None:
    """Event time for pacing only; an unparseable time is sent at once (the worker judges it)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(datetime.fromisoformat(value).timestamp() * 1000)
        except ValueError:
            return None
    return None


def route_lines(
    lines: Iterable[bytes], settings: Settings, summary: SendSummary
) -> Iterator[Routed]:
    """Pick topic and key for each line; lines without a known ``type`` are counted as skipped."""
    topics = settings.topics_by_type
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            summary.skipped["not_json"] = summary.skipped.get("not_json", 0) + 1
            continue
        event_type = obj.get("type") if isinstance(obj, dict) else None
        if not isinstance(event_type, str) or event_type not in topics:
            summary.skipped["unknown_type"] = summary.skipped.get("unknown_type", 0) + 1
            continue
        key = next(
            (obj[f] for f in KEY_FIELDS[event_type] if isinstance(obj.get(f), str) and obj[f]),
            None,
        )
        yield Routed(
            topic=topics[event_type],
            key=key.encode() if key is not None else None,
            value=line,
            occurred_at_ms=_pace_time_ms(obj.get("occurred_at")),
        )


def read_lines(path: Path) -> list[bytes]:
    """The file's lines, or one clear line when it cannot be read."""
    try:
        return path.read_bytes().splitlines()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None


async def send_lines(
    settings: Settings,
    lines: list[bytes],
    *,
    speed: float | None = None,
    show_progress: bool = True,
) -> SendSummary:
    """Produce every routable line; ``speed`` paces by occurred_at (None: as fast as possible)."""
    summary = SendSummary()
    producer = await started_producer(settings.bootstrap_servers, linger_ms=5)
    t0 = time.monotonic()
    progress = Progress(
        TextColumn("sending"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} ev/s"),
        TimeElapsedColumn(),
        disable=not show_progress,
    )
    try:
        with progress:
            task = progress.add_task("send", total=len(lines), rate="-")
            pending: list[asyncio.Future[Any]] = []
            first_event_ms: int | None = None
            for n, item in enumerate(route_lines(lines, settings, summary), start=1):
                if speed is not None and item.occurred_at_ms is not None:
                    if first_event_ms is None:
                        first_event_ms = item.occurred_at_ms
                    due = (item.occurred_at_ms - first_event_ms) / 1000 / speed
                    delay = due - (time.monotonic() - t0)
                    if delay > 0:
                        await asyncio.sleep(delay)
                pending.append(await producer.send(item.topic, item.value, key=item.key))
                summary.sent_by_topic[item.topic] = summary.sent_by_topic.get(item.topic, 0) + 1
                if len(pending) >= 5000:
                    await asyncio.gather(*pending)
                    pending.clear()
                if n % 1000 == 0:
                    elapsed = max(time.monotonic() - t0, 1e-9)
                    progress.update(task, completed=n, rate=f"{n / elapsed:,.0f}")
            await asyncio.gather(*pending)
            progress.update(task, completed=len(lines))
    finally:
        await producer.stop()
    summary.seconds = time.monotonic() - t0
    return summary
