"""When customers call: the intraday arrival curve and the weekday/weekend factor.

Contact-center traffic is strongly shaped by the clock: almost nothing at night, a climb from
seven, the morning peak around 10-11 h, a lunch dip, an afternoon bump and a long evening
decline; weekends are lighter. Both shapes are multipliers of a queue's peak-hour rate, so the
maximum over the week is exactly 1 (thinning needs that bound).
"""

from __future__ import annotations

from stream_app.simulator.clock import LocalTime

HOURLY: tuple[float, ...] = (
    0.05, 0.04, 0.035, 0.035, 0.04, 0.07,  # 00-05 h: quiet night
    0.16, 0.36, 0.66, 0.90, 1.00, 0.96,  # 06-11 h: climb to the morning peak
    0.74, 0.70, 0.84, 0.87, 0.78, 0.60,  # 12-17 h: lunch dip, afternoon bump
    0.42, 0.30, 0.21, 0.14, 0.09, 0.065,  # 18-23 h: evening decline
)  # fmt: skip
"""Share of the peak rate in each local hour, taken at the hour's middle."""

WEEKDAY: tuple[float, ...] = (1.0, 0.95, 0.93, 0.92, 0.88, 0.45, 0.30)
"""Monday (the busiest day) .. Sunday."""


def _minute_table() -> tuple[float, ...]:
    """HOURLY linearly interpolated per minute between hour middles (no steps on the hour)."""
    table = []
    for minute in range(1440):
        position = minute / 60 - 0.5
        low = int(position // 1)
        frac = position - low
        a, b = HOURLY[low % 24], HOURLY[(low + 1) % 24]
        table.append(a + (b - a) * frac)
    return tuple(table)


MINUTE_TABLE: tuple[float, ...] = _minute_table()

DAILY_PEAK_HOURS: float = sum(HOURLY)
"""A weekday's arrivals in units of peak hours (rate per day = peak rate x this)."""


class ArrivalPattern:
    """Multiplier of the peak rate at an instant, in the center's local time."""

    def __init__(self, local: LocalTime) -> None:
        self.local = local

    def __call__(self, t: float) -> float:
        local_t = t + self.local.offset(t)
        day = int(local_t // 86400)
        minute = int(local_t // 60) - day * 1440
        return MINUTE_TABLE[minute] * WEEKDAY[(day + 3) % 7]
