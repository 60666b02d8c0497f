"""The benchmark's reading of a worker's /metrics: when is a run processed?"""

from __future__ import annotations

from bench.worker import PipelineCounts

METRICS = """\
# HELP ccmon_events_consumed_total Records read from the input topics, before validation.
ccmon_events_consumed_total{topic="cc.contact.started"} 2.0
ccmon_events_consumed_total{topic="cc.contact.resolved"} 1.0
ccmon_events_accepted_total{type="contact.started"} 2.0
ccmon_events_accepted_total{type="contact.resolved"} 1.0
ccmon_events_routed_total{stage="contact",route="local"} 3.0
ccmon_events_routed_total{stage="customer",route="rekeyed"} 1.0
ccmon_events_applied_total{type="contact.started"} 2.0
ccmon_events_applied_total{type="contact.resolved"} 1.0
ccmon_stage_events_total{stage="contact"} 3.0
"""


def test_applied_everywhere_but_a_customer_stage_behind_is_not_processed() -> None:
    counts = PipelineCounts.parse(METRICS)
    assert (counts.consumed, counts.accepted, counts.applied) == (3.0, 3.0, 3.0)
    assert counts.routed == {"contact": 3.0, "customer": 1.0}
    assert counts.finished == {"contact": 3.0}
    assert not counts.processed(3)

    counts.add(PipelineCounts.parse('ccmon_stage_events_total{stage="customer"} 1.0\n'))
    assert counts.finished == {"contact": 3.0, "customer": 1.0}
    assert counts.processed(3)
