"""The engine, fed in-process, against the independent batch reference on the hard dataset."""

from __future__ import annotations

from typing import Any

import orjson

from stream_app.engine.apply import contact_key, customer_key
from stream_app.engine.engine import Engine
from stream_app.events import Accepted, decode_event
from stream_app.kpi.formulas import KpiParams, ParamsBook
from stream_app.worker.intake import LatenessGate
from tests.comparison import compare, reference_rows
from tests.datagen import generate
from tests.reference.batch_kpis import batch_counters

PARAMS = dict(short_abandon_threshold_s=5.0, fcr_lookback_s=2 * 86400.0)


def run_engine(events: list[dict[str, Any]], horizon_days: float) -> tuple[Engine, int]:
    """Decode, drop late events like the intake, apply the rest as the worker routes them.

    Returns the engine and how many events were late.
    """
    engine = Engine(
        book=ParamsBook(KpiParams(**PARAMS)),  # type: ignore[arg-type]
        horizon_ms=int(horizon_days * 86_400_000),
        contacts={},
        customers={},
    )
    gate = LatenessGate(int(horizon_days * 86_400_000))
    late = 0
    for obj in events:
        result = decode_event(
            orjson.dumps(obj),
            expected_type=None,
            kafka_timestamp_ms=None,
            min_time_ms=946_684_800_000,
        )
        assert isinstance(result, Accepted), result
        event = result.event
        if not gate.on_time((event.event_type, 0), event.occurred_at_ms):
            late += 1
            continue
        if (key := contact_key(event)) is not None:
            engine.apply_contact_event(key, event)
        if (key := customer_key(event)) is not None:
            engine.apply_customer_event(key, event)
    engine.prune()
    return engine, late


def engine_rows(engine: Engine, kinds: tuple[str, ...]) -> dict[Any, dict[str, float]]:
    rows = {}
    for (kind, start, dim_kind, dim_value), _ in engine.view.items():
        if kind in kinds:
            rows[(kind, start, dim_kind, dim_value)] = engine.view.counters(
                kind, [start], dim_kind, dim_value
            )
    return rows


def test_engine_matches_reference_for_every_window_and_dimension() -> None:
    """Every day and 15-min window, every dimension: counts exact, KPIs to the last digit."""
    data = generate()
    engine, late = run_engine(data.events, horizon_days=30)
    on_time = [e for e in data.events if e["event_id"] not in data.late_event_ids]
    expected = reference_rows(batch_counters(on_time, **PARAMS), ("day", "15m"))
    actual = engine_rows(engine, ("day", "15m"))
    problems = compare(expected, actual)
    assert not problems, f"{len(problems)} differences, first: " + "\n".join(problems[:15])
    assert len(expected) > 1000
    assert late == len(data.late_event_ids)
    assert sum(engine.stats.duplicate.values()) == data.duplicates


def test_arrival_order_does_not_change_the_numbers() -> None:
    """The same events in reverse arrival order give identical window counters."""
    data = generate(seed=11, days=3, contacts_per_day=120)
    on_time = [e for e in data.events if e["event_id"] not in data.late_event_ids]
    forward = engine_rows(run_engine(on_time, 30)[0], ("day", "15m", "1m"))
    backward = engine_rows(run_engine(list(reversed(on_time)), 30)[0], ("day", "15m", "1m"))
    assert forward == backward


def test_customer_retention_matches_reference_across_the_month_boundary() -> None:
    """CRR for the finished October and the running November equals the reference's."""
    from datetime import UTC, datetime

    from tests.reference.batch_kpis import crr

    data = generate()
    engine, _ = run_engine(data.events, horizon_days=30)
    october = int(datetime(2026, 10, 15, tzinfo=UTC).timestamp() * 1000)
    start, end, active, retained = engine.crr(october)
    assert (active, retained) == crr(data.events, start, end)
    start, _, active, retained = engine.crr(engine.clock_ms)
    assert (active, retained) == crr(data.events, start, engine.clock_ms + 1)
    assert 0 < retained < active
