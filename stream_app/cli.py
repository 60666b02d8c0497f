"""The ``ccmon`` command line: run the worker, the local stack, and the integrator's tools.

Every error a person can fix is printed as one line (what, where, what to do) with exit
code 2; tracebacks are for bugs only.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from stream_app.errors import UserError
from stream_app.settings import Settings, load_settings

if TYPE_CHECKING:
    from stream_app.devstack.stack import StepResult

F = TypeVar("F", bound=Callable[..., Any])


def _settings(ctx: click.Context) -> Settings:
    obj = ctx.ensure_object(dict)
    if "settings" not in obj:
        obj["settings"] = load_settings()
    settings: Settings = obj["settings"]
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ccmon")
def cli() -> None:
    """ccmon: real-time contact-center KPIs from Kafka (configuration: CCMON_* variables)."""


# --- local stack ---------------------------------------------------------------------------


@cli.group()
def stack() -> None:
    """The local Kafka + Prometheus + Alertmanager stack (no Docker)."""


@stack.command("up")
@click.option(
    "--only",
    type=click.Choice(["kafka", "prometheus", "alertmanager"]),
    multiple=True,
    help="Start only these components (repeatable); default all.",
)
@click.pass_context
def stack_up(ctx: click.Context, only: tuple[str, ...]) -> None:
    """Fetch what is missing, start what is not running, create the topics. Idempotent."""
    from stream_app.devstack import stack as devstack

    t0 = time.monotonic()
    _echo_steps(devstack.up(_settings(ctx), only or devstack.COMPONENTS))
    click.echo(f"stack up in {time.monotonic() - t0:.1f} s")


def _echo_steps(steps: list[StepResult]) -> None:
    for step in steps:
        state = "started" if step.started else "already running"
        if step.name == "topics":
            state = "ok"
        click.echo(f"{step.name:<13} {state:<16} {step.detail} ({step.seconds:.1f} s)")


@stack.command("fetch")
@click.pass_context
def stack_fetch(ctx: click.Context) -> None:
    """Download the Kafka broker jars into the cache (once; later calls are instant)."""
    from stream_app.devstack.kafka import ensure_jars

    settings = _settings(ctx)
    libs = ensure_jars(settings)
    click.echo(f"Kafka {settings.kafka_version}: {len(list(libs.glob('*.jar')))} jars in {libs}")


@stack.command("down")
@click.pass_context
def stack_down(ctx: click.Context) -> None:
    """Stop every component of the local stack (SIGTERM, then SIGKILL after 30 s)."""
    from stream_app.devstack import stack as devstack

    stopped = devstack.down(_settings(ctx))
    click.echo("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@stack.command("status")
@click.pass_context
def stack_status(ctx: click.Context) -> None:
    """Show whether each component runs, and where."""
    from stream_app.devstack import stack as devstack

    for name, state in devstack.status(_settings(ctx)).items():
        click.echo(f"{name:<13} {state}")


# --- topics --------------------------------------------------------------------------------


@cli.group()
def topics() -> None:
    """The spec's topics on the configured broker."""


@topics.command("create")
@click.option("--partitions", type=int, default=None, help="Default: CCMON_TOPIC_PARTITIONS.")
@click.pass_context
def topics_create(ctx: click.Context, partitions: int | None) -> None:
    """Create the input and dead-letter topics that do not exist yet. Idempotent."""
    from stream_app.kafka_admin import ensure_topics

    settings = _settings(ctx)
    created = asyncio.run(
        ensure_topics(
            settings.bootstrap_servers,
            settings.all_topics,
            partitions or settings.topic_partitions,
            replication=settings.replication_factor,
        )
    )
    for name in settings.all_topics:
        click.echo(f"{name:<32} {'created' if name in created else 'exists'}")


@topics.command("list")
@click.pass_context
def topics_list(ctx: click.Context) -> None:
    """List the topics on the broker."""
    from stream_app.kafka_admin import list_topics

    settings = _settings(ctx)
    for name in sorted(asyncio.run(list_topics(settings.bootstrap_servers))):
        click.echo(name)


# --- worker and main job -------------------------------------------------------------------


@cli.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run a worker in the foreground: consume, aggregate, serve /metrics and the API."""
    from stream_app.worker.run import run_worker

    run_worker(_settings(ctx))


DEMO_QUEUE_OVERRIDES = '{"claims": {"service_level_threshold_s": 14400}}'
"""Per-queue parameters the main job gives the worker for the simulator's e-mail queue."""


@cli.command()
@click.option("--keep-stack", is_flag=True, help="Leave the stack running on exit.")
@click.option("--no-simulate", is_flag=True, help="No simulated traffic (feed it yourself).")
@click.option(
    "--start",
    default="today",
    show_default=True,
    help="Where the simulated clock begins (now, today, -2h, an RFC 3339 time).",
)
@click.option(
    "--speed",
    type=float,
    default=300.0,
    show_default=True,
    help="Fast-forward factor until the simulation reaches the present; then real time.",
)
@click.option("--seed", type=int, default=None, help="Simulator seed (default: random).")
@click.option(
    "--rate",
    type=float,
    default=None,
    help="Simulated events/s at the peak (a bigger center); default: the scenario's own.",
)
@click.option(
    "--incident",
    "incidents",
    multiple=True,
    help="Injected incident, e.g. abandon-spike:queue=billing,at=+10m,for=15m (repeatable).",
)
@click.pass_context
def run(
    ctx: click.Context,
    keep_stack: bool,
    no_simulate: bool,
    start: str,
    speed: float,
    seed: int | None,
    rate: float | None,
    incidents: tuple[str, ...],
) -> None:
    """The main job: local stack, worker and simulated traffic, until Ctrl-C stops it all.

    By default the simulator fast-forwards today's traffic so far (so "today" on the
    wallboard is full at once) and then runs live. The worker's log goes to a file; the
    terminal shows the simulator's status line.
    """
    from stream_app.devstack import stack as devstack
    from stream_app.devstack.procs import stop_process

    settings = _settings(ctx)
    steps = devstack.up(settings)
    _echo_steps(steps)
    started_stack = any(s.started for s in steps if s.name != "topics")
    procs: list[subprocess.Popen[bytes]] = []
    log_dir = settings.home / "run"
    log_dir.mkdir(parents=True, exist_ok=True)
    worker_log = log_dir / "worker.log"
    worker_env = dict(os.environ)
    if not no_simulate and "CCMON_QUEUE_OVERRIDES" not in os.environ:
        # The simulated `claims` queue is e-mail: answered in hours, not 20 s.
        worker_env["CCMON_QUEUE_OVERRIDES"] = DEMO_QUEUE_OVERRIDES
        click.echo(f"demo: CCMON_QUEUE_OVERRIDES={DEMO_QUEUE_OVERRIDES} (set it to change this)")
    try:
        with worker_log.open("ab") as out:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "stream_app", "worker"],
                    stdout=out,
                    stderr=out,
                    env=worker_env,
                )
            )
        _wait_for_worker(settings, procs[0], worker_log)
        _print_urls(settings, worker_log)
        if not no_simulate:
            command = [sys.executable, "-m", "stream_app", "simulate"]
            command += ["--start", start, "--speed", str(speed)]
            command += ["--seed", str(seed)] if seed is not None else []
            command += ["--rate", str(rate)] if rate is not None else []
            for spec in incidents:
                command += ["--incident", spec]
            procs.append(subprocess.Popen(command))
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        failed = [p for p in procs if p.returncode]
        if failed:
            what = "the worker" if failed[0] is procs[0] else "the simulator"
            raise UserError(
                f"{what} exited with code {failed[0].returncode}; "
                f"see above{' and ' + str(worker_log) if failed[0] is procs[0] else ''}"
            )
    except KeyboardInterrupt:
        click.echo("\nstopping ...")
    finally:
        for p in reversed(procs):  # the simulator first, so the worker sees its last events
            stop_process(p, 30.0)
        if started_stack and not keep_stack:
            click.echo("stopped: " + ", ".join(devstack.down(settings)))


def _wait_for_worker(
    settings: Settings, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 90.0
) -> None:
    """Until the worker's /healthz says ready, so the URLs printed next already answer."""
    import json
    import urllib.request

    url = f"http://{settings.web_host}:{settings.web_port}/healthz"
    click.echo(f"starting the worker (log: {log}) ...")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["(empty log)"]
            raise UserError(f"the worker exited with code {proc.returncode}: {tail[0]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if json.load(response).get("ready"):
                    return
        except (OSError, ValueError):
            pass
        time.sleep(0.3)
    raise UserError(f"the worker was not ready after {timeout_s:.0f} s; see {log}")


def _print_urls(settings: Settings, worker_log: Path | None = None) -> None:
    web = f"http://{settings.web_host}:{settings.web_port}"
    click.echo("")
    click.echo(f"  wallboard        {web}/wallboard   (?lang=ro, ?lang=tr)")
    click.echo(f"  JSON API         {web}/api/kpis")
    click.echo(f"  worker /metrics  {web}/metrics")
    click.echo(f"  Prometheus       http://127.0.0.1:{settings.prometheus_port}")
    click.echo(f"  Alertmanager     http://127.0.0.1:{settings.alertmanager_port}")
    click.echo(f"  Kafka            {settings.bootstrap_servers}")
    if worker_log is not None:
        click.echo(f"  worker log       {worker_log}")
    click.echo("  Ctrl-C stops everything.\n")


# --- integrator's tools --------------------------------------------------------------------


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def check(ctx: click.Context, file: Path, as_json: bool) -> None:
    """Validate a JSON Lines file of events exactly as the worker would; exit 1 on any reject."""
    import orjson

    from stream_app.events.check import check_lines

    settings = _settings(ctx)
    with file.open("rb") as lines:
        summary = check_lines(lines, min_time_ms=settings.min_event_time_ms)
    if as_json:
        click.echo(orjson.dumps(summary.as_json()).decode())
    else:
        click.echo(summary.render_text())
    sys.exit(0 if summary.ok else 1)


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Pace by occurred_at, this many times faster than real time (default: max rate).",
)
@click.option("--no-progress", is_flag=True, help="No progress bar (e.g. in CI logs).")
@click.pass_context
def send(ctx: click.Context, file: Path, speed: float | None, no_progress: bool) -> None:
    """Produce a JSON Lines file of events to the topics of their `type` (alias: replay)."""
    from stream_app.send import read_lines, send_lines

    lines = read_lines(file)
    summary = asyncio.run(
        send_lines(_settings(ctx), lines, speed=speed, show_progress=not no_progress)
    )
    rate = summary.sent / summary.seconds if summary.seconds else 0.0
    click.echo(f"sent {summary.sent} events in {summary.seconds:.1f} s ({rate:,.0f} ev/s)")
    for topic, count in sorted(summary.sent_by_topic.items()):
        click.echo(f"  {topic:<32} {count}")
    for reason, count in sorted(summary.skipped.items()):
        click.echo(f"  skipped ({reason}): {count}")


cli.add_command(send, "replay")


@cli.command()
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Speed-up while the simulated clock is behind the wall clock; then real time.",
)
@click.option(
    "--start",
    default="now",
    show_default=True,
    help="Where the simulated clock begins: now, today, -2h or an ISO time.",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Target events/s at the morning peak; scales arrivals and agents alike.",
)
@click.option("--seed", type=int, default=None, help="Random seed (default: random, printed).")
@click.option(
    "--incident",
    "incidents",
    multiple=True,
    metavar="SPEC",
    help="Inject an incident (repeatable), e.g. abandon-spike:queue=billing,at=+10m,for=15m.",
)
@click.option("--duration", default=None, help="Stop after this much simulated time (e.g. 2h).")
@click.option(
    "--events", "max_events", type=click.IntRange(min=1), default=None, help="Stop after N events."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write JSON Lines to FILE instead of Kafka (unpaced; needs --duration or --events).",
)
@click.option(
    "--scenario",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The center as YAML (default: the built-in one; docs/simulator.md).",
)
@click.option("--no-progress", is_flag=True, help="No live status line (plain lines every 10 s).")
@click.pass_context
def simulate(
    ctx: click.Context,
    speed: float,
    start: str,
    rate: float | None,
    seed: int | None,
    incidents: tuple[str, ...],
    duration: str | None,
    max_events: int | None,
    out: Path | None,
    scenario: Path | None,
    no_progress: bool,
) -> None:
    """Produce a realistic contact center's traffic to the topics (docs/simulator.md)."""
    from stream_app.simulator.runner import SimulateOptions
    from stream_app.simulator.runner import run as run_simulation

    options = SimulateOptions(
        speed=speed,
        start=start,
        rate=rate,
        seed=seed,
        incidents=incidents,
        duration=duration,
        max_events=max_events,
        out=out,
        scenario=scenario,
        progress=not no_progress and sys.stdout.isatty(),
    )
    summary, verb = run_simulation(options, _settings(ctx))
    click.echo(summary.line(verb))


@cli.command("config")
def config_cmd() -> None:
    """Print every CCMON_* variable with its current value and meaning."""
    settings = load_settings()
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        click.echo(f"CCMON_{name.upper():<26} {value!s:<34} {field.description}")


def _one_line_errors(func: F) -> F:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UserError as exc:
            click.echo(f"ccmon: error: {exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


@_one_line_errors
def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    cli(standalone_mode=True)
