"""stop_process, the one SIGTERM-then-SIGKILL stop, against real child processes.

Each child says "ready" once its signal handlers are in place, so what it does with SIGTERM is
settled before it is sent. No assertion is about how long a stop took.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stream_app.devstack.procs import Service, group_alive, stop_process

pytestmark = pytest.mark.unit

_SLEEP = "print('ready', flush=True); time.sleep(600)"
IGNORES_TERM = f"import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); {_SLEEP}"
EXITS_3_ON_TERM = (
    "import signal, sys, time; signal.signal(signal.SIGTERM, lambda *_: sys.exit(3)); " + _SLEEP
)
DEFAULT_TERM = f"import time; {_SLEEP}"
WITH_GRANDCHILD = f"""
import subprocess, sys, time
g = subprocess.Popen([sys.executable, "-c", {IGNORES_TERM!r}], stdout=subprocess.PIPE)
g.stdout.readline()
print(g.pid, flush=True)
time.sleep(600)
"""
"""Exits on SIGTERM; its child (same process group) ignores it. Prints the grandchild's pid."""

ORPHAN = f"""
import subprocess, sys
g = subprocess.Popen([sys.executable, "-c", {IGNORES_TERM!r}], stdout=subprocess.PIPE)
g.stdout.readline()
print(g.pid, flush=True)
"""
"""Prints the pid of a child that ignores SIGTERM, then exits: that child is no longer ours."""

Spawn = Callable[..., tuple[subprocess.Popen[str], str]]


def running(pid: int) -> bool:
    """The process exists and is not a zombie (an orphan's zombie awaits init, not us)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Start ``python -c script``; the process and its first line, once it wrote it. Whatever
    is left (a pid on that line too) gets SIGKILL at teardown."""
    started: list[tuple[subprocess.Popen[str], int | None]] = []

    def _spawn(script: str, new_session: bool = False) -> tuple[subprocess.Popen[str], str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", script],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=new_session,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        started.append((proc, int(line) if line.isdigit() else None))
        return proc, line

    yield _spawn
    for proc, other in started:
        for pid in (proc.pid, other):
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def test_a_process_ignoring_sigterm_is_killed(spawn: Spawn) -> None:
    proc, _ = spawn(IGNORES_TERM)
    assert stop_process(proc, 0.5) == -signal.SIGKILL
    assert proc.returncode == -signal.SIGKILL
    assert not running(proc.pid)


def test_a_process_exiting_on_sigterm_gives_its_own_exit_code(spawn: Spawn) -> None:
    assert stop_process(spawn(EXITS_3_ON_TERM)[0], 60.0) == 3
    assert stop_process(spawn(DEFAULT_TERM)[0], 60.0) == -signal.SIGTERM


def test_the_first_signal_is_the_callers(spawn: Spawn) -> None:
    proc, _ = spawn(IGNORES_TERM)  # SIGINT is not ignored: KeyboardInterrupt ends it
    assert stop_process(proc, 60.0, sig=signal.SIGINT) == -signal.SIGINT


def test_an_exited_process_gets_no_signal_and_keeps_its_code(spawn: Spawn) -> None:
    proc, _ = spawn("print('bye'); raise SystemExit(5)")
    proc.wait()
    assert stop_process(proc, 0.5) == 5
    assert stop_process(proc, 0.5) == 5


def test_a_pid_that_is_our_child_is_reaped_with_its_status(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    script = IGNORES_TERM.replace("print('ready', flush=True)", f"open({str(ready)!r}, 'w')")
    pid = os.posix_spawn(sys.executable, [sys.executable, "-c", script], os.environ)
    try:
        while not ready.exists():
            assert os.waitpid(pid, os.WNOHANG) == (0, 0), "the child exited before it was ready"
            time.sleep(0.05)
        assert stop_process(pid, 0.5) == -signal.SIGKILL
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaped by stop_process: no zombie left behind
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def test_a_pid_that_is_not_our_child_is_stopped_without_a_status(spawn: Spawn) -> None:
    parent, line = spawn(ORPHAN)
    parent.wait()
    orphan = int(line)
    assert running(orphan)
    assert stop_process(orphan, 0.5) is None
    assert not running(orphan)


def test_group_stop_also_kills_a_member_that_outlives_the_leader(spawn: Spawn) -> None:
    leader, line = spawn(WITH_GRANDCHILD, new_session=True)
    grandchild = int(line)
    assert os.getpgid(grandchild) == leader.pid
    assert stop_process(leader, 0.5, group=True) == -signal.SIGTERM
    assert not running(grandchild)
    assert not group_alive(leader.pid)


def test_without_group_only_the_process_itself_is_signalled(spawn: Spawn) -> None:
    leader, line = spawn(WITH_GRANDCHILD, new_session=True)
    grandchild = int(line)
    assert stop_process(leader, 60.0) == -signal.SIGTERM
    assert running(grandchild)  # the spawn fixture kills it


def test_group_stop_refuses_a_pid_that_does_not_lead_its_group(spawn: Spawn) -> None:
    proc, _ = spawn(DEFAULT_TERM)  # in the test runner's process group
    with pytest.raises(ValueError, match="does not lead"):
        stop_process(proc, 0.5, group=True)
    assert proc.poll() is None  # nothing was sent, to it or to our own group


def test_service_stop_kills_its_group_and_forgets_the_pid(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = WITH_GRANDCHILD.replace(
        "print(g.pid, flush=True)", f"open({str(tmp_path / 'gpid')!r}, 'w').write(str(g.pid))"
    )
    service = Service("sleeper", [sys.executable, "-c", script], tmp_path, "127.0.0.1", port)
    proc = service.launch()
    assert proc is not None
    grandchild: int | None = None
    try:
        while grandchild is None:
            assert proc.poll() is None, service.log_file.read_text()
            with contextlib.suppress(OSError, ValueError):
                grandchild = int((tmp_path / "gpid").read_text())
            time.sleep(0.05)
        assert service.stop(timeout_s=0.5)
        assert not service.pid_file.exists()
        assert not running(proc.pid)
        assert not running(grandchild)
        assert not group_alive(proc.pid)
        assert service.stop() is False  # nothing left to stop
    finally:
        for pid in (proc.pid, grandchild):
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        proc.wait()
