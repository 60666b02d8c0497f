"""The PromQL helpers of ccmon's monitoring: recording rules, alerts and dashboards use these.

Workers export counters per queue and channel (and per worker: the ``instance`` label), and a
labelled counter appears only once it has been incremented. So every KPI is a ratio of sums
(``sum by (queue)`` or another label set ``by``), and a term that may be missing (no short
abandon yet, no answer within the service level yet, no retraction yet) is zero-filled for the
groups another expression knows, instead of silently dropping the group from the result. An
empty denominator gives no sample, never 0.

Dashboard KPI expressions (:mod:`stream_app.dashboards.promql`) and the recording rules
(:mod:`stream_app.alerting.rules`) are built from the same helpers; the threshold look-ups at
the end (:func:`per_queue`, :func:`compare`) are what alert expressions add.
"""

from __future__ import annotations

from stream_app.alerting.config import Threshold

QUEUE: tuple[str, ...] = ("queue",)
"""The usual grouping: one result per queue."""


def number(value: float) -> str:
    """A float as PromQL writes it: ``0.8``, ``20``, ``-5``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def sum_by(by: tuple[str, ...]) -> str:
    """``sum by (a, b)`` or, without grouping, ``sum``."""
    return f"sum by ({', '.join(by)})" if by else "sum"


def on(by: tuple[str, ...]) -> str:
    """``on(a, b)``: match the two sides of a binary operator on these labels (none: ``on()``)."""
    return f"on({', '.join(by)})"


def selector(matchers: str) -> str:
    """``{<matchers>}``, or nothing without matchers."""
    return f"{{{matchers}}}" if matchers else ""


def sum_increase(metric: str, window: str, by: tuple[str, ...] = QUEUE, matchers: str = "") -> str:
    """``sum by (<by>) (increase(<metric>{<matchers>}[<window>]))``: one counter, all workers."""
    return f"{sum_by(by)} (increase({metric}{selector(matchers)}[{window}]))"


def sum_rate(metric: str, window: str, by: tuple[str, ...] = QUEUE, matchers: str = "") -> str:
    """``sum by (<by>) (rate(<metric>{<matchers>}[<window>]))``: per second, all workers."""
    return f"{sum_by(by)} (rate({metric}{selector(matchers)}[{window}]))"


def zero_fill(expr: str, like: str, by: tuple[str, ...] = QUEUE) -> str:
    """``expr``, or 0 for each group (labels ``by``) that ``like`` has and ``expr`` lacks."""
    return f"({expr} or {on(by)} 0 * {like})"


def ratio(numerator: str, denominator: str, by: tuple[str, ...] = QUEUE) -> str:
    """Zero-filled numerator over a non-zero denominator (no sample when nothing was counted)."""
    return f"{zero_fill(numerator, denominator, by)} / ({denominator} > 0)"


def divide(numerator: str, denominator: str) -> str:
    """Numerator over a non-zero denominator, both as given (the caller zero-fills)."""
    return f"({numerator}) / (({denominator}) > 0)"


def retracted(
    family: str, window: str, like: str, by: tuple[str, ...] = QUEUE, matchers: str = ""
) -> str:
    """What was taken away from ``<family>_total`` in the window (``<family>_retracted_total``),
    0 for each group of ``like`` without a retraction (the usual case: no series at all)."""
    return zero_fill(sum_increase(f"{family}_retracted_total", window, by, matchers), like, by)


def net_increase(
    family: str, window: str, like: str, by: tuple[str, ...] = QUEUE, matchers: str = ""
) -> str:
    """``(<family>_total - <family>_retracted_total)`` in the window, each side 0 for the groups
    of ``like`` it lacks.

    The KPI counters of CSAT, NPS and FCR are fed from the engine's contribution deltas: what
    is added goes to ``_total``, what is taken away to ``_retracted_total`` (counters never go
    down; docs/metrics.md), so only the difference is the net count of the window.
    """
    total = zero_fill(sum_increase(f"{family}_total", window, by, matchers), like, by)
    return f"({total} - {retracted(family, window, like, by, matchers)})"


def per_queue(entry: Threshold, like: str) -> str:
    """The value of ``entry`` for every queue of ``like``: its override, else the default.

    ``queue:<t>{queue="billing"}`` exists only for overridden queues; every other queue of
    ``like`` gets ``default:<t>``. No queue's number is written into an alert expression.
    """
    return (
        f"(\n  {entry.queue_metric}\n  or on(queue)\n"
        f"  group by (queue) ({like}) * on() group_left() {entry.default_metric}\n)"
    )


def indent(text: str, spaces: int = 2) -> str:
    """Every line of ``text`` indented (for readable multi-line expressions)."""
    pad = " " * spaces
    return "\n".join(pad + line if line else line for line in text.splitlines())


def compare(left: str, op: str, entry: Threshold) -> str:
    """``left <op> (threshold of each of its queues)``; keeps ``left``'s value and labels."""
    return f"{left}\n  {op} on(queue) group_left()\n{indent(per_queue(entry, left))}"
