"""Property tests: decode_event never raises, and never accepts what the schemas forbid.

The differential property uses the pure-Python ``jsonschema`` library as the referee over the
same schema files, so a mapping bug or a schema feature jsonschema_rs reads differently shows up
as a counterexample.
"""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from stream_app.events import (
    CHANNELS,
    DEFAULT_MIN_TIME_MS,
    TOPIC_TYPES,
    Accepted,
    Reason,
    Rejected,
    decode_event,
)
from stream_app.events.decode import _RFC3339, load_schema_documents, schema_id

pytestmark = pytest.mark.unit

KAFKA_TS = 1_741_953_600_000  # 2025-03-14T12:00:00Z
DOCUMENTS = load_schema_documents()
REGISTRY: Registry[Any] = Registry().with_resources(
    (uri, Resource.from_contents(doc)) for uri, doc in DOCUMENTS.items()
)
REFERENCE = {
    t: Draft202012Validator(DOCUMENTS[schema_id(t)], registry=REGISTRY) for t in TOPIC_TYPES
}
# Reasons the decoder may give for an object the schema alone accepts: the rules only Python
# enforces (integer 4.0, float epoch, calendar, time bounds, version, topic).
PYTHON_ONLY = {
    Reason.WRONG_TYPE,
    Reason.BAD_TIME,
    Reason.IMPOSSIBLE_TIME,
    Reason.UNKNOWN_VERSION,
    Reason.TYPE_MISMATCH,
}

TEMPLATES: dict[str, dict[str, Any]] = {
    "contact.started": {
        "contact_id": "c-1",
        "customer_id": "cu-1",
        "queue": "q",
        "channel": "voice",
        "reason": "r",
    },
    "contact.answered": {
        "contact_id": "c-1",
        "queue": "q",
        "channel": "chat",
        "agent_id": "a-1",
        "wait_seconds": 3,
        "team": "t",
    },
    "contact.resolved": {
        "contact_id": "c-1",
        "customer_id": "cu-1",
        "queue": "q",
        "channel": "email",
        "agent_id": "a-1",
        "talk_seconds": 1.5,
        "hold_seconds": 0,
        "wrap_seconds": 9,
        "resolved": True,
        "team": "t",
        "reason": "r",
    },
    "contact.abandoned": {
        "contact_id": "c-1",
        "queue": "q",
        "channel": "video",
        "wait_seconds": 7,
        "customer_id": "cu-1",
    },
    "survey.submitted": {
        "customer_id": "cu-1",
        "metric": "csat",
        "score": 4,
        "scale": 5,
        "contact_id": "c-1",
        "queue": "q",
        "channel": "other",
        "agent_id": "a-1",
        "team": "t",
        "comment": "ok",
    },
    "customer.status": {"customer_id": "cu-1", "status": "churned"},
}
FIELDS = sorted({"event_id", "type", "occurred_at", "schema_version"}.union(*TEMPLATES.values()))

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def rfc3339(draw: st.DrawFn) -> str:
    """Plausible times: valid RFC 3339 mostly, with some near misses."""
    moment = draw(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2030, 1, 1)))
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if draw(st.booleans()):
        text += "." + f"{moment.microsecond:06d}"[: draw(st.integers(1, 6))]
    return text + draw(
        st.sampled_from(["Z", "z", "+00:00", "+03:00", "-04:30", "+14:00", "", "+0300", "+24:00"])
    )


plausible: dict[str, st.SearchStrategy[Any]] = {
    "id": st.sampled_from(["", "x", "x" * 128, "x" * 129, "é" * 128]) | st.text(max_size=130),
    "type": st.sampled_from([*TOPIC_TYPES, "contact.transferred", ""]),
    "occurred_at": rfc3339()
    | st.integers(min_value=-(2**40), max_value=2**45)
    | st.sampled_from([KAFKA_TS, 1.7e12, 1_741_942_800_000.0, DEFAULT_MIN_TIME_MS - 1]),
    "schema_version": st.sampled_from([1, 1, 1, 2, 0, "1", 1.0, True, None]),
    "duration": st.sampled_from([0, 0.0, 86399.999, 86400, -0.5, -1, 1e9, True, "5"])
    | st.floats(min_value=-10, max_value=1e5)
    | st.integers(min_value=-10, max_value=100_000),
    "channel": st.sampled_from([*CHANNELS, "phone", "Voice", "", 1]),
    "metric": st.sampled_from(["csat", "nps", "ces", "CSAT", None]),
    "score": st.integers(min_value=-2, max_value=12)
    | st.sampled_from([4.0, 4.5, True, False, "4", 10.0]),
    "scale": st.sampled_from([5, 10, 7, 5.0, 10.0, True, "5", None]),
    "resolved": st.sampled_from([True, False, 0, 1, "true", None]),
    "status": st.sampled_from(["active", "churned", "Active", "deleted", 0]),
    "text": st.text(max_size=10) | st.sampled_from(["", None, 3]),
}
FIELD_KIND = {
    "type": "type",
    "occurred_at": "occurred_at",
    "schema_version": "schema_version",
    "wait_seconds": "duration",
    "talk_seconds": "duration",
    "hold_seconds": "duration",
    "wrap_seconds": "duration",
    "channel": "channel",
    "metric": "metric",
    "score": "score",
    "scale": "scale",
    "resolved": "resolved",
    "status": "status",
    "reason": "text",
    "comment": "text",
}


def field_value(name: str) -> st.SearchStrategy[Any]:
    """Plausible values of the field's kind, sometimes any JSON value at all."""
    return plausible[FIELD_KIND.get(name, "id")] | json_values


@st.composite
def near_valid_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event of a random type with a few fields dropped, replaced or added."""
    event_type = draw(st.sampled_from(TOPIC_TYPES))
    obj: dict[str, Any] = {
        "event_id": "e-1",
        "type": event_type,
        "occurred_at": "2025-03-14T09:00:00Z",
        **TEMPLATES[event_type],
    }
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=4, unique=True)):
        if draw(st.integers(0, 4)) == 0:
            obj.pop(name, None)
        else:
            obj[name] = draw(field_value(name))
    obj.update(draw(st.dictionaries(st.text(max_size=6), json_values, max_size=2)))
    return obj


def decode(raw: bytes, expected_type: str | None = None) -> Accepted | Rejected:
    result = decode_event(
        raw,
        expected_type=expected_type,
        kafka_timestamp_ms=KAFKA_TS,
        min_time_ms=DEFAULT_MIN_TIME_MS,
    )
    assert isinstance(result, Accepted | Rejected)
    if isinstance(result, Rejected):
        assert isinstance(result.reason, Reason)
        assert result.detail
        assert "\n" not in result.detail
        assert result.event_type is None or result.event_type in TOPIC_TYPES
    return result


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    """Any bytes at all decode to Accepted or Rejected with a Reason."""
    decode(raw)


@settings(max_examples=300, deadline=None)
@given(json_values, st.sampled_from([None, *TOPIC_TYPES]))
def test_arbitrary_json_never_raises(value: Any, expected_type: str | None) -> None:
    """Any JSON value (nested arrays/objects included) decodes without raising."""
    decode(orjson.dumps(value), expected_type)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=len(FIELDS)))
def test_objects_of_real_field_names_with_arbitrary_values_never_raise(obj: dict[str, Any]) -> None:
    """Objects made of the real field names holding arbitrary JSON values never raise."""
    decode(orjson.dumps(obj))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_objects_of_real_field_names_with_plausible_values_never_raise(data: st.DataObject) -> None:
    """Objects made of the real field names with near-valid values never raise."""
    names = data.draw(st.lists(st.sampled_from(FIELDS), unique=True))
    obj = {name: data.draw(field_value(name)) for name in names}
    decode(orjson.dumps(obj))


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(near_valid_events())
def test_decoder_rejects_whatever_the_reference_library_rejects(obj: dict[str, Any]) -> None:
    """If the pure jsonschema library finds an object schema-invalid, the decoder rejects it.

    When the schema accepts but the decoder rejects, the reason must be one of the rules only
    Python enforces, never one the schema owns (so the two cannot silently disagree).
    """
    declared = obj.get("type")
    event_type = declared if declared in TOPIC_TYPES else "contact.started"
    schema_valid = REFERENCE[event_type].is_valid(obj)
    result = decode(orjson.dumps(obj))
    if not schema_valid:
        assert isinstance(result, Rejected), obj
    elif isinstance(result, Rejected):
        assert result.reason in PYTHON_ONLY, (result, obj)


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 31)),
    st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
    st.integers(min_value=0, max_value=6),
)
def test_rfc3339_times_normalize_to_utc_ms(moment: datetime, offset: int, digits: int) -> None:
    """Any RFC 3339 time with offset decodes to the UTC epoch ms datetime computes."""
    sign = "-" if offset < 0 else "+"
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{moment.microsecond:06d}"[:digits]
    text += f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    utc = moment.replace(tzinfo=UTC) - timedelta(minutes=offset)
    micros = int(f"{moment.microsecond:06d}"[:digits].ljust(6, "0")) if digits else 0
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    expected = (utc.replace(microsecond=0) - epoch) // timedelta(milliseconds=1) + micros // 1000
    obj = {"event_id": "e", "type": "customer.status", "occurred_at": text}
    obj |= {"customer_id": "c", "status": "active"}
    result = decode_event(
        orjson.dumps(obj), expected_type=None, kafka_timestamp_ms=None, min_time_ms=0
    )
    assert isinstance(result, Accepted), (text, result)
    assert result.event.occurred_at_ms == expected


TIME_PATTERN = DOCUMENTS["https://ccmon.dev/schemas/v1/common.schema.json"]["$defs"]["occurredAt"][
    "pattern"
]


@settings(max_examples=500, deadline=None)
@given(
    st.from_regex(TIME_PATTERN)
    | rfc3339()
    | st.text(alphabet="0123456789-:.+TtZz ", min_size=18, max_size=32)
)
def test_decoder_time_regex_is_the_schema_pattern(text: str) -> None:
    """The decoder's RFC 3339 regex accepts exactly the strings the schema's pattern does."""
    by_schema = re.search(TIME_PATTERN, text) is not None and not text.endswith("\n")
    assert by_schema == (_RFC3339.fullmatch(text) is not None), text
