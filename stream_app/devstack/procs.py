"""Background services of the local stack: start once, find again by pid file, stop cleanly.

Each service is a plain child process in its own session (so Ctrl-C in a terminal does not
reach it), its output in a log file, its pid in a pid file. Starting twice finds the running
one; a port held by something else is one clear error.
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
        """``sig`` (SIGTERM), then SIGKILL after ``timeout_s``; True when something was
        stopped."""
        pid = self.pid()
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + timeout_s
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            while pid_alive(pid):
                time.sleep(0.05)
        # Reap it if it is our child (stack started in this same process, e.g. by pytest).
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        self.pid_file.unlink(missing_ok=True)
        return True
