"""What the HTTP side needs of the worker it serves, so that web never imports the worker.

The worker's faust app (``stream_app.worker.app.CcmonApp``) is one; tests may pass another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from prometheus_client import CollectorRegistry

from stream_app.engine.engine import Engine
from stream_app.metrics.pipeline import EngineCollector


class Live(Protocol):
    """Whether records are still being delivered (``stream_app.worker.liveness``)."""

    @property
    def live(self) -> bool: ...


class WorkerHost(Protocol):
    """A worker's engine, registry and health, and faust's web server and routing."""

    engine: Engine
    registry: CollectorRegistry
    engine_collector: EngineCollector
    ready: bool
    customer_topic_name: str

    @property
    def liveness(self) -> Live: ...

    @property
    def conf(self) -> Any: ...  # faust's Settings: id, canonical_url

    @property
    def router(self) -> Any: ...  # faust's router: tables_metadata() lists every worker

    @property
    def web(self) -> Any: ...  # faust's web server (its aiohttp application)

    @property
    def crash_reason(self) -> BaseException | None: ...

    def owns(self, topic: str) -> Callable[[str], bool]:
        """A predicate: is this key's partition of ``topic`` assigned to this worker now?"""
        ...

    def page(self, path: str) -> Callable[[Any], Any]:
        """faust's decorator that mounts a ``faust.web.View`` at ``path``."""
        ...
