"""Bring the whole local stack up or down in dependency order, and report its state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from stream_app.devstack import kafka, monitoring
from stream_app.devstack.procs import Service, port_open
from stream_app.kafka_admin import ensure_topics_of
from stream_app.settings import Settings

COMPONENTS = ("kafka", "prometheus", "alertmanager")


@dataclass(frozen=True)
class StepResult:
    """What one component did: started now, or was already running."""

    name: str
    started: bool
    seconds: float
    detail: str


def _services(settings: Settings) -> dict[str, Callable[[], list[Service]]]:
    return {
        "kafka": lambda: kafka.broker_services(settings),
        "prometheus": lambda: [monitoring.prometheus_service(settings)],
        "alertmanager": lambda: [monitoring.alertmanager_service(settings)],
    }


def _start_together(services: list[Service]) -> bool:
    """Launch every service, then wait for each (a KRaft node is ready only once a majority
    of the controllers runs); True when any was started now."""
    launched = [service.launch() for service in services]
    for service, proc in zip(services, launched, strict=True):
        service.wait_ready(proc)
    return any(proc is not None for proc in launched)


def up(settings: Settings, only: tuple[str, ...] = COMPONENTS) -> list[StepResult]:
    """Start what is not running yet (Kafka first, then its topics, then monitoring)."""
    results = []
    factories = _services(settings)
    for name in COMPONENTS:
        if name not in only:
            continue
        t0 = time.monotonic()
        services = factories[name]()
        started = _start_together(services)
        where = ", ".join(f"{service.host}:{service.port}" for service in services)
        results.append(StepResult(name, started, time.monotonic() - t0, where))
        if name == "kafka":
            t0 = time.monotonic()
            created = asyncio.run(ensure_topics_of(settings))
            results.append(
                StepResult(
                    "topics",
                    bool(created),
                    time.monotonic() - t0,
                    f"{len(created)} created, {len(settings.all_topics)} expected",
                )
            )
    return results


def handles(settings: Settings) -> dict[str, Service]:
    """Handles on the components for stop/status, without fetching or rendering anything."""
    run = kafka.run_dir(settings)
    return {
        **{broker.name: broker for broker in kafka.broker_handles(settings)},
        "prometheus": Service("prometheus", [], run, "127.0.0.1", settings.prometheus_port),
        "alertmanager": Service("alertmanager", [], run, "127.0.0.1", settings.alertmanager_port),
    }


def down(settings: Settings) -> list[str]:
    """Stop every component this stack started (reverse order); returns those stopped."""
    stopped = []
    for name, service in reversed(list(handles(settings).items())):
        if service.stop():
            stopped.append(name)
    return stopped


def status(settings: Settings) -> dict[str, str]:
    """Component -> 'running on host:port', 'not running' or 'port busy (not ours)'."""
    out = {}
    for name, service in handles(settings).items():
        if service.running():
            out[name] = f"running on {service.host}:{service.port} (pid {service.pid()})"
        elif service.pid() is not None:
            out[name] = f"starting (pid {service.pid()})"
        else:
            busy = port_open(service.host, service.port)
            out[name] = f"port {service.port} busy (not ours)" if busy else "not running"
    return out
