"""Time for the simulator: local time of day, durations and start times as people write them.

Simulated time is float epoch seconds (UTC). Local time matters because contact centers follow
the clock on the wall, so the time zone (``CCMON_TIMEZONE``) decides where the morning peak
falls. Conversions are cached per hour, since the model asks for every arrival candidate.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float | None:
    """Seconds in ``90s``, ``15m``, ``1h30m``, ``2d`` or a plain number of seconds; else None."""
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        return value if value >= 0 else None
    position, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != position:
            return None
        total += float(match.group(1)) * _UNIT_S[match.group(2)]
        position = match.end()
    return total if position == len(text) else None


class LocalTime:
    """Epoch seconds -> local minute of day, weekday and midnight, in one time zone."""

    def __init__(self, timezone: str = "UTC") -> None:
        self.zone = ZoneInfo(timezone)
        self.name = timezone
        self._fixed = timezone in ("UTC", "Etc/UTC")
        self._offsets: dict[int, float] = {}
        self._day_starts: dict[int, float] = {}

    def offset(self, t: float) -> float:
        """UTC offset in seconds at ``t`` (cached per hour: zones change offset on the hour)."""
        if self._fixed:
            return 0.0
        hour = int(t // 3600)
        offset = self._offsets.get(hour)
        if offset is None:
            delta = datetime.fromtimestamp(hour * 3600, UTC).astimezone(self.zone).utcoffset()
            offset = self._offsets[hour] = delta.total_seconds() if delta is not None else 0.0
        return offset

    def minute_of_day(self, t: float) -> int:
        """Minutes after local midnight, 0..1439."""
        return int((t + self.offset(t)) // 60) % 1440

    def weekday(self, t: float) -> int:
        """Local weekday, Monday 0 .. Sunday 6 (1970-01-01 was a Thursday)."""
        return (int((t + self.offset(t)) // 86400) + 3) % 7

    def day_number(self, t: float) -> int:
        """The local calendar day holding ``t`` as a proleptic ordinal (date.toordinal)."""
        return datetime.fromtimestamp(t, self.zone).toordinal()

    def day_start(self, ordinal: int) -> float:
        """Epoch seconds of local midnight starting the day ``ordinal`` (cached)."""
        start = self._day_starts.get(ordinal)
        if start is None:
            day = date.fromordinal(ordinal)
            start = datetime(day.year, day.month, day.day, tzinfo=self.zone).timestamp()
            self._day_starts[ordinal] = start
        return start

    def midnight(self, t: float) -> float:
        """Epoch seconds of the local midnight that starts the day holding ``t``."""
        return self.day_start(self.day_number(t))

    def at(self, day_start: float, minutes: int) -> float:
        """Epoch seconds of ``minutes`` after the local midnight ``day_start`` (DST-aware)."""
        day = datetime.fromtimestamp(day_start, self.zone)
        wall = datetime(day.year, day.month, day.day, tzinfo=self.zone)
        return (wall + timedelta(minutes=minutes)).timestamp()

    def format(self, t: float, with_date: bool = False) -> str:
        """``HH:MM:SS`` (or with the date) in local time, for status lines."""
        moment = datetime.fromtimestamp(t, self.zone)
        return moment.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def parse_start(text: str, now: float, local: LocalTime) -> float | None:
    """Where the simulated clock begins: ``now``, ``today``, ``-2h`` or an ISO time; else None.

    ``today`` is local midnight; an ISO time without an offset is read as local time.
    """
    text = text.strip()
    if text == "now":
        return now
    if text == "today":
        return local.midnight(now)
    if text.startswith("-"):
        seconds = parse_duration(text[1:])
        return None if seconds is None else now - seconds
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=local.zone)
    return moment.timestamp()


class TimestampFormatter:
    """Epoch milliseconds -> ``2026-11-02T10:15:03.123Z``, formatting each minute only once.

    Formatting is the most expensive step per event, and consecutive events mostly share
    their minute, so the minute's text is cached and seconds and milliseconds appended.
    """

    __slots__ = ("_minute", "_prefix")

    def __init__(self) -> None:
        self._minute = -1
        self._prefix = ""

    def __call__(self, ms: int) -> str:
        minute, rest = divmod(ms, 60_000)
        if minute != self._minute:
            self._minute = minute
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:", time.gmtime(minute * 60))
        second, millis = divmod(rest, 1000)
        return f"{self._prefix}{second:02d}.{millis:03d}Z"


class Pacing:
    """The time rule: simulated time runs ``speed`` times faster while it is behind the wall
    clock, then with it, so no event is ever produced before it happened."""

    __slots__ = ("sim_start", "speed", "wall_start")

    def __init__(self, sim_start: float, wall_start: float, speed: float) -> None:
        self.sim_start = sim_start
        self.wall_start = wall_start
        self.speed = speed

    def sim_time(self, wall: float) -> float:
        """The simulated clock when the wall clock shows ``wall``."""
        return min(self.sim_start + (wall - self.wall_start) * self.speed, wall)

    def due(self, t: float) -> float:
        """The wall time at which the simulated clock reaches ``t``."""
        return max(self.wall_start + (t - self.sim_start) / self.speed, t)
