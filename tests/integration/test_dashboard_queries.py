"""Every query of every generated dashboard returns data from the real Prometheus scraping a
real worker fed with a generated day of contacts.

The stack's Prometheus is pointed at a test worker (its file_sd target list is restored
afterwards, as in test_devstack). Prometheus' ``increase()`` counts what the worker applied
between two scrapes, and a labelled counter appears only with its first increment, so the
events are sent in two batches with scrapes in between: the second batch shows up as an
increase of series that already existed. Then every panel target is run as an instant query
(Grafana's variables substituted) and every variable query as a label-values request, and the
test lists every one that returns no data (or only NaN/Inf).
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from stream_app.alerting.config import load as load_targets
from stream_app.dashboards import generate
from stream_app.devstack.monitoring import targets_file, write_targets
from stream_app.settings import Settings
from tests.datagen import generate as generate_events
from tests.datagen import iso
from tests.workers import WorkerProcess, processed, send, wait_processed, write_jsonl

BUILTINS = {"__rate_interval": "1m", "__range": "1h", "__interval": "15s"}
"""What Grafana would put in for its built-in variables (`$__rate_interval` >= 4 scrapes)."""
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
LABEL_VALUES = re.compile(r"^label_values\((?:(?P<selector>.+),\s*)?(?P<label>\w+)\)$")
BAD_RECORDS_PER_BATCH = (1, 2)
WAITING_CONTACTS = 3


def occurred_ms(event: dict[str, Any]) -> int:
    at = event["occurred_at"]
    if isinstance(at, int):
        return at
    return int(datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp() * 1000)


def recent_events(tag: str, now: datetime) -> list[dict[str, Any]]:
    """A generated day of contacts ending now, under queue names unique to this test.

    Contacts start over 14 h from ``start`` and surveys follow up to 6 h later, so starting
    20 h ago keeps nearly all of them in the past (events still in the future are dropped) and
    inside the engine's 48 h horizon; the deliberately late events stay late. Queues get the
    suffix ``-<tag>`` so that queries filtered by ``$queue`` see only this test's data.
    """
    dataset = generate_events(start=now - timedelta(hours=20), days=1, contacts_per_day=300)
    limit = int(now.timestamp() * 1000)
    events = []
    for event in dataset.events:
        if occurred_ms(event) > limit:
            continue
        event = dict(event)
        if "queue" in event:
            event["queue"] = f"{event['queue']}-{tag}"
        events.append(event)
    return events


def bad_records(tag: str, now: datetime, first: int, count: int) -> list[dict[str, Any]]:
    """Records the worker must reject (negative wait): they feed the dead-letter panels."""
    return [
        {
            "event_id": f"bad-{tag}-{i}",
            "type": "contact.abandoned",
            "occurred_at": iso(now),
            "contact_id": f"bad-{i}",
            "queue": f"billing-{tag}",
            "channel": "voice",
            "wait_seconds": -1.0,
        }
        for i in range(first, first + count)
    ]


def waiting_contacts(tag: str, now: datetime) -> list[dict[str, Any]]:
    """Contacts started a minute ago and not answered yet: the live-queue gauges show them."""
    return [
        {
            "event_id": f"waiting-{tag}-{i}",
            "type": "contact.started",
            "occurred_at": iso(now - timedelta(seconds=60)),
            "contact_id": f"waiting-{i}",
            "customer_id": "cu1",
            "queue": f"support-{tag}",
            "channel": "chat",
        }
        for i in range(WAITING_CONTACTS)
    ]


class Prometheus:
    """The stack's Prometheus HTTP API."""

    def __init__(self, settings: Settings) -> None:
        self.base = f"http://127.0.0.1:{settings.prometheus_port}/api/v1"

    def query(self, expr: str, at: float | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = at
        answer: dict[str, Any] = httpx.get(f"{self.base}/query", params=params, timeout=30).json()
        return answer

    def value(self, expr: str) -> float | None:
        result = self.query(expr).get("data", {}).get("result", [])
        return float(result[0]["value"][1]) if result else None

    def label_values(self, label: str, selector: str | None, start: float, end: float) -> Any:
        params: dict[str, Any] = {"start": start, "end": end}
        if selector:
            params["match[]"] = selector
        return httpx.get(f"{self.base}/label/{label}/values", params=params, timeout=30).json()

    def wait_until(self, expr: str, ok: Callable[[float | None], bool], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        seen = None
        while time.monotonic() < deadline:
            try:
                seen = self.value(expr)
            except httpx.HTTPError:
                seen = None  # a slow answer: ask again
            if ok(seen):
                return
            time.sleep(1)
        raise AssertionError(f"Prometheus: {expr} still {seen} after {timeout_s} s")

    def scrape_times(self, selector: str, since: float) -> list[float]:
        """When Prometheus scraped the target after ``since``: its raw ``up`` samples' times."""
        window_s = math.ceil(time.time() - since) + 1
        result = self.query(f"{selector}[{window_s}s]").get("data", {}).get("result", [])
        return sorted(t for r in result for t, _ in r["values"] if t > since)

    def wait_for_scrapes(self, selector: str, since: float, count: int, timeout_s: float) -> float:
        """Until the target was scraped ``count`` times after ``since``; the last one's time."""
        deadline = time.monotonic() + timeout_s
        seen: list[float] = []
        while time.monotonic() < deadline:
            try:
                seen = self.scrape_times(selector, since)
            except httpx.HTTPError:
                seen = []  # a slow answer: ask again
            if len(seen) >= count:
                return seen[count - 1]
            time.sleep(1)
        raise AssertionError(f"Prometheus: {len(seen)} scrapes of {selector} in {timeout_s} s")


def at_least(expected: float) -> Callable[[float | None], bool]:
    """A predicate: Prometheus has a value and it reached ``expected``."""
    return lambda value: value is not None and value >= expected


def substitute(expr: str, values: dict[str, str]) -> str:
    """The expression as Grafana sends it, with ``values`` for its variables."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"no test value for ${name}")
        return values[name]

    return VARIABLE.sub(one, expr)


def dashboard_queries() -> Iterator[tuple[str, str, str]]:
    """(where, kind, query) of every panel target and every variable of every dashboard."""
    for path, text in generate(load_targets()).items():
        board = json.loads(text)
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                where = f"{path.stem} / {panel['title']} / {target['refId']}"
                yield where, "expr", target["expr"]
        for variable in board["templating"].get("list", []):
            yield f"{path.stem} / ${variable['name']}", "variable", variable["query"]


def check(
    prometheus: Prometheus, values: dict[str, str], start: float, at: float
) -> tuple[int, list[str]]:
    """(queries run, descriptions of those that failed)."""
    failures: list[str] = []
    count = 0
    for where, kind, raw in dashboard_queries():
        count += 1
        try:
            text = substitute(raw, values)
        except KeyError as exc:
            failures.append(f"{where}: {exc}\n    {raw}")
            continue
        if kind == "variable":
            match = LABEL_VALUES.match(text)
            if match is None:
                failures.append(f"{where}: not a label_values() query\n    {raw}")
                continue
            answer = prometheus.label_values(match["label"], match["selector"], start, at)
            if answer.get("status") != "success" or not answer.get("data"):
                failures.append(f"{where}: no values ({answer.get('error', 'empty')})\n    {text}")
            continue
        answer = prometheus.query(text, at)
        if answer.get("status") != "success":
            failures.append(f"{where}: error {answer.get('error')}\n    {text}")
            continue
        result = answer["data"]["result"]
        samples = [float(r["value"][1]) for r in result] if isinstance(result, list) else []
        if not samples:
            failures.append(f"{where}: no data\n    {text}")
        elif not any(math.isfinite(v) for v in samples):
            failures.append(f"{where}: only NaN/Inf {samples}\n    {text}")
    return count, failures


def total_or_none(worker: WorkerProcess, name: str) -> float | None:
    """The worker's total of ``name``, or None when /metrics did not answer in time."""
    try:
        return worker.total(name)
    except httpx.HTTPError:
        return None


@pytest.mark.timeout(900)  # a generated day through a worker, then every query of every board
def test_every_dashboard_query_returns_data(
    tmp_path: Path, namespace: Settings, start_worker: Callable[..., WorkerProcess]
) -> None:
    """Every panel target and variable query of every dashboard returns data from Prometheus."""
    settings = namespace.model_copy(update={"short_abandon_threshold_s": 5.0})
    tag = settings.topic_namespace.rstrip(".")
    worker = start_worker(settings)
    prometheus = Prometheus(settings)
    instance = f'instance="{settings.web_host}:{settings.web_port}"'
    previous = targets_file(settings).read_text()
    write_targets(settings, [settings.web_port])
    up = f'up{{job="ccmon", {instance}}}'
    try:
        start = time.time()
        prometheus.wait_until(up, lambda v: v == 1.0, 180)

        now = datetime.now(UTC)
        events = recent_events(tag, now)
        half = len(events) // 2
        batches = [
            events[:half] + bad_records(tag, now, 0, BAD_RECORDS_PER_BATCH[0]),
            events[half:]
            + waiting_contacts(tag, now)
            + bad_records(tag, now, BAD_RECORDS_PER_BATCH[0], BAD_RECORDS_PER_BATCH[1]),
        ]
        valid = rejected = 0
        at = start
        for number, batch in enumerate(batches, 1):
            path = write_jsonl(tmp_path / f"batch-{number}.jsonl", batch)
            assert send(settings, path, tmp_path).wait(timeout=300) == 0
            valid += sum(1 for e in batch if not e["event_id"].startswith("bad-"))
            rejected += BAD_RECORDS_PER_BATCH[number - 1]
            assert wait_processed([worker], valid) >= valid, processed([worker])
            deadline = time.monotonic() + 120
            while (total_or_none(worker, "ccmon_events_rejected_total") or 0) < rejected:
                assert time.monotonic() < deadline, "the bad records were not rejected"
                time.sleep(0.5)
            # Prometheus has scraped this batch, then at least two more scrapes: found from
            # the target's own scrape times, not by sleeping for two intervals.
            consumed = worker.total("ccmon_events_consumed_total")
            prometheus.wait_until(
                f"sum(ccmon_events_consumed_total{{{instance}}})", at_least(consumed), 180
            )
            seen_at = time.time()  # the scrape that showed the whole batch was before this
            at = prometheus.wait_for_scrapes(up, seen_at, count=2, timeout_s=180)

        # Evaluated at the second scrape after the last batch, however long the wait took.
        values = {**BUILTINS, "queue": f".*-{tag}", "team": ".*", "agent": ".*", "channel": ".*"}
        count, failures = check(prometheus, values, start, at)
    finally:
        targets_file(settings).write_text(previous)
    assert count > 0
    assert not failures, f"{len(failures)} of {count} queries returned no data:\n" + "\n".join(
        failures
    )
