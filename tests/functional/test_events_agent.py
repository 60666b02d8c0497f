"""The agents under faust's test context (memory store, no broker)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from prometheus_client import CollectorRegistry

from stream_app.app import CcmonApp, create_app
from stream_app.events import Accepted, Event, decode_event
from stream_app.events.internal import decode_internal, encode_internal
from stream_app.settings import Settings
from tests.factories import event_bytes, valid_event


def internal(event_type: str, **fields: Any) -> bytes:
    """An event as the intake forwards it to the entity stages."""
    return encode_internal(valid_event(event_type, **fields))


def _total(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return sum(
        s.value
        for f in registry.collect()
        for s in f.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def _app() -> tuple[CcmonApp, CollectorRegistry]:
    registry = CollectorRegistry()
    return create_app(Settings(app_id="ccmon-functional"), registry=registry), registry


async def test_intake_forwards_valid_and_dead_letters_invalid() -> None:
    """Valid events go on to the entity stages; a bad record is dead-lettered with its origin."""
    app, registry = _app()
    dead: list[tuple[bytes | None, bytes]] = []
    forwarded: list[Event] = []

    async def capture_dead(key: bytes | None, value: bytes) -> None:
        dead.append((key, value))

    async def capture_forward(events: Sequence[Event]) -> None:
        forwarded.extend(events)

    app.intake.send_deadletter = capture_dead
    app.forward = capture_forward
    async with app.agents["ccmon.intake"].test_context() as ctx:
        await ctx.put(event_bytes("contact.started", event_id="s-1"), key=b"c-1")
        await ctx.put(event_bytes("contact.resolved", event_id="r-1"), key=b"c-1")
        await ctx.put(b"not json", key=b"c-3")

    assert [e.event_id for e in forwarded] == ["s-1", "r-1"]
    assert _total(registry, "ccmon_events_consumed_total") == 3.0
    assert _total(registry, "ccmon_events_accepted_total") == 2.0
    assert _total(registry, "ccmon_events_rejected_total", reason="not_json") == 1.0
    assert len(dead) == 1
    record = orjson.loads(dead[0][1])
    assert record["reason"] == "not_json"
    assert record["original_b64"] == "bm90IGpzb24="
    assert dead[0][0] == b"c-3"


async def test_contact_stage_counts_once_and_drops_duplicates() -> None:
    """A contact's events update the window counters; a repeated event_id changes nothing."""
    app, registry = _app()
    started = internal("contact.started", event_id="s-1", contact_id="c-1")
    answered = internal("contact.answered", event_id="a-1", contact_id="c-1", wait_seconds=12)
    async with app.agents["ccmon.contacts"].test_context() as ctx:
        await ctx.put(started, key=b"c-1")
        await ctx.put(answered, key=b"c-1")
        await ctx.put(started, key=b"c-1")

    view = app.engine.view
    day = view.starts("day")
    assert len(day) == 1
    billing = view.counters("day", day, "queue", "billing")
    assert billing["offered"] == 1
    assert billing["answered"] == 1
    assert billing["answered_wait_seconds_sum"] == 12.0
    assert billing["answered_within_sl"] == 1
    assert view.counters("day", day, "agent", "a-1")["answered"] == 1
    assert _total(registry, "ccmon_events_duplicate_total", type="contact.started") == 1.0


def test_internal_form_round_trips_every_event_type() -> None:
    """What the intake forwards decodes to the very event it validated, floats included."""
    for event_type, fields in (
        ("contact.started", {}),
        ("contact.answered", {"wait_seconds": 12.345678901234567}),
        ("contact.resolved", {"talk_seconds": 0.1, "hold_seconds": 3, "reason": None}),
        ("contact.abandoned", {"wait_seconds": 1e-7}),
        ("survey.submitted", {"comment": "très bien \u2013 ok"}),
        ("customer.status", {}),
    ):
        result = decode_event(
            event_bytes(event_type, **fields),
            expected_type=None,
            kafka_timestamp_ms=None,
            min_time_ms=0,
        )
        assert isinstance(result, Accepted), result
        assert decode_internal(encode_internal(result.event)) == result.event
