"""Turn one raw Kafka value (or one line of a file) into a typed event or a rejection reason.

``decode_event`` is the single entry point shared by the worker and ``ccmon check``, so what the
check tool accepts is exactly what the worker accepts. Structural rules live in the JSON Schemas
under ``schemas/v1/`` and are compiled with jsonschema_rs at import, so the code cannot drift
from the published contract. The fast path is one ``is_valid`` call; only a failing record pays
for walking the errors, which are mapped to a ``Reason`` by a fixed priority so the reason of a
record with several faults is deterministic. Rules a schema cannot express (time parsing, JSON
integer vs 4.0, time bounds, topic vs type, version) are plain Python below.

Order of checks: parse (not_json, not_finite) -> not_object -> ``type`` (missing_field,
wrong_type, unknown_type, type_mismatch) -> ``schema_version`` (wrong_type, unknown_version) ->
all field faults together, schema errors and the Python checks alike, the one first in ``Reason``
declaration order winning (ties: the field name that sorts first) -> impossible_time last, as it
needs a valid time. A record with several faults therefore always gets the same reason.
"""

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeAlias

import jsonschema_rs
import orjson

from stream_app.errors import UserError
from stream_app.events.reasons import Reason
from stream_app.events.records import (
    ContactAbandoned,
    ContactAnswered,
    ContactResolved,
    ContactStarted,
    CustomerStatus,
    Event,
    SurveySubmitted,
)

SCHEMA_DIR: Final[Path] = Path(__file__).resolve().parents[2] / "schemas" / "v1"
"""The v1 JSON Schemas, one ``<type>.schema.json`` per event type plus ``common.schema.json``."""
SCHEMA_ID_BASE: Final = "https://ccmon.dev/schemas/v1/"

TOPIC_TYPES: Final[tuple[str, ...]] = (
    "contact.started",
    "contact.answered",
    "contact.resolved",
    "contact.abandoned",
    "survey.submitted",
    "customer.status",
)
"""The six event types, in the order of the spec; the default topic of ``t`` is ``cc.<t>``."""

SUPPORTED_SCHEMA_VERSION: Final = 1
DEFAULT_MIN_TIME_MS: Final = 946_684_800_000
"""2000-01-01T00:00:00Z: earlier ``occurred_at`` values are impossible unless configured."""
MAX_AHEAD_MS: Final = 86_400_000
"""An event may be at most 24 h ahead of its record's Kafka timestamp (clock skew allowance)."""
_MAX_TIME_MS: Final = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: datetime's range.

_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS: Final = timedelta(milliseconds=1)
_SHOW_MAX: Final = 60
_DURATION_FIELDS: Final = frozenset(
    {"wait_seconds", "talk_seconds", "hold_seconds", "wrap_seconds"}
)


@dataclass(frozen=True, slots=True)
class Accepted:
    """A valid event, ready for the KPI stage."""

    event: Event

    @property
    def event_type(self) -> str:
        """The event's ``type``, one of ``TOPIC_TYPES``."""
        return self.event.event_type


@dataclass(frozen=True, slots=True)
class Rejected:
    """An invalid record: why (a bounded label value), a one-line detail, and its type if known.

    ``event_type`` is one of ``TOPIC_TYPES`` or ``None``, never free text, so it is safe as a
    metric label; an unknown type's value is in ``detail`` instead.
    """

    reason: Reason
    detail: str
    event_type: str | None = None


DecodeResult: TypeAlias = Accepted | Rejected


class _Invalid(Exception):
    """Raised inside the builders; carries the rejection up to ``decode_event``."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


# --------------------------------------------------------------------------- schema loading


def schema_id(event_type: str) -> str:
    """The ``$id`` of an event type's schema, e.g. ``.../v1/contact.started.schema.json``."""
    return f"{SCHEMA_ID_BASE}{event_type}.schema.json"


def load_schema_documents(schema_dir: Path = SCHEMA_DIR) -> dict[str, dict[str, Any]]:
    """Every ``*.schema.json`` in ``schema_dir``, parsed, keyed by its ``$id``."""
    try:
        documents = [orjson.loads(p.read_bytes()) for p in sorted(schema_dir.glob("*.schema.json"))]
    except (OSError, orjson.JSONDecodeError) as exc:
        raise UserError(f"cannot read the event schemas in {schema_dir}: {exc}") from exc
    return {doc["$id"]: doc for doc in documents}


def _load_validators(schema_dir: Path) -> dict[str, jsonschema_rs.Validator]:
    """Compile one validator per event type; ``$ref``s resolve locally, never over the network."""
    by_id = load_schema_documents(schema_dir)
    registry = jsonschema_rs.Registry(list(by_id.items()))
    validators: dict[str, jsonschema_rs.Validator] = {}
    for event_type in TOPIC_TYPES:
        schema = by_id.get(schema_id(event_type))
        if schema is None:
            raise UserError(
                f"event schema {event_type}.schema.json is missing from {schema_dir}; "
                "ccmon needs the schemas/v1 directory of its source tree"
            )
        validators[event_type] = jsonschema_rs.validator_for(
            schema, registry=registry, validate_formats=False
        )
    return validators


_VALIDATORS: Final = _load_validators(SCHEMA_DIR)


# --------------------------------------------------------------------------- entry point


def decode_event(
    raw: bytes,
    *,
    expected_type: str | None,
    kafka_timestamp_ms: int | None,
    min_time_ms: int,
) -> DecodeResult:
    """Decode and validate one record value; never raises for any input bytes.

    ``expected_type`` is the type of the topic the record came from (``None``: any type).
    ``kafka_timestamp_ms`` bounds how far ahead ``occurred_at`` may be (``None`` or negative,
    as Kafka's "no timestamp" -1: no such bound). ``min_time_ms`` is the earliest possible
    ``occurred_at``, normally ``DEFAULT_MIN_TIME_MS``.
    """
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if not isinstance(raw, bytes | bytearray | memoryview | str):  # None: a tombstone
            return Rejected(Reason.NOT_JSON, f"value is {type(raw).__name__}, not JSON bytes")
        return _parse_failure(exc)
    if type(obj) is not dict:
        return Rejected(Reason.NOT_OBJECT, f"top-level value is {_json_type(obj)}, not an object")

    event_type = obj.get("type")
    if type(event_type) is not str:
        if "type" not in obj:
            return Rejected(Reason.MISSING_FIELD, "type: required field is missing")
        return Rejected(
            Reason.WRONG_TYPE,
            f"type: expected string, got {_got(event_type)}",
        )
    validator = _VALIDATORS.get(event_type)
    if validator is None:
        return Rejected(
            Reason.UNKNOWN_TYPE,
            f"type: {_show(event_type)} is not one of {', '.join(TOPIC_TYPES)}",
        )
    if expected_type is not None and event_type != expected_type:
        return Rejected(
            Reason.TYPE_MISMATCH,
            f"type: {event_type} on the topic for {expected_type}",
            event_type,
        )

    version = obj.get("schema_version")
    if version is None:  # absent or null: an optional field's null counts as absent
        version = SUPPORTED_SCHEMA_VERSION
    elif type(version) is not int:
        return Rejected(
            Reason.WRONG_TYPE,
            f"schema_version: expected integer, got {_got(version)}",
            event_type,
        )
    elif version != SUPPORTED_SCHEMA_VERSION:
        return Rejected(
            Reason.UNKNOWN_VERSION,
            f"schema_version: {version} is not supported (only {SUPPORTED_SCHEMA_VERSION})",
            event_type,
        )

    if not validator.is_valid(obj):
        return _explain(event_type, obj, validator)
    try:
        event = _BUILDERS[event_type](obj)
        _check_time_bounds(
            event.occurred_at_ms, obj["occurred_at"], kafka_timestamp_ms, min_time_ms
        )
    except _Invalid as invalid:
        return Rejected(invalid.reason, invalid.detail, event_type)
    return Accepted(event)


def _parse_failure(exc: orjson.JSONDecodeError) -> Rejected:
    """not_finite for numbers like 1e400 (valid JSON grammar, no finite double); else not_json."""
    message = _one_line(str(exc))
    if message.startswith("number is infinity"):
        location = message.partition(": ")[2]
        return Rejected(
            Reason.NOT_FINITE, f"a number overflows to infinity (e.g. 1e400): {location}"
        )
    return Rejected(Reason.NOT_JSON, f"not valid JSON: {message}")


# --------------------------------------------------------------------------- schema errors

_PRIORITY: Final[dict[Reason, int]] = {reason: rank for rank, reason in enumerate(Reason)}
"""Which fault names the reason when a record has several: ``Reason`` order, then field name."""

_EMPTY_LIKE: Final[dict[type, object]] = {list: [], dict: {}}


def _explain(event_type: str, obj: dict[str, Any], validator: jsonschema_rs.Validator) -> Rejected:
    """Map the schema errors of an invalid record to the single most important one."""
    # No v1 field is an array or object, so emptying containers keeps every error the same while
    # sparing jsonschema_rs from copying deeply nested values into its errors (it refuses past
    # 255 levels with "Recursion limit reached").
    flat = {key: _EMPTY_LIKE.get(type(value), value) for key, value in obj.items()}
    faults = [_classify(error, obj) for error in validator.iter_errors(flat)]
    faults.extend(_python_faults(event_type, obj))
    best: tuple[int, str, Reason, str] | None = None
    for reason, field, detail in faults:
        key = (_PRIORITY[reason], field, reason, detail)
        if best is None or key < best:
            best = key
    if best is None:  # is_valid and iter_errors disagree; not expected, but never crash
        return Rejected(Reason.BAD_VALUE, "(event): does not match its schema", event_type)
    return Rejected(best[2], best[3], event_type)


_Kind = jsonschema_rs.ValidationErrorKind


def _classify(error: jsonschema_rs.ValidationError, obj: dict[str, Any]) -> tuple[Reason, str, str]:
    """One schema error -> (reason, field, one-line detail naming the field)."""
    kind = error.kind
    if isinstance(kind, _Kind.Required):
        field = str(kind.property)
        return Reason.MISSING_FIELD, field, f"{field}: required field is missing"
    field = str(error.instance_path[0]) if error.instance_path else "(event)"
    value = obj.get(field)
    shown = _show(value)
    if isinstance(value, float) and not math.isfinite(value):
        return Reason.NOT_FINITE, field, f"{field}: {shown} is not a finite number"
    if isinstance(kind, _Kind.Type):
        if field == "occurred_at" and type(value) is float:
            return Reason.BAD_TIME, field, _float_epoch_detail(value)
        expected = " or ".join(kind.types)
        return Reason.WRONG_TYPE, field, f"{field}: expected {expected}, got {_got(value)}"
    if isinstance(kind, _Kind.MinLength):
        return Reason.EMPTY_ID, field, f"{field}: must not be empty"
    if isinstance(kind, _Kind.MaxLength):
        size = len(value) if isinstance(value, str) else 0
        return Reason.OVERSIZED_ID, field, f"{field}: {size} characters, at most {kind.limit}"
    if isinstance(kind, _Kind.Enum):
        options = ", ".join(str(option) for option in kind.options)
        reason = Reason.UNKNOWN_CHANNEL if field == "channel" else Reason.BAD_VALUE
        return reason, field, f"{field}: {shown} is not one of {options}"
    if isinstance(kind, _Kind.Constant) and field == "type":
        return Reason.TYPE_MISMATCH, field, f"type: {shown} does not match the schema's type"
    if isinstance(kind, _Kind.Pattern) and field == "occurred_at":
        return Reason.BAD_TIME, field, _rfc3339_detail(value)
    if isinstance(kind, _Kind.Minimum | _Kind.Maximum | _Kind.ExclusiveMaximum):
        if field == "score":
            return Reason.SCORE_OUT_OF_RANGE, field, _score_detail(obj, shown)
        if field in _DURATION_FIELDS:
            if isinstance(value, int | float) and value < 0:
                return Reason.BAD_DURATION, field, f"{field}: {shown} is negative"
            return Reason.BAD_DURATION, field, f"{field}: {shown} is not below 86400 s (24 h)"
    return Reason.BAD_VALUE, field, f"{field}: {_one_line(error.message)[:120]}"


def _python_faults(event_type: str, obj: dict[str, Any]) -> Iterator[tuple[Reason, str, str]]:
    """The builders' checks, run on a schema-invalid object so every fault competes by rank."""
    if event_type == "survey.submitted":
        for field in _JSON_INT_FIELDS:
            value = obj.get(field)
            if type(value) is float and value.is_integer():
                yield Reason.WRONG_TYPE, field, _json_int_detail(field, value)
    value = obj.get("occurred_at")
    if type(value) is str or type(value) is float:  # any int is a valid epoch
        try:
            _occurred_at_ms(value)
        except _Invalid as invalid:
            yield invalid.reason, "occurred_at", invalid.detail


def _score_detail(obj: dict[str, Any], shown: str) -> str:
    if obj.get("metric") == "nps":
        return f"score: {shown} is outside 0..10 for nps"
    scale = 10 if obj.get("scale") == 10 else 5
    return f"score: {shown} is outside 1..{scale} for csat on a {scale}-point scale"


# --------------------------------------------------------------------------- time


_RFC3339: Final = re.compile(
    # RFC 3339 section 5.6 with the offset mandatory; the same as the schemas' occurredAt pattern.
    r"(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"  # full-date
    r"[Tt ]([01]\d|2[0-3]):([0-5]\d):([0-5]\d|60)(?:\.(\d+))?"  # partial-time
    r"(?:[Zz]|([+-])([01]\d|2[0-3]):([0-5]\d))",  # time-offset
    re.ASCII,
)


def _rfc3339_detail(value: object) -> str:
    return f"occurred_at: {_show(value)} is not an RFC 3339 time with offset (Z or +hh:mm)"


def _float_epoch_detail(value: float) -> str:
    return f"occurred_at: {_show(value)} is a float; epoch milliseconds must be a JSON integer"


def _occurred_at_ms(value: Any) -> int:
    """RFC 3339 with mandatory offset, or JSON-integer epoch ms -> UTC epoch ms (truncated)."""
    if type(value) is int:
        return value
    if type(value) is not str:
        raise _Invalid(Reason.BAD_TIME, _float_epoch_detail(value))
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise _Invalid(Reason.BAD_TIME, _rfc3339_detail(value))
    try:  # fast path in C; the regex above already limited the input to RFC 3339
        return (datetime.fromisoformat(value) - _EPOCH) // _ONE_MS
    except ValueError:
        pass  # lower-case t/z, a leap second, or an invalid date: the exact checks below
    year, month, day, hh, mm, ss, fraction, sign, off_h, off_m = match.groups()
    try:
        days = date(int(year), int(month), int(day)).toordinal() - _EPOCH_ORDINAL
    except ValueError:
        raise _Invalid(
            Reason.BAD_TIME, f"occurred_at: {_show(value)} is not a calendar date"
        ) from None
    hour, minute, second = int(hh), int(mm), int(ss)
    millis = int((fraction + "00")[:3]) if fraction else 0
    if second == 60:  # an RFC 3339 leap second: keep it inside its minute
        second, millis = 59, 999
    offset_minutes = 0
    if sign is not None:
        offset_minutes = int(off_h) * 60 + int(off_m)
        if sign == "-":
            offset_minutes = -offset_minutes
    total_minutes = (days * 24 + hour) * 60 + minute - offset_minutes
    return (total_minutes * 60 + second) * 1000 + millis


def _check_time_bounds(
    occurred_ms: int, original: object, kafka_timestamp_ms: int | None, min_time_ms: int
) -> None:
    """impossible_time: before the minimum, past year 9999, or > 24 h ahead of the record."""
    if occurred_ms < min_time_ms:
        raise _Invalid(
            Reason.IMPOSSIBLE_TIME,
            f"occurred_at: {_show(original)} is before the minimum {format_ms(min_time_ms)}",
        )
    if occurred_ms > _MAX_TIME_MS:
        raise _Invalid(Reason.IMPOSSIBLE_TIME, f"occurred_at: {_show(original)} is after 9999")
    if (
        kafka_timestamp_ms is not None
        and kafka_timestamp_ms >= 0
        and occurred_ms > kafka_timestamp_ms + MAX_AHEAD_MS
    ):
        raise _Invalid(
            Reason.IMPOSSIBLE_TIME,
            f"occurred_at: {_show(original)} is more than 24 h ahead of the record time "
            f"{format_ms(kafka_timestamp_ms)}",
        )


def format_ms(epoch_ms: int) -> str:
    """UTC epoch ms -> ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (for messages; out-of-range -> the number)."""
    days, rest = divmod(epoch_ms, 86_400_000)
    try:
        day = date.fromordinal(days + _EPOCH_ORDINAL)
    except (ValueError, OverflowError):
        return f"{epoch_ms} ms"
    seconds, millis = divmod(rest, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}Z"


# --------------------------------------------------------------------------- builders
# Each builder runs only on a schema-valid object, so required fields exist with the right JSON
# type; what is left is what a schema cannot say: JSON integers and the time. ``obj.get`` makes
# an optional field that is null the same as an absent one (None).


_JSON_INT_FIELDS: Final = ("scale", "score")
"""Survey fields that must be JSON integers; schema_version and occurred_at are checked apart."""


def _json_int(obj: dict[str, Any], field: str) -> None:
    """Reject 4.0 where a JSON integer is required (JSON Schema counts 4.0 as an integer)."""
    value = obj.get(field)
    if value is not None and type(value) is not int:
        raise _Invalid(Reason.WRONG_TYPE, _json_int_detail(field, value))


def _json_int_detail(field: str, value: object) -> str:
    return f"{field}: {_show(value)} must be a JSON integer (no decimal point)"


def _optional_reason(obj: dict[str, Any]) -> str | None:
    """An empty ``reason`` means no reason, so FCR matches it like an absent one."""
    return obj.get("reason") or None


def _build_started(obj: dict[str, Any]) -> ContactStarted:
    return ContactStarted(
        event_id=obj["event_id"],
        occurred_at_ms=_occurred_at_ms(obj["occurred_at"]),
        contact_id=obj["contact_id"],
        customer_id=obj["customer_id"],
        queue=obj["queue"],
        channel=obj["channel"],
        reason=_optional_reason(obj),
    )


def _build_answered(obj: dict[str, Any]) -> ContactAnswered:
    return ContactAnswered(
        event_id=obj["event_id"],
        occurred_at_ms=_occurred_at_ms(obj["occurred_at"]),
        contact_id=obj["contact_id"],
        queue=obj["queue"],
        channel=obj["channel"],
        agent_id=obj["agent_id"],
        wait_seconds=float(obj["wait_seconds"]),
        team=obj.get("team"),
    )


def _build_resolved(obj: dict[str, Any]) -> ContactResolved:
    return ContactResolved(
        event_id=obj["event_id"],
        occurred_at_ms=_occurred_at_ms(obj["occurred_at"]),
        contact_id=obj["contact_id"],
        customer_id=obj["customer_id"],
        queue=obj["queue"],
        channel=obj["channel"],
        agent_id=obj["agent_id"],
        talk_seconds=float(obj["talk_seconds"]),
        hold_seconds=float(obj["hold_seconds"]),
        wrap_seconds=float(obj["wrap_seconds"]),
        resolved=obj["resolved"],
        team=obj.get("team"),
        reason=_optional_reason(obj),
    )


def _build_abandoned(obj: dict[str, Any]) -> ContactAbandoned:
    return ContactAbandoned(
        event_id=obj["event_id"],
        occurred_at_ms=_occurred_at_ms(obj["occurred_at"]),
        contact_id=obj["contact_id"],
        queue=obj["queue"],
        channel=obj["channel"],
        wait_seconds=float(obj["wait_seconds"]),
        customer_id=obj.get("customer_id"),
    )


def _build_survey(obj: dict[str, Any]) -> SurveySubmitted:
    for field in _JSON_INT_FIELDS:
        _json_int(obj, field)
    metric = obj["metric"]
    return SurveySubmitted(
        event_id=obj["event_id"],
        occurred_at_ms=_occurred_at_ms(obj["occurred_at"]),
        customer_id=obj["customer_id"],
        metric=metric,
        score=obj["score"],
        scale=10 if metric == "nps" else obj.get("scale") or 5,
        contact_id=obj.get("contact_id"),
        queue=obj.get("queue"),
        channel=obj.get("channel"),
        agent_id=obj.get("agent_id"),
        team=obj.get("team"),
        comment=obj.get("comment"),
    )


def _build_status(obj: dict[str, Any]) -> CustomerStatus:
    return CustomerStatus(
        event_id=obj["event_id"],
        occurred_at_ms=_occurred_at_ms(obj["occurred_at"]),
        customer_id=obj["customer_id"],
        status=obj["status"],
    )


_BUILDERS: Final[dict[str, Callable[[dict[str, Any]], Event]]] = {
    "contact.started": _build_started,
    "contact.answered": _build_answered,
    "contact.resolved": _build_resolved,
    "contact.abandoned": _build_abandoned,
    "survey.submitted": _build_survey,
    "customer.status": _build_status,
}
assert tuple(_BUILDERS) == TOPIC_TYPES


# --------------------------------------------------------------------------- messages


def _json_type(value: object) -> str:
    """The JSON name of a parsed value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _got(value: object) -> str:
    """``null``, ``true``, or the JSON type and value, as in ``string "12"``."""
    if value is None or isinstance(value, bool):
        return _show(value)
    return f"{_json_type(value)} {_show(value)}"


def _show(value: object) -> str:
    """A short, single-line JSON rendering of a scalar input value (containers summarized)."""
    if isinstance(value, dict):
        return "{...}"
    if isinstance(value, list):
        return "[...]"
    if isinstance(value, float):
        text = repr(value)
    else:
        try:
            text = orjson.dumps(value).decode()
        except TypeError:  # integers beyond 64 bits
            text = str(value)
    if len(text) > _SHOW_MAX:
        text = text[: _SHOW_MAX - 3] + "..."
    return text


def _one_line(text: str) -> str:
    return " ".join(text.split())
