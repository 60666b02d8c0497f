"""The simulator's options as a person types them: incidents, start, durations, the time rule,
scenario files and --out, each mistake one clear line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from stream_app.cli import cli
from stream_app.errors import UserError
from stream_app.events import DEFAULT_MIN_TIME_MS, check_lines
from stream_app.settings import Settings
from stream_app.simulator.clock import LocalTime, Pacing, parse_duration, parse_start
from stream_app.simulator.incidents import parse_incident
from stream_app.simulator.runner import SimulateOptions, plan, write_file
from stream_app.simulator.scenario import default_scenario, load_scenario

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 14, 37, 5, tzinfo=UTC).timestamp()
UTC_LOCAL = LocalTime("UTC")
QUEUES = [q.name for q in default_scenario().queues]


def incident(spec: str, *, sim_start: float = NOW) -> tuple[str, str, float, float, float]:
    parsed = parse_incident(
        spec, relative_to=NOW, sim_start=sim_start, local=UTC_LOCAL, queues=QUEUES
    )
    return parsed.kind, parsed.queue, parsed.start - NOW, parsed.end - NOW, parsed.value


def test_incident_specs_parse_with_defaults() -> None:
    """The three kinds, relative and local times, shares and factors, with their defaults."""
    assert incident("abandon-spike:queue=billing,at=+10m,for=15m") == (
        "abandon-spike", "billing", 600.0, 1500.0, 0.05
    )  # fmt: skip
    assert incident("understaffed:queue=support,at=+5m,for=30m,agents=50%") == (
        "understaffed", "support", 300.0, 2100.0, 0.5
    )  # fmt: skip
    assert incident("surge:queue=sales,at=+0m,for=20m,factor=3") == (
        "surge", "sales", 0.0, 1200.0, 3.0
    )  # fmt: skip
    assert incident("surge:queue=sales,for=1h30m")[2:] == (0.0, 5400.0, 3.0)
    assert incident("understaffed:queue=tech,at=-20m,for=1h,agents=0.25")[2:] == (
        -1200.0, 2400.0, 0.25
    )  # fmt: skip
    # HH:MM is its first occurrence at or after the simulated start (here: tomorrow 09:00).
    _, _, start, _, _ = incident("abandon-spike:queue=billing,at=09:00,for=10m")
    assert datetime.fromtimestamp(NOW + start, UTC) == datetime(2026, 11, 24, 9, tzinfo=UTC)
    _, _, start, _, _ = incident("surge:queue=sales,at=15:00,for=10m")
    assert datetime.fromtimestamp(NOW + start, UTC) == datetime(2026, 11, 23, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("spike:queue=billing,for=1m", "unknown kind 'spike'"),
        ("surge", "missing key=value settings"),
        ("surge:queue=sales,for=10m,factor", "'factor' is not key=value"),
        ("surge:queue=sales,for=10m,agents=50%", "unknown key 'agents'"),
        ("surge:queue=sales,at=+1m", "for= is missing"),
        ("surge:queue=bills,for=10m", "queue=bills is no queue of the scenario"),
        ("surge:queue=sales,for=ten", "for=ten is not a duration"),
        ("surge:queue=sales,for=10m,at=10", "at=10 is not +DURATION"),
        ("surge:queue=sales,for=10m,at=24:00", "at=24:00 is not"),
        ("surge:queue=sales,for=10m,factor=x", "factor=x is not a number above 0"),
        ("understaffed:queue=support,for=10m,agents=150%", "agents=150% is not a share"),
        ("surge:queue=sales,for=1m,for=2m", "for given twice"),
    ],
)
def test_incident_spec_errors_are_one_line_with_an_example(spec: str, message: str) -> None:
    """A malformed spec names its bad part and shows a valid example, on one line."""
    with pytest.raises(UserError) as caught:
        incident(spec)
    text = str(caught.value)
    assert message in text
    assert "\n" not in text
    assert text.startswith(f"--incident {spec!r}: ")
    problem, example = text.split("; e.g. ")
    assert ":queue=" in example
    assert problem


def test_durations_and_starts() -> None:
    """Durations as people write them; start as now, today, -2h or ISO (naive = local)."""
    assert parse_duration("90s") == 90
    assert parse_duration("1h30m") == 5400
    assert parse_duration("2d") == 172_800
    assert parse_duration("45") == 45
    assert parse_duration("1x") is None
    assert parse_duration("m") is None
    assert parse_duration("-5m") is None
    assert parse_start("now", NOW, UTC_LOCAL) == NOW
    assert parse_start("-2h", NOW, UTC_LOCAL) == NOW - 7200
    assert parse_start("today", NOW, UTC_LOCAL) == datetime(2026, 11, 23, tzinfo=UTC).timestamp()
    bucharest = LocalTime("Europe/Bucharest")  # UTC+2 in November
    assert (
        parse_start("today", NOW, bucharest) == datetime(2026, 11, 22, 22, tzinfo=UTC).timestamp()
    )
    naive_local = parse_start("2026-11-23T08:00", NOW, bucharest)
    assert naive_local == datetime(2026, 11, 23, 6, tzinfo=UTC).timestamp()
    with_offset = parse_start("2026-11-23T08:00:00Z", NOW, bucharest)
    assert with_offset == datetime(2026, 11, 23, 8, tzinfo=UTC).timestamp()
    assert parse_start("yesterday", NOW, UTC_LOCAL) is None


def test_time_rule_fast_forwards_then_runs_live() -> None:
    """--start 6 h ago at speed 600: the past passes in 36 s, then the clock is the wall clock."""
    pacing = Pacing(sim_start=NOW - 6 * 3600, wall_start=NOW, speed=600)
    assert pacing.due(NOW - 3 * 3600) == pytest.approx(NOW + 18)
    assert pacing.sim_time(NOW + 18) == pytest.approx(NOW - 3 * 3600)
    assert pacing.sim_time(NOW + 36) == pytest.approx(NOW)
    assert pacing.sim_time(NOW + 100) == NOW + 100  # caught up: real time, never ahead
    assert pacing.due(NOW + 3600) == NOW + 3600
    live = Pacing(sim_start=NOW, wall_start=NOW, speed=1)
    assert live.due(NOW + 5) == NOW + 5
    assert live.sim_time(NOW + 5) == NOW + 5


def test_plan_errors_are_one_line() -> None:
    """Bad --start, --duration, and --out without a bound, each one clear line."""
    settings = Settings()
    cases = {
        SimulateOptions(start="noon"): "--start 'noon': use now, today",
        SimulateOptions(duration="soon"): "--duration 'soon': not a duration",
        SimulateOptions(out=Path("x.jsonl")): "--out writes a finite file",
    }
    for options, message in cases.items():
        with pytest.raises(UserError, match=message) as caught:
            plan(options, settings, wall_now=NOW)
        assert "\n" not in str(caught.value)


def test_rate_scales_the_center_and_ids_differ_per_run() -> None:
    """--rate sizes arrivals and agents (square-root staffing); runs differ in ids, reruns not."""
    settings = Settings()
    base = plan(SimulateOptions(seed=1), settings, wall_now=NOW)
    big = plan(SimulateOptions(seed=1, rate=2.0), settings, wall_now=NOW)
    scale = 2.0 / default_scenario().peak_events_per_s()
    assert big.scale == pytest.approx(scale)
    peak_rates = [q.peak_per_hour for q in big.simulation.scenario.queues]
    assert peak_rates == pytest.approx([q.peak_per_hour * scale for q in default_scenario().queues])
    agents = big.simulation.scenario.agent_count / default_scenario().agent_count
    assert 0.75 * scale < agents < 0.9 * scale  # bigger centers pool better: fewer spare agents
    assert big.simulation.tag != base.simulation.tag
    later = plan(SimulateOptions(seed=1), settings, wall_now=NOW + 1)
    assert later.simulation.tag != base.simulation.tag
    again = plan(SimulateOptions(seed=1), settings, wall_now=NOW)
    assert again.simulation.tag == base.simulation.tag


def test_out_writes_a_day_that_ccmon_check_accepts(tmp_path: Path) -> None:
    """--out --duration 1d: a weekday's events, all accepted by the worker's validator."""
    out = tmp_path / "day.jsonl"
    options = SimulateOptions(
        start="2026-11-16T00:00:00Z", duration="1d", seed=3, out=out, progress=False
    )
    summary = write_file(plan(options, Settings(), wall_now=NOW), out, progress=False)
    lines = out.read_bytes().splitlines()
    print(f"events in a simulated Monday: {len(lines)} ({dict(summary.by_type)})")
    assert summary.events == len(lines)
    assert 4000 < len(lines) < 9000
    assert summary.stopped_by == "duration"
    checked = check_lines(lines, min_time_ms=DEFAULT_MIN_TIME_MS, now_ms=int(NOW * 1000))
    assert checked.ok, checked.render_text()
    assert checked.accepted == len(lines)
    last = orjson.loads(lines[-1])
    assert last["occurred_at"] < "2026-11-17T00:00:00"


def test_cli_out_and_events_and_its_summary_line(tmp_path: Path) -> None:
    """`ccmon simulate --out F --events N` writes N lines and prints the per-type line."""
    out = tmp_path / "ten.jsonl"
    result = CliRunner().invoke(
        cli, ["simulate", "--start", "-1h", "--events", "10", "--seed", "4", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert len(out.read_bytes().splitlines()) == 10
    assert result.output.startswith("wrote 10 events (contact.started ")
    assert "stopped by events" in result.output


def test_scenario_yaml_loads_and_errors_are_one_line(tmp_path: Path) -> None:
    """A small center from YAML runs; a wrong field or an unserved queue is one line."""
    good = tmp_path / "small.yaml"
    good.write_text(
        """
name: small
customers: 500
queues:
  - {name: help, channel: chat, reasons: {login: 1}, peak_per_hour: 30,
     talk_s: 300, hold_s: 0, wrap_s: 30, patience_s: 300, resolve_p: 0.8}
teams:
  - name: solo
    skills: [help]
    shifts: [{start: "08:00", end: "17:00", agents: 4, lunch: "12:00"}]
"""
    )
    scenario = load_scenario(good)
    assert scenario.agent_count == 4
    assert scenario.queue("help").channel == "chat"
    bad_channel = tmp_path / "bad.yaml"
    bad_channel.write_text(good.read_text().replace("channel: chat", "channel: phone"))
    with pytest.raises(UserError, match=r"queues\.0\.channel") as caught:
        load_scenario(bad_channel)
    assert "\n" not in str(caught.value)
    unserved = tmp_path / "unserved.yaml"
    unserved.write_text(good.read_text().replace("skills: [help]", "skills: []"))
    with pytest.raises(UserError, match="queue help: no team serves it"):
        load_scenario(unserved)
