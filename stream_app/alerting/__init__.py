"""Alerts and recording rules as code, generated from ``deploy/kpi-targets.yaml``.

:mod:`.config` validates the targets and thresholds, :mod:`.rules` defines every recording rule
and alert once, :mod:`.render` writes them for Prometheus and for Grafana, and
``python -m stream_app.alerting [--check]`` regenerates (or checks) the committed files.
See docs/alerts.md.
"""

from stream_app.alerting.config import ConfigError, KpiTargets, load
from stream_app.alerting.render import generate
from stream_app.alerting.rules import Alert, RecordingRule, alert_groups, recording_groups

__all__ = [
    "Alert",
    "ConfigError",
    "KpiTargets",
    "RecordingRule",
    "alert_groups",
    "generate",
    "load",
    "recording_groups",
]
