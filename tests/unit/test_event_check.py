"""check_lines: the summary ``ccmon check FILE`` prints, in text and in its JSON contract."""

import json
import time
from typing import Any

import orjson
import pytest

from stream_app.events import DEFAULT_MIN_TIME_MS, Reason, check_lines
from stream_app.events.check import MAX_EXAMPLES

pytestmark = pytest.mark.unit

NOW_MS = 1_741_953_600_000  # 2025-03-14T12:00:00Z


def line(**fields: Any) -> bytes:
    """One JSONL line holding a valid customer.status, with ``fields`` overridden."""
    obj: dict[str, Any] = {
        "event_id": "e-1",
        "type": "customer.status",
        "occurred_at": "2025-03-14T09:00:00Z",
        "customer_id": "cu-1",
        "status": "active",
    }
    obj.update(fields)
    return orjson.dumps(obj) + b"\n"


def test_counts_accepted_and_rejected_by_reason() -> None:
    """Accepted lines are counted, rejected ones are counted by reason."""
    lines = [line(), line(event_id="e-2"), b"nope\n", line(status="gone"), line(status="x")]
    summary = check_lines(lines, min_time_ms=DEFAULT_MIN_TIME_MS, now_ms=NOW_MS)
    assert summary.accepted == 2
    assert summary.rejected == {Reason.NOT_JSON: 1, Reason.BAD_VALUE: 2}
    assert summary.rejected_total == 3
    assert not summary.ok


def test_as_json_is_exactly_accepted_and_rejected_by_reason_value() -> None:
    """as_json() is {"accepted": n, "rejected": {"<reason>": n}} and serializes as JSON."""
    lines = [line(), b"[]\n", b"nope\n", b"{bad\n"]
    summary = check_lines(lines, min_time_ms=DEFAULT_MIN_TIME_MS, now_ms=NOW_MS)
    assert summary.as_json() == {"accepted": 1, "rejected": {"not_json": 2, "not_object": 1}}
    assert json.loads(json.dumps(summary.as_json())) == summary.as_json()


def test_all_valid_gives_empty_rejected_object() -> None:
    """A clean file reports an empty rejected mapping and ok."""
    summary = check_lines([line(), line()], min_time_ms=DEFAULT_MIN_TIME_MS, now_ms=NOW_MS)
    assert summary.as_json() == {"accepted": 2, "rejected": {}}
    assert summary.ok
    assert "OK" in summary.render_text()


def test_blank_lines_are_skipped_but_counted_in_line_numbers() -> None:
    """Blank and whitespace-only lines are ignored; example line numbers are file lines."""
    lines = [b"\n", line(), b"   \r\n", b"", line(status="gone")]
    summary = check_lines(lines, min_time_ms=DEFAULT_MIN_TIME_MS, now_ms=NOW_MS)
    assert summary.as_json() == {"accepted": 1, "rejected": {"bad_value": 1}}
    [example] = summary.examples[Reason.BAD_VALUE]
    assert example.line == 5
    assert example.detail.startswith("status: ")


def test_keeps_at_most_three_examples_per_reason() -> None:
    """Only the first MAX_EXAMPLES (3) lines of each reason are kept as examples."""
    lines = [b"nope\n"] * 10
    summary = check_lines(lines, min_time_ms=DEFAULT_MIN_TIME_MS, now_ms=NOW_MS)
    assert MAX_EXAMPLES == 3
    assert [ex.line for ex in summary.examples[Reason.NOT_JSON]] == [1, 2, 3]
    assert summary.rejected[Reason.NOT_JSON] == 10


def test_now_is_the_reference_for_the_24h_rule() -> None:
    """A line more than 24 h ahead of now is impossible_time; within 24 h it is accepted."""
    ahead = line(occurred_at=NOW_MS + 86_400_000 + 1)
    within = line(occurred_at=NOW_MS + 86_400_000)
    summary = check_lines([ahead, within], min_time_ms=DEFAULT_MIN_TIME_MS, now_ms=NOW_MS)
    assert summary.as_json() == {"accepted": 1, "rejected": {"impossible_time": 1}}


def test_wall_clock_is_the_default_reference() -> None:
    """Without now_ms, the wall clock decides: two days from now is rejected, now is not."""
    now = time.time_ns() // 1_000_000
    lines = [line(occurred_at=now + 2 * 86_400_000), line(occurred_at=now)]
    summary = check_lines(lines, min_time_ms=DEFAULT_MIN_TIME_MS)
    assert summary.as_json() == {"accepted": 1, "rejected": {"impossible_time": 1}}


def test_min_time_is_applied() -> None:
    """min_time_ms decides which old events are impossible."""
    old = [line(occurred_at="1999-01-01T00:00:00Z")]
    assert check_lines(old, min_time_ms=DEFAULT_MIN_TIME_MS, now_ms=NOW_MS).rejected == {
        Reason.IMPOSSIBLE_TIME: 1
    }
    assert check_lines(old, min_time_ms=0, now_ms=NOW_MS).accepted == 1


def test_any_event_type_is_allowed_in_a_file() -> None:
    """A file has no topic, so every type is checked on its own without type_mismatch."""
    started = orjson.dumps(
        {
            "event_id": "e-9",
            "type": "contact.started",
            "occurred_at": NOW_MS,
            "contact_id": "c",
            "customer_id": "cu",
            "queue": "q",
            "channel": "voice",
        }
    )
    summary = check_lines([started, line()], min_time_ms=DEFAULT_MIN_TIME_MS, now_ms=NOW_MS)
    assert summary.accepted_by_type == {"contact.started": 1, "customer.status": 1}


def test_utf8_bom_on_the_first_line_is_tolerated() -> None:
    """A UTF-8 byte order mark at the start of the file does not reject the first line."""
    summary = check_lines(
        [b"\xef\xbb\xbf" + line(), line()], min_time_ms=DEFAULT_MIN_TIME_MS, now_ms=NOW_MS
    )
    assert summary.as_json() == {"accepted": 2, "rejected": {}}


def test_empty_input_is_a_clean_empty_summary() -> None:
    """No lines at all: nothing accepted, nothing rejected."""
    summary = check_lines([], min_time_ms=DEFAULT_MIN_TIME_MS, now_ms=NOW_MS)
    assert summary.as_json() == {"accepted": 0, "rejected": {}}


def test_render_text_shows_totals_reasons_descriptions_and_example_lines() -> None:
    """The text report has totals, each reason with its description and example lines."""
    lines = [line(), line(status="gone"), b"nope\n"]
    text = check_lines(lines, min_time_ms=DEFAULT_MIN_TIME_MS, now_ms=NOW_MS).render_text()
    assert text.splitlines()[0] == "3 events checked: 1 accepted, 2 rejected"
    assert f"bad_value: 1 ({Reason.BAD_VALUE.description})" in text
    assert "  line 2: status: " in text
    assert "  line 3: not valid JSON" in text
