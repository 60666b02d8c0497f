"""Factories of valid events (as JSON bytes) for tests; override any field by keyword."""

from __future__ import annotations

import itertools
from typing import Any

import orjson

from stream_app.events import Accepted, Event, decode_event

_ids = itertools.count(1)

BASE_TIME = "2026-11-23T09:00:00Z"

_DEFAULTS: dict[str, dict[str, Any]] = {
    "contact.started": {
        "contact_id": "c-1",
        "customer_id": "cust-1",
        "queue": "billing",
        "channel": "voice",
    },
    "contact.answered": {
        "contact_id": "c-1",
        "queue": "billing",
        "channel": "voice",
        "agent_id": "a-1",
        "wait_seconds": 12.5,
        "team": "red",
    },
    "contact.resolved": {
        "contact_id": "c-1",
        "customer_id": "cust-1",
        "queue": "billing",
        "channel": "voice",
        "agent_id": "a-1",
        "talk_seconds": 300,
        "hold_seconds": 20,
        "wrap_seconds": 40,
        "resolved": True,
    },
    "contact.abandoned": {
        "contact_id": "c-2",
        "queue": "billing",
        "channel": "voice",
        "wait_seconds": 45,
    },
    "survey.submitted": {
        "customer_id": "cust-1",
        "contact_id": "c-1",
        "metric": "csat",
        "score": 5,
    },
    "customer.status": {"customer_id": "cust-1", "status": "active"},
}


def event(event_type: str, **fields: Any) -> dict[str, Any]:
    """A valid event dict of `event_type` with a fresh event_id unless one is given."""
    obj: dict[str, Any] = {
        "event_id": f"e-{next(_ids)}",
        "type": event_type,
        "occurred_at": BASE_TIME,
        **_DEFAULTS[event_type],
    }
    obj.update(fields)
    return obj


def event_bytes(event_type: str, **fields: Any) -> bytes:
    """`event()` serialized as the JSON bytes a producer would send."""
    return orjson.dumps(event(event_type, **fields))


def valid_event(event_type: str, **fields: Any) -> Event:
    """`event()` decoded and validated: the typed record the intake hands to the engine."""
    result = decode_event(
        event_bytes(event_type, **fields),
        expected_type=None,
        kafka_timestamp_ms=None,
        min_time_ms=0,
    )
    assert isinstance(result, Accepted), result
    return result.event
