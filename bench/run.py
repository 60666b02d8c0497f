"""One entry point for every benchmark: ``make bench`` / ``python -m bench``.

In one run, on the same broker and the same pre-loaded topics: the ceiling (a bare consumer
that only decodes JSON), us (the real worker, every KPI on, from empty state), the peer (the
same KPIs written with Quix Streams), latency at fixed produce rates, /metrics scrape cost and
scale-out (two workers). Writes ``docs/performance.md``. Topics are namespaced per run
(``b<hex>.``) and deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import confluent_kafka
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from bench import ceiling, data, kafka, latency, peer, worker
from bench.bench_scrape import measure as measure_scrape
from bench.proc import machine
from bench.report import Results, render
from stream_app.kafka_admin import ensure_topics
from stream_app.settings import REPO_ROOT, Settings, load_settings

PHASES = ("ceiling", "us", "peer", "latency", "scrape", "scaleout")
console = Console(stderr=True)

KEEP_OLD_RECORDS = {"retention.ms": "-1"}
"""Topic settings of the pre-loaded inputs (their records are timestamped in the past)."""


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def _git() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=REPO_ROOT, capture_output=True, text=True
        ).stdout.strip()
        return f"{rev}{' + uncommitted changes' if dirty else ''}"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000, help="events to pre-load")
    parser.add_argument(
        "--only",
        default=",".join(PHASES),
        help=f"comma-separated phases (default: all): {','.join(PHASES)}",
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "performance.md")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--rates", default="200,1000,5000,20000", help="latency: produce rates, events/s"
    )
    parser.add_argument("--rate-seconds", type=float, default=25.0, help="latency: per rate")
    parser.add_argument(
        "--metrics-poll", type=float, default=1.0, help="latency: /metrics polling interval, s"
    )
    parser.add_argument("--agents", default="1000,10000", help="scrape: agent counts")
    parser.add_argument(
        "--stall", type=float, default=300.0, help="give up on a system idle this long, s"
    )
    parser.add_argument("--keep", action="store_true", help="keep topics, groups and logs")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.phases = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(args.phases) - set(PHASES)
    if unknown:
        parser.error(f"--only: unknown phase(s) {', '.join(sorted(unknown))}")
    return args


def _interrupt(signum: int, _frame: object) -> None:
    """SIGTERM (and SIGINT, ignored in background jobs) unwind like Ctrl-C: the phases stop
    their child processes and the run deletes its topics."""
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        results = run(args)
    except KeyboardInterrupt:
        console.print("[red]interrupted[/]: no report written")
        sys.exit(130)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(results))
    console.print(f"[bold]wrote {args.out}[/]")
    if results.errors:
        for phase, error in results.errors.items():
            console.print(f"[red]{phase} failed:[/] {error[:300]}")
        sys.exit(1)


@dataclass
class _Run:
    """What the phases of one run share: its tag, settings, work dir, data and results."""

    args: argparse.Namespace
    tag: str
    base: Settings
    workdir: Path
    results: Results = field(default_factory=Results)
    groups: list[str] = field(default_factory=list)
    """Consumer groups to delete at the end."""
    ends: kafka.Offsets = field(default_factory=dict)
    """End offsets of the pre-loaded input topics."""
    loaded: int = 0

    @property
    def phases(self) -> list[str]:
        phases: list[str] = self.args.phases
        return phases

    @property
    def bootstrap(self) -> str:
        return self.base.bootstrap_servers

    def ccmon(self, app_id: str, count: int, label: str) -> worker.RunResult:
        """``count`` workers of a fresh app id over the pre-loaded topics, with a bar."""
        self.groups.append(app_id)
        with _bar(label, self.loaded) as update:
            return asyncio.run(
                worker.run_workers(
                    self.base,
                    app_id,
                    count,
                    self.loaded,
                    self.ends,
                    self.workdir,
                    progress=update,
                    stall_s=self.args.stall,
                    ports=free_port,
                )
            )


def run(args: argparse.Namespace) -> Results:
    """Every selected phase, in an order that shares the pre-loaded data."""
    tag = f"b{uuid.uuid4().hex[:4]}"
    base = load_settings().model_copy(update={"topic_namespace": f"{tag}."})
    ctx = _Run(args, tag, base, Path(tempfile.mkdtemp(prefix=f"ccmon-bench-{tag}-")))
    results = ctx.results
    phases = ctx.phases
    results.commands = _commands(args)
    results.header = _header(base)
    try:
        dataset = _build_data(ctx)
        if {"ceiling", "us", "peer", "scaleout"} & set(phases) and dataset is not None:
            _preload(ctx, dataset)
        if "ceiling" in phases and ctx.loaded:
            _phase(ctx, "ceiling", _ceiling)
        if "us" in phases:
            _phase(ctx, "us", _us)
        if "peer" in phases:
            _phase(ctx, "peer", _peer)
        if "scaleout" in phases:
            _phase(ctx, "scaleout", _scaleout)
        if "latency" in phases and dataset is not None:
            _latency(ctx, dataset)
        if "scrape" in phases:
            _phase(ctx, "scrape", _scrape)
        for name, measured in (("us", results.us), ("2 workers", results.scaleout)):
            if measured is not None:
                results.notes.append(
                    f"{name}: the harness scraped /metrics {measured.scrapes} times to see "
                    f"progress ({measured.scrape_s:.1f} s of scrape time in all, inside the "
                    "measured interval)."
                )
    finally:
        _clean_up(ctx)
    return results


def _commands(args: argparse.Namespace) -> list[str]:
    return [
        "make bench                                    # installs .[bench], runs every phase",
        ".venv/bin/python -m bench --events 200000     # a quicker run",
        ".venv/bin/python -m bench --only ceiling,us --events 50000 --out /tmp/perf.md",
        "# this report:",
        ".venv/bin/python -m bench " + shlex.join(args.argv),
    ]


def _header(base: Settings) -> dict[str, str]:
    """The report's header: when, on what machine, with which software."""
    host = machine()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{host['cpu']}, {host['cores']}, {host['ram']} RAM, {host['os']}",
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "software": (
            f"Python {host['python']}, faust-streaming {_version('faust-streaming')}, "
            f"aiokafka {_version('aiokafka')}, quixstreams {_version('quixstreams')}, "
            f"confluent-kafka {_version('confluent-kafka')} "
            f"(librdkafka {confluent_kafka.libversion()[0]}), "
            f"Kafka {base.kafka_version} (local stack, 1 broker, `ccmon stack up`)"
        ),
        "ccmon": f"commit {_git()}",
    }


def _build_data(ctx: _Run) -> data.Dataset | None:
    """The benchmark's events, if a selected phase needs them (described in the header)."""
    args, base, results = ctx.args, ctx.base, ctx.results
    if not {"ceiling", "us", "peer", "scaleout", "latency"} & set(ctx.phases):
        return None
    with console.status(f"building {args.events:,} events"):
        dataset = data.build(args.events, base.topics_by_type, seed=args.seed)
    first, last = dataset.span
    results.mix = dataset.mix
    results.header["events"] = (
        f"{len(dataset.events):,} from {dataset.source}, mean value "
        f"{dataset.mean_bytes:.0f} bytes, occurred_at "
        f"{datetime.fromtimestamp(first / 1000, UTC):%Y-%m-%d %H:%M} to "
        f"{datetime.fromtimestamp(last / 1000, UTC):%Y-%m-%d %H:%M} UTC, "
        f"6 topics x {base.topic_partitions} partitions, keyed as the spec recommends "
        "(contact_id, else customer_id), with the murmur2 partitioner of Java "
        "clients and ccmon's own tools"
    )
    console.log(
        f"{len(dataset.events):,} events from {dataset.source} "
        f"in {dataset.build_seconds:.1f} s; topics {ctx.tag}.*"
    )
    if "latency" not in ctx.phases:
        dataset.events = []  # only the latency load needs the dicts; free ~1 GB/1M
    return dataset


def _preload(ctx: _Run, dataset: data.Dataset) -> None:
    """Produce the data set into the input topics; note their end offsets."""
    bootstrap, base = ctx.bootstrap, ctx.base
    # The records keep their events' timestamps (days ago, by design): without this,
    # time-based retention deletes a segment as soon as it rolls, and a system that
    # derives its internal topics' settings from the inputs (Quix's repartition
    # topic) loses records at 1M events ("Offset out of range").
    asyncio.run(ensure_topics(bootstrap, base.all_topics, base.topic_partitions, KEEP_OLD_RECORDS))
    with _bar("pre-load", len(dataset.records)) as update:
        load = kafka.preload(bootstrap, dataset.records, update)
    console.log(
        f"pre-loaded {load.records:,} records in {load.seconds:.1f} s "
        f"({load.records / load.seconds:,.0f}/s)"
    )
    ctx.ends = asyncio.run(kafka.end_offsets(bootstrap, base.topics_by_type.values()))
    ctx.loaded = sum(ctx.ends.values())


def _phase(ctx: _Run, name: str, measure: Callable[[_Run], None]) -> None:
    """Run one phase; a failure is recorded under its name and the run goes on."""
    try:
        measure(ctx)
    except Exception as exc:
        ctx.results.errors[name] = _error(exc)


def _ceiling(ctx: _Run) -> None:
    results = ctx.results
    with _bar("ceiling aiokafka", ctx.loaded) as update:
        results.ceiling.append(
            asyncio.run(ceiling.aiokafka_ceiling(ctx.bootstrap, ctx.ends, update))
        )
    with _bar("ceiling confluent", ctx.loaded) as update:
        results.ceiling.append(ceiling.confluent_ceiling(ctx.bootstrap, ctx.ends, update))
    for c in results.ceiling:
        console.log(f"ceiling {c.client}: {c.rate:,.0f} events/s")


def _us(ctx: _Run) -> None:
    ctx.results.us = ctx.ccmon(f"ccmon-{ctx.tag}-us", 1, "us: ccmon 1 worker")
    console.log(f"us: {ctx.results.us.rate:,.0f} events/s")


def _peer(ctx: _Run) -> None:
    group = f"{ctx.tag}-quix"
    ctx.groups.append(group)
    with _bar("peer: Quix Streams", ctx.loaded) as update:
        ctx.results.peer = asyncio.run(
            peer.run_peer(
                ctx.bootstrap,
                group,
                list(ctx.base.topics_by_type.values()),
                ctx.loaded,
                ctx.ends,
                ctx.workdir,
                progress=update,
                stall_s=ctx.args.stall,
            )
        )
    console.log(f"peer: {ctx.results.peer.rate:,.0f} events/s")


def _scaleout(ctx: _Run) -> None:
    results = ctx.results
    if results.us is None and "us" not in results.errors:
        results.us = ctx.ccmon(f"ccmon-{ctx.tag}-x1", 1, "ccmon 1 worker")
    results.scaleout = ctx.ccmon(f"ccmon-{ctx.tag}-x2", 2, "ccmon 2 workers")
    console.log(f"2 workers: {results.scaleout.rate:,.0f} events/s")


def _latency(ctx: _Run, dataset: data.Dataset) -> None:
    """One fresh worker per produce rate; a failed rate is an error, the next one runs."""
    args, results = ctx.args, ctx.results
    for rate in (int(r) for r in args.rates.split(",") if r.strip()):
        ctx.groups.append(f"ccmon-{ctx.tag}-l{rate}")
        with console.status(f"latency at {rate:,} events/s") as status:
            result = asyncio.run(
                latency.measure_rate(
                    ctx.base,
                    ctx.tag,
                    rate,
                    dataset.events,
                    ctx.workdir,
                    seconds=args.rate_seconds,
                    ports=free_port,
                    metrics_every_s=args.metrics_poll,
                    status=status.update,
                )
            )
        results.latency.append(result)
        if result.error:
            results.errors[f"latency {rate}/s"] = result.error
        else:
            console.log(
                f"latency {rate:,}/s: produced {result.produced_rate:,.0f}/s, "
                f"API p50 {latency.percentile(result.api, 50) * 1000:,.0f} ms, "
                f"p99 {latency.percentile(result.api, 99) * 1000:,.0f} ms"
            )


def _scrape(ctx: _Run) -> None:
    results = ctx.results
    for agents in (int(a) for a in ctx.args.agents.split(",") if a.strip()):
        with console.status(f"scrape: {agents:,} agents"):
            results.scrape.append(measure_scrape(100, agents))
        s = results.scrape[-1]
        console.log(f"scrape {agents:,} agents: p50 {s.p50_s * 1000:,.0f} ms")


def _clean_up(ctx: _Run) -> None:
    """Delete the run's topics and groups, and its logs if all went well (unless --keep)."""
    if not ctx.args.keep:
        with console.status("deleting the run's topics and groups"):
            deleted = asyncio.run(kafka.delete_topics(ctx.bootstrap, ctx.tag))
            kafka.delete_groups(ctx.bootstrap, ctx.groups)
        console.log(f"deleted {len(deleted)} topics")
        if not ctx.results.errors:
            shutil.rmtree(ctx.workdir, ignore_errors=True)
    if ctx.results.errors or ctx.args.keep:
        console.log(f"logs kept in {ctx.workdir}")


def _error(exc: BaseException) -> str:
    traceback.print_exc()
    return f"{type(exc).__name__}: {exc}"[:800]


class _bar:
    """A one-task rich progress bar used as ``with _bar(...) as update: update(n)``."""

    def __init__(self, label: str, total: int) -> None:
        self.label = label
        self.total = total
        self.t0 = 0.0
        self.progress = Progress(
            TextColumn(f"{label:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task(label, total=total, rate="")

    def __enter__(self) -> Callable[[float], None]:
        self.progress.start()
        self.t0 = time.monotonic()

        def update(done: float) -> None:
            elapsed = max(time.monotonic() - self.t0, 1e-9)
            self.progress.update(self.task, completed=done, rate=f"{done / elapsed:,.0f}/s")

        return update

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()
