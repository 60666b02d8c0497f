"""Prometheus and Alertmanager of the local stack, from Debian's packages, on loopback.

Their configs live in ``deploy/`` as templates; the paths and ports of this machine's stack
are filled in at start and the rendered files kept beside the pid files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from string import Template

from stream_app.devstack.kafka import run_dir
from stream_app.devstack.procs import Service
from stream_app.errors import UserError
from stream_app.settings import REPO_ROOT, Settings

DEPLOY = REPO_ROOT / "deploy"


def _binary(names: tuple[str, ...], package: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise UserError(
        f"{names[0]} not found: install it with 'apt-get install {package}' "
        "(or run 'make bootstrap')"
    )


def targets_file(settings: Settings) -> Path:
    """The file_sd list of worker endpoints Prometheus scrapes."""
    return run_dir(settings) / "prometheus-targets.json"


def write_targets(settings: Settings, ports: list[int] | None = None) -> Path:
    """Point Prometheus at the workers' web ports (re-read within 5 s, no restart)."""
    path = targets_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    hosts = [f"{settings.web_host}:{p}" for p in (ports or [settings.web_port])]
    path.write_text(json.dumps([{"targets": hosts, "labels": {"stack": "local"}}]))
    return path


def prometheus_service(settings: Settings) -> Service:
    """Prometheus scraping the worker(s), evaluating ``deploy/prometheus/rules``."""
    binary = _binary(("prometheus",), "prometheus")
    run = run_dir(settings)
    run.mkdir(parents=True, exist_ok=True)
    if not targets_file(settings).exists():
        write_targets(settings)
    config = run / "prometheus.yml"
    config.write_text(
        Template((DEPLOY / "prometheus" / "prometheus.yml").read_text()).substitute(
            targets_file=targets_file(settings),
            rules_dir=settings.prometheus_rules_dir,
            alertmanager=f"127.0.0.1:{settings.alertmanager_port}",
            scrape_interval=f"{settings.scrape_interval_s}s",
        )
    )
    return Service(
        name="prometheus",
        argv=[
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={settings.home / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{settings.prometheus_port}",
            "--web.enable-lifecycle",
            "--storage.tsdb.retention.time=15d",
        ],
        run_dir=run,
        host="127.0.0.1",
        port=settings.prometheus_port,
    )


def alertmanager_service(settings: Settings) -> Service:
    """Alertmanager routing Prometheus alerts to the on-call webhook."""
    binary = _binary(("prometheus-alertmanager", "alertmanager"), "prometheus-alertmanager")
    run = run_dir(settings)
    run.mkdir(parents=True, exist_ok=True)
    config = run / "alertmanager.yml"
    config.write_text(
        Template((DEPLOY / "alertmanager" / "alertmanager.yml").read_text()).substitute(
            webhook_url=settings.alert_webhook_url
        )
    )
    return Service(
        name="alertmanager",
        argv=[
            binary,
            f"--config.file={config}",
            f"--storage.path={settings.home / 'alertmanager-data'}",
            f"--web.listen-address=127.0.0.1:{settings.alertmanager_port}",
            # A single local instance: no gossip port to collide with anything.
            "--cluster.listen-address=",
        ],
        run_dir=run,
        host="127.0.0.1",
        port=settings.alertmanager_port,
    )
