"""The window view, the Prometheus counters and the API come from one classifier: they agree.

The hard generated stream (surveys before their contact's resolution, repeat contacts that
re-order FCR issues, duplicates, shuffled arrival) is applied through the engine with the
worker's Prometheus counters attached. For every queue, channel, agent and team, and every
counter, ``X_total - X_retracted_total`` and the API's day answers (``window=day&date=...``)
must equal the sum of the view's day windows, and the retractions must really happen (else the
test would not test the moving surveys).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from prometheus_client import CollectorRegistry

from stream_app.engine.apply import contact_key, customer_key
from stream_app.engine.engine import Engine
from stream_app.events import Accepted, ContactAnswered, decode_event
from stream_app.kpi import COUNTER_NAMES
from stream_app.kpi.formulas import KpiParams, ParamsBook
from stream_app.metrics.kpi_counters import AGENT_COUNTERS, KpiCounters
from stream_app.web.kpi_query import local_part, merge_parts
from tests.datagen import generate
from tests.factories import valid_event

pytestmark = pytest.mark.functional

PARAMS = KpiParams(short_abandon_threshold_s=5.0, fcr_lookback_s=2 * 86400.0)
DIMS = ("queue", "channel", "agent", "team")


def prometheus_name(counter: str) -> tuple[str, dict[str, str]]:
    """The view's counter name -> (counter family without prefix/suffix, fixed labels)."""
    for scale in ("5", "10"):
        if counter == f"csat_responses_{scale}":
            return "csat_responses", {"scale": scale}
        if counter == f"csat_score_sum_{scale}":
            return "csat_score", {"scale": scale}
    return counter.removesuffix("_sum"), {}


def net_totals(registry: CollectorRegistry) -> dict[tuple[str, str, str], float]:
    """(family, dim kind, dim value) -> sum of ``_total`` minus ``_retracted_total``."""
    net: dict[tuple[str, str, str], float] = defaultdict(float)
    for family in registry.collect():
        for sample in family.samples:
            if not sample.name.endswith("_total"):
                continue
            name = sample.name.removeprefix("ccmon_").removesuffix("_total")
            sign = -1.0 if name.endswith("_retracted") else 1.0
            name = name.removesuffix("_retracted")
            # ccmon_agent_* repeat the queue families by agent: only they give agent and team
            per_agent = name.startswith("agent_")
            name = name.removeprefix("agent_")
            dims = ("agent", "team") if per_agent else ("all", "queue", "channel")
            scale = sample.labels.get("scale")
            for key in [name] if scale is None else [name, f"{name}@{scale}"]:
                for dim in dims:
                    value = "all" if dim == "all" else sample.labels[dim]
                    net[(key, dim, value)] += sign * sample.value
    return net


def api_totals(engine: Engine, days: list[int]) -> dict[tuple[str, str, str], float]:
    """(counter, dim kind, dim value) -> the API's counters summed over the given days."""
    totals: dict[tuple[str, str, str], float] = defaultdict(float)
    zone = ZoneInfo(PARAMS.timezone)
    now_ms = engine.clock_ms
    for start in days:
        day = datetime.fromtimestamp(start / 1000, zone).date().isoformat()
        query = {"window": "day", "date": day, "breakdown": "all"}
        answer = merge_parts([local_part(engine, query, now_ms)], query, engine.book, now_ms)
        rows = [("all", "all", answer["overall"])] + [
            (kind, value, entry)
            for kind, by_value in answer["breakdown"].items()
            for value, entry in by_value.items()
        ]
        for kind, value, entry in rows:
            for counter, amount in entry["counters"].items():
                totals[(counter, kind, value)] += amount
    return totals


def run(events: list[dict[str, Any]]) -> tuple[Engine, CollectorRegistry]:
    registry = CollectorRegistry()
    book = ParamsBook(PARAMS)
    engine = Engine(book=book, horizon_ms=400 * 86_400_000, contacts={}, customers={})
    engine.on_counts = KpiCounters.create(registry, book).count
    for obj in events:
        result = decode_event(
            orjson.dumps(obj), expected_type=None, kafka_timestamp_ms=None, min_time_ms=0
        )
        assert isinstance(result, Accepted), result
        if (key := contact_key(result.event)) is not None:
            engine.apply_contact_event(key, result.event)
        if (key := customer_key(result.event)) is not None:
            engine.apply_customer_event(key, result.event)
    return engine, registry


@pytest.mark.parametrize("order", ["arrival", "reversed"])
def test_prometheus_net_counters_equal_the_view_for_every_dimension(order: str) -> None:
    data = generate(seed=5, days=4, contacts_per_day=150)
    events = data.events if order == "arrival" else list(reversed(data.events))
    engine, registry = run(events)
    net = net_totals(registry)
    days = engine.view.starts("day")
    api = api_totals(engine, list(days))
    compared = 0
    for dim in ("all", *DIMS):
        values = {v for start in days for v in engine.view.dim_values("day", start, dim)}
        for value in values:
            view = engine.view.counters("day", days, dim, value)
            for counter in COUNTER_NAMES:
                assert api[(counter, dim, value)] == pytest.approx(view[counter], abs=1e-6)
                family, fixed = prometheus_name(counter)
                if dim in ("agent", "team") and (family not in AGENT_COUNTERS or fixed):
                    continue
                key = f"{family}@{fixed['scale']}" if fixed else family
                got = net.get((key, dim, value), 0.0)
                assert got == pytest.approx(view[counter], abs=1e-6), (dim, value, counter)
                compared += 1
    assert compared > 300
    moved = {
        sample.name
        for family in registry.collect()
        for sample in family.samples
        if sample.name.endswith("_retracted_total") and sample.value > 0
    }
    assert {"ccmon_csat_responses_retracted_total", "ccmon_nps_responses_retracted_total"} <= moved


def test_a_late_event_counts_all_time_at_its_own_dimensions() -> None:
    """Too old for any window: no view change, but answered and its wait reach Prometheus."""
    registry = CollectorRegistry()
    engine = Engine(book=ParamsBook(PARAMS), horizon_ms=86_400_000, contacts={}, customers={})
    engine.on_counts = KpiCounters.create(registry, engine.book).count
    late = valid_event("contact.answered", wait_seconds=12.5, agent_id="a-9", team="red")
    assert isinstance(late, ContactAnswered)
    engine.count_late(late)
    labels = {"queue": "billing", "channel": "voice"}
    assert registry.get_sample_value("ccmon_answered_total", labels) == 1.0
    assert registry.get_sample_value("ccmon_answered_wait_seconds_total", labels) == 12.5
    assert registry.get_sample_value("ccmon_answered_within_sl_total", labels) == 1.0
    agent = {**labels, "agent": "a-9", "team": "red"}
    assert registry.get_sample_value("ccmon_agent_answered_total", agent) == 1.0
    wait = {"queue": "billing", "outcome": "answered"}
    assert registry.get_sample_value("ccmon_wait_seconds_count", wait) == 1.0
    assert len(engine.view) == 0
    assert engine.contacts == {}
