"""Why an input record was rejected: a closed set of stable reason codes.

The values are Prometheus label values (``ccmon_events_rejected_total{reason=...}``) and the
``reason`` field of dead-letter records, so they are part of the public contract: never rename
one, only add. ``docs/events.md`` lists every member with an example input.
"""

from enum import StrEnum


class Reason(StrEnum):
    """A rejection reason; the value is the stable snake_case code.

    Members are declared in precedence order: when a record has several faults, the decoder
    reports the one declared first, except that faults of ``type`` and ``schema_version``
    themselves (missing_field, wrong_type) come right after not_object, since without them no
    schema applies.
    """

    NOT_JSON = "not_json"
    NOT_FINITE = "not_finite"
    NOT_OBJECT = "not_object"
    UNKNOWN_TYPE = "unknown_type"
    TYPE_MISMATCH = "type_mismatch"
    UNKNOWN_VERSION = "unknown_version"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    EMPTY_ID = "empty_id"
    OVERSIZED_ID = "oversized_id"
    UNKNOWN_CHANNEL = "unknown_channel"
    BAD_VALUE = "bad_value"
    BAD_TIME = "bad_time"
    BAD_DURATION = "bad_duration"
    SCORE_OUT_OF_RANGE = "score_out_of_range"
    IMPOSSIBLE_TIME = "impossible_time"

    @property
    def description(self) -> str:
        """One line for humans: what was wrong with the record."""
        return _DESCRIPTIONS[self]


_DESCRIPTIONS: dict[Reason, str] = {
    Reason.NOT_JSON: "the value is not valid UTF-8 JSON (NaN and Infinity literals included)",
    Reason.NOT_OBJECT: "the value is JSON but not an object",
    Reason.MISSING_FIELD: "a required field is missing",
    Reason.WRONG_TYPE: "a field has the wrong JSON type (e.g. a string or 4.0 where an integer "
    "is required, true where a number is required)",
    Reason.NOT_FINITE: "a number overflows to infinity (e.g. 1e400)",
    Reason.UNKNOWN_TYPE: "the type field names no known event type",
    Reason.TYPE_MISMATCH: "the type field does not match the topic the record came from",
    Reason.UNKNOWN_VERSION: "schema_version is not a supported major version (only 1 is)",
    Reason.EMPTY_ID: "an id or name field is an empty string",
    Reason.OVERSIZED_ID: "an id or name field is longer than 128 characters",
    Reason.UNKNOWN_CHANNEL: "channel is not one of voice, chat, email, messaging, video, other",
    Reason.BAD_VALUE: "a field is not one of its allowed values (metric, scale, status)",
    Reason.BAD_DURATION: "a duration is negative or not below 86400 s (24 h)",
    Reason.BAD_TIME: "occurred_at is not an RFC 3339 time with offset nor integer epoch ms",
    Reason.IMPOSSIBLE_TIME: "occurred_at is before the minimum time (default 2000-01-01) or more "
    "than 24 h ahead of the record's Kafka timestamp",
    Reason.SCORE_OUT_OF_RANGE: "score is outside 0..10 for NPS or 1..scale for CSAT",
}
