"""The local stack as a user drives it: `ccmon stack up/down`, topics, and one-line errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from stream_app.devstack.procs import pid_alive, port_open
from stream_app.devstack.stack import handles
from stream_app.settings import Settings
from tests.workers import WorkerProcess, free_port, home_sharing_jars


def ccmon(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a child process, as a user's shell would."""
    return subprocess.run(
        [sys.executable, "-m", "stream_app", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or dict(os.environ),
        check=False,
    )


def isolated_env(tmp_path: Path, stack_settings: Settings, **extra: str) -> dict[str, str]:
    """A second stack's environment: own home (sharing the cached jars) and own free ports."""
    home = home_sharing_jars(tmp_path / "home", stack_settings)
    env = {
        **os.environ,
        "CCMON_HOME": str(home),
        "CCMON_KAFKA_PORT": str(free_port()),
        "CCMON_KAFKA_CONTROLLER_PORT": str(free_port()),
        "CCMON_PROMETHEUS_PORT": str(free_port()),
        "CCMON_ALERTMANAGER_PORT": str(free_port()),
    }
    env.update(extra)
    return env


def one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ccmon: error: ")
    assert expected in lines[0]
    assert "Traceback" not in result.stderr


def test_stack_up_twice_is_harmless(local_stack: Settings) -> None:
    """A second `stack up` finds every component running and keeps the same processes."""
    before = {n: s.pid() for n, s in handles(local_stack).items()}
    result = ccmon("stack", "up")
    assert result.returncode == 0, result.stderr
    for name in ("kafka", "prometheus", "alertmanager"):
        assert f"{name}" in result.stdout
    assert result.stdout.count("already running") == 3
    assert {n: s.pid() for n, s in handles(local_stack).items()} == before
    status = ccmon("stack", "status").stdout
    assert status.count("running on 127.0.0.1") == 3


def test_kcat_lists_the_spec_topics(local_stack: Settings) -> None:
    """`kcat -L` on the running broker shows the six input topics and the dead-letter topic."""
    out = subprocess.run(
        ["kcat", "-b", local_stack.bootstrap_servers, "-L", "-J"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    topics = {t["topic"]: len(t["partitions"]) for t in json.loads(out)["topics"]}
    expected = [
        "cc.contact.started",
        "cc.contact.answered",
        "cc.contact.resolved",
        "cc.contact.abandoned",
        "cc.survey.submitted",
        "cc.customer.status",
        "cc.deadletter",
    ]
    for name in expected:
        assert topics.get(name) == 6, (name, topics)


@pytest.mark.timeout(900)  # a whole second stack up and down: minutes on a slow machine
def test_isolated_stack_starts_and_stops_leaving_nothing(
    tmp_path: Path, stack_settings: Settings, local_stack: Settings
) -> None:
    """A second stack on other ports comes up with its topics; `stack down` ends every process."""
    env = isolated_env(tmp_path, stack_settings)
    t0 = time.monotonic()
    up = ccmon("stack", "up", env=env, timeout=400)
    assert up.returncode == 0, up.stdout + up.stderr
    assert up.stdout.count("started") >= 3
    assert "7 created" in up.stdout
    took = time.monotonic() - t0
    run = Path(env["CCMON_HOME"]) / "run"
    pids = {p.stem: int(p.read_text()) for p in run.glob("*.pid")}
    assert set(pids) == {"kafka", "prometheus", "alertmanager"}
    assert all(pid_alive(pid) for pid in pids.values())

    down = ccmon("stack", "down", env=env, timeout=300)
    assert down.returncode == 0, down.stderr
    assert "kafka" in down.stdout
    assert "prometheus" in down.stdout
    assert not any(pid_alive(pid) for pid in pids.values())
    assert not list(run.glob("*.pid"))
    for key in ("CCMON_KAFKA_PORT", "CCMON_PROMETHEUS_PORT", "CCMON_ALERTMANAGER_PORT"):
        assert not port_open("127.0.0.1", int(env[key]))
    again = ccmon("stack", "down", env=env, timeout=300)
    assert "nothing was running" in again.stdout
    print(f"isolated stack up in {took:.1f} s")


def test_busy_port_is_one_clear_line(tmp_path: Path, stack_settings: Settings) -> None:
    """A Kafka port held by another process stops `stack up` with one line naming the port."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = isolated_env(tmp_path, stack_settings, CCMON_KAFKA_PORT=str(port))
        result = ccmon("stack", "up", "--only", "kafka", env=env)
    one_line_error(result, f"port 127.0.0.1:{port} is already in use")


def test_missing_java_is_one_clear_line(tmp_path: Path, stack_settings: Settings) -> None:
    """Without java on PATH or JAVA_HOME, `stack up` says so and how to install it."""
    env = isolated_env(tmp_path, stack_settings, PATH=str(tmp_path))
    env.pop("JAVA_HOME", None)
    one_line_error(ccmon("stack", "up", env=env), "java not found")


def test_worker_without_kafka_is_one_clear_line() -> None:
    """A worker pointed at a port where no broker runs exits with one line, not a retry loop."""
    env = {**os.environ, "CCMON_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}"}
    one_line_error(ccmon("worker", env=env), "Kafka is not reachable")


def test_worker_with_missing_topic_is_one_clear_line(local_stack: Settings) -> None:
    """A worker whose input topics do not exist says which one and how to create it."""
    env = {**os.environ, "CCMON_TOPIC_NAMESPACE": "no-such-namespace."}
    one_line_error(ccmon("worker", env=env), "ccmon topics create")


def test_invalid_configuration_is_one_clear_line() -> None:
    """A non-numeric port in the environment names the variable."""
    env = {**os.environ, "CCMON_WEB_PORT": "sixty"}
    one_line_error(ccmon("worker", env=env), "CCMON_WEB_PORT")


def test_prometheus_scrapes_the_worker(
    namespace: Settings, start_worker: Callable[..., WorkerProcess]
) -> None:
    """The stack's real Prometheus scrapes a real worker and sees the consumed-events counter."""
    import asyncio

    from stream_app.devstack.monitoring import targets_file, write_targets
    from tests.integration.test_vertical_slice import produce

    worker = start_worker(namespace)
    previous = targets_file(namespace).read_text()
    write_targets(namespace, [namespace.web_port])
    try:
        topic = namespace.topics_by_type["customer.status"]
        asyncio.run(produce(namespace, topic, [b"{}"], key=b"cust-1"))
        consumed = worker.wait_for_sample(
            "ccmon_events_consumed_total", 1.0, timeout_s=120, topic=topic
        )
        assert consumed == 1.0
        query = f'ccmon_events_consumed_total{{topic="{topic}"}}'
        url = f"http://127.0.0.1:{namespace.prometheus_port}/api/v1/query"
        deadline = time.monotonic() + 180
        result: list[dict[str, object]] = []
        while time.monotonic() < deadline and not result:
            try:
                answer = httpx.get(url, params={"query": query}, timeout=30).json()
            except httpx.HTTPError:
                answer = {}
            result = answer.get("data", {}).get("result", [])
            if not result:
                time.sleep(1)
        assert result, "Prometheus never scraped the worker"
        value = result[0]["value"]
        assert isinstance(value, list)
        assert float(value[1]) == 1.0
    finally:
        targets_file(namespace).write_text(previous)
