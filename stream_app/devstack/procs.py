"""Background services of the local stack: start once, find again by pid file, stop cleanly.

Each service is a plain child process in its own session (so Ctrl-C in a terminal does not
reach it), its output in a log file, its pid in a pid file. Starting twice finds the running
one; a port held by something else is one clear error.

:func:`stop_process` is the one SIGTERM-then-SIGKILL stop of the project: the stack's services,
the main job's worker and simulator, the benchmark's and the tests' child processes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

from stream_app.errors import UserError


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def pid_alive(pid: int) -> bool:
    """True when the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def group_alive(pgid: int) -> bool:
    """True when process group ``pgid`` has a member that is not a zombie."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path("/proc")
    if not proc.is_dir():
        return True  # the group exists; without /proc its zombies cannot be told apart
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue  # exited while we looked
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


class _Leader:
    """The process to stop, a :class:`subprocess.Popen` or a pid, reaped when it is our child."""

    def __init__(self, target: subprocess.Popen[Any] | int) -> None:
        self.popen = target if isinstance(target, subprocess.Popen) else None
        self.pid = target.pid if isinstance(target, subprocess.Popen) else target
        self.status: int | None = None
        self._ours = self.popen is None  # a bare pid: ours until waitpid says otherwise
        self._gone = False

    def gone(self) -> bool:
        if self._gone:
            return True
        if self.popen is not None:
            self.status = self.popen.poll()
            self._gone = self.status is not None
        elif self._ours:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self._ours = False
                return self.gone()
            if pid:
                self.status, self._gone = os.waitstatus_to_exitcode(status), True
        else:
            self._gone = not pid_alive(self.pid)
        return self._gone


def _wait(gone: Callable[[], bool], timeout_s: float | None) -> bool:
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while not gone():
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


@overload
def stop_process(
    target: subprocess.Popen[Any], grace_s: float, *, sig: int = ..., group: bool = ...
) -> int: ...


@overload
def stop_process(
    target: int, grace_s: float, *, sig: int = ..., group: bool = ...
) -> int | None: ...


def stop_process(
    target: subprocess.Popen[Any] | int,
    grace_s: float,
    *,
    sig: int = signal.SIGTERM,
    group: bool = False,
) -> int | None:
    """Send ``sig`` (SIGTERM), then SIGKILL if it is still there after ``grace_s``, and wait
    until it has gone. Nothing is sent to a process that has already exited.

    ``target`` is a :class:`subprocess.Popen` or a pid. With ``group``, the signals go to its
    process group (``target`` must lead it, e.g. started with ``start_new_session``), and the
    stop waits for every member of the group, not only the leader: one still there after the
    grace gets the SIGKILL too. Returns the exit status as ``Popen.returncode`` gives it
    (negative: killed by that signal), or None when ``target`` is a pid that is not our child
    (its status is its parent's to read).
    """
    leader = _Leader(target)

    def gone() -> bool:
        return leader.gone() and not (group and group_alive(leader.pid))

    def send(signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(leader.pid, signum)
            elif leader.popen is not None:
                leader.popen.send_signal(signum)  # never a reused pid: Popen checks first
            else:
                os.kill(leader.pid, signum)

    if gone():
        return leader.status
    if group and not leader.gone():
        with contextlib.suppress(ProcessLookupError):
            if os.getpgid(leader.pid) != leader.pid:
                raise ValueError(f"pid {leader.pid} does not lead a process group")
    send(sig)
    if not _wait(gone, grace_s):
        send(signal.SIGKILL)
        _wait(gone, None)
    return leader.status


def tail(path: Path, lines: int = 3) -> str:
    """The last lines of a log, joined into one line for an error message."""
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:])


@dataclass
class Service:
    """One background process of the stack, identified by its pid file under ``run_dir``."""

    name: str
    argv: Sequence[str]
    run_dir: Path
    host: str
    port: int
    env: dict[str, str] = field(default_factory=dict)
    ready: Callable[[], bool] | None = None
    """Extra readiness probe after the port opens (e.g. the broker answering metadata)."""
    start_timeout_s: float = 60.0

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.run_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        """Pid of our running instance, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if pid_alive(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def running(self) -> bool:
        """Our process is alive and its port answers."""
        return self.pid() is not None and port_open(self.host, self.port)

    def start(self) -> bool:
        """Start the service unless ours already runs; returns True when it was started now."""
        proc = self.launch()
        self.wait_ready(proc)
        return proc is not None

    def launch(self) -> subprocess.Popen[bytes] | None:
        """Start the process without waiting for it (None: ours already runs). Nodes of a
        cluster are launched together: none is ready before a majority of them runs."""
        if self.pid() is not None:
            return None
        if port_open(self.host, self.port):
            raise UserError(
                f"{self.name}: port {self.host}:{self.port} is already in use by another "
                f"process; stop it or choose another port (see README, Configuration)"
            )
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            proc = subprocess.Popen(
                list(self.argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, **self.env},
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        return proc

    def wait_ready(self, proc: subprocess.Popen[bytes] | None = None) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise UserError(
                    f"{self.name} exited with code {proc.returncode} while starting; "
                    f"see {self.log_file}: {tail(self.log_file)}"
                )
            if port_open(self.host, self.port) and (self.ready is None or self.ready()):
                return
            time.sleep(0.2)
        raise UserError(
            f"{self.name} did not answer on {self.host}:{self.port} within "
            f"{self.start_timeout_s:.0f} s; see {self.log_file}"
        )

    def stop(self, timeout_s: float = 30.0, sig: int = signal.SIGTERM) -> bool:
        """``sig`` (SIGTERM) to the service's process group, then SIGKILL after ``timeout_s``;
        True when something was stopped."""
        pid = self.pid()
        if pid is None:
            return False
        try:
            stop_process(pid, timeout_s, sig=sig, group=True)
        except ValueError:  # a reused pid: ours led its own group (start_new_session)
            self.pid_file.unlink(missing_ok=True)
            return False
        self.pid_file.unlink(missing_ok=True)
        return True
