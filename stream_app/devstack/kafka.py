"""The local Apache Kafka broker: jars from Maven Central, KRaft storage, one node on loopback.

No Docker: Maven resolves ``org.apache.kafka:kafka_2.13`` with its dependencies into a cache
outside the repo, the storage tool formats a KRaft log dir once, and ``kafka.Kafka`` runs as a
background service (see :mod:`stream_app.devstack.procs`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
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


def _render_config(settings: Settings, log_dir: Path) -> Path:
    template = Template((KAFKA_DEPLOY / "server.properties").read_text())
    text = template.substitute(
        host=settings.kafka_host,
        port=settings.kafka_port,
        controller_port=settings.kafka_controller_port,
        log_dir=log_dir,
        partitions=settings.topic_partitions,
    )
    path = run_dir(settings) / "kafka-server.properties"
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


def broker_service(settings: Settings) -> Service:
    """The broker as a :class:`Service` (fetching jars and formatting storage first if needed)."""
    java = java_binary()
    libs = ensure_jars(settings)
    log_dir = settings.home / "kafka-data"
    config = _render_config(settings, log_dir)
    if not (log_dir / "meta.properties").exists():
        log_dir.mkdir(parents=True, exist_ok=True)
        # The storage tool wants its own base64 cluster id; let it make one.
        made = subprocess.run(
            _java_argv(java, libs, "kafka.tools.StorageTool", "random-uuid"),
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        cluster_id = made[-1] if made else "ccmon-local-cluster-01"
        cmd = _java_argv(
            java, libs, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config)
        )
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise UserError(
                f"formatting Kafka storage in {log_dir} failed: "
                f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:]}"
            )
    return Service(
        name="kafka",
        argv=_java_argv(java, libs, "kafka.Kafka", str(config)),
        run_dir=run_dir(settings),
        host=settings.kafka_host,
        port=settings.kafka_port,
        ready=lambda: broker_answers(settings.bootstrap_servers),
        start_timeout_s=90.0,
    )


def broker_handle(settings: Settings) -> Service:
    """The broker service without fetching or formatting anything (for stop and status)."""
    return Service(
        name="kafka",
        argv=[],
        run_dir=run_dir(settings),
        host=settings.kafka_host,
        port=settings.kafka_port,
    )
