"""Real ccmon processes for the integration tier and the chaos harness: workers, senders, and
readings of their /metrics and JSON API.

Plain functions and classes (no pytest fixtures), so ``python -m tests.chaos`` uses the same
ones as the tests; a worker that fails raises :class:`WorkerFailed` (an AssertionError, so a
test shows it as a failure with the worker's log tail).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families

from stream_app.devstack.procs import stop_process
from stream_app.settings import Settings
from tests.offsets import lag


class WorkerFailed(AssertionError):
    """A worker exited or did not get ready; the message ends with its log's tail."""


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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

    @classmethod
    def start(
        cls,
        settings: Settings,
        log: Path,
        data_dir: Path,
        command: tuple[str, ...] = ("stream_app", "worker"),
    ) -> WorkerProcess:
        """`python -m stream_app worker` (or another module's worker) with ``settings`` in its
        environment."""
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", *command],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=settings_env(settings, data_dir),
            )
        return cls(settings, proc, log)

    def log_tail(self, chars: int = 2000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def problems(self, limit: int = 30) -> list[str]:
        """The log's WARNING, ERROR and CRITICAL lines (for a failing test's message)."""
        lines = self.log.read_text(errors="replace").splitlines()
        marks = ("[WARNING]", "[ERROR]", "[CRITICAL]")
        return [line[:300] for line in lines if any(m in line for m in marks)][:limit]

    def health(self) -> dict[str, Any] | None:
        """/healthz's answer, or None when the web server does not answer."""
        try:
            answer: dict[str, Any] = httpx.get(f"{self.base_url}/healthz", timeout=2).json()
        except (httpx.HTTPError, ValueError):
            return None
        return answer

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        """Until /healthz says the worker has its partitions (or fail with its log's tail)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise WorkerFailed(f"worker exited {self.proc.returncode}: {self.log_tail()}")
            if (self.health() or {}).get("ready"):
                return
            time.sleep(0.2)
        raise WorkerFailed(f"worker not ready in {timeout_s} s: {self.log_tail()}")

    def metrics_text(self) -> str:
        response = httpx.get(f"{self.base_url}/metrics", timeout=10)
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
            try:
                value = self.sample(name, **labels)
            except httpx.HTTPError:  # a busy worker answered slowly: ask again
                continue
            if value == expected:
                return value
            time.sleep(0.2)
        return value

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 60.0) -> int:
        """Send ``sig``; SIGKILL after ``timeout_s``; the exit code."""
        return stop_process(self.proc, timeout_s, sig=sig)


def home_sharing_jars(home: Path, settings: Settings) -> Path:
    """A CCMON_HOME of a stack of a test's own that uses the cached Kafka jars of ``settings``."""
    from stream_app.devstack.kafka import jars_dir

    jars = jars_dir(settings)
    (home / jars.parent.name).mkdir(parents=True)
    (home / jars.parent.name / "libs").symlink_to(jars)
    return home


def write_jsonl(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events) + b"\n")
    return path


def send(settings: Settings, path: Path, workdir: Path) -> subprocess.Popen[bytes]:
    """`ccmon send` in the background, as an integrator would run it."""
    return subprocess.Popen(
        [sys.executable, "-m", "stream_app", "send", str(path), "--no-progress"],
        env=settings_env(settings, workdir / "sender"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def processed(workers: list[WorkerProcess]) -> float:
    """Events the entity stage has finished with, over all workers."""
    return sum(
        worker.total(
            "ccmon_events_applied_total", "ccmon_events_duplicate_total", "ccmon_events_late_total"
        )
        for worker in workers
    )


def in_flight(workers: list[WorkerProcess]) -> float:
    """Events routed to a stage that the stage has not finished yet, over all workers.

    A contact.resolved counts as applied at its contact stage; its customer stage (FCR) may
    still be behind, across an internal topic.
    """
    behind = 0.0
    for stage in ("contact", "customer"):
        routed = sum(w.total("ccmon_events_routed_total", stage=stage) for w in workers)
        finished = sum(w.total("ccmon_stage_events_total", stage=stage) for w in workers)
        behind += max(0.0, routed - finished)
    return behind


def wait_processed(workers: list[WorkerProcess], expected: int, timeout_s: float = 180) -> float:
    """Wait until ``expected`` events are done and no stage is behind; what was done."""
    deadline = time.monotonic() + timeout_s
    seen = 0.0
    while time.monotonic() < deadline:
        try:
            seen = processed(workers)
            if seen >= expected and in_flight(workers) == 0:
                return seen
        except httpx.HTTPError:  # a busy worker answered slowly: ask again
            pass
        time.sleep(0.5)
    return seen


def api_rows(base_url: str, expected: Mapping[Any, Any]) -> dict[Any, dict[str, float]]:
    """Ask the API for every window the reference has, with every dimension."""
    rows: dict[Any, dict[str, float]] = {}
    windows = sorted({(k[0], k[1]) for k in expected})
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for kind, start_ms in windows:
            start = datetime.fromtimestamp(start_ms / 1000, UTC)
            if kind == "day":
                params = {"window": "day", "date": start.date().isoformat()}
            else:
                params = {"window": "15m", "start": start.isoformat().replace("+00:00", "Z")}
            answer = client.get("/api/kpis", params={**params, "breakdown": "all"}).json()
            assert "error" not in answer, answer
            rows[(kind, start_ms, "all", "all")] = answer["overall"]["counters"]
            for dim_kind, values in answer["breakdown"].items():
                for value, entry in values.items():
                    rows[(kind, start_ms, dim_kind, value)] = entry["counters"]
    return rows


def wait_settled(
    workers: list[WorkerProcess], settings: Settings, timeout_s: float = 300
) -> dict[tuple[str, int], int]:
    """Wait until the group has committed the end of every input and internal partition and no
    stage is behind (a commit implies the records before it were applied); what is left."""
    from stream_app.worker.app import internal_topic_names

    topics = [*settings.topics_by_type.values(), *internal_topic_names(settings.app_id)]
    deadline = time.monotonic() + timeout_s
    behind: dict[tuple[str, int], int] = {}
    while time.monotonic() < deadline:
        try:
            behind = lag(settings.bootstrap_servers, settings.app_id, topics)
            if not behind and in_flight(workers) == 0:
                return {}
        except (httpx.HTTPError, OSError):  # a busy worker or broker answered slowly
            pass
        time.sleep(1.0)
    return behind
