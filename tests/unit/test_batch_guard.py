"""A batch an agent could not finish ends the process uncommitted (worker.batch_guard)."""

from __future__ import annotations

import asyncio
import logging
from typing import NoReturn

import pytest
from prometheus_client import CollectorRegistry

from stream_app.settings import Settings
from stream_app.worker.app import create_app
from stream_app.worker.batch_guard import EXIT_APP_CRASHED, EXIT_BATCH_FAILED, BatchGuard

pytestmark = pytest.mark.unit


class Exited(BaseException):
    """Stands in for the process ending (BaseException: nothing may catch it on the way)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _exit(code: int) -> NoReturn:
    raise Exited(code)


async def test_a_batch_that_raises_ends_the_process_with_one_clear_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def batch() -> None:
        raise RuntimeError("producer timed out")

    with caplog.at_level(logging.CRITICAL), pytest.raises(Exited) as exited:
        await BatchGuard(_exit).run(batch(), "an intake batch")
    assert exited.value.code == EXIT_BATCH_FAILED == 70
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("an intake batch failed: RuntimeError('producer timed out');")
    assert "without committing it" in line


async def test_a_batch_that_ends_well_returns_and_exits_nothing() -> None:
    done: list[int] = []

    async def batch() -> None:
        await asyncio.sleep(0)
        done.append(1)

    await BatchGuard(_exit).run(batch(), "a contact-stage batch")
    assert done == [1]


async def test_a_stopped_agent_waits_for_its_batch_to_end_before_the_cancel_goes_on() -> None:
    steps: list[str] = []
    release = asyncio.Event()

    async def batch() -> None:
        steps.append("started")
        await release.wait()
        steps.append("finished")

    async def agent() -> None:
        try:
            await BatchGuard(_exit).run(batch(), "a customer-stage batch")
        finally:
            steps.append("agent stopped")  # where faust's take_events acks the batch

    task = asyncio.ensure_future(agent())
    await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.sleep(0.01)
    assert steps == ["started"]  # cancelled, yet still in the batch
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert steps == ["started", "finished", "agent stopped"]


async def test_a_batch_that_fails_while_its_agent_is_stopped_still_ends_the_process() -> None:
    release = asyncio.Event()

    async def batch() -> None:
        await release.wait()
        raise ValueError("bad state")

    task = asyncio.ensure_future(BatchGuard(_exit).run(batch(), "an intake batch"))
    await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.sleep(0.01)
    release.set()
    with pytest.raises(Exited):
        await task


async def test_a_record_the_producer_gave_up_on_ends_the_process() -> None:
    loop = asyncio.get_running_loop()
    guard = BatchGuard(_exit)
    sent: asyncio.Future[object] = loop.create_future()
    sent.set_result(object())
    guard.on_produced(sent)  # delivered: nothing happens
    cancelled: asyncio.Future[object] = loop.create_future()
    cancelled.cancel()
    guard.on_produced(cancelled)
    failed: asyncio.Future[object] = loop.create_future()
    failed.set_exception(TimeoutError("delivery timed out"))
    with pytest.raises(Exited) as exited:
        guard.on_produced(failed)
    assert exited.value.code == EXIT_BATCH_FAILED


def test_a_crashed_app_ends_the_process_with_one_clear_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """faust crashed the app after a long broker outage and the process stayed up, consuming
    nothing (CI, 2026-12-03); now it exits and a supervisor starts a worker again."""
    reason = RuntimeError("KafkaTimeoutError: Failed to get offsets by times in 90000 ms")
    with caplog.at_level(logging.CRITICAL), pytest.raises(Exited) as exited:
        BatchGuard(_exit).on_app_crashed(reason)
    assert exited.value.code == EXIT_APP_CRASHED == 75
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("the worker's faust app crashed: RuntimeError('KafkaTimeoutError")
    assert "without committing" in line


def test_the_app_hands_its_crash_to_the_guard() -> None:
    """mode marks every service of a crashed worker with ``_crash``; the app's ends it."""
    app = create_app(Settings(), registry=CollectorRegistry())
    app.batch_guard.exit_now = _exit
    with pytest.raises(Exited) as exited:
        app._crash(RuntimeError("consumer crashed"))
    assert exited.value.code == EXIT_APP_CRASHED
    assert app.crash_reason is not None
