"""The faust application: topics, agents and web views of one ccmon worker.

The data's path reads top to bottom in :mod:`stream_app.pipeline`; this module only wires it
to faust (which topics feed which agent, which views the web server has).
"""

from __future__ import annotations

from typing import Any

import faust
from prometheus_client import CollectorRegistry

from stream_app.metrics import PipelineMetrics
from stream_app.settings import Settings
from stream_app.web import register_views


class CcmonApp(faust.App):
    """faust.App carrying ccmon's settings and metrics, so agents and views can reach them."""

    ccmon_settings: Settings
    registry: CollectorRegistry
    pipeline_metrics: PipelineMetrics
    partitions_assigned: bool
    """True once this worker joined the group and got its partitions (readiness)."""


def create_app(
    settings: Settings,
    *,
    registry: CollectorRegistry | None = None,
    store: str = "memory://",
    **faust_options: Any,
) -> CcmonApp:
    """Build a worker's app; tests pass a fresh registry and ``memory://`` store."""
    app = CcmonApp(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap_servers}",
        store=store,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=1,
        # Input topics are created by `ccmon topics create`, never implicitly by the worker.
        topic_allow_declare=False,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        datadir=str(settings.data_dir),
        **faust_options,
    )
    app.ccmon_settings = settings
    app.registry = registry if registry is not None else CollectorRegistry()
    app.pipeline_metrics = PipelineMetrics.create(app.registry)
    app.partitions_assigned = False

    def _mark_assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        app.partitions_assigned = True

    app.on_partitions_assigned.connect(_mark_assigned)

    events_topic = app.topic(
        *settings.topics_by_type.values(),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        allow_empty=True,
    )

    @app.agent(events_topic, name="ccmon.events")
    async def consume_events(stream: Any) -> None:
        """Count each record by its topic (decode/validate/aggregate come next)."""
        consumed = app.pipeline_metrics.events_consumed
        async for event in stream.events():
            consumed.labels(event.message.topic).inc()

    register_views(app)
    return app
