"""A ccmon worker whose fetch path stops delivering records after its first ones: the stall a
restarted faust worker once fell into (stream_app/worker/consumer.py), made on purpose so the
liveness probe can be tested over the real broker. Test fault injection only; run as
``python -m tests.chaos.stalled_worker`` with the worker's CCMON_* environment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Set
from typing import Any

from stream_app.cli import main
from stream_app.worker import consumer as kafka_consumer

DELIVER_FIRST = int(os.environ.get("STALL_AFTER_FETCHES", "3"))
"""Fetches that deliver records before the fetch path goes quiet."""

_real_getmany = kafka_consumer.Consumer._getmany
_fetches = 0


async def _getmany(self: Any, active_partitions: Set[Any] | None, timeout: float) -> Any:  # noqa: ASYNC109
    global _fetches
    records = await _real_getmany(self, active_partitions, timeout)
    inputs = set(self.app.ccmon_settings.topics_by_type.values())
    if any(tp.topic in inputs for tp in records):
        _fetches += 1
    if _fetches > DELIVER_FIRST:
        return {}  # fetched, positions advanced, never delivered: what the faust bug did
    return records


if __name__ == "__main__":
    kafka_consumer.Consumer._getmany = _getmany  # type: ignore[method-assign]
    sys.argv = ["ccmon", "worker"]
    main()
