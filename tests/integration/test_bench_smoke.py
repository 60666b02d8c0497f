"""The benchmark harness runs end to end on a tiny data set and reports every row it measured.

Benchmarks never assert speed (a slow or shared machine must not fail a build): this only
checks that ``python -m bench`` works against the real broker, that the report has the ceiling
and worker rows and the ratio with positive numbers (however fast or slow this machine is), and
that the run cleans up its topics.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stream_app.kafka_admin import list_topics
from stream_app.settings import REPO_ROOT, Settings


def _row(report: str, label: str) -> list[str]:
    line = next(line for line in report.splitlines() if line.startswith(f"| {label}"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def _number(cell: str) -> float:
    return float(cell.replace(",", ""))


def test_bench_runs_and_reports_positive_figures(local_stack: Settings, tmp_path: Path) -> None:
    out = tmp_path / "performance.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--events", "3000", "--only", "ceiling,us", "--out", out],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = out.read_text()

    assert "3,000 from" in report
    ceiling = _row(report, "ceiling (aiokafka")
    assert _number(ceiling[4]) > 0  # events/s
    us = _row(report, "us: ccmon, 1 worker")
    assert _number(us[1]) == 3000
    for column in (2, 3, 4, 5, 6, 7, 9):  # startup, processed, rate, committed, rate, CPU, RSS
        assert _number(us[column]) > 0, (column, us)
    # Whatever this machine's speed, the ratio is printed readably (three significant digits,
    # never a rounded 0) and is the quotient of the two rates the report shows.
    ratio = _number(_row(report, "us / ceiling")[1])
    assert ratio > 0
    assert ratio == pytest.approx(_number(us[4]) / _number(ceiling[4]), rel=0.02)
    assert re.search(r"python -m bench --events 3000 --only ceiling,us", report)

    tag = re.search(r"topics (b[0-9a-f]{4})\.\*", done.stderr)
    assert tag, done.stderr[-2000:]
    deadline = time.monotonic() + 60  # topic deletion completes asynchronously on the broker
    while True:
        left = [t for t in asyncio.run(list_topics(local_stack.bootstrap_servers)) if tag[1] in t]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not left
