"""The faust application: topics, agents, tables and web views of one ccmon worker.

The data's path, top to bottom:

1. ``ccmon.intake`` reads the six input topics: decode -> validate (rejects to the dead-letter
   topic), then forwards each valid record, keyed by ``contact_id`` and/or ``customer_id``, to
   two internal topics. Re-keying is what lets the next stage keep one state per contact and
   per customer on exactly one worker, whatever key the producer used. A record whose stage
   key falls in the very partition number it was read from (the spec's recommended keys: every
   contact event) is applied by the intake itself: faust assigns partition p of every topic
   with the same partition count to the same worker, so that state lives here for exactly as
   long as this input partition does, as a stage agent's state does with its own input.
2. ``ccmon.contacts`` and ``ccmon.customers`` apply each event to its state (tables
   ``contacts_v1`` / ``customers_v1``, changelogged) and update the window counters by the
   difference of the state's facts (:mod:`stream_app.engine`). Duplicates and replays after a
   crash leave a state unchanged, so at-least-once delivery gives exact counts.
3. The web server exposes ``/metrics`` and the JSON API from the engine's view.

Every agent takes its records in batches (``stream.take_events``): a stage loads each state of
a batch once, applies its events in order, writes it once and hands the batch's changelog
records to the producer before faust acks the batch (see docs/engine.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from typing import Any

import faust
from prometheus_client import CollectorRegistry

from stream_app.engine.apply import contact_key, customer_key
from stream_app.engine.engine import Engine
from stream_app.events import Event
from stream_app.events.internal import INTERNAL_VERSION, decode_internal, encode_internal
from stream_app.metrics.kpi_counters import KpiCounters
from stream_app.metrics.pipeline import EngineCollector, PipelineMetrics
from stream_app.settings import Settings
from stream_app.wallboard.broadcast import Broadcaster
from stream_app.web.views import register_views
from stream_app.worker.batch_guard import BatchGuard
from stream_app.worker.consumer import Transport
from stream_app.worker.intake import Admitted, Intake, SourceRecord
from stream_app.worker.liveness import Liveness
from stream_app.worker.partitioner import default_partitioner, partition_of

log = logging.getLogger(__name__)

HOUSEKEEPING_EVERY_S = 30.0
LIVENESS_EVERY_S = 5.0
BATCH_MAX = 2000
"""At most this many records per agent batch (``stream.take_events``)."""
BATCH_WITHIN_S = 0.05
"""An agent's batch is cut after this long even when not full (bounds the added latency)."""

Batch = dict[int, dict[str, list[Event]]]
"""A stage's share of a batch: partition -> key -> its events in arrival order."""
ApplyEvents = Callable[[str, Sequence[Event], int], int]
"""``Engine.apply_contact_events`` or ``apply_customer_events``: key, its events, partition."""


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


class ChangelogBuffered(MutableMapping[str, bytes]):
    """A faust table whose changelog records the agent produces itself, once per batch.

    Reads and writes go to the table's store. Each write or delete is remembered and
    ``produce`` sends it to its key's changelog partition (the partition of the key's stage
    topic) before the batch's offsets are acked (faust commits only after flushing the
    producer): the very records ``table[key] = value`` writes (the key serialized by the table's
    own key serializer, JSON; the value raw; ``None`` for a delete), without faust's per-record
    buffer in between.
    """

    def __init__(self, table: Any, partition_of: Callable[[str], int]) -> None:
        self.table = table
        self.partition_of = partition_of
        self.pending: list[tuple[str, bytes | None]] = []

    @property
    def store(self) -> Any:
        """The table's storage (faust creates it on first use)."""
        return self.table.data

    def __getitem__(self, key: str) -> bytes:
        value: bytes = self.store[key]
        return value

    def get(self, key: str, default: Any = None) -> Any:
        return self.store.get(key, default)

    def __setitem__(self, key: str, value: bytes) -> None:
        self.store[key] = value
        self.pending.append((key, value))

    def __delitem__(self, key: str) -> None:
        del self.store[key]
        self.pending.append((key, None))

    def __contains__(self, key: object) -> bool:
        return key in self.store

    def __iter__(self) -> Iterator[str]:
        return iter(self.store)

    def __len__(self) -> int:
        return len(self.store)

    def items(self) -> Any:
        return self.store.items()

    async def produce(
        self, send: Callable[..., Awaitable[Any]], on_sent: Callable[..., None]
    ) -> None:
        """Hand every pending changelog record to the producer."""
        if not self.pending:
            return
        changelog = self.table.changelog_topic
        topic = changelog.get_topic_name()
        prepare_key = changelog.prepare_key
        key_serializer = self.table.key_serializer
        pending, self.pending = self.pending, []
        partition_of = self.partition_of
        for key, value in pending:
            raw_key, _ = prepare_key(key, key_serializer, None, None)
            sent = await send(topic, raw_key, value, partition_of(key), None, None)
            sent.add_done_callback(on_sent)


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
    app.ccmon_settings = settings
    app.registry = registry if registry is not None else CollectorRegistry()
    app.pipeline_metrics = metrics = PipelineMetrics.create(app.registry)
    app.ready = False
    app.liveness = Liveness(settings.liveness_stall_s)

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
    app.stage_changelogs = tuple(t.changelog_topic.get_topic_name() for t in (contacts, customers))
    for table in (contacts, customers):
        # States are orjson bytes already; faust would wrap them in JSON again.
        table.value_serializer = "raw"  # type: ignore[attr-defined]  # set on Collection, not in TableT

    # --- stages -------------------------------------------------------------------------------
    async def send_deadletter(key: bytes | None, value: bytes) -> None:
        await deadletter_topic.send(key=key, value=value)

    app.intake = intake = Intake(settings, metrics, send_deadletter)
    partitions = settings.topic_partitions

    def key_partition(key: str) -> int:
        return partition_of(key, partitions)

    contact_states = ChangelogBuffered(contacts, key_partition)
    customer_states = ChangelogBuffered(customers, key_partition)
    app.engine = engine = Engine(
        book=settings.params_book(),
        horizon_ms=settings.horizon_ms,
        contacts=contact_states,
        customers=customer_states,
        partition_of=key_partition,
    )
    app.engine_collector = EngineCollector(engine)
    app.registry.register(app.engine_collector)
    kpi_counters = KpiCounters.create(
        app.registry,
        engine.book,
        agent_metrics=settings.agent_metrics,
        max_agents=settings.agent_metrics_max,
    )
    engine.on_counts = kpi_counters.count
    intake.on_late = engine.count_late

    app.batch_guard = guard = BatchGuard()
    on_produced = guard.on_produced

    last_evict: dict[str, float] = {}
    states_lock = asyncio.Lock()

    def housekeeping(table_topic: str, partition: int) -> None:
        """Now and then, drop out-of-horizon windows and the states of this partition that
        can no longer change a kept window (their tombstones go with the batch's records)."""
        slot = f"{table_topic}:{partition}"
        now = time.monotonic()
        if now - last_evict.get(slot, 0.0) < HOUSEKEEPING_EVERY_S:
            return
        last_evict[slot] = now
        engine.prune()
        engine.evict(partition)

    def apply_partitions(table_topic: str, apply: ApplyEvents, by_partition: Batch) -> None:
        """Per partition, per key in arrival order: one state write per key (under the lock)."""
        for partition, by_key in by_partition.items():
            for key, key_events in by_key.items():
                apply(key, key_events, partition)
            housekeeping(table_topic, partition)

    async def produce_changelogs() -> None:
        """Hand the states' pending changelog records to the producer (under the lock)."""
        await contact_states.produce(app.producer.send, on_produced)
        await customer_states.produce(app.producer.send, on_produced)

    input_topic_names = tuple(settings.topics_by_type.values())
    routed = metrics.events_routed

    async def forward(admitted: Sequence[Admitted]) -> None:
        """Route valid events to the contact and/or customer stage.

        A key whose stage partition is the partition number its record was read from, on an
        input topic co-partitioned with the stages, is applied here and now, exactly as the
        stage agent would (same lock, its changelog records in the producer before this batch
        is acked): that state partition is assigned with this input partition, so it moves
        (and is recovered, and this input replayed) with it. Every other key is re-keyed to
        its stage's internal topic (internal form).
        """
        send = app.producer.send
        colocated = app.colocated_inputs(input_topic_names)
        routes = (
            (app.contact_topic_name, contact_key, engine.apply_contact_events),
            (app.customer_topic_name, customer_key, engine.apply_customer_events),
        )
        here: tuple[Batch, Batch] = ({}, {})
        local_count, rekeyed_count = [0, 0], [0, 0]
        for event, topic, source_partition in admitted:
            value: bytes | None = None
            from_colocated = topic in colocated
            for stage, (topic_name, key_of, _) in enumerate(routes):
                key = key_of(event)
                if key is None:
                    continue
                partition = partition_of(key, partitions)
                if from_colocated and partition == source_partition:
                    here[stage].setdefault(partition, {}).setdefault(key, []).append(event)
                    local_count[stage] += 1
                    continue
                rekeyed_count[stage] += 1
                if value is None:
                    value = encode_internal(event)
                sent = await send(topic_name, key.encode(), value, partition, None, None)
                sent.add_done_callback(on_produced)  # type: ignore[attr-defined]
        for stage, label in enumerate(("contact", "customer")):
            for route, count in (("local", local_count[stage]), ("rekeyed", rekeyed_count[stage])):
                if count:
                    routed.labels(label, route).inc(count)
        if here[0] or here[1]:
            async with states_lock:
                for (topic_name, _, apply), batch in zip(routes, here, strict=True):
                    apply_partitions(topic_name, apply, batch)
                await produce_changelogs()

    app.forward = forward

    @app.agent(input_topics, name="ccmon.intake")
    async def intake_agent(stream: Any) -> None:
        """decode -> validate, then re-key valid events by contact and by customer.

        In batches: faust acks a batch's records only when the next batch is asked for, after
        their forwards are in the producer, and commits only after flushing the producer.
        """
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            await guard.run(intake_batch(events), "an intake batch")

    async def intake_batch(events: Sequence[Any]) -> None:
        records = []
        for event in events:
            message = event.message
            records.append(
                SourceRecord(
                    topic=message.topic,
                    partition=message.partition,
                    offset=message.offset,
                    timestamp_ms=int(message.timestamp * 1000) if message.timestamp else None,
                    key=message.key,
                    value=message.value,
                )
            )
        valid = await intake.admit_batch(records)
        if valid:
            await app.forward(valid)

    async def apply_batch(events: Sequence[Any], table_topic: str, apply: ApplyEvents) -> None:
        """Apply a stage agent's batch: per partition, per key in arrival order, one state
        write per key; then the batch's changelog records go to the producer, before faust
        acks the batch. Under a lock shared with the other stage and the intake: their writes
        must not slip in while this batch's records are handed over (the wrong batch would
        ack them).
        """
        by_partition: Batch = {}
        for event in events:
            by_key = by_partition.setdefault(event.message.partition, {})
            by_key.setdefault(event.key.decode(), []).append(decode_internal(event.value))
        async with states_lock:
            apply_partitions(table_topic, apply, by_partition)
            await produce_changelogs()

    @app.agent(contact_topic, name="ccmon.contacts")
    async def contacts_agent(stream: Any) -> None:
        """Apply each contact's events to its state and the window counters."""
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            await guard.run(
                apply_batch(events, app.contact_topic_name, engine.apply_contact_events),
                "a contact-stage batch",
            )

    @app.agent(customer_topic, name="ccmon.customers")
    async def customers_agent(stream: Any) -> None:
        """Apply each customer's events to its state (FCR, CRR, contact-less surveys)."""
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            await guard.run(
                apply_batch(events, app.customer_topic_name, engine.apply_customer_events),
                "a customer-stage batch",
            )

    async def rebuild_view() -> None:
        """After recovery or a rebalance, recompute the counters from the states owned now."""
        engine.rebuild(app.owns(app.contact_topic_name), app.owns(app.customer_topic_name))
        app.ready = True

    contacts.on_recover(rebuild_view)
    customers.on_recover(rebuild_view)

    app.timer(LIVENESS_EVERY_S)(app.watch_liveness)
    register_views(app)
    return app
