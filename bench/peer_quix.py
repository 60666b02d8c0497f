"""The peer: the same per-queue KPIs, written idiomatically with Quix Streams 3.x.

Per queue, in 15-minute tumbling windows by event time (``occurred_at``): offered, answered,
answered within the service level, abandoned (short abandons apart), handled and handle time
(AHT), CSAT responses and satisfied answers (both scales), NPS responses, promoters and
detractors; abandonment, service level, ASA, AHT, CSAT and NPS are computed from each window's
sums. The pipeline is what the Quix Streams documentation teaches:

1. one ``app.dataframe`` per input topic (JSON values, event time from ``occurred_at``),
   merged with ``concat``;
2. a stateful step keyed by the producer's key (``contact_id``): drops repeated ``event_id`` s and
   gives a survey without a queue the queue of its contact (a survey that comes before its
   contact waits in the state), then turns each event into numeric facts;
3. ``group_by("queue")`` (a repartition topic), then
   ``tumbling_window(15 min, grace 48 h).agg(Sum(...), ...).current()``, the latest values kept
   in a dict (where a web view would serve them).

It does less than ccmon: no schema validation or dead-letter topic, no FCR, CRR, live queue,
agent/team/channel dimensions, today/trailing windows or Prometheus counters. Run by the harness
as ``python -m bench.peer_quix``; it writes its progress to a JSON file for the harness.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from quixstreams import Application, State
from quixstreams.dataframe.windows import Sum

SERVICE_LEVEL_S = 20.0
SHORT_ABANDON_S = 0.0
HORIZON = timedelta(hours=48)
FACTS = (
    "offered",
    "answered",
    "answered_wait_s",
    "answered_within_sl",
    "abandoned",
    "handled",
    "handle_s",
    "csat_responses",
    "csat_satisfied",
    "nps_responses",
    "nps_promoters",
    "nps_detractors",
)


class Progress:
    """Counters the harness reads from a file: consumed, facts made, facts windowed, late."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.first_wall = 0.0
        self.consumed = 0
        self.facts = 0
        self.windowed = 0
        self.late = 0
        self.latest: dict[tuple[str, int], dict[str, Any]] = {}

    def write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(
            orjson.dumps(
                {
                    "first_wall": self.first_wall,
                    "consumed": self.consumed,
                    "facts": self.facts,
                    "windowed": self.windowed,
                    "late": self.late,
                    "windows": len(self.latest),
                    "wall": time.time(),
                }
            )
        )
        os.replace(tmp, self.path)

    def keep_writing(self, every_s: float = 0.2) -> None:
        def loop() -> None:
            while True:
                self.write()
                time.sleep(every_s)

        threading.Thread(target=loop, daemon=True).start()


def event_time(value: Any, headers: Any, timestamp: int, timestamp_type: Any) -> int:
    """``occurred_at`` (RFC 3339 or epoch ms) as the record's event time."""
    when = value.get("occurred_at") if isinstance(value, dict) else None
    if isinstance(when, int):
        return when
    if isinstance(when, str):
        try:
            return int(datetime.fromisoformat(when).timestamp() * 1000)
        except ValueError:
            pass
    return timestamp


def facts_of(event: dict[str, Any], queue: str) -> dict[str, Any]:
    """The numbers one event adds to its queue's window (survey: at its own occurred_at)."""
    fact: dict[str, Any] = dict.fromkeys(FACTS, 0)
    fact["queue"] = queue
    fact["t"] = event_time(event, None, 0, None)
    kind = event["type"]
    if kind == "contact.started":
        fact["offered"] = 1
    elif kind == "contact.answered":
        wait = float(event["wait_seconds"])
        fact.update(
            answered=1, answered_wait_s=wait, answered_within_sl=int(wait <= SERVICE_LEVEL_S)
        )
    elif kind == "contact.abandoned":
        fact["abandoned"] = int(float(event["wait_seconds"]) >= SHORT_ABANDON_S)
    elif kind == "contact.resolved":
        fact["handled"] = 1
        fact["handle_s"] = (
            float(event["talk_seconds"])
            + float(event["hold_seconds"])
            + float(event["wrap_seconds"])
        )
    elif kind == "survey.submitted":
        score = int(event["score"])
        if event["metric"] == "csat":
            scale = event.get("scale") or 5
            fact["csat_responses"] = 1
            fact["csat_satisfied"] = int(score >= (4 if scale == 5 else 9))
        else:
            fact.update(
                nps_responses=1, nps_promoters=int(score >= 9), nps_detractors=int(score <= 6)
            )
    return fact


def attribute(event: dict[str, Any], state: State[str, Any]) -> list[dict[str, Any]]:
    """Keyed by contact: drop duplicates, attribute surveys to their contact's queue."""
    seen: list[str] = state.get("ids", [])
    if event["event_id"] in seen:
        return []
    seen.append(event["event_id"])
    state.set("ids", seen)
    out: list[dict[str, Any]] = []
    if event["type"] == "customer.status":
        return out
    queue = event.get("queue")
    if isinstance(queue, str) and event["type"] != "survey.submitted" and not state.get("queue"):
        state.set("queue", queue)
        out += [facts_of(s, queue) for s in state.get("pending", [])]
        state.delete("pending")
    if event["type"] == "survey.submitted" and not queue:
        queue = state.get("queue") if event.get("contact_id") else "(unknown)"
        if not queue:  # the survey came before its contact: it waits for the contact's queue
            state.set("pending", [*state.get("pending", []), event])
            return out
    out.append(facts_of(event, str(queue)))
    return out


def kpis(window: dict[str, Any]) -> dict[str, Any]:
    """A window's KPIs from its sums (None when the denominator is empty)."""

    def ratio(num: float, den: float) -> float | None:
        return num / den if den else None

    left = window["answered"] + window["abandoned"]
    nps = ratio(window["nps_promoters"] - window["nps_detractors"], window["nps_responses"])
    return {
        "start": window["start"],
        "abandonment": ratio(window["abandoned"], left),
        "service_level": ratio(window["answered_within_sl"], left),
        "asa_s": ratio(window["answered_wait_s"], window["answered"]),
        "aht_s": ratio(window["handle_s"], window["handled"]),
        "csat": ratio(window["csat_satisfied"], window["csat_responses"]),
        "nps": None if nps is None else 100 * nps,
        "offered": window["offered"],
    }


def build(args: argparse.Namespace, progress: Progress) -> Application:
    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        state_dir=args.state_dir,
        loglevel=args.loglevel,
    )
    frames = [
        app.dataframe(app.topic(name, value_deserializer="json", timestamp_extractor=event_time))
        for name in args.topics.split(",")
    ]
    events = frames[0]
    for frame in frames[1:]:
        events = events.concat(frame)

    def consumed(_value: Any) -> None:
        if not progress.first_wall:
            progress.first_wall = time.time()
        progress.consumed += 1

    def made(_value: Any) -> None:
        progress.facts += 1

    def on_late(*_args: Any, **_kwargs: Any) -> bool:
        progress.late += 1
        return False

    def keep(window: dict[str, Any], key: Any, _timestamp: int, _headers: Any) -> None:
        progress.windowed += 1
        progress.latest[(str(key), int(window["start"]))] = kpis(window)

    events = events.update(consumed)
    facts = events.apply(attribute, stateful=True, expand=True)
    facts = facts.update(made).set_timestamp(lambda value, key, ts, headers: int(value["t"]))
    windows = (
        facts.group_by("queue")
        .tumbling_window(timedelta(minutes=15), grace_ms=HORIZON, name="kpi15m", on_late=on_late)
        .agg(**{name: Sum(name) for name in FACTS})
        .current()
    )
    windows.update(keep, metadata=True)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topics", required=True, help="comma-separated input topics")
    parser.add_argument("--group", required=True)
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--progress", required=True, type=Path)
    parser.add_argument("--loglevel", default="WARNING")
    args = parser.parse_args()
    progress = Progress(args.progress)
    app = build(args, progress)
    progress.keep_writing()
    app.run()
    progress.write()


if __name__ == "__main__":
    main()
