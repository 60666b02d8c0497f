"""Run one ccmon worker: check that Kafka and the topics are there, then hand over to faust."""

from __future__ import annotations

import asyncio

import faust

from stream_app.app import create_app
from stream_app.kafka_admin import require_topics
from stream_app.settings import Settings


def preflight(settings: Settings) -> None:
    """Fail fast with one line when the broker is unreachable or a topic is missing."""
    asyncio.run(require_topics(settings.bootstrap_servers, settings.all_topics))


def run_worker(settings: Settings) -> None:
    """Start the worker in this process until SIGINT/SIGTERM."""
    preflight(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(settings)
    worker = faust.Worker(app, loglevel=settings.log_level.upper(), quiet=True)
    worker.execute_from_commandline()
