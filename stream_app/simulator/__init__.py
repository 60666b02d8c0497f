"""A realistic contact-center simulator: ``ccmon simulate`` and ``batch_events`` for benchmarks.

The simulator is a small discrete-event model of a center (queues, skilled agents on shifts,
impatient customers, repeat contacts, surveys) whose output is valid v1 events in occurrence
order, so everything downstream (KPIs, alerts, wallboard) sees traffic that behaves like the
real thing: waits and abandons come from load, not from dice.
"""

from stream_app.simulator.batch import BATCH_SCALE, BATCH_START, batch_events

__all__ = ["BATCH_SCALE", "BATCH_START", "batch_events"]
