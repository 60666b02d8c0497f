"""A ccmon worker whose intake raises once, in the middle of a batch: an agent that fails
after faust handed it records (a producer that timed out, a bug). Test fault injection only;
run as ``python -m tests.chaos.failing_worker`` with the worker's CCMON_* environment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any

from stream_app.cli import main
from stream_app.worker.intake import Intake

FAIL_AT_BATCH = int(os.environ.get("FAIL_AT_BATCH", "3"))
"""The intake batch (1-based) that raises instead of being admitted."""

_real_admit_batch = Intake.admit_batch
_batches = 0


async def _admit_batch(self: Intake, records: Iterable[Any]) -> Any:
    global _batches
    _batches += 1
    if _batches == FAIL_AT_BATCH:
        raise RuntimeError(f"injected failure in intake batch {_batches}")
    return await _real_admit_batch(self, records)


if __name__ == "__main__":
    Intake.admit_batch = _admit_batch  # type: ignore[method-assign]
    sys.argv = ["ccmon", "worker"]
    main()
