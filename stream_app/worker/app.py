"""The faust application of one ccmon worker: its topics, tables and agents, wired together.

The data's path through the worker package, top to bottom:

1. ``intake.py`` (agent ``ccmon.intake``, over the six input topics): decode -> validate
   (rejects to the dead-letter topic) -> on time (late events reach only the all-time
   counters).
2. ``stages.py`` routes each valid event to the contact stage (keyed by ``contact_id``) and the
   customer stage (``customer_id``): applied here when its stage partition is the input
   partition it was read from (faust assigns partition p of co-partitioned topics to one
   worker), re-keyed to the stage's internal topic otherwise (agents ``ccmon.contacts``,
   ``ccmon.customers``). Re-keying is what lets one worker keep each contact's and customer's
   state, whatever key the producer used.
3. :mod:`stream_app.engine` applies the events to their state (tables ``contacts_v1`` /
   ``customers_v1``, changelogged by ``changelog.py``, once per batch) and updates the window
   counters and the Prometheus counters by the difference of the state's contributions.
   Duplicates and replays after a crash leave a state unchanged, so at-least-once delivery
   gives exact counts.
4. :mod:`stream_app.web` exposes ``/metrics``, the JSON API and the wallboard from the view.

Every agent takes its records in batches (``stream.take_events``) and runs each batch under the
batch guard (``batch_guard.py``): a failed batch ends the process uncommitted (docs/engine.md).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import faust
from prometheus_client import CollectorRegistry

from stream_app.engine.engine import Engine
from stream_app.events.internal import INTERNAL_VERSION
from stream_app.metrics.kpi_counters import KpiCounters
from stream_app.metrics.pipeline import EngineCollector, PipelineMetrics
from stream_app.settings import Settings
from stream_app.wallboard.broadcast import Broadcaster
from stream_app.web.views import register_views
from stream_app.worker.batch_guard import BatchGuard
from stream_app.worker.changelog import ChangelogBuffered
from stream_app.worker.consumer import Transport
from stream_app.worker.delivery import Delivery, Handler
from stream_app.worker.intake import Admitted, Intake, SourceRecord
from stream_app.worker.liveness import Liveness
from stream_app.worker.partitioner import default_partitioner, partition_of
from stream_app.worker.stages import Stages

log = logging.getLogger(__name__)

LIVENESS_EVERY_S = 5.0
BATCH_MAX = 2000
"""At most this many records per agent batch (``stream.take_events``)."""
BATCH_WITHIN_S = 0.05
"""An agent's batch is cut after this long even when not full (bounds the added latency)."""
DELIVERY_QUEUE_BATCHES = 8
"""Fetched batches that may wait for the batch agent before the fetcher waits too."""


class CcmonApp(faust.App):
    """faust.App carrying ccmon's settings, metrics and engine, for agents and views."""

    ccmon_settings: Settings
    registry: CollectorRegistry
    pipeline_metrics: PipelineMetrics
    ready: bool
    """True once this worker got its partitions, recovered their states and built its view
    from them: from then on its numbers are whole (readiness, /healthz)."""
    intake: Intake
    engine: Engine
    engine_collector: EngineCollector
    """The engine's scrape-time series (read on the loop, see metrics.render_metrics)."""
    contact_topic_name: str
    customer_topic_name: str
    wallboard: Broadcaster
    """Pushes the wallboard's board to open pages (stream_app.wallboard)."""
    forward: Callable[[Sequence[Admitted]], Awaitable[None]]
    """Sends valid events on to the entity stages (replaced in functional tests)."""
    stage_changelogs: tuple[str, ...]
    """The stages' changelog topics (their partitions are the stages' state partitions)."""
    liveness: Liveness
    """Whether records are still being delivered (/healthz, stream_app.worker.liveness)."""
    batch_guard: BatchGuard
    """Runs every agent batch to its end; a failed one ends the process uncommitted."""
    delivery: Delivery | None = None
    """Batch delivery (stream_app.worker.delivery), or None for faust's per-record path."""

    def _crash(self, reason: BaseException) -> None:
        """mode marks every service of a crashed worker through this: end the process."""
        super()._crash(reason)
        guard: BatchGuard | None = getattr(self, "batch_guard", None)
        if guard is not None:
            guard.on_app_crashed(reason)

    def settled(self) -> bool:
        """Partitions assigned, no rebalance or changelog recovery in progress."""
        active: bool = self.flow_control.is_active()
        return self.ready and active and not self.rebalancing and not self.in_recovery

    async def backlog(self) -> int:
        """Records not yet committed on the assigned input and internal partitions."""
        consumer: Any = self.consumer  # faust's ConsumerT types neither attribute used here
        tps = [tp for tp in consumer.assignment() if not consumer._is_changelog_tp(tp)]
        if not tps:
            return 0
        ends = await consumer.highwaters(*tps)
        committed = consumer._committed_offset  # faust's own record of what it committed
        return sum(max(0, end - (committed.get(tp) or 0)) for tp, end in ends.items())

    async def watch_liveness(self) -> None:
        """One liveness reading (every few seconds, see create_app)."""
        settled = self.settled()
        behind = await self.backlog() if settled else 0
        stalls = self.liveness.stalls
        self.liveness.observe(self.monitor.messages_received_total, behind, settled)
        if self.liveness.stalls > stalls:
            self.pipeline_metrics.consumer_stalls.inc()
            log.error(
                "worker stalled: %d records wait on its partitions and none was delivered for "
                "%.0f s; /healthz answers 503 so that a supervisor restarts it",
                behind,
                self.liveness.idle_s,
            )

    def _new_transport(self) -> Any:
        """faust's aiokafka transport with the fetch-path fixes of stream_app.worker.consumer."""
        return Transport(self.conf.broker_consumer, self)

    def owns(self, topic: str) -> Any:
        """A predicate: is this key's partition of ``topic`` assigned to this worker now?"""
        partitions = self.ccmon_settings.topic_partitions
        mine = {tp.partition for tp in self.assignor.assigned_actives() if tp.topic == topic}
        return lambda key: partition_of(key, partitions) in mine

    def colocated_inputs(self, topics: Sequence[str]) -> frozenset[str]:
        """Those of ``topics`` whose partition p always moves with the stages' partition p.

        faust's assignor puts the topics with the same partition count (and the same
        subscribers) in one co-partitioned group and gives partition p of all of them to the
        same worker; ``group_for_topic`` is the group of the current assignment, told to
        every member. None before the first assignment.
        """
        group_for_topic = self.assignor.group_for_topic
        try:
            groups = {group_for_topic(topic) for topic in self.stage_changelogs}
            if len(groups) != 1:
                return frozenset()
            return frozenset(topic for topic in topics if group_for_topic(topic) in groups)
        except KeyError:  # not assigned yet: nothing is known to be co-partitioned
            return frozenset()


def internal_topic_names(app_id: str) -> tuple[str, str]:
    """The re-keyed topics between the intake and the contact / customer stages."""
    return (
        f"{app_id}-contact-events-v{INTERNAL_VERSION}",
        f"{app_id}-customer-events-v{INTERNAL_VERSION}",
    )


def create_app(
    settings: Settings,
    *,
    registry: CollectorRegistry | None = None,
    store: str = "memory://",
    **faust_options: Any,
) -> CcmonApp:
    """Build a worker's app; tests pass a fresh registry and ``memory://`` store."""
    app = _faust_app(settings, store, **faust_options)
    app.ccmon_settings = settings
    app.registry = registry if registry is not None else CollectorRegistry()
    app.pipeline_metrics = metrics = PipelineMetrics.create(app.registry)
    app.ready = False
    app.liveness = Liveness(settings.liveness_stall_s)
    app.batch_guard = BatchGuard()

    input_topics, deadletter_topic, contact_topic, customer_topic = _topics(app, settings)
    contacts, customers = _tables(app, settings)
    stages = _stages(app, settings, contacts, customers)
    app.forward = stages.forward

    async def send_deadletter(key: bytes | None, value: bytes) -> None:
        await deadletter_topic.send(key=key, value=value)

    app.intake = Intake(settings, metrics, send_deadletter, on_late=app.engine.count_late)

    async def intake_batch(messages: Sequence[Any]) -> None:
        valid = await app.intake.admit_batch(SourceRecord.of_message(m) for m in messages)
        if valid:
            await app.forward(valid)

    async def contact_batch(messages: Sequence[Any]) -> None:
        await stages.apply_batch(0, messages)

    async def customer_batch(messages: Sequence[Any]) -> None:
        await stages.apply_batch(1, messages)

    # faust's path: what the topics' agents get when batch delivery is off (and in tests
    # that drive the agents directly).
    _stream_agent(app, input_topics, "ccmon.intake", intake_batch, "an intake batch")
    _stream_agent(app, contact_topic, "ccmon.contacts", contact_batch, "a contact-stage batch")
    _stream_agent(app, customer_topic, "ccmon.customers", customer_batch, "a customer-stage batch")
    if settings.batch_delivery:
        handlers: dict[str, tuple[Handler, str]] = {
            name: (intake_batch, "an intake batch") for name in input_topics.topics
        }
        handlers[app.contact_topic_name] = (contact_batch, "a contact-stage batch")
        handlers[app.customer_topic_name] = (customer_batch, "a customer-stage batch")
        app.delivery = _batch_agent(app, handlers)

    async def rebuild_view() -> None:
        """After recovery or a rebalance, recompute the counters from the states owned now."""
        app.engine.rebuild(app.owns(app.contact_topic_name), app.owns(app.customer_topic_name))
        app.ready = True

    contacts.on_recover(rebuild_view)
    customers.on_recover(rebuild_view)
    app.timer(LIVENESS_EVERY_S)(app.watch_liveness)
    app.wallboard = register_views(app)
    return app


def _stream_agent(app: CcmonApp, topic: Any, name: str, work: Handler, what: str) -> None:
    """An agent over faust's stream of ``topic``: its records in batches (``take_events``).
    faust acks a batch's records only when the next batch is asked for (after the batch's
    records are in the producer) and commits only after flushing the producer."""

    async def agent(stream: Any) -> None:
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            await app.batch_guard.run(work([event.message for event in events]), what)

    app.agent(topic, name=name)(agent)


def _batch_agent(app: CcmonApp, handlers: dict[str, tuple[Handler, str]]) -> Delivery:
    """The agent that runs the batches the consumer hands over (stream_app.worker.delivery)."""
    delivery = Delivery(app, handlers, app.batch_guard)
    delivery.channel = app.channel(maxsize=DELIVERY_QUEUE_BATCHES)

    async def agent(stream: Any) -> None:
        async for batch in stream:
            await delivery.run(batch)

    app.agent(delivery.channel, name="ccmon.batches")(agent)
    return delivery


def _faust_app(settings: Settings, store: str, **faust_options: Any) -> CcmonApp:
    return CcmonApp(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap_servers}",
        store=store,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.replication_factor,
        # Every record we produce waits for all in-sync replicas (faust's default, said here:
        # a forward or changelog record acked by the leader alone can die with it).
        producer_acks=-1,
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
        # The same partitions as aiokafka's default (murmur2), computed faster.
        producer_partitioner=default_partitioner,
        **faust_options,
    )


def _topics(app: CcmonApp, settings: Settings) -> tuple[Any, Any, Any, Any]:
    """The input topics (one faust topic over all six), the dead-letter topic and the two
    internal stage topics (raw bytes everywhere: ccmon decodes and encodes itself)."""
    raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
    input_topics = app.topic(
        *settings.topics_by_type.values(),
        key_type=bytes,
        value_type=bytes,
        allow_empty=True,
        **raw,
    )
    deadletter_topic = app.topic(settings.deadletter_topic, **raw)
    app.contact_topic_name, app.customer_topic_name = internal_topic_names(settings.app_id)
    contact_topic, customer_topic = (
        app.topic(name, partitions=settings.topic_partitions, internal=True, **raw)
        for name in (app.contact_topic_name, app.customer_topic_name)
    )
    return input_topics, deadletter_topic, contact_topic, customer_topic


def _tables(app: CcmonApp, settings: Settings) -> tuple[Any, Any]:
    """The contact and customer state tables (changelogged; values are orjson bytes)."""
    tables = tuple(
        app.Table(
            name,
            key_type=str,
            value_type=bytes,
            partitions=settings.topic_partitions,
            help=f"{entity}_id -> {entity} state (orjson)",
        )
        for name, entity in (("contacts_v1", "contact"), ("customers_v1", "customer"))
    )
    app.stage_changelogs = tuple(t.changelog_topic.get_topic_name() for t in tables)
    for table in tables:
        # States are orjson bytes already; faust would wrap them in JSON again.
        table.value_serializer = "raw"  # type: ignore[attr-defined]  # set on Collection, not in TableT
    return tables[0], tables[1]


def _stages(app: CcmonApp, settings: Settings, contacts: Any, customers: Any) -> Stages:
    """The engine over the two tables, its KPI counters, and the stages that feed it."""
    partitions = settings.topic_partitions

    def key_partition(key: str) -> int:
        return partition_of(key, partitions)

    states = (
        ChangelogBuffered(contacts, key_partition),
        ChangelogBuffered(customers, key_partition),
    )
    app.engine = engine = Engine(
        book=settings.params_book(),
        horizon_ms=settings.horizon_ms,
        contacts=states[0],
        customers=states[1],
        partition_of=key_partition,
    )
    app.engine_collector = EngineCollector(engine)
    app.registry.register(app.engine_collector)
    engine.on_counts = KpiCounters.create(
        app.registry,
        engine.book,
        agent_metrics=settings.agent_metrics,
        max_agents=settings.agent_metrics_max,
    ).count
    input_topic_names = tuple(settings.topics_by_type.values())
    return Stages.for_engine(
        engine,
        (app.contact_topic_name, app.customer_topic_name),
        states,
        partitions=partitions,
        # Looked up on each call: tests replace the producer's send and colocated_inputs.
        send=lambda *record: app.producer.send(*record),
        on_produced=app.batch_guard.on_produced,
        colocated=lambda: app.colocated_inputs(input_topic_names),
        routed=app.pipeline_metrics.events_routed,
    )
