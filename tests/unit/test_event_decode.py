"""decode_event against the v1 input contract: every bad-input class maps to its exact Reason.

The spec tables (KPI-SPEC section 2) are restated here on purpose rather than read from the
schemas, so a schema that drifts from the spec fails these tests.
"""

from typing import Any

import orjson
import pytest

from stream_app.events import (
    DEFAULT_MIN_TIME_MS,
    TOPIC_TYPES,
    Accepted,
    ContactAbandoned,
    ContactAnswered,
    ContactResolved,
    ContactStarted,
    CustomerStatus,
    DecodeResult,
    Reason,
    Rejected,
    SurveySubmitted,
    decode_event,
)

pytestmark = pytest.mark.unit

KAFKA_TS = 1_741_953_600_000  # 2025-03-14T12:00:00Z
T_0900Z = 1_741_942_800_000  # 2025-03-14T09:00:00Z
DAY_MS = 86_400_000
DROP = object()

REQUIRED: dict[str, tuple[str, ...]] = {
    "contact.started": ("contact_id", "customer_id", "queue", "channel"),
    "contact.answered": ("contact_id", "queue", "channel", "agent_id", "wait_seconds"),
    "contact.resolved": (
        "contact_id",
        "customer_id",
        "queue",
        "channel",
        "agent_id",
        "talk_seconds",
        "hold_seconds",
        "wrap_seconds",
        "resolved",
    ),
    "contact.abandoned": ("contact_id", "queue", "channel", "wait_seconds"),
    "survey.submitted": ("customer_id", "metric", "score"),
    "customer.status": ("customer_id", "status"),
}

BASE: dict[str, dict[str, Any]] = {
    "contact.started": {
        "contact_id": "c-1",
        "customer_id": "cu-1",
        "queue": "billing",
        "channel": "voice",
    },
    "contact.answered": {
        "contact_id": "c-1",
        "queue": "billing",
        "channel": "voice",
        "agent_id": "a-1",
        "wait_seconds": 12.5,
    },
    "contact.resolved": {
        "contact_id": "c-1",
        "customer_id": "cu-1",
        "queue": "billing",
        "channel": "voice",
        "agent_id": "a-1",
        "talk_seconds": 300,
        "hold_seconds": 20.5,
        "wrap_seconds": 45,
        "resolved": True,
    },
    "contact.abandoned": {
        "contact_id": "c-1",
        "queue": "billing",
        "channel": "chat",
        "wait_seconds": 30,
    },
    "survey.submitted": {"customer_id": "cu-1", "metric": "csat", "score": 4},
    "customer.status": {"customer_id": "cu-1", "status": "active"},
}


def event(event_type: str, **fields: Any) -> dict[str, Any]:
    """A valid event of ``event_type`` with ``fields`` overridden (``DROP`` removes a field)."""
    obj: dict[str, Any] = {
        "event_id": "e-1",
        "type": event_type,
        "occurred_at": "2025-03-14T09:00:00Z",
        **BASE[event_type],
    }
    for name, value in fields.items():
        if value is DROP:
            obj.pop(name, None)
        else:
            obj[name] = value
    return obj


def decode(
    value: dict[str, Any] | bytes,
    *,
    expected_type: str | None = None,
    kafka_timestamp_ms: int | None = KAFKA_TS,
    min_time_ms: int = DEFAULT_MIN_TIME_MS,
) -> DecodeResult:
    raw = value if isinstance(value, bytes) else orjson.dumps(value)
    return decode_event(
        raw,
        expected_type=expected_type,
        kafka_timestamp_ms=kafka_timestamp_ms,
        min_time_ms=min_time_ms,
    )


def accepted(value: dict[str, Any] | bytes, **kwargs: Any) -> Any:
    result = decode(value, **kwargs)
    assert isinstance(result, Accepted), result
    return result.event


def rejected(value: dict[str, Any] | bytes, reason: Reason, **kwargs: Any) -> Rejected:
    result = decode(value, **kwargs)
    assert isinstance(result, Rejected), result
    assert result.reason is reason, result
    assert "\n" not in result.detail
    return result


# --------------------------------------------------------------------------- valid events


def test_contact_started_is_decoded_into_its_record() -> None:
    """A contact.started becomes a ContactStarted with every field and UTC ms."""
    assert accepted(event("contact.started", reason="billing")) == ContactStarted(
        event_id="e-1",
        occurred_at_ms=T_0900Z,
        contact_id="c-1",
        customer_id="cu-1",
        queue="billing",
        channel="voice",
        reason="billing",
    )


def test_contact_answered_is_decoded_with_team_absent_as_none() -> None:
    """A contact.answered without team keeps team None; durations become floats."""
    record = accepted(event("contact.answered", wait_seconds=12))
    assert record == ContactAnswered(
        event_id="e-1",
        occurred_at_ms=T_0900Z,
        contact_id="c-1",
        queue="billing",
        channel="voice",
        agent_id="a-1",
        wait_seconds=12.0,
        team=None,
    )
    assert type(record.wait_seconds) is float


def test_contact_resolved_is_decoded_into_its_record() -> None:
    """A contact.resolved keeps its three durations, resolved flag, team and reason."""
    record = accepted(event("contact.resolved", team="north", reason="refund", resolved=False))
    assert record == ContactResolved(
        event_id="e-1",
        occurred_at_ms=T_0900Z,
        contact_id="c-1",
        customer_id="cu-1",
        queue="billing",
        channel="voice",
        agent_id="a-1",
        talk_seconds=300.0,
        hold_seconds=20.5,
        wrap_seconds=45.0,
        resolved=False,
        team="north",
        reason="refund",
    )


def test_contact_abandoned_is_decoded_with_optional_customer() -> None:
    """A contact.abandoned is accepted with and without its optional customer_id."""
    assert accepted(event("contact.abandoned")).customer_id is None
    record = accepted(event("contact.abandoned", customer_id="cu-9"))
    assert isinstance(record, ContactAbandoned)
    assert record.customer_id == "cu-9"
    assert record.wait_seconds == 30.0


def test_survey_is_decoded_with_all_optional_fields() -> None:
    """A survey.submitted carries its optional attribution fields through."""
    record = accepted(
        event(
            "survey.submitted",
            contact_id="c-1",
            scale=10,
            score=9,
            queue="billing",
            channel="email",
            agent_id="a-1",
            team="north",
            comment="thanks",
        )
    )
    assert record == SurveySubmitted(
        event_id="e-1",
        occurred_at_ms=T_0900Z,
        customer_id="cu-1",
        metric="csat",
        score=9,
        scale=10,
        contact_id="c-1",
        queue="billing",
        channel="email",
        agent_id="a-1",
        team="north",
        comment="thanks",
    )


def test_survey_optional_fields_absent_are_none_and_csat_scale_defaults_to_5() -> None:
    """Absent survey fields are None; a CSAT without scale is on the 5-point scale."""
    record = accepted(event("survey.submitted"))
    assert record.scale == 5
    assert (record.contact_id, record.queue, record.channel) == (None, None, None)
    assert (record.agent_id, record.team, record.comment) == (None, None, None)


def test_nps_survey_scale_is_always_10() -> None:
    """NPS is on 0..10 whatever scale the producer sent."""
    assert accepted(event("survey.submitted", metric="nps", score=0)).scale == 10
    assert accepted(event("survey.submitted", metric="nps", score=10, scale=5)).scale == 10


def test_customer_status_is_decoded_into_its_record() -> None:
    """A customer.status becomes a CustomerStatus."""
    assert accepted(event("customer.status", status="churned")) == CustomerStatus(
        event_id="e-1", occurred_at_ms=T_0900Z, customer_id="cu-1", status="churned"
    )


@pytest.mark.parametrize("event_type", TOPIC_TYPES)
def test_each_type_is_accepted_on_its_own_topic(event_type: str) -> None:
    """Every type is accepted when the topic's type matches, and its record knows its type."""
    result = decode(event(event_type), expected_type=event_type)
    assert isinstance(result, Accepted)
    assert result.event_type == event_type


@pytest.mark.parametrize(
    ("occurred_at", "expected_ms"),
    [
        ("2025-03-14T09:00:00Z", T_0900Z),
        ("2025-03-14T12:00:00+03:00", T_0900Z),
        ("2025-03-14T04:30:00-04:30", T_0900Z),
        ("2025-03-14T09:00:00+00:00", T_0900Z),
        ("2025-03-14T09:00:00-00:00", T_0900Z),
        ("2025-03-14t09:00:00z", T_0900Z),
        ("2025-03-14 09:00:00Z", T_0900Z),
        ("2025-03-14T09:00:00.5Z", T_0900Z + 500),
        ("2025-03-14T09:00:00.123456789Z", T_0900Z + 123),
        ("2025-03-14T12:00:00.250+03:00", T_0900Z + 250),
        ("2025-03-14T00:30:00-09:00", T_0900Z + 30 * 60_000),
        ("2016-12-31T23:59:60Z", 1_483_228_799_999),
        (T_0900Z, T_0900Z),
    ],
)
def test_occurred_at_is_normalized_to_utc_epoch_ms(occurred_at: Any, expected_ms: int) -> None:
    """RFC 3339 with any offset (and integer epoch ms) becomes UTC epoch ms, truncated to ms."""
    assert accepted(event("contact.started", occurred_at=occurred_at)).occurred_at_ms == expected_ms


def test_unknown_extra_fields_are_ignored() -> None:
    """Extra fields of any shape, even deeply nested, neither reject nor reach the record."""
    raw = orjson.dumps(event("contact.started", vendor={"a": [1, None]}, note=None, deep=0))
    raw = raw.replace(b'"deep":0', b'"deep":' + b'{"x":' * 1000 + b"1" + b"}" * 1000)
    record = accepted(raw)
    assert not hasattr(record, "vendor")
    assert record == accepted(event("contact.started"))


def test_schema_version_1_is_accepted_and_default() -> None:
    """schema_version 1 is accepted, and an absent one counts as 1."""
    assert accepted(event("customer.status", schema_version=1)).schema_version == 1
    assert accepted(event("customer.status")).schema_version == 1


@pytest.mark.parametrize(
    ("event_type", "field"),
    [
        ("contact.started", "reason"),
        ("contact.started", "schema_version"),
        ("contact.answered", "team"),
        ("contact.resolved", "team"),
        ("contact.resolved", "reason"),
        ("contact.abandoned", "customer_id"),
        ("survey.submitted", "contact_id"),
        ("survey.submitted", "scale"),
        ("survey.submitted", "queue"),
        ("survey.submitted", "channel"),
        ("survey.submitted", "agent_id"),
        ("survey.submitted", "team"),
        ("survey.submitted", "comment"),
    ],
)
def test_optional_field_that_is_null_counts_as_absent(event_type: str, field: str) -> None:
    """null in an optional field is accepted and decodes exactly like the field left out."""
    assert accepted(event(event_type, **{field: None})) == accepted(event(event_type))


def test_null_in_a_required_field_is_wrong_type() -> None:
    """null is not a value for a required field."""
    result = rejected(event("contact.answered", agent_id=None), Reason.WRONG_TYPE)
    assert result.detail == "agent_id: expected string, got null"


def test_empty_reason_means_no_reason() -> None:
    """An empty reason string is read as no reason, so FCR matches it like an absent one."""
    assert accepted(event("contact.resolved", reason="")).reason is None


@pytest.mark.parametrize("length", [1, 128])
def test_ids_of_1_to_128_characters_are_accepted(length: int) -> None:
    """Ids at both ends of 1..128 characters, counted as code points, are accepted."""
    assert accepted(event("contact.started", contact_id="é" * length)).contact_id == "é" * length
    assert accepted(event("contact.started", event_id="\U0001f600" * length))


@pytest.mark.parametrize("seconds", [0, 0.0, 86399, 86399.999])
def test_durations_at_the_limits_are_accepted(seconds: float) -> None:
    """Durations 0 and just under 86400 are valid."""
    assert accepted(event("contact.abandoned", wait_seconds=seconds)).wait_seconds == seconds


@pytest.mark.parametrize(
    ("metric", "scale", "score"),
    [("nps", None, 0), ("nps", None, 10), ("csat", None, 1), ("csat", 5, 5), ("csat", 10, 10)],
)
def test_scores_at_the_limits_are_accepted(metric: str, scale: int | None, score: int) -> None:
    """NPS 0..10 and CSAT 1..scale are accepted at both ends."""
    fields: dict[str, Any] = {"metric": metric, "score": score}
    if scale is not None:
        fields["scale"] = scale
    assert accepted(event("survey.submitted", **fields)).score == score


def test_time_bounds_are_inclusive() -> None:
    """Exactly the minimum time and exactly 24 h ahead of the Kafka timestamp are accepted."""
    accepted(event("contact.started", occurred_at=DEFAULT_MIN_TIME_MS))
    accepted(event("contact.started", occurred_at="2000-01-01T00:00:00Z"))
    accepted(event("contact.started", occurred_at=KAFKA_TS + DAY_MS))


def test_min_time_is_configurable_for_replaying_old_history() -> None:
    """A lower min_time_ms accepts events from before 2000."""
    old = event("contact.started", occurred_at="1999-06-01T00:00:00Z")
    rejected(old, Reason.IMPOSSIBLE_TIME)
    assert accepted(old, min_time_ms=0).occurred_at_ms == 928_195_200_000


@pytest.mark.parametrize("kafka_timestamp_ms", [None, -1])
def test_without_kafka_timestamp_there_is_no_24h_bound(kafka_timestamp_ms: int | None) -> None:
    """No (or Kafka's -1) record timestamp: a far-future time is not judged against it."""
    far = event("contact.started", occurred_at="2100-01-01T00:00:00Z")
    accepted(far, kafka_timestamp_ms=kafka_timestamp_ms)


# --------------------------------------------------------------------------- not JSON / not object


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   ",
        b"not json",
        b'{"event_id": "e-1"',
        b'{"event_id": "e-1"} trailing',
        b"{'event_id': 'e-1'}",
        b'{"wait_seconds": NaN}',
        b'{"wait_seconds": Infinity}',
        b'{"wait_seconds": -Infinity}',
        b'{"queue": "\xff\xfe"}',
        b'{"queue": "\\ud800"}',
        b"\xef\xbb\xbf{}",
        b"[" * 2000,
    ],
)
def test_not_json_is_rejected_as_not_json(raw: bytes) -> None:
    """Bytes that are not UTF-8 JSON (NaN/Infinity literals included) are not_json."""
    result = rejected(raw, Reason.NOT_JSON)
    assert result.event_type is None


def test_tombstone_value_is_not_json() -> None:
    """A Kafka tombstone (value None) is rejected as not_json instead of crashing."""
    result = decode_event(
        None,  # type: ignore[arg-type]
        expected_type=None,
        kafka_timestamp_ms=None,
        min_time_ms=DEFAULT_MIN_TIME_MS,
    )
    assert isinstance(result, Rejected)
    assert result.reason is Reason.NOT_JSON


@pytest.mark.parametrize("literal", [b"1e400", b"-1e400", b"1" + b"0" * 400 + b".0"])
def test_number_overflowing_to_infinity_is_not_finite(literal: bytes) -> None:
    """A number that is valid JSON but infinite as a double (1e400) is not_finite."""
    raw = orjson.dumps(event("contact.answered", wait_seconds=0))
    raw = raw.replace(b'"wait_seconds":0', b'"wait_seconds":' + literal)
    assert literal in raw
    rejected(raw, Reason.NOT_FINITE)


@pytest.mark.parametrize("raw", [b"[]", b"[{}]", b'"contact.started"', b"42", b"null", b"true"])
def test_json_that_is_not_an_object_is_not_object(raw: bytes) -> None:
    """A JSON array, string, number, null or boolean at the top is not_object."""
    rejected(raw, Reason.NOT_OBJECT)


# --------------------------------------------------------------------------- type and version


def test_missing_type_is_missing_field() -> None:
    """An object without type is missing_field naming type."""
    result = rejected(event("contact.started", type=DROP), Reason.MISSING_FIELD)
    assert result.detail == "type: required field is missing"


@pytest.mark.parametrize("value", [None, 3, True, ["contact.started"], {"a": 1}])
def test_non_string_type_is_wrong_type(value: Any) -> None:
    """A type that is not a string is wrong_type."""
    rejected(event("contact.started", type=value), Reason.WRONG_TYPE)


@pytest.mark.parametrize(
    "value", ["contact.transferred", "", "Contact.Started", " contact.started", "contact_started"]
)
def test_unknown_type_is_unknown_type(value: str) -> None:
    """A type outside the six (exact spelling) is unknown_type, with no event_type label."""
    result = rejected(event("contact.started", type=value), Reason.UNKNOWN_TYPE)
    assert result.event_type is None


def test_unknown_type_wins_over_type_mismatch() -> None:
    """On a topic, a type that exists nowhere is unknown_type, not type_mismatch."""
    obj = event("contact.started", type="contact.transferred")
    rejected(obj, Reason.UNKNOWN_TYPE, expected_type="contact.started")


def test_type_of_another_topic_is_type_mismatch() -> None:
    """A valid contact.answered on the contact.started topic is type_mismatch."""
    result = rejected(
        event("contact.answered"), Reason.TYPE_MISMATCH, expected_type="contact.started"
    )
    assert result.event_type == "contact.answered"
    assert result.detail.startswith("type: ")


@pytest.mark.parametrize("version", [2, 0, -1, 2**63])
def test_other_schema_version_is_unknown_version(version: int) -> None:
    """Any schema_version other than 1 is unknown_version, even with v1-invalid fields."""
    rejected(event("contact.started", schema_version=version), Reason.UNKNOWN_VERSION)
    invalid = event("contact.started", schema_version=version, channel="fax", queue=DROP)
    rejected(invalid, Reason.UNKNOWN_VERSION)


@pytest.mark.parametrize("version", ["1", 1.0, True, [1]])
def test_non_integer_schema_version_is_wrong_type(version: Any) -> None:
    """A schema_version that is not a JSON integer (string, 1.0, bool, null) is wrong_type."""
    result = rejected(event("contact.started", schema_version=version), Reason.WRONG_TYPE)
    assert result.detail.startswith("schema_version: ")


# --------------------------------------------------------------------------- fields


@pytest.mark.parametrize(
    ("event_type", "field"),
    [(t, f) for t in TOPIC_TYPES for f in ("event_id", "occurred_at", *REQUIRED[t])],
)
def test_every_required_field_missing_is_missing_field(event_type: str, field: str) -> None:
    """Dropping any required field of the spec table is missing_field naming that field."""
    result = rejected(event(event_type, **{field: DROP}), Reason.MISSING_FIELD)
    assert result.detail == f"{field}: required field is missing"
    assert result.event_type == event_type


@pytest.mark.parametrize(
    ("event_type", "field", "value"),
    [
        ("contact.started", "event_id", 5),
        ("contact.started", "contact_id", None),
        ("contact.started", "queue", ["billing"]),
        ("contact.started", "customer_id", {"id": "cu-1"}),
        ("contact.started", "channel", 1),
        ("contact.started", "reason", 7),
        ("contact.answered", "wait_seconds", "12"),
        ("contact.answered", "wait_seconds", True),
        ("contact.answered", "wait_seconds", None),
        ("contact.answered", "team", 3),
        ("contact.resolved", "resolved", "true"),
        ("contact.resolved", "resolved", 1),
        ("contact.resolved", "talk_seconds", False),
        ("survey.submitted", "score", True),
        ("survey.submitted", "score", False),
        ("survey.submitted", "score", "4"),
        ("survey.submitted", "score", 4.5),
        ("survey.submitted", "score", 4.0),
        ("survey.submitted", "scale", 5.0),
        ("survey.submitted", "scale", True),
        ("survey.submitted", "comment", ["x"]),
        ("survey.submitted", "metric", 1),
        ("customer.status", "status", False),
        ("contact.started", "occurred_at", True),
        ("contact.started", "occurred_at", None),
        ("contact.started", "occurred_at", [2025, 3, 14]),
    ],
)
def test_field_of_wrong_json_type_is_wrong_type(event_type: str, field: str, value: Any) -> None:
    """A field of the wrong JSON type is wrong_type; booleans are neither integers nor numbers."""
    result = rejected(event(event_type, **{field: value}), Reason.WRONG_TYPE)
    assert result.detail.startswith(f"{field}: ")


def test_score_4_point_0_names_json_integer_rule() -> None:
    """4.0 as a score is wrong_type with a message saying a JSON integer is required."""
    result = rejected(event("survey.submitted", score=4.0), Reason.WRONG_TYPE)
    assert result.detail == "score: 4.0 must be a JSON integer (no decimal point)"


def test_wrong_type_detail_names_field_expected_and_actual() -> None:
    """The wrong_type detail says the field, what it expected and what it got."""
    result = rejected(event("contact.answered", wait_seconds="12"), Reason.WRONG_TYPE)
    assert result.detail == 'wait_seconds: expected number, got string "12"'


@pytest.mark.parametrize(
    ("event_type", "field"),
    [
        ("contact.started", "event_id"),
        ("contact.started", "contact_id"),
        ("contact.started", "customer_id"),
        ("contact.started", "queue"),
        ("contact.answered", "agent_id"),
        ("contact.answered", "team"),
        ("survey.submitted", "contact_id"),
    ],
)
def test_empty_id_is_empty_id(event_type: str, field: str) -> None:
    """An empty id or name string is empty_id naming the field."""
    result = rejected(event(event_type, **{field: ""}), Reason.EMPTY_ID)
    assert result.detail == f"{field}: must not be empty"


@pytest.mark.parametrize("field", ["event_id", "contact_id", "customer_id", "queue"])
def test_id_over_128_characters_is_oversized_id(field: str) -> None:
    """An id or name of 129 characters is oversized_id naming the field and length."""
    result = rejected(event("contact.started", **{field: "x" * 129}), Reason.OVERSIZED_ID)
    assert result.detail == f"{field}: 129 characters, at most 128"


@pytest.mark.parametrize("channel", ["phone", "Voice", " voice", "VOICE", "sms", ""])
def test_channel_outside_the_six_values_is_unknown_channel(channel: str) -> None:
    """A channel that is not exactly one of the six lower-case values is unknown_channel."""
    result = rejected(event("contact.started", channel=channel), Reason.UNKNOWN_CHANNEL)
    assert result.detail.startswith("channel: ")


def test_survey_channel_is_checked_too() -> None:
    """An optional channel on a survey must also be one of the six."""
    rejected(event("survey.submitted", channel="fax"), Reason.UNKNOWN_CHANNEL)


@pytest.mark.parametrize(
    ("event_type", "field", "value"),
    [
        ("survey.submitted", "metric", "ces"),
        ("survey.submitted", "metric", "CSAT"),
        ("survey.submitted", "scale", 7),
        ("survey.submitted", "scale", 100),
        ("customer.status", "status", "deleted"),
        ("customer.status", "status", "Active"),
    ],
)
def test_other_enum_violation_is_bad_value(event_type: str, field: str, value: Any) -> None:
    """metric, scale and status outside their allowed values are bad_value naming the field."""
    result = rejected(event(event_type, **{field: value}), Reason.BAD_VALUE)
    assert result.detail.startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("event_type", "field", "value"),
    [
        ("contact.answered", "wait_seconds", -3),
        ("contact.answered", "wait_seconds", -0.001),
        ("contact.answered", "wait_seconds", 86400),
        ("contact.answered", "wait_seconds", 86400.0),
        ("contact.answered", "wait_seconds", 1e300),
        ("contact.abandoned", "wait_seconds", 2**63),
        ("contact.resolved", "talk_seconds", -1),
        ("contact.resolved", "hold_seconds", 90000),
        ("contact.resolved", "wrap_seconds", -5.5),
    ],
)
def test_negative_or_absurd_duration_is_bad_duration(
    event_type: str, field: str, value: float
) -> None:
    """A duration below 0 or at/above 86400 s is bad_duration naming the field."""
    result = rejected(event(event_type, **{field: value}), Reason.BAD_DURATION)
    assert result.detail.startswith(f"{field}: ")


def test_bad_duration_details_are_readable() -> None:
    """The bad_duration detail says negative or not below 24 h."""
    negative = rejected(event("contact.answered", wait_seconds=-3), Reason.BAD_DURATION)
    assert negative.detail == "wait_seconds: -3 is negative"
    huge = rejected(event("contact.answered", wait_seconds=90000), Reason.BAD_DURATION)
    assert huge.detail == "wait_seconds: 90000 is not below 86400 s (24 h)"


@pytest.mark.parametrize(
    ("metric", "scale", "score"),
    [
        ("nps", None, 11),
        ("nps", None, -1),
        ("nps", 5, 11),
        ("csat", None, 0),
        ("csat", None, 6),
        ("csat", 5, 6),
        ("csat", 10, 11),
        ("csat", 10, 0),
        ("csat", None, -100),
    ],
)
def test_score_outside_its_range_is_score_out_of_range(
    metric: str, scale: int | None, score: int
) -> None:
    """NPS outside 0..10 and CSAT outside 1..scale (default 5) are score_out_of_range."""
    fields: dict[str, Any] = {"metric": metric, "score": score}
    if scale is not None:
        fields["scale"] = scale
    result = rejected(event("survey.submitted", **fields), Reason.SCORE_OUT_OF_RANGE)
    assert result.detail.startswith(f"score: {score} is outside ")


# --------------------------------------------------------------------------- time


@pytest.mark.parametrize(
    "occurred_at",
    [
        "2025-03-14T09:00:00",
        "2025-03-14T09:00:00.123",
        "2025-03-14",
        "2025-03-14T09:00Z",
        "2025-03-14T09:00:00+0300",
        "2025-03-14T09:00:00+03",
        "20250314T090000Z",
        "14/03/2025 09:00",
        "yesterday",
        "",
        "1741942800000",
        "2025-03-14T09:00:00Z\n",
        "2025-03-14T09:00:00 Z",
        "\u0662025-03-14T09:00:00Z",
    ],
)
def test_unparseable_or_offsetless_time_is_bad_time(occurred_at: str) -> None:
    """occurred_at strings that are not RFC 3339 with an explicit offset are bad_time."""
    result = rejected(event("contact.started", occurred_at=occurred_at), Reason.BAD_TIME)
    assert result.detail.startswith("occurred_at: ")


@pytest.mark.parametrize(
    "occurred_at",
    [
        "2025-02-29T09:00:00Z",
        "2025-13-01T09:00:00Z",
        "2025-00-10T09:00:00Z",
        "2025-03-32T09:00:00Z",
        "2025-03-14T24:00:00Z",
        "2025-03-14T09:60:00Z",
        "2025-03-14T09:00:61Z",
        "2025-03-14T09:00:00+24:00",
        "2025-03-14T09:00:00+03:60",
        "0000-01-01T00:00:00Z",
    ],
)
def test_impossible_calendar_or_clock_value_is_bad_time(occurred_at: str) -> None:
    """RFC 3339-shaped strings with an invalid date, clock or offset are bad_time."""
    rejected(event("contact.started", occurred_at=occurred_at), Reason.BAD_TIME)


@pytest.mark.parametrize("occurred_at", [1.7e12, 1_741_942_800_000.0, 1_741_942_800_000.5, 1e23])
def test_float_epoch_is_bad_time(occurred_at: float) -> None:
    """Epoch milliseconds must be a JSON integer: any float is bad_time."""
    result = rejected(event("contact.started", occurred_at=occurred_at), Reason.BAD_TIME)
    assert "JSON integer" in result.detail


@pytest.mark.parametrize(
    "occurred_at",
    [
        "1999-12-31T23:59:59.999Z",
        "2000-01-01T00:59:59+01:00",
        0,
        -1,
        DEFAULT_MIN_TIME_MS - 1,
        KAFKA_TS + DAY_MS + 1,
        "2025-03-15T12:00:00.001Z",
        "2025-03-20T00:00:00Z",
        2**63 - 1,
    ],
)
def test_time_before_minimum_or_over_24h_ahead_is_impossible_time(occurred_at: Any) -> None:
    """Before 2000-01-01Z or more than 24 h ahead of the Kafka timestamp is impossible_time."""
    result = rejected(event("contact.started", occurred_at=occurred_at), Reason.IMPOSSIBLE_TIME)
    assert result.detail.startswith("occurred_at: ")


def test_time_beyond_year_9999_is_impossible_even_without_kafka_timestamp() -> None:
    """An epoch past 9999-12-31 is impossible_time even when no record timestamp bounds it."""
    obj = event("contact.started", occurred_at=10**17)
    rejected(obj, Reason.IMPOSSIBLE_TIME, kafka_timestamp_ms=None)


# --------------------------------------------------------------------------- determinism


def test_several_faults_give_the_reason_of_highest_priority() -> None:
    """With several faults the reason follows the fixed priority, whatever the field order."""
    obj = event("contact.answered", channel="fax", wait_seconds=-3, queue="", agent_id=DROP, team=5)
    result = rejected(obj, Reason.MISSING_FIELD)
    assert result.detail == "agent_id: required field is missing"
    reordered = dict(reversed(list(obj.items())))
    assert decode(reordered) == result

    ladder = [
        ({"team": 5, "queue": ""}, Reason.WRONG_TYPE),
        ({"queue": "", "contact_id": "x" * 200}, Reason.EMPTY_ID),
        ({"contact_id": "x" * 200, "channel": "fax"}, Reason.OVERSIZED_ID),
        ({"channel": "fax", "occurred_at": "noon"}, Reason.UNKNOWN_CHANNEL),
        ({"occurred_at": "noon", "wait_seconds": -3}, Reason.BAD_TIME),
        ({"wait_seconds": -3, "occurred_at": "1990-01-01T00:00:00Z"}, Reason.BAD_DURATION),
    ]
    for faults, reason in ladder:
        rejected(event("contact.answered", **faults), reason)


def test_python_checks_rank_with_schema_errors() -> None:
    """Faults only Python detects (4.0, calendar) compete by the same order as schema faults."""
    survey = event("survey.submitted", score=4.0, channel="fax")
    assert rejected(survey, Reason.WRONG_TYPE).detail.startswith("score: ")
    answered = event("contact.answered", occurred_at="2025-02-30T00:00:00Z", wait_seconds=-3)
    rejected(answered, Reason.BAD_TIME)
    floated = event("contact.answered", occurred_at=1_741_942_800_000.0, wait_seconds=-3)
    rejected(floated, Reason.BAD_TIME)


def test_bad_value_wins_over_score_range() -> None:
    """A survey with an invalid scale and a score beyond 5 is bad_value (scale), not score."""
    result = rejected(event("survey.submitted", scale=7, score=9), Reason.BAD_VALUE)
    assert result.detail.startswith("scale: ")


def test_same_fault_in_two_fields_names_the_first_field_alphabetically() -> None:
    """Two faults of one reason are reported for the alphabetically first field."""
    result = rejected(event("contact.started", queue="", contact_id=""), Reason.EMPTY_ID)
    assert result.detail == "contact_id: must not be empty"


def test_rejected_record_carries_known_event_type() -> None:
    """A rejection of a known type carries that type for the metric label."""
    result = rejected(event("survey.submitted", score=99), Reason.SCORE_OUT_OF_RANGE)
    assert result.event_type == "survey.submitted"


def test_deeply_nested_value_in_a_known_field_is_wrong_type() -> None:
    """A 1000-level nested array where an id belongs is wrong_type, not a crash."""
    raw = orjson.dumps(event("customer.status", customer_id="PLACEHOLDER")).replace(
        b'"PLACEHOLDER"', b"[" * 1000 + b"]" * 1000
    )
    rejected(raw, Reason.WRONG_TYPE)


def test_detail_is_one_short_line_even_for_hostile_values() -> None:
    """Details stay on one line and short when the input holds newlines or huge strings."""
    result = rejected(event("contact.started", channel="a\nb" * 10_000), Reason.UNKNOWN_CHANNEL)
    assert len(result.detail) < 200
    result = rejected(b"{\n\n  oops", Reason.NOT_JSON)
    assert "\n" not in result.detail


def test_every_reason_has_a_description() -> None:
    """Each Reason has a stable snake_case value and a one-line description."""
    for reason in Reason:
        assert reason.value == reason.name.lower()
        assert reason.description
        assert "\n" not in reason.description
