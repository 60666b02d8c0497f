"""Profile a real worker under load with py-spy; print its hotspots by self and total time.

Pre-loads ``--events`` simulator events into fresh topics, starts ``python -m stream_app
worker`` on them (empty state, every KPI on), lets it warm up, samples it with ``py-spy record``
for ``--seconds`` while it works through the backlog, and prints two Markdown tables: functions
by self time (where the CPU is spent) and by total time (what calls it). Topics are deleted at
the end. Run: ``.venv/bin/python -m bench.profile_worker --events 100000 --seconds 60``
(py-spy needs ptrace rights: root, or ``kernel.yama.ptrace_scope=0``).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench import data, kafka
from bench.run import KEEP_OLD_RECORDS, free_port
from bench.worker import Worker, wait_ready
from stream_app.kafka_admin import ensure_topics
from stream_app.settings import load_settings

FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^:()]+)(?::(?P<line>\d+))?\)$")


def _short(path: str) -> str:
    for marker in ("site-packages/", "/work/main/", "python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def function_of(frame: str) -> str:
    """``func (file:line)`` -> ``func (file)``: one row per function, not per line."""
    match = FRAME.match(frame)
    if not match:
        return frame
    return f"{match['func']} ({_short(match['file'])})"


@dataclass
class Summary:
    """Samples per thread; the main thread's (asyncio loop's) functions and packages."""

    threads: Counter[str] = field(default_factory=Counter)
    main: int = 0
    self_time: Counter[str] = field(default_factory=Counter)
    total_time: Counter[str] = field(default_factory=Counter)
    packages: Counter[str] = field(default_factory=Counter)


def package_of(function: str) -> str:
    """``func (faust/streams.py)`` -> ``faust``; ccmon's own code by sub-package."""
    match = re.search(r"\(([^()]*)\)$", function)
    parts = (match[1] if match else function).split("/")
    return "/".join(parts[:2]) if parts[0] == "stream_app" and len(parts) > 1 else parts[0]


def summarize(folded: Path) -> Summary:
    """py-spy's folded stacks (recorded with ``--threads``), summed per function."""
    summary = Summary()
    for line in folded.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        raw = stack.split(";")
        thread = next((f for f in raw if f.startswith("thread ")), "thread ?")
        summary.threads[thread] += count
        if "MainThread" not in thread:
            continue
        frames = [function_of(f) for f in raw if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        summary.main += count
        summary.self_time[frames[-1]] += count
        summary.packages[package_of(frames[-1])] += count
        for name in set(frames):
            summary.total_time[name] += count
    return summary


def table(title: str, rows: list[tuple[str, int]], samples: int) -> str:
    lines = [f"| {title} | % of samples |", "|---|---|"]
    lines += [f"| `{name}` | {100 * n / samples:.1f} |" for name, n in rows]
    return "\n".join(lines)


def record(py_spy: str, pid: int, args: argparse.Namespace, raw: Path) -> None:
    """Sample the running worker with py-spy into raw folded stacks."""
    subprocess.run(
        [
            py_spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(args.seconds),
            "--rate",
            str(args.rate),
            "--format",
            "raw",
            "--output",
            str(raw),
            "--threads",
        ],
        check=True,
        capture_output=True,
    )


def report(summary: Summary, args: argparse.Namespace, source: str) -> None:
    """Print the per-thread split, then self and total time of the loop's functions."""
    samples = sum(summary.threads.values())
    print(
        f"{samples:,} samples over {args.seconds} s at {args.rate} Hz of a worker "
        f"processing {args.events:,} pre-loaded events from {source}; "
        "per thread: "
        + ", ".join(f"{t} {100 * n / samples:.1f} %" for t, n in summary.threads.items())
        + "\n\nPercentages below are of the main thread's (asyncio loop's) samples.\n"
    )
    main = max(summary.main, 1)
    print(table("package (self time)", summary.packages.most_common(12), main) + "\n")
    print(table("function (self time)", summary.self_time.most_common(args.top), main))
    print()
    print(
        table(
            "function (total time, callees included)",
            summary.total_time.most_common(args.top + 20),
            main,
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--raw", type=Path, help="keep py-spy's folded stacks here")
    args = parser.parse_args()
    # The venv's bin directory is often not on PATH (``.venv/bin/python -m bench...``).
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if py_spy is None:
        sys.exit("py-spy is not installed: pip install -e .[bench]")

    tag = f"b{uuid.uuid4().hex[:4]}"
    base = load_settings().model_copy(
        update={
            "topic_namespace": f"{tag}.",
            "app_id": f"ccmon-{tag}-prof",
            "web_port": free_port(),
        }
    )
    workdir = Path(tempfile.mkdtemp(prefix=f"ccmon-profile-{tag}-"))
    raw = args.raw or workdir / "worker.folded"
    try:
        dataset = data.build(args.events, base.topics_by_type)
        asyncio.run(
            ensure_topics(
                base.bootstrap_servers, base.all_topics, base.topic_partitions, KEEP_OLD_RECORDS
            )
        )
        kafka.preload(base.bootstrap_servers, dataset.records)
        worker = Worker.start(base, workdir, "worker")
        try:
            asyncio.run(wait_ready([worker]))
            time.sleep(args.warmup)
            record(py_spy, worker.child.proc.pid, args, raw)
        finally:
            worker.child.stop()
        report(summarize(raw), args, dataset.source)
    finally:
        asyncio.run(kafka.delete_topics(base.bootstrap_servers, tag))
        if args.raw is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
