"""The intake without faust: valid events go on, rejects to the dead-letter topic, late ones
to the all-time counters only; its metrics are counted once per batch."""

from __future__ import annotations

import base64

import orjson
import pytest
from prometheus_client import CollectorRegistry

from stream_app.events import Event
from stream_app.metrics.pipeline import PipelineMetrics
from stream_app.settings import Settings
from stream_app.worker.intake import Intake, SourceRecord
from tests.factories import event_bytes

pytestmark = pytest.mark.unit

HOUR_MS = 3_600_000


def _intake() -> tuple[Intake, CollectorRegistry, list[tuple[bytes | None, bytes]], list[Event]]:
    registry = CollectorRegistry()
    dead: list[tuple[bytes | None, bytes]] = []
    late: list[Event] = []

    async def send_deadletter(key: bytes | None, value: bytes) -> None:
        dead.append((key, value))

    settings = Settings(app_id="ccmon-unit", horizon_hours=1)
    intake = Intake(
        settings, PipelineMetrics.create(registry), send_deadletter, on_late=late.append
    )
    return intake, registry, dead, late


def _record(settings: Settings, event_type: str, value: bytes, offset: int) -> SourceRecord:
    topic = settings.topics_by_type[event_type]
    return SourceRecord(topic, 2, offset, 1_800_000_000_000, b"k", value)


async def test_admit_batch_passes_valid_dead_letters_invalid_and_counts_late() -> None:
    intake, registry, dead, late = _intake()
    settings = intake.settings
    started = settings.topics_by_type["contact.started"]
    records = [
        _record(settings, "contact.started", event_bytes("contact.started", event_id="s-1"), 10),
        _record(settings, "contact.started", b"{not json", 11),
        _record(
            settings,
            "contact.started",
            event_bytes("contact.started", event_id="s-old", occurred_at="2026-11-23T07:00:00Z"),
            12,
        ),
        _record(settings, "contact.started", event_bytes("contact.answered", event_id="a-1"), 13),
    ]

    admitted = await intake.admit_batch(records)

    assert [(a.event.event_id, a.topic, a.partition) for a in admitted] == [("s-1", started, 2)]
    assert [e.event_id for e in late] == ["s-old"]  # 2 h behind the partition's clock of 1 h
    assert len(dead) == 2
    first, second = (orjson.loads(value) for _, value in dead)
    assert (first["reason"], first["source_offset"], first["source_topic"]) == (
        "not_json",
        11,
        started,
    )
    assert base64.b64decode(first["original_b64"]) == b"{not json"
    assert (second["reason"], second["source_offset"]) == ("type_mismatch", 13)
    sample = registry.get_sample_value
    assert sample("ccmon_events_consumed_total", {"topic": started}) == 4
    assert sample("ccmon_events_accepted_total", {"type": "contact.started"}) == 2
    assert sample("ccmon_events_late_total", {"type": "contact.started"}) == 1
    assert sample("ccmon_events_rejected_total", {"reason": "not_json"}) == 1
    assert sample("ccmon_events_rejected_total", {"reason": "type_mismatch"}) == 1


async def test_lateness_is_per_input_partition() -> None:
    """One partition running ahead must not make another's on-time events late."""
    intake, _, _, late = _intake()
    settings = intake.settings
    ahead = event_bytes("contact.started", event_id="new", occurred_at="2026-11-23T12:00:00Z")
    behind = event_bytes("contact.started", event_id="old", occurred_at="2026-11-23T09:00:00Z")
    records = [
        _record(settings, "contact.started", ahead, 1),
        SourceRecord(settings.topics_by_type["contact.started"], 3, 1, None, None, behind),
    ]
    admitted = await intake.admit_batch(records)
    assert [a.event.event_id for a in admitted] == ["new", "old"]
    assert late == []
