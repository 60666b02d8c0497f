"""Run one ccmon worker: check that Kafka and the topics are there, then hand over to faust."""

from __future__ import annotations

import asyncio

import faust
import mode.loop

from stream_app.kafka_admin import ensure_topics_of, require_topics
from stream_app.settings import Settings
from stream_app.worker.app import create_app, internal_topic_names


def preflight(settings: Settings) -> None:
    """Fail fast with one line when the broker is unreachable or a topic is missing.

    Also creates the two internal re-keyed topics before faust starts. faust declares them
    itself, but concurrently with subscribing: when its consumer asks for metadata first, it
    logs "Ignoring missing topic" and the stage agent stays without partitions until the next
    metadata refresh (5 minutes) causes a rebalance.
    """
    asyncio.run(require_topics(settings.bootstrap_servers, settings.all_topics))
    asyncio.run(ensure_topics_of(settings, internal_topic_names(settings.app_id)))


def run_worker(settings: Settings) -> None:
    """Start the worker in this process until SIGINT/SIGTERM."""
    preflight(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    use_uvloop()
    app = create_app(settings)
    worker = faust.Worker(app, loglevel=settings.log_level.upper(), quiet=True)
    worker.execute_from_commandline()


def use_uvloop() -> None:
    """Run on uvloop when it is installed (a faster event loop; asyncio's otherwise)."""
    try:
        import uvloop  # noqa: F401  # only checking that it is there
    except ImportError:
        return
    mode.loop.use("uvloop")
