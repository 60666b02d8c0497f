"""The front of the pipeline: decode -> validate -> on time, dead-lettering every reject.

Everything after this stage sees only valid events within the kept horizon (48 h by default)
behind their input partition's event-time clock; later ones are counted as late. A rejected
record is never lost: it goes to the dead-letter topic with its original bytes, where it came
from, and a one-line reason, and the worker carries on. Duplicates are recognized one stage
later, in the contact's or customer's state (see :mod:`stream_app.engine.apply`), where
recognizing them is exact even when this stage replays records after a crash.
"""

from __future__ import annotations

import base64
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from stream_app.events import Event, Rejected, decode_event
from stream_app.metrics.pipeline import PipelineMetrics
from stream_app.settings import Settings


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """The parts of a Kafka record the intake needs (so it is testable without faust)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes | None

    @classmethod
    def of_message(cls, message: Any) -> SourceRecord:
        """The record of a faust ``Message`` (its timestamp is in seconds)."""
        timestamp = message.timestamp
        return cls(
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            timestamp_ms=int(timestamp * 1000) if timestamp else None,
            key=message.key,
            value=message.value,
        )


class Admitted(NamedTuple):
    """A valid, on-time event and the input partition it came from (for routing)."""

    event: Event
    topic: str
    partition: int


def deadletter_value(record: SourceRecord, rejected: Rejected, now_ms: int) -> bytes:
    """The dead-letter record: see ``docs/events.md`` ("Dead-letter records")."""
    return orjson.dumps(
        {
            "reason": rejected.reason.value,
            "detail": rejected.detail,
            "event_type": rejected.event_type,
            "source_topic": record.topic,
            "source_partition": record.partition,
            "source_offset": record.offset,
            "source_timestamp_ms": record.timestamp_ms,
            "rejected_at_ms": now_ms,
            "original_b64": base64.b64encode(record.value or b"").decode("ascii"),
        }
    )


@dataclass
class LatenessGate:
    """Event-time clock per input partition; an event older than the horizon behind it is late.

    Per partition, as Kafka Streams does: one topic running ahead of another (they are read
    concurrently) must not make the other's on-time events late.
    """

    horizon_ms: int
    clocks: dict[tuple[str, int], int] = field(default_factory=dict)

    def on_time(self, slot: tuple[str, int], occurred_at_ms: int) -> bool:
        """False for a late event; otherwise advance the slot's clock and True."""
        clock = self.clocks.get(slot, 0)
        if occurred_at_ms < clock - self.horizon_ms:
            return False
        if occurred_at_ms > clock:
            self.clocks[slot] = occurred_at_ms
        return True


SendDeadLetter = Callable[[bytes | None, bytes], Awaitable[Any]]


@dataclass
class Intake:
    """Per-worker intake: the topic -> type map, the metrics and the dead-letter sender."""

    settings: Settings
    metrics: PipelineMetrics
    send_deadletter: SendDeadLetter
    type_of_topic: dict[str, str] = field(init=False)
    lateness: LatenessGate = field(init=False)
    on_late: Callable[[Event], None] | None = None
    """Counts a late event in the all-time counters (it reaches no window)."""

    def __post_init__(self) -> None:
        self.type_of_topic = {t: e for e, t in self.settings.topics_by_type.items()}
        self.lateness = LatenessGate(self.settings.horizon_ms)

    async def admit_batch(self, records: Iterable[SourceRecord]) -> list[Admitted]:
        """Valid, on-time events of ``records``, in order; invalid ones are dead-lettered,
        late ones counted in the all-time counters only. Metrics are counted once per batch."""
        consumed: Counter[str] = Counter()
        accepted: Counter[str] = Counter()
        rejected: Counter[str] = Counter()
        late: Counter[str] = Counter()
        valid: list[Admitted] = []
        type_of_topic = self.type_of_topic
        min_time_ms = self.settings.min_event_time_ms
        on_time = self.lateness.on_time
        try:
            for record in records:
                consumed[record.topic] += 1
                result = decode_event(
                    record.value,  # type: ignore[arg-type]  # None (a tombstone): not_json
                    expected_type=type_of_topic.get(record.topic),
                    kafka_timestamp_ms=record.timestamp_ms,
                    min_time_ms=min_time_ms,
                )
                if isinstance(result, Rejected):
                    rejected[result.reason.value] += 1
                    now_ms = time.time_ns() // 1_000_000
                    await self.send_deadletter(record.key, deadletter_value(record, result, now_ms))
                    continue
                event = result.event
                accepted[event.event_type] += 1
                if not on_time((record.topic, record.partition), event.occurred_at_ms):
                    late[event.event_type] += 1
                    if self.on_late is not None:
                        self.on_late(event)
                    continue
                valid.append(Admitted(event, record.topic, record.partition))
        finally:
            metrics = self.metrics
            for counter, counts in (
                (metrics.events_consumed, consumed),
                (metrics.events_accepted, accepted),
                (metrics.events_rejected, rejected),
                (metrics.events_late, late),
            ):
                for label, count in counts.items():
                    counter.labels(label).inc(count)
        return valid
