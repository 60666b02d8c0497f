"""Shared fixtures: the real local stack (started once, reused if running) and worker factories.

Integration tests never skip: if the broker cannot be started the fixture fails the test with
the one-line reason. Each test gets its own topic namespace and faust app id, so tests share one
broker without seeing each other's events.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from stream_app.devstack import stack as devstack
from stream_app.errors import UserError
from stream_app.kafka_admin import ensure_topics_of
from stream_app.settings import Settings
from tests.workers import WorkerProcess, free_port

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"

# A loaded CI machine must make property tests slower, never failing: no per-example deadline
# and no "too slow" health check. Tests' own @settings inherit this profile.
hypothesis_settings.register_profile(
    "ccmon", suppress_health_check=[HealthCheck.too_slow], deadline=None
)
hypothesis_settings.load_profile("ccmon")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by tier from their folder, so `-m unit` etc. select a tier."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        for tier in ("unit", "functional", "integration"):
            if tier in parts:
                item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def stack_settings() -> Settings:
    """The settings of the shared local stack (the same defaults `ccmon stack up` uses)."""
    return Settings()


class _LocalStack:
    """The session's local stack: started at most once, stopped at the end if we started it."""

    settings: Settings | None = None
    failure: Exception | None = None
    started = False

    @classmethod
    def start(cls, settings: Settings) -> None:
        cls.settings = settings
        try:
            steps = devstack.up(settings)
        except Exception as exc:  # reported by the fixture, to each test that needs the stack
            cls.failure = exc
            return
        cls.started = any(s.started for s in steps if s.name != "topics")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the local stack before the first test, when a collected test needs it.

    pytest-timeout times each test's setup, call and teardown (``timeout`` in pyproject.toml),
    and a session fixture's setup would be charged to whichever test asks for it first; on a
    fresh, slow machine starting Kafka, Prometheus and Alertmanager can take minutes. No test's
    timeout covers this hook, so the stack's start never counts against one test (and its
    stop, in ``pytest_sessionfinish``, never against the last one). devstack.up bounds its own
    waits. (pytest-timeout's ``timeout_func_only`` would also do it, but it stops timing every
    fixture of every test, so a hung worker fixture could then hang CI.)
    """
    if session.config.option.collectonly:
        return
    if any("local_stack" in getattr(item, "fixturenames", ()) for item in session.items):
        _LocalStack.start(Settings())


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _LocalStack.started and _LocalStack.settings and not os.environ.get("CCMON_KEEP_STACK"):
        devstack.down(_LocalStack.settings)


@pytest.fixture(scope="session")
def local_stack(stack_settings: Settings) -> Settings:
    """Kafka, Prometheus and Alertmanager, started once; stopped only if this session started.

    Normally already started by ``pytest_collection_finish``; started here only when a test
    asks for it without having been collected as needing it (``request.getfixturevalue``).
    """
    if _LocalStack.settings is None:
        _LocalStack.start(stack_settings)
    if isinstance(_LocalStack.failure, UserError):
        pytest.fail(f"local stack could not start: {_LocalStack.failure}", pytrace=False)
    if _LocalStack.failure is not None:
        raise _LocalStack.failure
    return stack_settings


async def delete_topics_of(settings: Settings, tag: str) -> None:
    """Delete a test's topics (its namespace and its app's internal topics) from the broker."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if tag in t]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()


@pytest.fixture
def namespace(local_stack: Settings) -> Iterator[Settings]:
    """Settings for one test: its own topics (created, deleted after), app id and worker port."""
    tag = f"t{uuid.uuid4().hex[:10]}"
    settings = local_stack.model_copy(
        update={
            "topic_namespace": f"{tag}.",
            "app_id": f"ccmon-{tag}",
            "web_port": free_port(),
        }
    )
    asyncio.run(ensure_topics_of(settings))
    yield settings
    # Hundreds of tests' topics would slow every later broker start; leave none behind.
    asyncio.run(delete_topics_of(settings, tag))


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Factory: start real workers for given settings; all are stopped at teardown."""
    workers: list[WorkerProcess] = []

    def _start(settings: Settings, *, ready: bool = True, name: str = "worker") -> WorkerProcess:
        log = tmp_path / f"{name}-{len(workers)}.log"
        worker = WorkerProcess.start(settings, log, tmp_path / f"{name}-data")
        workers.append(worker)
        if ready:
            worker.wait_ready()
        return worker

    yield _start
    for worker in workers:
        worker.stop()
