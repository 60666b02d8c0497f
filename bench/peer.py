"""Running the Quix Streams peer (:mod:`bench.peer_quix`) as a child and watching it finish.

"Processed": the peer's progress file shows every loaded record consumed and every fact it
made windowed (or dropped as later than the grace period). "Committed": its consumer group
has committed the end offset of every input partition and of its repartition topic.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench.kafka import GroupWatch, Offsets, caught_up, end_offsets
from bench.proc import Child, python
from bench.worker import Rates, WorkerFailed


@dataclass
class PeerResult(Rates):
    """One measured run of the peer over the pre-loaded topics."""

    loaded: int
    startup_s: float = 0.0
    """Process start -> first record processed."""
    processed_s: float = 0.0
    """First record -> processed."""
    committed_s: float = 0.0
    """First record -> committed."""
    cpu_s: float = 0.0
    cpu_startup_s: float = 0.0
    peak_rss: int = 0
    progress: dict[str, Any] = field(default_factory=dict)
    log: str = ""


def read_progress(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = orjson.loads(path.read_bytes())
        return data
    except (OSError, orjson.JSONDecodeError):
        return {}


def _start_peer(
    bootstrap: str, group: str, topics: list[str], workdir: Path, progress_file: Path
) -> Child:
    """The Quix Streams peer on its own consumer group and state dir."""
    argv = [python(), "-m", "bench.peer_quix", "--bootstrap", bootstrap]
    argv += ["--topics", ",".join(topics), "--group", group]
    argv += ["--state-dir", str(workdir / f"{group}-state"), "--progress", str(progress_file)]
    return Child.start("peer", argv, {**os.environ}, workdir / f"{group}.log")


async def _all_committed(
    watch: GroupWatch, bootstrap: str, group: str, input_ends: Offsets
) -> bool:
    """True once the group committed the input's ends and its repartition topics' ends."""
    committed = await watch.committed()
    if not caught_up(committed, input_ends):
        return False
    internal = await watch.topics_like(lambda t: t.startswith(f"repartition__{group}--"))
    return caught_up(committed, await end_offsets(bootstrap, internal))


async def run_peer(
    bootstrap: str,
    group: str,
    topics: list[str],
    loaded: int,
    input_ends: Offsets,
    workdir: Path,
    *,
    progress: Callable[[float], None] | None = None,
    stall_s: float = 180.0,
) -> PeerResult:
    """Start the peer on a fresh consumer group and state dir; measure until committed."""
    progress_file = workdir / f"{group}.progress.json"
    child = _start_peer(bootstrap, group, topics, workdir, progress_file)
    wall0 = time.time() - (time.monotonic() - child.started)
    result = PeerResult(loaded=loaded, log=str(child.log))
    first_at = processed_at = committed_at = 0.0
    last_consumed, last_move = -1, time.monotonic()
    try:
        async with GroupWatch(bootstrap, group) as watch:
            next_commit_check = 0.0
            while not (processed_at and committed_at):
                now = time.monotonic()
                if not child.alive:
                    raise WorkerFailed(f"peer exited {child.proc.returncode}: {child.log_tail()}")
                state = read_progress(progress_file)
                consumed = int(state.get("consumed", 0))
                if not first_at and state.get("first_wall"):
                    first_at = child.started + (float(state["first_wall"]) - wall0)
                    result.startup_s = first_at - child.started
                    result.cpu_startup_s = child.cpu_seconds()
                if progress is not None:
                    progress(consumed)
                if (
                    not processed_at
                    and consumed >= loaded
                    and state["windowed"] + state["late"] >= state["facts"]
                ):
                    # The file is written every 0.2 s: credit its own write time.
                    processed_at = child.started + (float(state["wall"]) - wall0)
                    result.progress = state
                if consumed != last_consumed:
                    last_consumed, last_move = consumed, now
                elif now - last_move > stall_s and not processed_at:
                    raise WorkerFailed(
                        f"peer: no progress for {stall_s:.0f} s at {consumed} consumed of "
                        f"{loaded}: {child.log_tail()}"
                    )
                if not committed_at and now >= next_commit_check:
                    next_commit_check = now + 0.5
                    if await _all_committed(watch, bootstrap, group, input_ends):
                        committed_at = time.monotonic()
                await asyncio.sleep(0.1)
        result.processed_s = processed_at - first_at
        result.committed_s = committed_at - first_at
        result.cpu_s = child.cpu_seconds()
        result.peak_rss = child.peak_rss()
    finally:
        child.stop()
    return result
