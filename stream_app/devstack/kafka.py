"""The local Apache Kafka brokers: jars from Maven Central, KRaft storage, nodes on loopback.

No Docker: Maven resolves ``org.apache.kafka:kafka_2.13`` with its dependencies into a cache
outside the repo, the storage tool formats a KRaft log dir once, and ``kafka.Kafka`` runs as a
background service (see :mod:`stream_app.devstack.procs`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from string import Template

from stream_app.devstack.procs import Service
from stream_app.errors import UserError
from stream_app.kafka_admin import broker_answers
from stream_app.settings import REPO_ROOT, Settings

KAFKA_DEPLOY = REPO_ROOT / "deploy" / "kafka"


def java_binary() -> str:
    """Path of a Java 17+ ``java``, or a one-line error saying how to get one."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise UserError(
            "java not found (PATH or JAVA_HOME): install Java 17+, e.g. "
            "'apt-get install openjdk-17-jre-headless'"
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)', out)
    if match is None or int(match.group(1)) < 17:
        raise UserError(
            f"{java} is not Java 17 or newer ({out.splitlines()[:1]}): install Java 17+"
        )
    return java


def jars_dir(settings: Settings) -> Path:
    """Where the broker's jars for the configured version are cached."""
    return settings.home / f"kafka-{settings.kafka_version}" / "libs"


def ensure_jars(settings: Settings) -> Path:
    """Fetch the broker jars once (Maven Central), then reuse the cache."""
    libs = jars_dir(settings)
    done = libs / ".complete"
    if done.exists():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise UserError(
            "mvn not found: install Maven ('apt-get install maven') to fetch the Kafka jars"
        )
    libs.mkdir(parents=True, exist_ok=True)
    log = libs.parent / "mvn.log"
    cmd = [
        mvn,
        "-B",
        "-q",
        "-f",
        str(KAFKA_DEPLOY / "pom.xml"),
        f"-Dkafka.version={settings.kafka_version}",
        "dependency:copy-dependencies",
        f"-DoutputDirectory={libs}",
        "-DincludeScope=runtime",
    ]
    with log.open("wb") as out:
        rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False).returncode
    if rc != 0 or not any(libs.glob("kafka_2.13-*.jar")):
        raise UserError(
            f"could not fetch Kafka {settings.kafka_version} jars from Maven Central "
            f"(mvn exit {rc}); see {log}"
        )
    done.write_text(settings.kafka_version + "\n")
    return libs


def run_dir(settings: Settings) -> Path:
    """Pid files, logs and rendered configs of the local stack."""
    return settings.home / "run"


@dataclass(frozen=True)
class Broker:
    """One node (broker and controller) of the local stack."""

    node_id: int
    name: str
    """Its service name: pid file, log and rendered config are named after it."""
    port: int
    controller_port: int
    log_dir: Path


def brokers(settings: Settings) -> list[Broker]:
    """The local stack's nodes: one (``kafka``), or a cluster (``kafka-1`` ... ``kafka-N``)
    whose storage lives apart from the single node's, under ``kafka-cluster-N``."""
    if settings.kafka_brokers == 1:
        port, controller = settings.broker_ports[0]
        return [Broker(1, "kafka", port, controller, settings.home / "kafka-data")]
    root = cluster_dir(settings)
    return [
        Broker(n, f"kafka-{n}", port, controller, root / f"broker-{n}")
        for n, (port, controller) in enumerate(settings.broker_ports, start=1)
    ]


def cluster_dir(settings: Settings) -> Path:
    return settings.home / f"kafka-cluster-{settings.kafka_brokers}"


def _render_config(settings: Settings, broker: Broker) -> Path:
    template = Template((KAFKA_DEPLOY / "server.properties").read_text())
    voters = ",".join(
        f"{b.node_id}@{settings.kafka_host}:{b.controller_port}" for b in brokers(settings)
    )
    replication = settings.replication_factor
    text = template.substitute(
        node_id=broker.node_id,
        host=settings.kafka_host,
        port=broker.port,
        controller_port=broker.controller_port,
        voters=voters,
        log_dir=broker.log_dir,
        partitions=settings.topic_partitions,
        replication=replication,
        min_isr=max(1, replication - 1),
    )
    path = run_dir(settings) / f"{broker.name}-server.properties"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _java_argv(java: str, libs: Path, main: str, *args: str) -> list[str]:
    return [
        java,
        "-Xms256m",
        "-Xmx1g",
        "-XX:+UseG1GC",
        f"-Dlog4j2.configurationFile={KAFKA_DEPLOY / 'log4j2.properties'}",
        "-cp",
        f"{libs}/*",
        main,
        *args,
    ]


def _cluster_id(settings: Settings, java: str, libs: Path) -> str:
    """The id every node's storage is formatted with (made once per cluster by Kafka's tool)."""
    saved = cluster_dir(settings) / "cluster-id" if settings.kafka_brokers > 1 else None
    if saved is not None and saved.exists():
        return saved.read_text().strip()
    made = subprocess.run(
        _java_argv(java, libs, "kafka.tools.StorageTool", "random-uuid"),
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    cluster_id = made[-1] if made else "ccmon-local-cluster-01"
    if saved is not None:
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(cluster_id + "\n")
    return cluster_id


def _format_storage(
    settings: Settings, broker: Broker, config: Path, java: str, libs: Path
) -> None:
    """Format the node's KRaft log dir once."""
    if (broker.log_dir / "meta.properties").exists():
        return
    broker.log_dir.mkdir(parents=True, exist_ok=True)
    cluster_id = _cluster_id(settings, java, libs)
    cmd = _java_argv(
        java, libs, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config)
    )
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise UserError(
            f"formatting Kafka storage in {broker.log_dir} failed: "
            f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:]}"
        )


def broker_services(settings: Settings) -> list[Service]:
    """Every node as a :class:`Service` (fetching jars and formatting storage first if needed)."""
    java = java_binary()
    libs = ensure_jars(settings)
    services = []
    for broker in brokers(settings):
        config = _render_config(settings, broker)
        _format_storage(settings, broker, config, java, libs)
        address = f"{settings.kafka_host}:{broker.port}"
        services.append(
            Service(
                name=broker.name,
                argv=_java_argv(java, libs, "kafka.Kafka", str(config)),
                run_dir=run_dir(settings),
                host=settings.kafka_host,
                port=broker.port,
                ready=lambda address=address: broker_answers(address),  # type: ignore[misc]
                start_timeout_s=120.0,
            )
        )
    return services


def broker_handles(settings: Settings) -> list[Service]:
    """The nodes as services without fetching or formatting anything (for stop and status)."""
    return [
        Service(
            name=b.name, argv=[], run_dir=run_dir(settings), host=settings.kafka_host, port=b.port
        )
        for b in brokers(settings)
    ]
