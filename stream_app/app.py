"""The faust application: topics, agents, tables and web views of one ccmon worker.

The data's path, top to bottom:

1. ``ccmon.intake`` reads the six input topics: decode -> validate (rejects to the dead-letter
   topic), then forwards each valid record, keyed by ``contact_id`` and/or ``customer_id``, to
   two internal topics. Re-keying is what lets the next stage keep one state per contact and
   per customer on exactly one worker, whatever key the producer used.
2. ``ccmon.contacts`` and ``ccmon.customers`` apply each event to its state (tables
   ``contacts_v1`` / ``customers_v1``, changelogged) and update the window counters by the
   difference of the state's facts (:mod:`stream_app.engine`). Duplicates and replays after a
   crash leave a state unchanged, so at-least-once delivery gives exact counts.
3. The web server exposes ``/metrics`` and the JSON API from the engine's view.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from aiokafka.partitioner import murmur2
from prometheus_client import CollectorRegistry

from stream_app.engine.engine import Engine
from stream_app.engine.state import contact_key, customer_key
from stream_app.events import Accepted, Event, decode_event
from stream_app.intake import Intake, SourceRecord
from stream_app.kpi_metrics import KpiCounters
from stream_app.metrics import EngineCollector, PipelineMetrics
from stream_app.settings import Settings
from stream_app.wallboard.broadcast import Broadcaster
from stream_app.web import register_views

HOUSEKEEPING_EVERY_S = 30.0


class CcmonApp(faust.App):
    """faust.App carrying ccmon's settings, metrics and engine, for agents and views."""

    ccmon_settings: Settings
    registry: CollectorRegistry
    pipeline_metrics: PipelineMetrics
    partitions_assigned: bool
    """True once this worker joined the group and got its partitions (readiness)."""
    intake: Intake
    engine: Engine
    contact_topic_name: str
    customer_topic_name: str
    wallboard: Broadcaster
    """Pushes the wallboard's board to open pages (stream_app.wallboard)."""
    forward: Callable[[Event, bytes], Awaitable[None]]
    """Sends a valid event on to the entity stages (replaced in functional tests)."""

    def owns(self, topic: str) -> Any:
        """A predicate: is this key's partition of ``topic`` assigned to this worker now?"""
        partitions = self.ccmon_settings.topic_partitions
        mine = {tp.partition for tp in self.assignor.assigned_actives() if tp.topic == topic}
        return lambda key: partition_of(key, partitions) in mine


def partition_of(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2) gives a key: where its state lives."""
    hashed: int = murmur2(key.encode())
    return (hashed & 0x7FFFFFFF) % partitions


def internal_topic_names(app_id: str) -> tuple[str, str]:
    """The re-keyed topics between the intake and the contact / customer stages."""
    return f"{app_id}-contact-events-v1", f"{app_id}-customer-events-v1"


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
        # faust creates its own internal and changelog topics; input topics are never
        # auto-created (the broker has auto.create.topics.enable=false and the worker checks
        # them at start).
        topic_allow_declare=True,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        datadir=str(settings.data_dir),
        # faust's 60 s default leaves a killed worker's partitions idle for a minute.
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_s / 3),
        **faust_options,
    )
    app.ccmon_settings = settings
    app.registry = registry if registry is not None else CollectorRegistry()
    app.pipeline_metrics = metrics = PipelineMetrics.create(app.registry)
    app.partitions_assigned = False

    def _mark_assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        app.partitions_assigned = True

    app.on_partitions_assigned.connect(_mark_assigned)

    # --- topics and tables --------------------------------------------------------------------
    input_topics = app.topic(
        *settings.topics_by_type.values(),
        key_type=bytes,
        value_type=bytes,
        allow_empty=True,
        key_serializer="raw",
        value_serializer="raw",
    )
    deadletter_topic = app.topic(
        settings.deadletter_topic, key_serializer="raw", value_serializer="raw"
    )
    app.contact_topic_name, app.customer_topic_name = internal_topic_names(settings.app_id)
    contact_topic, customer_topic = (
        app.topic(
            name,
            partitions=settings.topic_partitions,
            internal=True,
            key_serializer="raw",
            value_serializer="raw",
        )
        for name in (app.contact_topic_name, app.customer_topic_name)
    )
    contacts = app.Table(
        "contacts_v1",
        key_type=str,
        value_type=bytes,
        partitions=settings.topic_partitions,
        help="contact_id -> contact state (orjson)",
    )
    customers = app.Table(
        "customers_v1",
        key_type=str,
        value_type=bytes,
        partitions=settings.topic_partitions,
        help="customer_id -> customer state (orjson)",
    )
    for table in (contacts, customers):
        # States are orjson bytes already; faust would wrap them in JSON again.
        table.value_serializer = "raw"  # type: ignore[attr-defined]  # set on Collection, not in TableT

    # --- stages -------------------------------------------------------------------------------
    async def send_deadletter(key: bytes | None, value: bytes) -> None:
        await deadletter_topic.send(key=key, value=value)

    app.intake = intake = Intake(settings, metrics, send_deadletter)
    app.engine = engine = Engine(
        book=settings.params_book(),
        horizon_ms=settings.horizon_ms,
        contacts=contacts,
        customers=customers,
        partition_of=lambda key: partition_of(key, settings.topic_partitions),
    )
    app.registry.register(EngineCollector(engine))
    kpi_counters = KpiCounters.create(
        app.registry,
        engine.book,
        agent_metrics=settings.agent_metrics,
        max_agents=settings.agent_metrics_max,
    )
    engine.on_change = kpi_counters.on_change
    intake.on_late = kpi_counters.count_late

    async def forward(valid: Event, value: bytes) -> None:
        """Re-key a valid event to the contact and/or customer stage."""
        if (key := contact_key(valid)) is not None:
            await contact_topic.send(key=key.encode(), value=value)
        if (key := customer_key(valid)) is not None:
            await customer_topic.send(key=key.encode(), value=value)

    app.forward = forward

    @app.agent(input_topics, name="ccmon.intake")
    async def intake_agent(stream: Any) -> None:
        """decode -> validate, then re-key valid events by contact and by customer."""
        async for event in stream.events():
            message = event.message
            valid = await intake.admit(
                SourceRecord(
                    topic=message.topic,
                    partition=message.partition,
                    offset=message.offset,
                    timestamp_ms=int(message.timestamp * 1000) if message.timestamp else None,
                    key=message.key,
                    value=message.value,
                )
            )
            if valid is not None:
                await app.forward(valid, message.value)

    def decode_forwarded(value: bytes) -> Event:
        # Validated once already; the Kafka timestamp bound was checked at intake.
        result = decode_event(
            value,
            expected_type=None,
            kafka_timestamp_ms=None,
            min_time_ms=settings.min_event_time_ms,
        )
        assert isinstance(result, Accepted), "intake forwards valid events only"
        return result.event

    last_evict: dict[str, float] = {}

    def housekeeping(table_topic: str, partition: int) -> None:
        """Now and then, drop out-of-horizon windows and states of this event's partition.

        Runs inside the agent because a table delete writes its tombstone to the current
        event's changelog partition, so only keys of that partition may be deleted here.
        """
        slot = f"{table_topic}:{partition}"
        now = time.monotonic()
        if now - last_evict.get(slot, 0.0) < HOUSEKEEPING_EVERY_S:
            return
        last_evict[slot] = now
        partitions = settings.topic_partitions
        engine.prune()
        engine.evict(lambda key: partition_of(key, partitions) == partition)

    @app.agent(contact_topic, name="ccmon.contacts")
    async def contacts_agent(stream: Any) -> None:
        """Apply each event to its contact's state and the window counters."""
        async for event in stream.events():
            engine.apply_contact_event(event.key.decode(), decode_forwarded(event.value))
            housekeeping(app.contact_topic_name, event.message.partition)

    @app.agent(customer_topic, name="ccmon.customers")
    async def customers_agent(stream: Any) -> None:
        """Apply each event to its customer's state (FCR, CRR, contact-less surveys)."""
        async for event in stream.events():
            engine.apply_customer_event(event.key.decode(), decode_forwarded(event.value))
            housekeeping(app.customer_topic_name, event.message.partition)

    async def rebuild_view() -> None:
        """After recovery or a rebalance, recompute the counters from the states owned now."""
        engine.rebuild(app.owns(app.contact_topic_name), app.owns(app.customer_topic_name))

    contacts.on_recover(rebuild_view)
    customers.on_recover(rebuild_view)

    register_views(app)
    return app
