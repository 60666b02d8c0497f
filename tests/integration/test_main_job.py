"""The README's first command, `ccmon run`: stack, worker and simulator, live numbers, Ctrl-C.

Runs against the shared local stack (already up, so `run` must leave it running) with the
test's own topics, app id and web port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from stream_app.settings import Settings
from tests.workers import settings_env


def test_run_brings_up_worker_and_traffic_and_ctrl_c_stops_them(
    namespace: Settings, tmp_path: Path
) -> None:
    env = settings_env(namespace, tmp_path / "data")
    env["CCMON_HOME"] = str(namespace.home)
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "stream_app", "run", "--start", "-20m", "--speed", "60"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    base = f"http://{namespace.web_host}:{namespace.web_port}"
    try:
        offered: list[float] = []
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and len(offered) < 2:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                answer = httpx.get(f"{base}/api/kpis", timeout=30).json()
                value = answer["overall"]["counters"]["offered"]
                if value > 0 and (not offered or value > offered[-1]):
                    offered.append(value)
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        assert len(offered) == 2, f"no growing traffic; log:\n{log.read_text()[-3000:]}"
        text = log.read_text()
        for url in ("/wallboard", "/api/kpis", "/metrics", ":9090", ":9093"):
            assert url in text, url
        page = httpx.get(f"{base}/", follow_redirects=True, timeout=30)
        assert page.status_code == 200
        assert 'id="tiles"' in page.text
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= 2  # worker and simulator
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        try:
            code = proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"ccmon run did not stop on Ctrl-C:\n{log.read_text()[-3000:]}")
    assert code == 0, log.read_text()[-3000:]
    assert all(not c.is_running() or c.status() == psutil.STATUS_ZOMBIE for c in children)
    # The shared stack was already up, so `run` left it running.
    ready = httpx.get(f"http://127.0.0.1:{namespace.prometheus_port}/-/ready", timeout=30)
    assert ready.status_code == 200
