"""The published v1 schemas, examples and docs agree with each other and with the decoder.

The pure-Python ``jsonschema`` library is the independent referee: if the schemas only worked
with jsonschema_rs, integrators validating with other tools would see a different contract.
"""

from pathlib import Path
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from stream_app.events import CHANNELS, DEFAULT_MIN_TIME_MS, TOPIC_TYPES, Accepted, Reason
from stream_app.events.decode import SCHEMA_DIR, decode_event, load_schema_documents, schema_id

pytestmark = pytest.mark.unit

DOCS = Path(__file__).resolve().parents[2] / "docs" / "events.md"
DOCUMENTS = load_schema_documents()
REGISTRY: Registry[Any] = Registry().with_resources(
    (uri, Resource.from_contents(doc)) for uri, doc in DOCUMENTS.items()
)


def reference_validator(event_type: str) -> Draft202012Validator:
    return Draft202012Validator(DOCUMENTS[schema_id(event_type)], registry=REGISTRY)


def example(event_type: str) -> bytes:
    return (SCHEMA_DIR / "examples" / f"{event_type}.json").read_bytes()


def test_schema_files_are_the_six_types_plus_common() -> None:
    """schemas/v1 holds exactly one schema per event type and the shared common schema."""
    names = {path.name for path in SCHEMA_DIR.glob("*.schema.json")}
    assert names == {f"{t}.schema.json" for t in TOPIC_TYPES} | {"common.schema.json"}


@pytest.mark.parametrize("uri", sorted(DOCUMENTS))
def test_schema_is_valid_draft_2020_12(uri: str) -> None:
    """Every schema is itself valid under the draft 2020-12 meta-schema."""
    schema = DOCUMENTS[uri]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("event_type", TOPIC_TYPES)
def test_schema_id_names_its_file(event_type: str) -> None:
    """$id is https://ccmon.dev/schemas/v1/<type>.schema.json and type is pinned by const."""
    schema = orjson.loads((SCHEMA_DIR / f"{event_type}.schema.json").read_bytes())
    assert schema["$id"] == f"https://ccmon.dev/schemas/v1/{event_type}.schema.json"
    assert schema["properties"]["type"] == {"const": event_type}
    assert schema.get("additionalProperties", True) is True


@pytest.mark.parametrize("event_type", TOPIC_TYPES)
def test_example_validates_with_the_reference_library(event_type: str) -> None:
    """Each example is valid against its schema according to the pure-Python jsonschema."""
    reference_validator(event_type).validate(orjson.loads(example(event_type)))


@pytest.mark.parametrize("event_type", TOPIC_TYPES)
def test_example_is_accepted_by_the_decoder(event_type: str) -> None:
    """Each example is accepted by decode_event on its own topic."""
    obj = orjson.loads(example(event_type))
    result = decode_event(
        example(event_type),
        expected_type=event_type,
        kafka_timestamp_ms=1_741_953_600_000,
        min_time_ms=DEFAULT_MIN_TIME_MS,
    )
    assert isinstance(result, Accepted), result
    assert result.event.event_id == obj["event_id"]
    assert result.event_type == event_type


@pytest.mark.parametrize("event_type", TOPIC_TYPES)
def test_example_with_a_wrong_field_fails_both_validators(event_type: str) -> None:
    """An example with event_id emptied is rejected by both libraries (same schema in both)."""
    obj = orjson.loads(example(event_type))
    obj["event_id"] = ""
    assert not reference_validator(event_type).is_valid(obj)
    result = decode_event(
        orjson.dumps(obj), expected_type=None, kafka_timestamp_ms=None, min_time_ms=0
    )
    assert not isinstance(result, Accepted)
    assert result.reason is Reason.EMPTY_ID


def test_channel_enum_matches_the_record_type() -> None:
    """The schema's channel values are exactly the records' CHANNELS, in order."""
    common = DOCUMENTS["https://ccmon.dev/schemas/v1/common.schema.json"]
    assert tuple(common["$defs"]["channel"]["enum"]) == CHANNELS


def test_docs_list_every_reason_topic_and_dead_letter_field() -> None:
    """docs/events.md names every Reason, every default topic and every dead-letter field."""
    text = DOCS.read_text(encoding="utf-8")
    for reason in Reason:
        assert f"`{reason.value}`" in text, reason
    for event_type in TOPIC_TYPES:
        assert f"`cc.{event_type}`" in text, event_type
    for field in (
        "reason",
        "detail",
        "event_type",
        "source_topic",
        "source_partition",
        "source_offset",
        "source_timestamp_ms",
        "rejected_at_ms",
        "original_b64",
    ):
        assert f"`{field}`" in text, field
    assert "`cc.deadletter`" in text
    assert "ccmon check" in text
