"""The JSON API's window resolution and merging, and per-queue KPI parameters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stream_app.engine.engine import Engine
from stream_app.errors import UserError
from stream_app.events import Accepted, decode_event
from stream_app.kpi.formulas import KpiParams, ParamsBook
from stream_app.settings import Settings
from stream_app.web.kpi_query import BadQuery, local_part, merge_parts, resolve_window
from tests.factories import event_bytes


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def engine_with(book: ParamsBook, *events: bytes) -> Engine:
    engine = Engine(book=book, horizon_ms=48 * 3_600_000, contacts={}, customers={})
    for raw in events:
        result = decode_event(raw, expected_type=None, kafka_timestamp_ms=None, min_time_ms=0)
        assert isinstance(result, Accepted)
        engine.apply_contact_event(result.event.contact_id, result.event)  # type: ignore[union-attr]
    return engine


def test_queue_with_its_own_timezone_and_reset_has_its_own_today() -> None:
    """Istanbul 06:00 reset: 05:30 local still belongs to the queue's previous day."""
    istanbul = KpiParams(timezone="Europe/Istanbul", day_reset="06:00")
    book = ParamsBook(KpiParams(), {"billing": istanbul})
    engine = engine_with(
        book, event_bytes("contact.started", queue="billing", occurred_at="2026-11-23T02:30:00Z")
    )
    now = ms("2026-11-23T02:45:00Z")
    billing = resolve_window({"window": "today"}, istanbul, now)
    assert billing.start_ms == ms("2026-11-22T03:00:00Z")
    assert engine.view.counters("day", [billing.start_ms], "queue", "billing")["offered"] == 1
    overall = resolve_window({"window": "today"}, book.default, now)
    assert overall.start_ms == ms("2026-11-23T00:00:00Z")
    assert engine.view.counters("day", [overall.start_ms], "all", "all")["offered"] == 1
    # Channels span queues: their "today" is the deployment's, not the queue's.
    assert engine.view.counters("day", [overall.start_ms], "channel", "voice")["offered"] == 1
    assert engine.view.counters("day", [billing.start_ms], "channel", "voice")["offered"] == 0
    part = local_part(engine, {"window": "today", "queue": "billing"}, now)
    assert part["rows"]["queue\x1fbilling"]["offered"] == 1


def test_service_level_threshold_per_queue() -> None:
    """A 25 s answer is within service level for a 30 s queue, not for the 20 s default."""
    book = ParamsBook(KpiParams(), {"billing": KpiParams(service_level_threshold_s=30)})
    engine = engine_with(
        book,
        event_bytes("contact.answered", contact_id="c1", queue="billing", wait_seconds=25),
        event_bytes("contact.answered", contact_id="c2", queue="support", wait_seconds=25),
    )
    day = engine.view.starts("day")
    assert engine.view.counters("day", day, "queue", "billing")["answered_within_sl"] == 1
    assert engine.view.counters("day", day, "queue", "support")["answered_within_sl"] == 0


def test_merge_is_a_ratio_of_sums_not_a_sum_of_ratios() -> None:
    """Two workers' parts (1 of 2 abandoned, 0 of 8) give 10 %, not the mean 25 %."""
    book = ParamsBook()
    parts = [
        {"rows": {"queue\x1fbilling": {"answered": 1, "abandoned": 1}}, "live": {}},
        {"rows": {"queue\x1fbilling": {"answered": 8}}, "live": {"billing": [3, 42.0]}},
    ]
    now = ms("2026-11-23T10:00:00Z")
    answer = merge_parts(parts, {"window": "today", "queue": "billing"}, book, now)
    assert answer["counters"]["answered"] == 9
    assert answer["kpis"]["abandonment"] == pytest.approx(0.1)
    assert answer["live"] == {"waiting": 3, "longest_wait_seconds": 42.0}
    assert answer["workers"] == 2


def test_empty_window_is_no_data_not_zero() -> None:
    """A window without contacts has null KPIs."""
    answer = merge_parts([{"rows": {}}], {"window": "15m"}, ParamsBook(), ms("2026-11-23T10:00Z"))
    assert answer["overall"]["kpis"]["abandonment"] is None
    assert answer["overall"]["kpis"]["service_level"] is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"window": "week"}, "window"),
        ({"window": "15m", "start": "2026-11-23T10:05:00Z"}, "15-minute boundary"),
        ({"window": "15m", "start": "2026-11-23T10:00:00"}, "offset"),
        ({"window": "day"}, "date="),
        ({"window": "day", "date": "23/11/2026"}, "YYYY-MM-DD"),
        ({"window": "1h", "start": "2026-11-23T10:00:00Z"}, "window=15m"),
    ],
)
def test_bad_queries_say_what_is_wrong(query: dict[str, str], message: str) -> None:
    """Each malformed query is refused with a message naming the problem."""
    with pytest.raises(BadQuery, match=message):
        resolve_window(query, KpiParams(), ms("2026-11-23T10:00:00Z"))


def test_trailing_window_is_minute_buckets_up_to_now() -> None:
    """window=15m without start covers the 15 one-minute buckets ending with the current one."""
    window = resolve_window({"window": "15m"}, KpiParams(), ms("2026-11-23T10:07:30Z"))
    assert window.kind == "1m"
    assert len(window.bucket_starts) == 15
    assert window.bucket_starts[-1] == ms("2026-11-23T10:07:00Z")
    assert datetime.fromtimestamp(window.start_ms / 1000, UTC).minute == 53


def test_unknown_queue_override_is_one_line() -> None:
    """A typo in CCMON_QUEUE_OVERRIDES names the queue and the unknown parameter."""
    settings = Settings(queue_overrides={"billing": {"service_level_treshold_s": 30}})
    with pytest.raises(UserError, match="service_level_treshold_s"):
        settings.params_book()
