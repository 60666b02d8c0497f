"""Injected incidents: what goes wrong, in which queue, when and for how long.

Incidents are what the monitor exists to catch, so the simulator can cause them on demand for
demos, alert tests and drills::

    abandon-spike:queue=billing,at=+10m,for=15m[,patience=5%]   customers give up quickly
    understaffed:queue=support,at=+5m,for=30m[,agents=50%]       agents serving it go offline
    surge:queue=sales,at=+0m,for=20m[,factor=3]                  arrivals multiplied

``at`` is relative (``+10m``, ``+90s``, ``+1h``, or ``-20m`` for an incident already running in
fast-forwarded time: from the moment the command starts, or from the simulated start when
writing a file) or a local ``HH:MM`` (its first occurrence at or after the simulated start);
``for`` is a duration. A malformed spec is one line naming the
bad part and showing a valid example.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal, NoReturn, TypeAlias

from stream_app.errors import UserError
from stream_app.simulator.clock import LocalTime, parse_duration

Kind: TypeAlias = Literal["abandon-spike", "understaffed", "surge"]

EXAMPLES: dict[str, str] = {
    "abandon-spike": "abandon-spike:queue=billing,at=+10m,for=15m",
    "understaffed": "understaffed:queue=support,at=+5m,for=30m,agents=50%",
    "surge": "surge:queue=sales,at=+0m,for=20m,factor=3",
}
"""A valid spec per kind, shown in every parse error."""

_VALUE_KEY: dict[str, str] = {
    "abandon-spike": "patience",
    "understaffed": "agents",
    "surge": "factor",
}
_DEFAULTS: dict[str, float] = {"abandon-spike": 0.05, "understaffed": 0.5, "surge": 3.0}


@dataclass(frozen=True)
class Incident:
    """A resolved incident: absolute simulated times (epoch seconds) and its strength.

    ``value`` is the patience multiplier (abandon-spike), the share of agents taken offline
    (understaffed) or the arrival multiplier (surge).
    """

    kind: Kind
    queue: str
    start: float
    end: float
    value: float

    def active(self, t: float) -> bool:
        """True while the incident runs at simulated time ``t``."""
        return self.start <= t < self.end

    def describe(self) -> str:
        """Short label for status lines, e.g. ``surge sales x3``."""
        if self.kind == "surge":
            return f"surge {self.queue} x{self.value:g}"
        if self.kind == "understaffed":
            return f"understaffed {self.queue} -{self.value:.0%}"
        return f"abandon-spike {self.queue}"


def parse_incident(
    text: str,
    *,
    relative_to: float,
    sim_start: float,
    local: LocalTime,
    queues: Collection[str] | None = None,
) -> Incident:
    """Parse one ``--incident`` spec; ``+D`` counts from ``relative_to``, ``HH:MM`` from
    ``sim_start``. Raises a one-line UserError naming the bad part and a valid example."""
    kind_text, sep, rest = text.strip().partition(":")
    if kind_text not in EXAMPLES:
        _fail(
            text,
            f"unknown kind {kind_text!r} (one of {', '.join(EXAMPLES)})",
            EXAMPLES["abandon-spike"],
        )
    kind: Kind = kind_text  # type: ignore[assignment]  # checked against EXAMPLES just above
    example = EXAMPLES[kind]
    if not sep or not rest:
        _fail(text, "missing key=value settings after the kind", example)
    allowed = {"queue", "at", "for", _VALUE_KEY[kind]}
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, eq, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not eq or not key or not value:
            _fail(text, f"{part.strip()!r} is not key=value", example)
        if key not in allowed:
            _fail(text, f"unknown key {key!r} (keys: {', '.join(sorted(allowed))})", example)
        if key in fields:
            _fail(text, f"{key} given twice", example)
        fields[key] = value
    for required in ("queue", "for"):
        if required not in fields:
            _fail(text, f"{required}= is missing", example)
    queue = fields["queue"]
    if queues is not None and queue not in queues:
        _fail(text, f"queue={queue} is no queue of the scenario ({', '.join(queues)})", example)
    duration = parse_duration(fields["for"])
    if duration is None or duration <= 0:
        _fail(text, f"for={fields['for']} is not a duration like 15m, 90s or 1h", example)
    start = _parse_at(fields.get("at", "+0s"), relative_to, sim_start, local)
    if start is None:
        problem = f"at={fields['at']} is not +DURATION (e.g. +10m), -DURATION nor local HH:MM"
        _fail(text, problem, example)
    strength = _parse_value(kind, fields.get(_VALUE_KEY[kind]))
    if strength is None:
        key = _VALUE_KEY[kind]
        what = "a number above 0" if kind == "surge" else "a share like 50% (0-100 %)"
        _fail(text, f"{key}={fields[key]} is not {what}", example)
    return Incident(kind=kind, queue=queue, start=start, end=start + duration, value=strength)


def _parse_at(text: str, relative_to: float, sim_start: float, local: LocalTime) -> float | None:
    if text[:1] in ("+", "-"):
        seconds = parse_duration(text[1:])
        if seconds is None:
            return None
        return relative_to + seconds if text[0] == "+" else relative_to - seconds
    hours, sep, minutes = text.partition(":")
    if not sep or not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        return None
    if int(hours) > 23 or int(minutes) > 59:
        return None
    moment = local.at(local.midnight(sim_start), int(hours) * 60 + int(minutes))
    if moment < sim_start:
        moment = local.at(local.midnight(sim_start + 86400), int(hours) * 60 + int(minutes))
    return moment


def _parse_value(kind: str, text: str | None) -> float | None:
    if text is None:
        return _DEFAULTS[kind]
    percent = text.endswith("%")
    try:
        value = float(text[:-1] if percent else text)
    except ValueError:
        return None
    if percent:
        value /= 100
    if kind == "surge":
        return value if value > 0 and value < 1000 else None
    return value if 0 <= value <= 1 else None


def _fail(text: str, problem: str, example: str) -> NoReturn:
    raise UserError(f"--incident {text.strip()!r}: {problem}; e.g. {example}")


def patience_factor(incidents: Collection[Incident], queue: str, t: float) -> float:
    """Multiplier of customers' patience in ``queue`` at ``t`` (abandon spikes running then)."""
    factor = 1.0
    for incident in incidents:
        if incident.kind == "abandon-spike" and incident.queue == queue and incident.active(t):
            factor *= incident.value
    return factor


def arrival_factor(incidents: Collection[Incident], queue: str, t: float) -> float:
    """Multiplier of ``queue``'s arrival rate at ``t`` (surges running then)."""
    factor = 1.0
    for incident in incidents:
        if incident.kind == "surge" and incident.queue == queue and incident.active(t):
            factor *= incident.value
    return factor


def max_arrival_factor(incidents: Collection[Incident], queue: str) -> float:
    """An upper bound of ``arrival_factor`` over all time (thinning needs one)."""
    factor = 1.0
    for incident in incidents:
        if incident.kind == "surge" and incident.queue == queue:
            factor *= max(1.0, incident.value)
    return factor
