"""The internal form of a valid event, as the intake forwards it to the contact/customer stages.

The intake has decoded and validated the record already, so the stages should not pay for that
again: the internal topics (``<app_id>-contact-events-v2`` / ``-customer-events-v2``) carry the
typed record's fields as one compact JSON array, ``[type, field values in declaration order]``,
rebuilt without any validation. Floats survive the round trip exactly (orjson writes the
shortest representation that reads back as the same double).

The version is in the topic names: a change of this layout needs new names (``-v3``), so a
worker never misreads records written by an older one.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Final

import orjson

from stream_app.events.records import (
    ContactAbandoned,
    ContactAnswered,
    ContactResolved,
    ContactStarted,
    CustomerStatus,
    Event,
    SurveySubmitted,
)

INTERNAL_VERSION: Final = 2
"""Suffix of the internal topic names (``-v2``); v1 carried the producer's original bytes."""

_CLASSES: Final[tuple[type[Event], ...]] = (
    ContactStarted,
    ContactAnswered,
    ContactResolved,
    ContactAbandoned,
    SurveySubmitted,
    CustomerStatus,
)
_INDEX: Final[dict[type[Event], int]] = {cls: i for i, cls in enumerate(_CLASSES)}
_FIELDS: Final[tuple[tuple[str, ...], ...]] = tuple(
    tuple(f.name for f in fields(cls)) for cls in _CLASSES
)


def encode_internal(event: Event) -> bytes:
    """``event`` as the internal topics carry it."""
    index = _INDEX[type(event)]
    return orjson.dumps([index, *(getattr(event, name) for name in _FIELDS[index])])


def decode_internal(raw: bytes) -> Event:
    """The event back from its internal form (written by ``encode_internal``, not validated)."""
    values: list[Any] = orjson.loads(raw)
    index = values[0]
    event: Event = _CLASSES[index](**dict(zip(_FIELDS[index], values[1:], strict=True)))
    return event
