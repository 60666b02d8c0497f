"""The benchmark report prints every figure readably, whatever the machine's speed."""

from __future__ import annotations

import re

from bench.ceiling import CeilingResult
from bench.report import Results, _n, _ratio, render
from bench.worker import RunResult


def test_small_figures_keep_three_significant_digits() -> None:
    """A ratio or time far below the column's decimals reads as itself, never as 0."""
    assert _ratio(3_000 / 7.2, 1_000_000.0) == "0.000417"
    assert _ratio(1.0, 100_000.0) == "1e-05"
    assert _ratio(3_425.0, 7_200.0) == "0.476"
    assert _ratio(2.0, 1.0) == "2"
    assert _n(0.0123, 1) == "0.0123"
    assert _n(0.4) == "0.4"
    assert _n(0.0) == "0"
    assert _n(float("nan")) == "-"


def test_large_figures_keep_their_column_format() -> None:
    assert _n(193_386.4) == "193,386"
    assert _n(12.345, 1) == "12.3"
    assert _n(1234.5, 2) == "1,234.50"


def _cells(report: str, label: str) -> list[str]:
    line = next(line for line in report.splitlines() if line.startswith(f"| {label}"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_a_fast_ceiling_and_a_slow_worker_give_a_readable_ratio() -> None:
    """The smoke run's case: 3,000 events read in milliseconds by the ceiling, seconds by us."""
    results = Results(
        ceiling=[CeilingResult("aiokafka", 3000, 0.004, 0.003)],
        us=RunResult(
            workers=1,
            loaded=3000,
            startup_s=[4.2],
            processed_s=3.1,
            committed_s=5.0,
            cpu_s=6.0,
            cpu_startup_s=2.5,
            peak_rss=150 * 2**20,
        ),
    )
    report = render(results)
    ratio = _cells(report, "us / ceiling")[1]
    assert ratio == f"{(3000 / 3.1) / (3000 / 0.004):.3g}" == "0.00129"
    ceiling = _cells(report, "ceiling (aiokafka")
    assert ceiling[3] == "0.004"  # seconds: not "0.00"
    assert ceiling[7] == "0.003"  # CPU s: not "0.0"
    assert not re.search(r"\| 0\.0+ \|", report)
