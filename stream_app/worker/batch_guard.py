"""A batch an agent could not finish must never be committed.

faust's ``Stream.take_events`` acks a batch's records in a ``finally`` when the agent's body
returns *or raises*; faust then restarts the agent and the next commit covers the records the
failed batch never applied: counts lost while the worker looks healthy (lag 0, /healthz 200;
reproduced with ``tests/chaos/failing_worker.py``). A stop (SIGTERM, the app crashing) can
cancel an agent the same way, in the middle of a batch, and faust commits on its way out (read
in faust's stop order, not caught in a test).

So each batch runs to its end: a cancellation waits for the batch to finish, and a failure
(or a forward or changelog record the producer gave up on) ends the process at once with
``EXIT_BATCH_FAILED``, before anything else is committed; the next worker (started by a
supervisor) reads again from the last commit, which is exact because applying is idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import NoReturn

log = logging.getLogger(__name__)

EXIT_BATCH_FAILED = 70
"""The worker's exit code when it stopped so as not to commit records it did not apply
(EX_SOFTWARE)."""
EXIT_APP_CRASHED = 75
"""The worker's exit code when faust crashed its app (EX_TEMPFAIL: e.g. a broker unreachable
for longer than a request may wait); restarting it is the cure."""


def _exit_now(code: int) -> NoReturn:
    """Leave without faust's shutdown, which would commit the failed batch's offsets."""
    logging.shutdown()
    sys.stderr.flush()
    os._exit(code)


class BatchGuard:
    """Runs agents' batches; ``exit_now`` is replaceable for tests."""

    def __init__(self, exit_now: Callable[[int], NoReturn] = _exit_now) -> None:
        self.exit_now = exit_now

    def fail(self, what: str, exc: BaseException) -> NoReturn:
        """One line saying what failed and what happens now, then exit."""
        log.critical(
            "%s failed: %r; the worker exits (code %d) without committing it, so that the "
            "next worker reads it again from the last commit (restart it, e.g. with systemd or "
            "Kubernetes)",
            what,
            exc,
            EXIT_BATCH_FAILED,
        )
        self.exit_now(EXIT_BATCH_FAILED)

    async def run(self, batch: Awaitable[None], what: str) -> None:
        """Await ``batch`` to its end, whatever happens to the agent awaiting it."""
        task = asyncio.ensure_future(batch)
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done():
                await self._finish(task, what)
            raise
        except Exception as exc:
            self.fail(what, exc)

    async def _finish(self, task: asyncio.Future[None], what: str) -> None:
        """The agent is being stopped: let the batch end before faust acks its records."""
        try:
            await task
        except Exception as exc:
            self.fail(what, exc)

    def on_app_crashed(self, reason: BaseException) -> None:
        """faust marks a crashed app and stops consuming, but the process stays up (seen after
        a broker outage of more than 90 s): end it, uncommitted, so that a supervisor starts a
        worker that reads on from the last commit."""
        log.critical(
            "the worker's faust app crashed: %r; the worker exits (code %d) without "
            "committing, so that the next worker reads on from the last commit (restart it, "
            "e.g. with systemd or Kubernetes)",
            reason,
            EXIT_APP_CRASHED,
        )
        self.exit_now(EXIT_APP_CRASHED)

    def on_produced(self, result: asyncio.Future[object]) -> None:
        """A forward or changelog record the producer gave up on would be lost at the next
        commit (faust flushes the producer, then commits even when a send failed)."""
        if not result.cancelled() and (exc := result.exception()) is not None:
            self.fail("producing a forward or changelog record", exc)
