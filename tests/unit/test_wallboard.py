"""The wallboard's pure parts: tiles from API answers, colours, words, the page, the push loop."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import orjson
import pytest

from stream_app.kpi.formulas import KpiParams, ParamsBook
from stream_app.settings import Settings
from stream_app.wallboard.broadcast import Broadcaster
from stream_app.wallboard.i18n import LABELS, LANGUAGES, language
from stream_app.wallboard.model import TILE_KPIS, build_board, kpi_status
from stream_app.web.wallboard import render_page


def _entry(**kpis: float | None) -> dict[str, Any]:
    return {"counters": {"offered": 10, "answered": 8, "abandoned": 2}, "kpis": kpis}


def _answer(queues: dict[str, dict[str, Any]], live: dict[str, int]) -> dict[str, Any]:
    return {
        "window": {"name": "today"},
        "event_clock": "2026-11-23T10:00:00Z",
        "overall": _entry(service_level=0.5),
        "queues": [
            {"queue": q, **e, "live": {"waiting": live.get(q, 0), "longest_wait_seconds": 12.0}}
            for q, e in queues.items()
        ],
    }


@pytest.mark.parametrize(
    ("value", "target", "higher", "tolerance", "expected"),
    [
        (0.85, 0.80, True, 0.10, "ok"),
        (0.80, 0.80, True, 0.10, "ok"),
        (0.75, 0.80, True, 0.10, "warn"),
        (0.70, 0.80, True, 0.10, "warn"),
        (0.69, 0.80, True, 0.10, "bad"),
        (0.04, 0.05, False, 0.05, "ok"),
        (0.08, 0.05, False, 0.05, "warn"),
        (0.11, 0.05, False, 0.05, "bad"),
        (None, 0.05, False, 0.05, "none"),
    ],
)
def test_kpi_status_against_target(
    value: float | None, target: float, higher: bool, tolerance: float, expected: str
) -> None:
    assert kpi_status(value, target, higher, tolerance) == expected


def test_board_has_a_tile_per_queue_with_the_api_values_and_queue_targets() -> None:
    book = ParamsBook(
        default=KpiParams(),
        queues={"billing": KpiParams(target_service_level=0.9)},
    )
    today = _answer(
        {"billing": _entry(service_level=0.85, abandonment=0.02), "sales": _entry(csat=0.5)},
        {"billing": 3},
    )
    recent = _answer({"billing": _entry(service_level=0.95, nps=-10.0)}, {"billing": 3})
    board = build_board(today, recent, book, now_ms=1_000)

    assert [t["queue"] for t in board["tiles"]] == ["billing", "sales"]
    billing, sales = board["tiles"]
    assert billing["waiting"] == 3
    assert billing["longest_wait_seconds"] == 12.0
    sl_today = billing["today"]["kpis"]["service_level"]
    assert sl_today == {"value": 0.85, "target": 0.9, "status": "warn"}
    assert billing["last_15m"]["kpis"]["service_level"]["status"] == "ok"
    # NPS -10 against 30 is 40 points short: red, and the tile takes its worst 15-min status.
    assert billing["last_15m"]["kpis"]["nps"]["status"] == "bad"
    assert billing["status"] == "bad"
    assert sales["today"]["kpis"]["service_level"] == {
        "value": None,
        "target": 0.8,
        "status": "none",
    }
    assert sales["status"] == "none"  # nothing in the last 15 min
    assert set(billing["today"]["kpis"]) == {k.key for k in TILE_KPIS}
    assert board["overall"]["waiting"] == 3
    assert board["event_clock"] == "2026-11-23T10:00:00Z"


def test_board_before_any_event_has_no_clock() -> None:
    empty = {"event_clock": "1970-01-01T00:00:00Z", "overall": None, "queues": []}
    board = build_board(empty, empty, ParamsBook(), now_ms=0)
    assert board["event_clock"] is None
    assert board["tiles"] == []


def test_every_language_has_every_word() -> None:
    assert set(LABELS) == set(LANGUAGES)
    for lang, words in LABELS.items():
        assert set(words) == set(LABELS["en"]), lang
        assert all(words.values()), lang
    assert "{n}" in LABELS["ro"]["page"]
    assert "{m}" in LABELS["tr"]["page"]


@pytest.mark.parametrize(
    ("requested", "expected"),
    [("ro", "ro"), ("RO-ro", "ro"), ("tr_TR", "tr"), ("de", "en"), (None, "en"), ("", "en")],
)
def test_language_falls_back_to_english(requested: str | None, expected: str) -> None:
    assert language(requested) == expected


def test_page_carries_language_labels_and_layout() -> None:
    html = render_page({"lang": "ro", "rotate": "7", "cols": "9", "queues": "billing,sales"})
    assert '<html lang="ro">' in html
    match = re.search(r'<script id="ccmon-config" type="application/json">(.*?)</script>', html)
    assert match
    config = json.loads(match.group(1))
    assert config["locale"] == "ro-RO"
    assert config["labels"]["service_level"] == LABELS["ro"]["service_level"]
    assert config["rotate_s"] == 7
    assert config["cols"] == 6  # clamped
    assert config["rows"] == 2
    assert config["queues"] == ["billing", "sales"]
    assert "{{" not in html


def test_page_config_cannot_close_its_script_element() -> None:
    html = render_page({"queues": "</script><script>alert(1)"})
    assert html.count("</script>") == 2  # the config's and the script tag's own


def test_targets_come_from_the_kpi_targets_file() -> None:
    book = Settings().params_book()
    assert book.default.target_service_level == 0.80
    assert book.for_queue("billing").target_service_level == 0.90  # deploy/kpi-targets.yaml
    overridden = Settings(queue_overrides={"billing": {"target_service_level": 0.95}})
    assert overridden.params_book().for_queue("billing").target_service_level == 0.95


async def test_broadcaster_pushes_changes_once_and_the_newest_to_slow_viewers() -> None:
    version = 0
    builds = 0

    async def build() -> dict[str, Any]:
        nonlocal builds
        builds += 1
        return {"event_clock": str(version), "overall": {}, "tiles": [], "at_ms": builds}

    broadcaster = Broadcaster(build, lambda: version, poll_s=0.01, refresh_s=0.05)
    fast = broadcaster.subscribe()
    first = orjson.loads(await asyncio.wait_for(fast.get(), 1))
    assert first["event_clock"] == "0"
    await asyncio.sleep(0.2)  # refreshes rebuild, but an equal board is not pushed again
    assert builds >= 2
    assert fast.empty()
    assert broadcaster.pushes == 1

    slow = broadcaster.subscribe()
    assert orjson.loads(slow.get_nowait())["event_clock"] == "0"  # the latest board at once
    for v in range(1, 5):
        version = v
        await asyncio.sleep(0.05)
    assert orjson.loads(fast.get_nowait())["event_clock"] in {"3", "4"}
    assert slow.qsize() <= 2
    *_, newest = [orjson.loads(slow.get_nowait()) for _ in range(slow.qsize())]
    assert newest["event_clock"] == "4"

    await broadcaster.stop()
    assert broadcaster.viewers == 0
    assert fast.get_nowait() == b""  # the stream's end marker
