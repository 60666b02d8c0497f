"""Shared fixtures: the real local stack (started once, reused if running) and worker factories.

Integration tests never skip: if the broker cannot be started the fixture fails the test with
the one-line reason. Each test gets its own topic namespace and faust app id, so tests share one
broker without seeing each other's events.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from stream_app.devstack import stack as devstack
from stream_app.errors import UserError
from stream_app.kafka_admin import ensure_topics
from stream_app.settings import Settings

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by tier from their folder, so `-m unit` etc. select a tier."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        for tier in ("unit", "functional", "integration"):
            if tier in parts:
                item.add_marker(getattr(pytest.mark, tier))


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def stack_settings() -> Settings:
    """The settings of the shared local stack (the same defaults `ccmon stack up` uses)."""
    return Settings()


@pytest.fixture(scope="session")
def local_stack(stack_settings: Settings) -> Iterator[Settings]:
    """Kafka, Prometheus and Alertmanager, started once; stopped only if this session started."""
    try:
        steps = devstack.up(stack_settings)
    except UserError as exc:
        pytest.fail(f"local stack could not start: {exc}", pytrace=False)
    started = any(s.started for s in steps if s.name != "topics")
    yield stack_settings
    if started and not os.environ.get("CCMON_KEEP_STACK"):
        devstack.down(stack_settings)


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
    asyncio.run(
        ensure_topics(settings.bootstrap_servers, settings.all_topics, settings.topic_partitions)
    )
    yield settings
    # Hundreds of tests' topics would slow every later broker start; leave none behind.
    asyncio.run(delete_topics_of(settings, tag))


def settings_env(settings: Settings, data_dir: Path) -> dict[str, str]:
    """The CCMON_* environment that reproduces `settings` in a child process."""
    env = {**os.environ}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is not None:  # unset optional settings stay unset
            env[f"CCMON_{name.upper()}"] = str(value)
    env["CCMON_DATA_DIR"] = str(data_dir)
    return env


@dataclass
class WorkerProcess:
    """A real `ccmon worker` in a child process, with helpers to read its /metrics."""

    settings: Settings
    proc: subprocess.Popen[bytes]
    log: Path
    base_url: str = field(init=False)

    def __post_init__(self) -> None:
        self.base_url = f"http://{self.settings.web_host}:{self.settings.web_port}"

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Until /healthz says the worker has its partitions (or fail with its log's tail)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"worker exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).json().get("ready"):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"worker not ready in {timeout_s} s: {self.log.read_text()[-2000:]}")

    def metrics_text(self) -> str:
        response = httpx.get(f"{self.base_url}/metrics", timeout=5)
        response.raise_for_status()
        return response.text

    def sample(self, name: str, **labels: str) -> float | None:
        """Value of one series on /metrics, or None when absent."""
        for family in text_string_to_metric_families(self.metrics_text()):
            for s in family.samples:
                if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                    return float(s.value)
        return None

    def total(self, *names: str, **labels: str) -> float:
        """Sum of every series of ``names`` on one /metrics read matching ``labels``; 0 when
        absent."""
        total = 0.0
        for family in text_string_to_metric_families(self.metrics_text()):
            for s in family.samples:
                if s.name in names and all(s.labels.get(k) == v for k, v in labels.items()):
                    total += s.value
        return total

    def wait_for_sample(
        self, name: str, expected: float, timeout_s: float = 30.0, **labels: str
    ) -> float | None:
        """Poll /metrics until the series equals `expected`; returns the last value seen."""
        deadline = time.monotonic() + timeout_s
        value = None
        while time.monotonic() < deadline:
            value = self.sample(name, **labels)
            if value == expected:
                return value
            time.sleep(0.2)
        return value

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Factory: start real workers for given settings; all are stopped at teardown."""
    workers: list[WorkerProcess] = []

    def _start(settings: Settings, *, ready: bool = True, name: str = "worker") -> WorkerProcess:
        log = tmp_path / f"{name}-{len(workers)}.log"
        env = settings_env(settings, tmp_path / f"{name}-data")
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "stream_app", "worker"],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        worker = WorkerProcess(settings, proc, log)
        workers.append(worker)
        if ready:
            worker.wait_ready()
        return worker

    yield _start
    for worker in workers:
        worker.stop()
