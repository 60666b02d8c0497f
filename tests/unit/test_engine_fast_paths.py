"""The engine's fast paths give exactly what the plain computations give."""

from __future__ import annotations

import random

import orjson
import pytest

from stream_app.engine.contributions import contact_contributions
from stream_app.engine.engine import Engine
from stream_app.engine.windows import DayStarts, Expander
from stream_app.kpi.formulas import KpiParams, ParamsBook, day_start_ms
from tests.factories import valid_event

ZONES = ("UTC", "Europe/Bucharest", "America/Sao_Paulo", "Australia/Lord_Howe", "Asia/Kathmandu")


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("reset", ["00:00", "02:30", "06:00:15", "23:59"])
def test_cached_day_start_is_day_start_ms(zone: str, reset: str) -> None:
    """Around DST changes too: every hit of the cache is what day_start_ms computes."""
    rng = random.Random(f"{zone}{reset}")
    days = DayStarts(zone, reset)
    base = 1_774_000_000_000  # March 2026, near the northern spring change
    instants = [base + rng.randrange(0, 400 * 86_400_000) for _ in range(3000)]
    for ts in instants + [t + d for t in instants[:300] for d in (-1, 0, 1)]:
        assert days(ts) == day_start_ms(ts, zone, reset), ts
        boundary = days(ts)
        assert days(boundary) == boundary
        assert days(boundary - 1) == day_start_ms(boundary - 1, zone, reset)


def test_batch_apply_equals_one_by_one() -> None:
    """Applying a contact's events together gives the same state, counters and stats."""
    book = ParamsBook(KpiParams(), {"billing": KpiParams(timezone="Europe/Istanbul")})
    events = [
        valid_event("contact.started", event_id="s", contact_id="c"),
        valid_event("survey.submitted", event_id="v", contact_id="c", metric="csat", score=5),
        valid_event("contact.answered", event_id="a", contact_id="c", wait_seconds=12.5),
        valid_event("contact.started", event_id="s", contact_id="c"),  # a duplicate
        valid_event("contact.resolved", event_id="r", contact_id="c"),
    ]
    one, many = (
        Engine(book=book, horizon_ms=48 * 3_600_000, contacts={}, customers={}) for _ in range(2)
    )
    for event in events:
        one.apply_contact_event("c", event)
    assert many.apply_contact_events("c", events) == 4
    assert one.contacts == many.contacts
    assert dict(one.view.items()) == dict(many.view.items())
    assert one.stats == many.stats
    assert one.waiting == many.waiting
    rebuilt = Engine(
        book=book, horizon_ms=48 * 3_600_000, contacts=dict(one.contacts), customers={}
    )
    rebuilt.rebuild()
    assert dict(rebuilt.view.items()) == dict(one.view.items())
    state = orjson.loads(one.contacts["c"])
    nonzero = {
        key: {name: amount for name, amount in amounts.items() if amount}
        for key, amounts in Expander(book).expand(contact_contributions(state, book)).items()
    }
    assert dict(one.view.items()) == {key: amounts for key, amounts in nonzero.items() if amounts}
