"""HTTP views of the worker: Prometheus exposition, a health probe, the JSON API, the wallboard.

The last step of the data's path (expose): everything here reads the engine's view through
:class:`stream_app.web.host.WorkerHost` and never imports the worker.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import faust
from prometheus_client import CONTENT_TYPE_LATEST

from stream_app.metrics.pipeline import render_metrics
from stream_app.wallboard.broadcast import Broadcaster
from stream_app.web.cluster import gather_parts
from stream_app.web.host import WorkerHost
from stream_app.web.kpi_query import BadQuery, local_part, merge_parts
from stream_app.web.wallboard import register_wallboard


def register_views(app: WorkerHost) -> Broadcaster:
    """Attach ``/metrics``, ``/healthz``, ``/api/kpis`` and the wallboard to the web server;
    returns the wallboard's broadcaster."""
    broadcaster = register_wallboard(app)

    @app.page("/metrics")
    class MetricsView(faust.web.View):
        """Prometheus scrape endpoint for this worker's registry."""

        async def get(self, request: Any) -> Any:
            body = await render_metrics(app.registry, app.engine_collector)
            return self.bytes(body, content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/healthz")
    class HealthView(faust.web.View):
        """Probe: ``ready`` once partitions are assigned and their states recovered into the
        view; 503 while not ``live`` (stalled, or the app crashed)."""

        async def get(self, request: Any) -> Any:
            # A crashed app consumes nothing: its process exits (BatchGuard.on_app_crashed);
            # until then it is not live either.
            crashed = app.crash_reason is not None
            live = app.liveness.live and not crashed
            body = {
                "status": "crashed" if crashed else "ok" if live else "stalled",
                "app": app.conf.id,
                "ready": app.ready,
                "live": live,
            }
            return self.json(body, status=200 if live else 503)

    @app.page("/api/kpis")
    class KpisView(faust.web.View):
        """KPIs with their counters for a window and a dimension; see docs/api.md."""

        async def get(self, request: Any) -> Any:
            query = dict(request.query)
            try:
                now_ms = int(query.pop("at", 0)) or app.engine.reference_ms()
                if query.pop("local", None):
                    owned = app.owns(app.customer_topic_name)
                    return self.json(local_part(app.engine, query, now_ms, owned))
                parts = await gather_parts(app, query, now_ms)
                return self.json(merge_parts(parts, query, app.engine.book, now_ms))
            except (BadQuery, ValueError) as exc:
                return self.json({"error": str(exc)}, status=400)
            except aiohttp.ClientError as exc:
                return self.json({"error": f"a peer worker did not answer: {exc}"}, status=503)

    return broadcaster
