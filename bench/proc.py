"""Child processes under measurement: start, CPU seconds and peak RSS of the process tree, stop."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from stream_app.devstack.procs import stop_process


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children so far."""
    total = 0.0
    for proc in _tree(pid):
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def tree_peak_rss(pid: int) -> int:
    """Sum of the peak resident set (VmHWM) of a process and its children, bytes."""
    total = 0
    for proc in _tree(pid):
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) * 1024
    return total


@dataclass
class Child:
    """A measured child process with its log file."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    started: float
    """time.monotonic() when it was started."""

    @classmethod
    def start(cls, name: str, argv: list[str], env: dict[str, str], log: Path) -> Child:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        return cls(name=name, proc=proc, log=log, started=time.monotonic())

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.proc.pid)

    def peak_rss(self) -> int:
        return tree_peak_rss(self.proc.pid)

    def log_tail(self, chars: int = 1500) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout_s``; returns the exit status."""
        return stop_process(self.proc, timeout_s)


def python() -> str:
    """The interpreter running the harness (the project's venv)."""
    return sys.executable


def machine() -> dict[str, str]:
    """CPU model, cores, RAM and OS of this machine, for the report's header."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": f"{os.cpu_count()} logical ({psutil.cpu_count(logical=False)} physical)",
        "ram": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }
