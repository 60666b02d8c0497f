"""Alertmanager configuration: valid for amtool, routes by severity and queue, inhibitions right."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from string import Template
from typing import Any

import pytest
import yaml

from stream_app.alerting.config import REPO_ROOT, load
from stream_app.alerting.rules import all_alerts

TEMPLATE = REPO_ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
EXAMPLE = REPO_ROOT / "deploy" / "alertmanager" / "examples" / "pagerduty-slack.yml"
WEBHOOK = "http://127.0.0.1:9099/alerts"
_MATCHER = re.compile(r'^\s*(\w+)\s*(=~|!~|!=|=)\s*"(.*)"\s*$')


def _amtool() -> str:
    for candidate in ("/usr/bin/amtool", shutil.which("amtool")):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.fail(
        "amtool not found: install it with 'apt-get install prometheus-alertmanager' "
        "(or run 'make bootstrap')",
        pytrace=False,
    )


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    """The template rendered as `ccmon stack up` does (string.Template, webhook URL only)."""
    path = tmp_path / "alertmanager.yml"
    path.write_text(Template(TEMPLATE.read_text()).substitute(webhook_url=WEBHOOK))
    return path


def _amtool_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_amtool(), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_template_has_only_the_webhook_placeholder(rendered: Path) -> None:
    """string.Template sees ${webhook_url} and nothing else; the URL lands in every receiver."""
    assert Template(TEMPLATE.read_text()).get_identifiers() == ["webhook_url"]
    config = yaml.safe_load(rendered.read_text())
    for receiver in config["receivers"]:
        for webhook in receiver["webhook_configs"]:
            assert webhook["url"] == WEBHOOK
            assert webhook["send_resolved"] is True


@pytest.mark.parametrize("name", ["rendered", "example"])
def test_amtool_check_config(name: str, rendered: Path) -> None:
    """`amtool check-config` accepts the rendered local config and the production example."""
    path = rendered if name == "rendered" else EXAMPLE
    result = _amtool_run("check-config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        ({"severity": "critical", "queue": "billing", "kpi": "abandonment"}, "oncall-critical"),
        ({"severity": "critical", "queue": "sales", "kpi": "service_level"}, "oncall-critical"),
        ({"severity": "critical", "component": "pipeline"}, "oncall-critical"),
        ({"severity": "warning", "queue": "sales", "kpi": "csat"}, "oncall-warning"),
        ({"severity": "warning", "component": "pipeline"}, "oncall-warning"),
        ({"severity": "warning", "queue": "billing", "kpi": "service_level"}, "billing-floor"),
        ({"alertname": "SomethingElse"}, "oncall-webhook"),
    ],
)
def test_routes(labels: dict[str, str], receiver: str, rendered: Path) -> None:
    """Critical alerts page on-call, warnings go to the warning receiver or the queue's team."""
    pairs = [f"{k}={v}" for k, v in labels.items()]
    result = _amtool_run(
        "config",
        "routes",
        "test",
        f"--config.file={rendered}",
        f"--verify.receivers={receiver}",
        *pairs,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        ({"severity": "critical", "queue": "billing"}, "pagerduty-ccmon"),
        ({"severity": "warning", "queue": "sales"}, "slack-ccmon"),
        ({"severity": "warning", "queue": "billing"}, "slack-billing-floor"),
    ],
)
def test_example_routes_pagerduty_and_slack(labels: dict[str, str], receiver: str) -> None:
    """The example pages PagerDuty for critical alerts and posts warnings to Slack."""
    pairs = [f"{k}={v}" for k, v in labels.items()]
    result = _amtool_run("config", "routes", "test", f"--config.file={EXAMPLE}", *pairs)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


def test_example_holds_no_secret() -> None:
    """Keys and webhook URLs come from files; the example names no key or hook URL."""
    text = EXAMPLE.read_text()
    assert "routing_key_file:" in text
    assert "slack_api_url_file:" in text
    assert "routing_key:" not in text
    assert "hooks.slack.com" not in text


# -- inhibition -----------------------------------------------------------------------------


def _matches(matchers: list[str], labels: dict[str, str]) -> bool:
    for matcher in matchers:
        parsed = _MATCHER.match(matcher)
        assert parsed, f"cannot read matcher {matcher!r}"
        name, op, value = parsed.groups()
        actual = labels.get(name, "")
        ok = {
            "=": actual == value,
            "!=": actual != value,
            "=~": re.fullmatch(value, actual) is not None,
            "!~": re.fullmatch(value, actual) is None,
        }[op]
        if not ok:
            return False
    return True


def _inhibits(rules: list[dict[str, Any]], source: dict[str, str], target: dict[str, str]) -> bool:
    """Alertmanager's rule: source and target matchers match, `equal` labels are equal."""
    return any(
        _matches(rule["source_matchers"], source)
        and _matches(rule["target_matchers"], target)
        and all(source.get(n, "") == target.get(n, "") for n in rule.get("equal", []))
        for rule in rules
    )


def _alert_labels(name: str, **extra: str) -> dict[str, str]:
    alert = next(a for a in all_alerts(load()) if a.name == name)
    return {"alertname": name, **alert.all_labels, **extra}


@pytest.mark.parametrize("path", [TEMPLATE, EXAMPLE], ids=["local", "example"])
def test_critical_mutes_the_warning_of_the_same_kpi_and_queue(path: Path) -> None:
    """ServiceLevelCritical on a queue mutes ServiceLevelLow there, and nothing else."""
    rules = yaml.safe_load(path.read_text())["inhibit_rules"]
    critical = _alert_labels("CcmonServiceLevelCritical", queue="billing")
    assert _inhibits(rules, critical, _alert_labels("CcmonServiceLevelLow", queue="billing"))
    assert not _inhibits(rules, critical, _alert_labels("CcmonServiceLevelLow", queue="sales"))
    assert not _inhibits(rules, critical, _alert_labels("CcmonCsatDrop", queue="billing"))
    spike = _alert_labels("CcmonAbandonmentSpike", queue="billing")
    assert not _inhibits(rules, spike, _alert_labels("CcmonServiceLevelLow", queue="billing"))
    # A critical alert is never muted.
    low = _alert_labels("CcmonServiceLevelLow", queue="billing")
    assert not _inhibits(rules, low, critical)


@pytest.mark.parametrize("path", [TEMPLATE, EXAMPLE], ids=["local", "example"])
def test_pipeline_critical_mutes_pipeline_warnings(path: Path) -> None:
    """A down or stalled worker mutes the lag and dead-letter warnings, not KPI warnings."""
    rules = yaml.safe_load(path.read_text())["inhibit_rules"]
    down = _alert_labels("CcmonWorkerDown", job="ccmon")
    assert _inhibits(rules, down, _alert_labels("CcmonProcessingLag", instance="w1"))
    assert _inhibits(rules, down, _alert_labels("CcmonDeadLetterRate"))
    assert not _inhibits(rules, down, _alert_labels("CcmonCsatDrop", queue="billing"))


def test_every_alert_is_routed_by_severity() -> None:
    """Each alert's severity has its own route, so nothing falls through to the default."""
    routes = yaml.safe_load(TEMPLATE.read_text())["route"]["routes"]
    routed = {m for r in routes for m in r["matchers"]}
    for alert in all_alerts(load()):
        assert f'severity="{alert.severity}"' in routed, alert.name
