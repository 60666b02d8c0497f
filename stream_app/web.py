"""HTTP views of the worker: Prometheus exposition and a health probe."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

if TYPE_CHECKING:
    from stream_app.app import CcmonApp


def register_views(app: CcmonApp) -> None:
    """Attach ``/metrics`` and ``/healthz`` to the app's web server."""

    @app.page("/metrics")
    class MetricsView(faust.web.View):
        """Prometheus scrape endpoint for this worker's registry."""

        async def get(self, request: Any) -> Any:
            body = generate_latest(app.registry)
            return self.bytes(body, content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/healthz")
    class HealthView(faust.web.View):
        """Liveness probe: the web server answers and the app has started."""

        async def get(self, request: Any) -> Any:
            return self.json({"status": "ok", "app": app.conf.id, "ready": app.partitions_assigned})
