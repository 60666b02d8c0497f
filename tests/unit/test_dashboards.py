"""Dashboards as code: committed JSON fresh, every query on the ccmon datasource and documented
metrics, valid PromQL that reproduces the spec's seed examples, a wallboard that fits a TV."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from stream_app.alerting import config as targets
from stream_app.alerting.promql import number
from stream_app.dashboards import BUILDERS, OUTPUT_DIR, REPO_ROOT, common, generate, wallboard
from stream_app.dashboards.__main__ import main as generator_main
from tests.kpi_families import missing_retractions, retracted_pairs

METRICS_DOC = REPO_ROOT / "docs" / "metrics.md"
METRIC_NAME = re.compile(r"ccmon_[a-z_]+")
UIDS = {"ccmon-wallboard", "ccmon-overview", "ccmon-drilldown", "ccmon-pipeline"}
# What Grafana puts in for its built-in variables, and "all values" for the template variables.
SUBSTITUTIONS = {
    "__rate_interval": "1m",
    "__range": "15m",
    "__interval": "15s",
    "queue": ".*",
    "team": ".*",
    "agent": ".*",
    "channel": ".*",
}
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


def dashboards(config: targets.KpiTargets | None = None) -> dict[str, dict[str, Any]]:
    """Freshly generated dashboards by uid (default: the committed targets file), as Grafana
    reads them."""
    files = generate(config or targets.load())
    return {path.stem: json.loads(text) for path, text in files.items()}


def kpis() -> dict[str, common.Kpi]:
    """The KPIs as drawn with the committed targets file."""
    return common.kpis(targets.load())


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel that is not a row (rows of this project are expanded: no nested panels)."""
    for panel in dashboard["panels"]:
        assert not panel.get("panels"), f"{panel.get('title')}: nested panels"
        if panel["type"] != "row":
            yield panel


def exprs(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(panel title, expr) of every target."""
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield panel["title"], target.get("expr", "")


def substitute(expr: str, values: dict[str, str]) -> str:
    """The expression with Grafana's variables replaced as Grafana would."""

    def one(match: re.Match[str]) -> str:
        return values[match.group(1) or match.group(2)]

    return VARIABLE.sub(one, expr)


def documented_metrics() -> set[str]:
    """Metric names in the tables of docs/metrics.md (first column), with histogram series and
    the ``_retracted_total`` companions the agent row announces."""
    names: set[str] = set()
    histograms: set[str] = set()
    companions: list[str] = []
    section = ""
    for line in METRICS_DOC.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
            continue
        if not line.startswith("|") or set(line) <= set("|- "):
            continue
        first = line.split("|")[1]
        found = set(re.findall(r"`(ccmon_[a-z_]+)`", first))
        names |= found
        if section == "Histograms":
            histograms |= found
        if "their `_retracted_total`" in line:
            companions += sorted(found)
    for name in histograms:
        names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    for name in companions:
        queue_level = "ccmon_" + name.removeprefix("ccmon_agent_")
        if queue_level.removesuffix("_total") + "_retracted_total" in names:
            names.add(name.removesuffix("_total") + "_retracted_total")
    return names


def _promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        pytest.fail("promtool not found: install it with 'apt-get install prometheus'", False)
    return found


# -- generation ----------------------------------------------------------------------------------


def test_committed_json_equals_generated() -> None:
    """Every grafana/dashboards/<uid>.json equals what `python -m stream_app.dashboards` writes."""
    stale = [
        str(path)
        for path, text in generate(targets.load()).items()
        if not (REPO_ROOT / path).is_file() or (REPO_ROOT / path).read_text() != text
    ]
    assert not stale, f"stale (run: python -m stream_app.dashboards): {stale}"


def test_no_uncommitted_extra_dashboard_files() -> None:
    """grafana/dashboards holds exactly the generated dashboards (nothing left from a rename)."""
    on_disk = {p.name for p in (REPO_ROOT / OUTPUT_DIR).glob("*.json")}
    assert on_disk == {p.name for p in generate(targets.load())}


def test_generation_is_stable_sorted_and_newline_terminated() -> None:
    """Two runs give the same text: sorted keys, indent 2, one trailing newline."""
    first, second = generate(targets.load()), generate(targets.load())
    assert first == second
    for text in first.values():
        assert text.endswith("}\n")
        assert not text.endswith("\n\n")
        assert text == json.dumps(json.loads(text), sort_keys=True, indent=2) + "\n"


def test_check_flag_fails_on_stale_and_passes_after_writing(tmp_path: Path) -> None:
    """`--check` exits 1 on a missing or edited file, 0 once the generator has written them."""
    assert generator_main(["--check", "--root", str(tmp_path)]) == 1
    assert generator_main(["--root", str(tmp_path)]) == 0
    assert generator_main(["--check", "--root", str(tmp_path)]) == 0
    edited = tmp_path / OUTPUT_DIR / "ccmon-wallboard.json"
    edited.write_text(edited.read_text().replace('"5s"', '"1m"'))
    assert generator_main(["--check", "--root", str(tmp_path)]) == 1


# -- every dashboard -----------------------------------------------------------------------------


def test_every_dashboard_has_its_fixed_uid_and_a_title() -> None:
    """The four dashboards have their fixed uids (also their file names), titles and the tag."""
    generated = dashboards()
    assert set(generated) == UIDS == set(BUILDERS)
    for uid, dashboard in generated.items():
        assert dashboard["uid"] == uid
        assert dashboard["title"].strip()
        assert "ccmon" in dashboard["tags"]
        assert "id" not in dashboard, "a provisioned dashboard carries no instance id"


def test_every_panel_queries_the_ccmon_datasource() -> None:
    """Each panel uses datasource ccmon-prometheus and has a target with a non-empty expr."""
    for uid, dashboard in dashboards().items():
        for panel in panels(dashboard):
            where = f"{uid}/{panel['title']}"
            assert panel["datasource"] == {"type": "prometheus", "uid": "ccmon-prometheus"}, where
            targets = panel.get("targets", [])
            assert any(t.get("expr", "").strip() for t in targets), where
            for target in targets:
                assert target["datasource"]["uid"] == "ccmon-prometheus", where
            assert len({t["refId"] for t in targets}) == len(targets), f"{where}: refIds"


def test_panel_ids_are_unique_and_panels_stay_in_the_grid() -> None:
    """Panel ids are unique per dashboard and no panel sticks out of the 24 columns."""
    for uid, dashboard in dashboards().items():
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids)), uid
        for panel in dashboard["panels"]:
            pos = panel["gridPos"]
            assert 0 <= pos["x"] < pos["x"] + pos["w"] <= 24, f"{uid}/{panel.get('title')}"


def test_metrics_doc_parses_to_the_known_families() -> None:
    """The doc parser finds counters, gauges, histogram series and agent retractions."""
    names = documented_metrics()
    for expected in (
        "ccmon_offered_total",
        "ccmon_queue_waiting_contacts",
        "ccmon_wait_seconds_bucket",
        "ccmon_events_rejected_total",
        "ccmon_agent_fcr_issues_retracted_total",
        "ccmon_fcr_withdrawn_retracted_total",
    ):
        assert expected in names
    assert "ccmon_agent_handled_retracted_total" not in names


def test_every_metric_used_is_in_docs_metrics_md() -> None:
    """Every `ccmon_*` name in any expression or variable query is documented."""
    documented = documented_metrics()
    used: dict[str, str] = {}
    for uid, dashboard in dashboards().items():
        texts = [(title, expr) for title, expr in exprs(dashboard)]
        texts += [
            (f"${v['name']}", v.get("query", "")) for v in dashboard["templating"].get("list", [])
        ]
        for title, text in texts:
            for name in METRIC_NAME.findall(text):
                used.setdefault(name, f"{uid}/{title}")
    known = documented
    missing = {name: where for name, where in used.items() if name not in known}
    assert not missing, f"not in docs/metrics.md: {missing}"


def test_survey_and_fcr_counts_are_net_of_retractions() -> None:
    """Every panel reading a CSAT, NPS or FCR counter (queue or agent family) also subtracts
    its _retracted_total, zero-filled: a missing retraction series must not blank a panel."""
    read: set[str] = set()
    for uid, dashboard in dashboards().items():
        for title, expr in exprs(dashboard):
            assert not missing_retractions(expr), f"{uid}/{title}"
            read |= {name for name in retracted_pairs().values() if name in expr}
            reads = re.findall(r"increase\(ccmon_\w+_retracted_total", expr)
            filled = re.findall(r"increase\(ccmon_\w+_retracted_total[^\]]*\]\)\) or on\(", expr)
            assert len(reads) == len(filled), f"{uid}/{title}: a retraction not zero-filled"
    assert read == set(retracted_pairs().values())


def test_every_expression_is_valid_promql(tmp_path: Path) -> None:
    """`promtool check rules` parses every expression (variables substituted) as a rule."""
    rules = [
        {"record": f"dashboard:expr_{i}:check", "expr": substitute(expr, SUBSTITUTIONS)}
        for i, (_, expr) in enumerate(
            e for dashboard in dashboards().values() for e in exprs(dashboard)
        )
    ]
    path = tmp_path / "exprs.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run(
        [_promtool(), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_targets_come_from_deploy_kpi_targets_yaml() -> None:
    """The colour thresholds and target lines use the targets of deploy/kpi-targets.yaml."""
    config = yaml.safe_load(targets.CONFIG_PATH.read_text())
    assert set(kpis()) == set(config["kpis"])
    for key, kpi in kpis().items():
        assert kpi.target == pytest.approx(config["kpis"][key]["target"]), key
    steps = {p["title"]: p for p in panels(dashboards()["ccmon-pipeline"])}
    lag = steps["Processing lag"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    dead = steps["Dead-letter ratio"]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert lag[1]["value"] == config["pipeline"]["processing_lag"]["seconds"]
    assert dead[1]["value"] == config["pipeline"]["dead_letter"]["ratio"]


def _edited_config(tmp_path: Path) -> Path:
    """A copy of the targets file with other targets and pipeline levels, written to tmp_path."""
    document = yaml.safe_load(targets.CONFIG_PATH.read_text())
    document["kpis"]["csat"]["target"] = 0.85
    document["kpis"]["asa"]["target"] = 45
    document["pipeline"]["processing_lag"]["seconds"] = 90
    document["pipeline"]["job"] = "ccmon-prod"
    path = tmp_path / "kpi-targets.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _steps(panel: dict[str, Any]) -> list[Any]:
    return [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]


def test_a_non_default_target_changes_the_dashboards(tmp_path: Path) -> None:
    """Another target in another targets file moves the wallboard threshold and target lines."""
    edited = dashboards(targets.load(_edited_config(tmp_path)))
    tiles = {t["title"]: t for t in panels(edited["ccmon-wallboard"])}
    assert _steps(tiles["CSAT"]) == [None, 0.85]
    assert _steps(tiles["Service level"]) == [None, 0.8]
    trends = {p["title"]: p for p in panels(edited["ccmon-overview"])}
    lines = {t["expr"] for t in trends["ASA"]["targets"] if t["expr"].startswith("vector(")}
    assert lines == {"vector(45)"}
    health = {p["title"]: p for p in panels(edited["ccmon-pipeline"])}
    assert _steps(health["Processing lag"]) == [None, 90]
    ups = [e for _, e in exprs(edited["ccmon-pipeline"]) if "up{" in e]
    assert ups == ['sum(up{job="ccmon-prod"})', 'up{job="ccmon-prod"}']
    assert _steps({p["title"]: p for p in panels(dashboards()["ccmon-wallboard"])}["CSAT"]) == [
        None,
        0.8,
    ]


def test_config_option_renders_another_targets_file(tmp_path: Path) -> None:
    """`--config PATH` renders that file: the committed JSON is then stale, and is written."""
    path = _edited_config(tmp_path)
    root = tmp_path / "root"
    assert generator_main(["--root", str(root)]) == 0
    assert generator_main(["--check", "--config", str(path), "--root", str(root)]) == 1
    assert generator_main(["--config", str(path), "--root", str(root)]) == 0
    board = json.loads((root / OUTPUT_DIR / "ccmon-wallboard.json").read_text())
    assert _steps({p["title"]: p for p in panels(board)}["CSAT"]) == [None, 0.85]


def test_bad_config_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing or invalid targets file: exit 2, one `error:` line, nothing written."""
    missing = tmp_path / "nope.yaml"
    assert generator_main(["--config", str(missing), "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read ")
    assert str(missing) in err
    assert err.count("\n") == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("windows: [5m]\n")
    assert generator_main(["--config", str(bad), "--root", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / OUTPUT_DIR).exists()


def test_provisioning_points_at_the_datasource_uid_and_the_dashboards_folder() -> None:
    """The provisioned datasource has the panels' uid and the file provider loads the output."""
    provisioning = REPO_ROOT / "grafana" / "provisioning"
    sources = yaml.safe_load((provisioning / "datasources" / "ccmon.yaml").read_text())
    [source] = sources["datasources"]
    assert source["uid"] == common.DATASOURCE_UID
    assert source["type"] == "prometheus"
    assert source["isDefault"] is True
    providers = yaml.safe_load((provisioning / "dashboards" / "ccmon.yaml").read_text())
    [provider] = providers["providers"]
    assert provider["type"] == "file"
    assert Path(provider["options"]["path"]) == OUTPUT_DIR


# -- the wallboard -------------------------------------------------------------------------------


def test_wallboard_fits_a_1080p_screen_with_four_queues() -> None:
    """One repeated row of tiles across 24 columns; 4 queues fit the kiosk screen's height."""
    board = dashboards()["ccmon-wallboard"]
    rows = [p for p in board["panels"] if p["type"] == "row"]
    assert [r.get("repeat") for r in rows] == ["queue"]
    assert rows[0]["collapsed"] is False
    tiles = list(panels(board))
    assert sum(t["gridPos"]["w"] for t in tiles) == 24
    assert {t["gridPos"]["y"] for t in tiles} == {rows[0]["gridPos"]["y"] + 1}
    block = rows[0]["gridPos"]["h"] + max(t["gridPos"]["h"] for t in tiles)
    assert wallboard.QUEUES_ON_SCREEN * block <= wallboard.SCREEN_GRID_UNITS
    # Grafana's grid: 30 px per unit + 8 px margin; kiosk pads the page by 16 px top and bottom.
    assert wallboard.QUEUES_ON_SCREEN * block * 38 - 8 + 32 <= 1080
    assert board["refresh"] == "5s"
    assert board["time"] == {"from": "now/d", "to": "now"}


def test_wallboard_tiles_have_thresholds_at_the_targets() -> None:
    """Every tile is coloured by thresholds; each KPI tile has a step at its target."""
    by_title = {kpi.title: kpi for kpi in kpis().values()}
    tiles = list(panels(dashboards()["ccmon-wallboard"]))
    assert [t["title"] for t in tiles] == [
        "Contacts waiting",
        "Longest wait",
        "Service level",
        "Abandonment",
        "AHT",
        "CSAT",
        "NPS",
        "FCR",
    ]
    for tile in tiles:
        defaults = tile["fieldConfig"]["defaults"]
        steps = defaults["thresholds"]["steps"]
        assert steps, tile["title"]
        assert steps[0]["value"] is None, tile["title"]
        assert defaults["color"]["mode"] == "thresholds"
        assert tile["options"]["colorMode"] == "background"
        if tile["title"] in by_title:
            assert by_title[tile["title"]].target in [s["value"] for s in steps], tile["title"]


def test_wallboard_kpi_tiles_show_today_and_the_last_15_minutes() -> None:
    """Each KPI tile has a "today" target over $__range and a "15 min" target over [15m]."""
    for tile in list(panels(dashboards()["ccmon-wallboard"]))[2:]:
        targets = {t["legendFormat"]: t for t in tile["targets"]}
        assert set(targets) == {"today", "15 min"}, tile["title"]
        assert "[$__range]" in targets["today"]["expr"]
        assert "[15m]" in targets["15 min"]["expr"]
        assert all(t["instant"] for t in targets.values())


# -- overview and drill-down ---------------------------------------------------------------------


def test_overview_kpis_have_target_and_benchmark_lines() -> None:
    """Each KPI trend has a target line, and a benchmark line where one is cited."""
    by_title = {kpi.title: kpi for kpi in kpis().values()}
    seen = set()
    for panel in panels(dashboards()["ccmon-overview"]):
        kpi = by_title.get(panel["title"])
        if kpi is None:
            continue
        seen.add(kpi.key)
        lines = {t["expr"] for t in panel["targets"] if t["expr"].startswith("vector(")}
        expected = {f"vector({number(v)})" for v in (kpi.target, *kpi.benchmarks)}
        assert lines == expected, panel["title"]
    assert seen == set(kpis())


def test_drilldown_has_queue_team_agent_channel_variables() -> None:
    """The drill-down's variables chain queue -> team -> agent as label_values queries."""
    variables = {v["name"]: v for v in dashboards()["ccmon-drilldown"]["templating"]["list"]}
    assert list(variables) == ["queue", "team", "agent", "channel"]
    assert variables["queue"]["query"] == "label_values(ccmon_offered_total, queue)"
    assert variables["team"]["query"] == (
        'label_values(ccmon_agent_handled_total{queue=~"$queue"}, team)'
    )
    assert variables["agent"]["query"] == (
        'label_values(ccmon_agent_handled_total{queue=~"$queue", team=~"$team"}, agent)'
    )
    assert "channel)" in variables["channel"]["query"]
    for variable in variables.values():
        assert variable["datasource"]["uid"] == "ccmon-prometheus"
        assert variable["multi"] is True
        assert variable["includeAll"] is True
        assert variable["allValue"] == ".*"


def test_drilldown_links_a_queue_to_itself_and_a_team_to_its_agents() -> None:
    """A queue cell links to this dashboard filtered by it; a team cell to that team's agents."""
    urls: list[str] = []
    for panel in panels(dashboards()["ccmon-drilldown"]):
        for override in panel["fieldConfig"]["overrides"]:
            for prop in override["properties"]:
                if prop["id"] == "links":
                    urls += [link["url"] for link in prop["value"]]
    queue = [u for u in urls if "var-queue=${__data.fields.queue}" in u]
    team = [u for u in urls if "var-team=${__data.fields.team}" in u and "var-agent=$__all" in u]
    assert queue
    assert team
    for url in queue + team:
        assert url.startswith("/d/ccmon-drilldown?")
        assert "${__url_time_range}" in url


def test_every_query_filters_by_the_variables() -> None:
    """Overview and drill-down KPI queries honour $queue and $channel (regex match for "All")."""
    for uid in ("ccmon-overview", "ccmon-drilldown"):
        for title, expr in exprs(dashboards()[uid]):
            if expr.startswith("vector(") or "ccmon_wait_seconds" in expr:
                continue
            assert 'queue=~"$queue"' in expr, (uid, title)
            assert 'channel=~"$channel"' in expr, (uid, title)
            assert '="$' not in expr, (uid, title)


# -- the PromQL against the spec's seed examples ------------------------------------------------


def wallboard_exprs() -> dict[str, str]:
    """The wallboard's "15 min" expression of each tile by title (the live tiles: their only)."""
    out = {}
    for tile in panels(dashboards()["ccmon-wallboard"]):
        target = next(t for t in tile["targets"] if t["legendFormat"] != "today")
        out[tile["title"]] = substitute(target["expr"], SUBSTITUTIONS)
    return out


SERIES: dict[str, str] = {
    # q1: 80 answered (60 within the threshold), 20 abandoned, no short abandon ever counted
    # (that counter has no series: the zero-fill must keep q1), 100 handled in 1000 min, CSAT
    # 7 satisfied of 10, NPS 50 promoters / 10 detractors of 100, FCR 80 of 100 issues.
    'ccmon_answered_total{queue="q1",channel="voice"}': "0+8x20",
    'ccmon_answered_within_sl_total{queue="q1",channel="voice"}': "0+6x20",
    'ccmon_abandoned_total{queue="q1",channel="voice"}': "0+2x20",
    'ccmon_handled_total{queue="q1",channel="voice"}': "0+10x20",
    'ccmon_handle_seconds_total{queue="q1",channel="voice"}': "0+6000x20",
    'ccmon_csat_responses_total{queue="q1",channel="voice",scale="5"}': "0+10x20",
    'ccmon_csat_satisfied_total{queue="q1",channel="voice",scale="5"}': "0+7x20",
    'ccmon_nps_responses_total{queue="q1",channel="voice"}': "0+100x20",
    'ccmon_nps_promoters_total{queue="q1",channel="voice"}': "0+50x20",
    'ccmon_nps_detractors_total{queue="q1",channel="voice"}': "0+10x20",
    'ccmon_fcr_issues_total{queue="q1",channel="voice"}': "0+100x20",
    'ccmon_fcr_resolved_first_total{queue="q1",channel="voice"}': "0+80x20",
    'ccmon_offered_total{queue="q1",channel="voice"}': "0+10x20",
    'ccmon_queue_waiting_contacts{queue="q1"}': "3x20",
    'ccmon_queue_longest_wait_seconds{queue="q1"}': "42x20",
    # q2 over two channels: answers only, all within the threshold; 10 FCR issues of which 5
    # resolved first, 2 of them withdrawn, 1 withdrawal retracted: (5 - 2 + 1) / 10.
    'ccmon_answered_total{queue="q2",channel="chat"}': "0+3x20",
    'ccmon_answered_within_sl_total{queue="q2",channel="chat"}': "0+3x20",
    'ccmon_answered_total{queue="q2",channel="email"}': "0+2x20",
    'ccmon_answered_within_sl_total{queue="q2",channel="email"}': "0+2x20",
    'ccmon_fcr_issues_total{queue="q2",channel="chat"}': "0+10x20",
    'ccmon_fcr_resolved_first_total{queue="q2",channel="chat"}': "0+5x20",
    'ccmon_fcr_withdrawn_total{queue="q2",channel="chat"}': "0+2x20",
    'ccmon_fcr_withdrawn_retracted_total{queue="q2",channel="chat"}': "0+1x20",
    'ccmon_offered_total{queue="q2",channel="chat"}': "0+5x20",
    # q2's surveys: 10 CSAT answers, 9 satisfied, of which 2 satisfied ones were taken away
    # again (moved to the queue of their contact): (9 - 2) / (10 - 2) = 0.875, not 0.9. NPS:
    # 10 answers, 6 promoters and 1 detractor, 2 promoters taken away: 100 * (4 - 1) / 8.
    # q1 has no retraction series at all: its CSAT and NPS must not go blank.
    'ccmon_csat_responses_total{queue="q2",channel="chat",scale="5"}': "0+10x20",
    'ccmon_csat_satisfied_total{queue="q2",channel="chat",scale="5"}': "0+9x20",
    'ccmon_csat_responses_retracted_total{queue="q2",channel="chat",scale="5"}': "0+2x20",
    'ccmon_csat_satisfied_retracted_total{queue="q2",channel="chat",scale="5"}': "0+2x20",
    'ccmon_nps_responses_total{queue="q2",channel="chat"}': "0+10x20",
    'ccmon_nps_promoters_total{queue="q2",channel="chat"}': "0+6x20",
    'ccmon_nps_detractors_total{queue="q2",channel="chat"}': "0+1x20",
    'ccmon_nps_responses_retracted_total{queue="q2",channel="chat"}': "0+2x20",
    'ccmon_nps_promoters_retracted_total{queue="q2",channel="chat"}': "0+2x20",
    # q3: contacts offered, nothing else yet: no KPI sample (never 0), nobody waiting (0).
    'ccmon_offered_total{queue="q3",channel="voice"}': "0+1x20",
}
EXPECTED: dict[str, dict[str, float]] = {
    "Contacts waiting": {"q1": 3, "q2": 0, "q3": 0},
    "Longest wait": {"q1": 42, "q2": 0, "q3": 0},
    "Service level": {"q1": 0.6, "q2": 1},
    "Abandonment": {"q1": 0.2, "q2": 0},
    "AHT": {"q1": 600},
    "CSAT": {"q1": 0.7, "q2": 0.875},
    "NPS": {"q1": 40, "q2": 37.5},
    "FCR": {"q1": 0.8, "q2": 0.4},
}


def test_wallboard_promql_reproduces_the_seed_examples(tmp_path: Path) -> None:
    """On synthetic counters, `promtool test rules` gets the spec's seed KPIs from the tiles."""
    queries = wallboard_exprs()
    assert set(EXPECTED) == set(queries)
    test = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in SERIES.items()],
                "promql_expr_test": [
                    {
                        "expr": queries[title],
                        "eval_time": "18m",
                        "exp_samples": [
                            {"labels": f'{{queue="{queue}"}}', "value": value}
                            for queue, value in expected.items()
                        ],
                    }
                    for title, expected in EXPECTED.items()
                ],
            }
        ],
    }
    path = tmp_path / "wallboard_test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    result = subprocess.run(
        [_promtool(), "test", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
