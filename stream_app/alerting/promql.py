"""Small PromQL builders shared by the recording rules and the alerts.

Workers export counters per queue and channel (and per worker: the ``instance`` label), and a
labelled counter appears only once it has been incremented. So every KPI is a ratio of sums
``sum by (queue)``, and a term that may be missing (no short abandon yet, no answer within the
service level yet) is zero-filled for the queues the denominator knows, instead of silently
dropping the queue from the result. An empty denominator gives no sample, never 0.
"""

from __future__ import annotations

from stream_app.alerting.config import Threshold


def number(value: float) -> str:
    """A float as PromQL writes it: ``0.8``, ``20``, ``-5``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def sum_increase(metric: str, window: str, by: str = "queue") -> str:
    """``sum by (<by>) (increase(<metric>[<window>]))``: one counter over all workers."""
    return f"sum by ({by}) (increase({metric}[{window}]))"


def zero_fill(expr: str, like: str) -> str:
    """``expr``, or 0 for each queue that ``like`` has and ``expr`` lacks."""
    return f"({expr} or on(queue) 0 * {like})"


def ratio(numerator: str, denominator: str) -> str:
    """Numerator over a non-zero denominator (no sample when nothing was counted)."""
    return f"{zero_fill(numerator, denominator)} / ({denominator} > 0)"


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
