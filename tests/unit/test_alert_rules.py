"""Alerts and recording rules as code: generated files fresh, valid, tested, and Grafana in sync."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stream_app.alerting import config as targets
from stream_app.alerting.__main__ import main as generator_main
from stream_app.alerting.render import (
    ALERTS_FILE,
    ANY_SERIES,
    GRAFANA_DATASOURCE_UID,
    GRAFANA_FILE,
    RECORDING_FILE,
    generate,
    grafana_template,
)
from stream_app.alerting.rules import RUNBOOK_URL, all_alerts, recording_groups
from stream_app.kpi.formulas import KpiParams
from stream_app.settings import TARGET_FIELDS
from tests.kpi_families import exported_counters, missing_retractions, retracted_pairs

ROOT = targets.REPO_ROOT
RULE_FILES = [ROOT / RECORDING_FILE, ROOT / ALERTS_FILE]
PROMTOOL_TESTS = sorted((ROOT / "deploy" / "prometheus" / "tests").glob("*.yml"))
EXPECTED_ALERTS = {
    "CcmonAbandonmentSpike": "critical",
    "CcmonServiceLevelLow": "warning",
    "CcmonServiceLevelCritical": "critical",
    "CcmonCsatDrop": "warning",
    "CcmonNpsDrop": "warning",
    "CcmonPipelineStalled": "critical",
    "CcmonProcessingLag": "warning",
    "CcmonDeadLetterRate": "warning",
    "CcmonWorkerDown": "critical",
}


def _promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        pytest.fail("promtool not found: install it with 'apt-get install prometheus'", False)
    return found


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _prometheus_alerts() -> dict[str, dict[str, Any]]:
    groups = _load(ROOT / ALERTS_FILE)["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def _grafana_rules() -> dict[str, dict[str, Any]]:
    groups = _load(ROOT / GRAFANA_FILE)["groups"]
    return {rule["title"]: rule for group in groups for rule in group["rules"]}


def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(targets.CONFIG_PATH.read_text())
    return loaded


# -- generated files ------------------------------------------------------------------------


def test_generated_files_are_up_to_date() -> None:
    """The committed rule files are exactly what deploy/kpi-targets.yaml renders to."""
    for relative, text in generate(targets.load()).items():
        committed = (ROOT / relative).read_text() if (ROOT / relative).exists() else None
        assert committed == text, f"{relative} is stale: run python -m stream_app.alerting"


def test_check_mode_reports_stale_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--check` exits 1 while a file is missing, and 0 once the generator has written it."""
    assert generator_main(["--check", "--root", str(tmp_path)]) == 1
    assert "stale: deploy/prometheus/rules/ccmon-alerts.yml" in capsys.readouterr().err
    assert generator_main(["--root", str(tmp_path)]) == 0
    assert generator_main(["--check", "--root", str(tmp_path)]) == 0
    (tmp_path / GRAFANA_FILE).write_text("edited by hand\n")
    assert generator_main(["--check", "--root", str(tmp_path)]) == 1


def test_generation_is_deterministic() -> None:
    """Two renders of the same configuration are byte-identical (small diffs)."""
    config = targets.load()
    assert generate(config) == generate(config)


def test_old_health_rule_file_is_gone() -> None:
    """CcmonWorkerDown lives in the generated alerts file only (no second definition)."""
    assert not (ROOT / "deploy" / "prometheus" / "rules" / "ccmon-health.yml").exists()
    rule_files = sorted(p.name for p in (ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))
    assert rule_files == ["ccmon-alerts.yml", "ccmon-recording.yml"]
    expr = _prometheus_alerts()["CcmonWorkerDown"]["expr"]
    assert 'absent(up{job="ccmon"})' in expr
    assert 'up{job="ccmon"} == 0' in expr


# -- promtool -------------------------------------------------------------------------------


def test_promtool_check_rules() -> None:
    """`promtool check rules` accepts both generated rule files."""
    result = _run([_promtool(), "check", "rules", *map(str, RULE_FILES)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    """`promtool test rules deploy/prometheus/tests/*.yml` passes."""
    assert {p.name for p in PROMTOOL_TESTS} >= {
        "abandonment.yml",
        "service_level.yml",
        "surveys.yml",
        "pipeline.yml",
        "recording.yml",
    }
    result = _run([_promtool(), "test", "rules", *map(str, PROMTOOL_TESTS)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_on_both_sides_of_for() -> None:
    """Each alert has a promtool case where it fires, and an earlier one where it does not yet."""
    firing: dict[str, list[int]] = {}
    silent: dict[str, list[int]] = {}
    for path in PROMTOOL_TESTS:
        for case in _load(path).get("tests", []):
            for check in case.get("alert_rule_test", []):
                minutes = targets.duration_seconds(check["eval_time"]) // 60
                bucket = firing if check.get("exp_alerts") else silent
                bucket.setdefault(check["alertname"], []).append(minutes)
    for name in EXPECTED_ALERTS:
        assert name in firing, f"no promtool test where {name} fires"
        assert any(t < max(firing[name]) for t in silent.get(name, [])), (
            f"no promtool test where {name} is silent (pending) before it fires"
        )


# -- alert contents -------------------------------------------------------------------------


def test_alert_list_and_severities() -> None:
    """The alerts of the spec exist with their severities, and no other."""
    alerts = _prometheus_alerts()
    assert {name: rule["labels"]["severity"] for name, rule in alerts.items()} == EXPECTED_ALERTS


@pytest.mark.parametrize("name", sorted(EXPECTED_ALERTS))
def test_alert_has_labels_annotations_and_runbook(name: str) -> None:
    """Every alert has severity, a routing label, summary, description and its runbook anchor."""
    rule = _prometheus_alerts()[name]
    assert rule["labels"]["severity"] in {"critical", "warning"}
    assert ("kpi" in rule["labels"]) != ("component" in rule["labels"])
    for key in ("summary", "description", "runbook_url"):
        assert rule["annotations"].get(key, "").strip(), f"{name} has no {key}"
    assert rule["annotations"]["runbook_url"] == f"{RUNBOOK_URL}#{name.lower()}"
    assert targets.duration_seconds(rule["for"]) > 0


def _github_anchor(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_runbook_has_a_section_per_alert() -> None:
    """Every runbook_url anchor exists as a heading in docs/runbook.md."""
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    anchors = {_github_anchor(m) for m in re.findall(r"^#{1,6} (.+)$", runbook, re.MULTILINE)}
    for name, rule in _prometheus_alerts().items():
        anchor = rule["annotations"]["runbook_url"].split("#", 1)[1]
        assert anchor in anchors, f"docs/runbook.md has no section for {name} (#{anchor})"


def test_no_queue_threshold_is_written_into_an_alert() -> None:
    """Alert expressions look thresholds up per queue; no queue name or KPI number appears."""
    config = targets.load()
    for alert in all_alerts(config):
        assert "queue=" not in alert.expr, alert.name
        if "kpi" in alert.labels:
            assert not re.search(r"(?<![\w:.])0\.\d+|vector\(", alert.expr), alert.name


def test_recording_rule_names_follow_level_metric_operations() -> None:
    """Recording rules are named level:metric:operations, each name defined once per label set."""
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for group in recording_groups(targets.load()):
        for rule in group.rules:
            assert re.fullmatch(r"(default|queue):ccmon_[a-z_]+:[a-z0-9_]+", rule.record), (
                rule.record
            )
            key = (rule.record, tuple(sorted(rule.labels.items())))
            assert key not in seen, f"{rule.record} defined twice"
            seen.add(key)
    names = {record for record, _ in seen}
    for window in ("5m", "15m", "1h"):
        for kpi in ("abandonment", "service_level", "asa_seconds", "aht_seconds", "csat"):
            assert f"queue:ccmon_{kpi}:ratio_rate{window}" in names
        assert f"queue:ccmon_nps_score:ratio_rate{window}" in names
        assert f"queue:ccmon_fcr:ratio_rate{window}" in names


def test_kpi_rules_use_the_documented_metric_names() -> None:
    """Every ccmon_* metric the rules read is one docs/metrics.md lists."""
    documented = set(re.findall(r"`(ccmon_[a-z_]+)`", (ROOT / "docs" / "metrics.md").read_text()))
    text = (ROOT / RECORDING_FILE).read_text() + (ROOT / ALERTS_FILE).read_text()
    # Raw metrics only: a recording rule's middle part (queue:ccmon_x:...) follows a colon.
    used = set(re.findall(r"(?<![:\w])(ccmon_[a-z_]+)\b(?!:)", text))
    assert used, "no metric found in the rules"
    known = documented
    assert used <= known, f"not in docs/metrics.md: {sorted(used - known)}"


def test_survey_and_fcr_counts_are_net_of_retractions() -> None:
    """Every rule reading a CSAT, NPS or FCR counter also subtracts its _retracted_total."""
    pairs = retracted_pairs()
    assert {"ccmon_csat_satisfied_total", "ccmon_nps_promoters_total"} <= set(pairs)
    for group in recording_groups(targets.load()):
        for rule in group.rules:
            assert not missing_retractions(rule.expr), rule.record
            reads = re.findall(r"increase\(ccmon_\w+_retracted_total", rule.expr)
            filled = re.findall(
                r"increase\(ccmon_\w+_retracted_total[^\]]*\]\)\) or on\(", rule.expr
            )
            assert len(reads) == len(filled), f"{rule.record}: a retraction not zero-filled"
    for window in ("5m", "15m", "1h"):
        rules = {r.record: r.expr for g in recording_groups(targets.load()) for r in g.rules}
        assert (
            "ccmon_csat_satisfied_retracted_total" in rules[f"queue:ccmon_csat:ratio_rate{window}"]
        )
        assert (
            "ccmon_csat_responses_retracted_total"
            in rules[f"queue:ccmon_csat_responses:increase{window}"]
        )
        for name in ("promoters", "detractors"):
            assert (
                f"ccmon_nps_{name}_retracted_total"
                in rules[f"queue:ccmon_nps_score:ratio_rate{window}"]
            )
        assert (
            "ccmon_nps_responses_retracted_total"
            in rules[f"queue:ccmon_nps_responses:increase{window}"]
        )


# -- Grafana --------------------------------------------------------------------------------


def test_grafana_alerts_match_prometheus() -> None:
    """Grafana-managed rules have the same names, PromQL, for, labels and annotations."""
    prometheus, grafana = _prometheus_alerts(), _grafana_rules()
    assert set(grafana) == set(prometheus)
    for name, prom in prometheus.items():
        rule = grafana[name]
        query, math, condition = rule["data"]
        assert query["datasourceUid"] == GRAFANA_DATASOURCE_UID
        assert query["model"]["expr"] == prom["expr"], f"{name}: PromQL differs"
        assert query["model"]["instant"] is True
        assert rule["for"] == prom["for"]
        assert rule["labels"] == prom["labels"]
        assert rule["annotations"] == {
            k: grafana_template(v) for k, v in prom["annotations"].items()
        }
        # The condition is "the query returned a series", so thresholds live in the PromQL only.
        assert math["model"]["expression"] == ANY_SERIES
        assert rule["condition"] == condition["refId"]
        assert condition["model"]["expression"] == math["refId"]
        assert condition["model"]["conditions"][0]["evaluator"] == {"type": "gt", "params": [0]}
        assert rule["noDataState"] == "OK"
        assert len(rule["uid"]) <= 40


def test_grafana_provisioning_format() -> None:
    """The file is Grafana alert provisioning (apiVersion 1, groups in a folder, unique uids)."""
    document = _load(ROOT / GRAFANA_FILE)
    assert document["apiVersion"] == 1
    uids = []
    for group in document["groups"]:
        assert group["orgId"] == 1
        assert group["folder"]
        assert group["interval"]
        uids += [rule["uid"] for rule in group["rules"]]
    assert len(uids) == len(set(uids))


def test_grafana_uses_the_same_thresholds() -> None:
    """Grafana's rules read threshold series whose defaults come from deploy/kpi-targets.yaml."""
    recording = (ROOT / RECORDING_FILE).read_text()
    pattern = r"\b(?:default|queue):(ccmon_\w+:(?:ratio|factor|count|score))\b"
    for name, rule in _grafana_rules().items():
        expr = rule["data"][0]["model"]["expr"]
        if "kpi" in rule["labels"]:
            assert re.search(pattern, expr), f"{name} reads no threshold series"
        for series in re.findall(pattern, expr):
            # queue:<t> exists only for overridden queues; the default must always be recorded.
            assert f"record: default:{series}" in recording, f"{name}: default:{series} missing"


# -- the configuration ----------------------------------------------------------------------


def test_config_values_become_threshold_series() -> None:
    """Defaults and per-queue overrides of the config are rendered as threshold series."""
    document = _document()
    document["kpis"]["abandonment"]["spike_floor"] = 0.15
    document["queues"]["sales"] = {"csat": {"floor": 0.6, "target": 0.7}}
    rules = {
        (r.record, tuple(r.labels.items())): r.expr
        for g in recording_groups(targets.parse(document))
        for r in g.rules
    }
    assert rules[("default:ccmon_abandonment_spike_floor:ratio", ())] == "vector(0.15)"
    assert rules[("queue:ccmon_csat_floor:ratio", (("queue", "sales"),))] == "vector(0.6)"
    assert rules[("queue:ccmon_service_level_target:ratio", (("queue", "billing"),))] == (
        "vector(0.9)"
    )


def test_billing_override_is_in_the_committed_config() -> None:
    """billing has its own service-level target and floors; other queues use the defaults."""
    config = targets.load()
    assert config.value("service_level", "target", "billing") == 0.9
    assert config.value("service_level", "target", "sales") == 0.8
    assert config.value("service_level", "warning_floor") == 0.7
    assert config.value("abandonment", "spike_factor") == 2.0


def test_default_targets_match_the_kpi_parameters() -> None:
    """The default targets here are the worker's KpiParams targets (one set of defaults), under
    the one mapping of KpiParams field -> KPI name that the settings use (TARGET_FIELDS)."""
    config, params = targets.load(), KpiParams()
    assert set(TARGET_FIELDS.values()) == {e.kpi for e in targets.PER_QUEUE}
    for name, kpi in TARGET_FIELDS.items():
        assert config.value(kpi, "target") == getattr(params, name), kpi


def _edit(path: tuple[str, ...], value: object) -> dict[str, Any]:
    document = copy.deepcopy(_document())
    node = document
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("kpis", "csat", "floor"), 1.5, "kpis.csat.floor: must be between 0 and 1"),
        (("kpis", "csat", "flor"), 0.5, "unknown key(s) flor"),
        (("kpis", "nps", "min_responses"), 2.5, "must be a whole number"),
        (("kpis", "service_level", "window"), "7m", "is not one of windows"),
        (("kpis", "service_level", "for"), "soon", "must be a duration"),
        (("kpis", "abandonment", "short_window"), "1h", "must be shorter than"),
        (
            ("queues", "sales", "service_level"),
            {"warning_floor": 0.9},
            "queues.sales.service_level",
        ),
        (("queues", "sales", "csat"), {"window": "15m"}, "windows and `for` are not per queue"),
        (("pipeline", "dead_letter", "ratio"), True, "must be a number"),
    ],
)
def test_invalid_config_is_one_clear_line(
    path: tuple[str, ...], value: object, message: str
) -> None:
    """A wrong value in deploy/kpi-targets.yaml stops with one line naming the key."""
    with pytest.raises(targets.ConfigError) as caught:
        targets.parse(_edit(path, value))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_generator_exits_2_on_invalid_config(tmp_path: Path) -> None:
    """`python -m stream_app.alerting` reports a bad config with exit code 2, writing nothing."""
    bad = tmp_path / "kpi-targets.yaml"
    bad.write_text("windows: [5m]\n")
    assert generator_main(["--config", str(bad), "--root", str(tmp_path)]) == 2
    assert not (tmp_path / "deploy").exists()


def test_every_exported_kpi_counter_is_documented() -> None:
    """docs/metrics.md lists every KPI counter family a worker exports, retractions included."""
    documented = set(re.findall(r"`(ccmon_[a-z_]+)`", (ROOT / "docs" / "metrics.md").read_text()))
    assert exported_counters() - documented == set()
