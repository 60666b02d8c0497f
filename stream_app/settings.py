"""All configuration, read once from environment variables (prefix ``CCMON_``).

One typed, frozen settings object for the worker, the CLI and the local stack, so every
default is written down in one place; ``docs`` and the README's table are generated from the
field descriptions here (``ccmon config``). Invalid values stop the program with one line.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stream_app.errors import UserError
from stream_app.kpi.formulas import KpiParams, ParamsBook

TARGET_FIELDS: dict[str, str] = {
    "target_service_level": "service_level",
    "target_abandonment": "abandonment",
    "target_asa_seconds": "asa",
    "target_aht_seconds": "aht",
    "target_csat": "csat",
    "target_nps": "nps",
    "target_fcr": "fcr",
}
"""KpiParams target field -> its KPI in the targets file (``kpis.<kpi>.target``)."""

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The source checkout; ``deploy/`` and ``schemas/`` are read from here."""

EVENT_TYPES: tuple[str, ...] = (
    "contact.started",
    "contact.answered",
    "contact.resolved",
    "contact.abandoned",
    "survey.submitted",
    "customer.status",
)
"""The six event types of the spec, in the order of its table."""


class Settings(BaseSettings):
    """Every knob of ccmon; the environment variable is ``CCMON_`` + the field name upper-cased."""

    model_config = SettingsConfigDict(env_prefix="CCMON_", frozen=True, extra="ignore")

    # --- Kafka -----------------------------------------------------------------------------
    kafka_host: str = Field("127.0.0.1", description="Host the local broker binds and clients use.")
    kafka_port: int = Field(9092, description="Kafka client (PLAINTEXT) port.")
    kafka_controller_port: int = Field(
        9095, description="KRaft controller port of the local broker."
    )
    kafka_brokers: int = Field(
        1,
        ge=1,
        le=9,
        description="Brokers of the local stack (KRaft, each also a controller): 1, or 3 for "
        "a cluster with replication factor 3 and min.insync.replicas 2. Broker n (1-based) "
        "listens on kafka_port + 100 (n - 1), its controller on kafka_controller_port + "
        "100 (n - 1).",
    )
    topic_replication_factor: int = Field(
        0,
        ge=0,
        description="Replicas of each topic ccmon or faust creates; 0 means min(3, "
        "CCMON_KAFKA_BROKERS).",
    )
    kafka_bootstrap: str = Field(
        "",
        description="Bootstrap servers for clients; empty means the local stack's brokers.",
    )
    kafka_version: str = Field("4.1.1", description="Apache Kafka version the local stack runs.")
    topic_partitions: int = Field(6, ge=1, description="Partitions of each topic created by ccmon.")
    topic_namespace: str = Field(
        "", description="Prefix added to every topic name (isolates test runs on one broker)."
    )
    topic_contact_started: str = Field(
        "cc.contact.started", description="Topic of contact.started."
    )
    topic_contact_answered: str = Field(
        "cc.contact.answered", description="Topic of contact.answered."
    )
    topic_contact_resolved: str = Field(
        "cc.contact.resolved", description="Topic of contact.resolved."
    )
    topic_contact_abandoned: str = Field(
        "cc.contact.abandoned", description="Topic of contact.abandoned."
    )
    topic_survey_submitted: str = Field(
        "cc.survey.submitted", description="Topic of survey.submitted."
    )
    topic_customer_status: str = Field(
        "cc.customer.status", description="Topic of customer.status."
    )
    topic_deadletter: str = Field("cc.deadletter", description="Dead-letter topic for rejects.")

    # --- Worker ----------------------------------------------------------------------------
    app_id: str = Field("ccmon", description="Faust application id (consumer group, changelogs).")
    web_host: str = Field("127.0.0.1", description="Address the worker's web server binds.")
    web_port: int = Field(6066, description="Port of the worker's web server (/metrics, API).")
    data_dir: Path = Field(
        Path.home() / ".cache" / "ccmon" / "worker",
        description="Worker's local state (faust table stores).",
    )
    log_level: str = Field("info", description="Worker log level.")
    liveness_stall_s: float = Field(
        60.0,
        gt=0,
        description="/healthz answers 503 (not live) when records wait on the worker's "
        "partitions and none was delivered for this long, so a supervisor restarts it.",
    )
    session_timeout_s: float = Field(
        15.0,
        gt=0,
        description="Kafka consumer-group session timeout: how long a killed worker's "
        "partitions wait before another worker takes them over.",
    )

    # --- Event contract --------------------------------------------------------------------
    min_event_time: datetime = Field(
        datetime(2000, 1, 1, tzinfo=UTC),
        description="Earliest possible occurred_at (RFC 3339); earlier events are rejected.",
    )
    horizon_hours: float = Field(
        48.0,
        gt=0,
        description="Kept horizon behind the newest occurred_at: later events still fill their "
        "window; older ones are late (all-time counters only). Also how long duplicates are "
        "recognized.",
    )

    batch_delivery: bool = Field(
        False,
        description="Hand each partition's fetched records to the worker in one batch instead "
        "of faust's per-record path (stream_app.worker.delivery). Off by default until a "
        "SIGTERM stop that exited 75 in the rolling-restart test is explained (issue 15).",
    )
    agent_metrics: bool = Field(
        True, description="Export the ccmon_agent_* families (agent and team labels)."
    )
    agent_metrics_max: int = Field(
        5000, ge=1, description="At most this many agents get their own label; then (other)."
    )

    # --- KPI parameters (spec section 3) ---------------------------------------------------
    kpi_targets_file: Path | None = Field(
        None,
        description="KPI targets per queue (YAML); default deploy/kpi-targets.yaml of the "
        "checkout. The wallboard colours and the alert rules read the same file.",
    )
    service_level_threshold_s: float = Field(
        20.0, ge=0, description="Answered within this many seconds counts toward service level."
    )
    short_abandon_threshold_s: float = Field(
        0.0, ge=0, description="Abandons shorter than this leave both sides of the ratios."
    )
    csat_satisfied_min_5: int = Field(4, ge=1, le=5, description="Satisfied CSAT, 5-point.")
    csat_satisfied_min_10: int = Field(9, ge=1, le=10, description="Satisfied CSAT, 10-point.")
    fcr_lookback_days: float = Field(7.0, gt=0, description="FCR repeat look-back, inclusive.")
    timezone: str = Field("UTC", description="IANA zone where 'today' and months start.")
    day_reset: str = Field("00:00", description="Local HH:MM at which 'today' starts.")
    queue_overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description='Per-queue KPI parameters as JSON, e.g. {"billing": {"timezone": '
        '"Europe/Bucharest", "day_reset": "06:00", "service_level_threshold_s": 30}}.',
    )

    # --- Local stack -----------------------------------------------------------------------
    home: Path = Field(
        Path.home() / ".cache" / "ccmon",
        description="Cache of Kafka jars and the local stack's data, logs and pid files.",
    )
    prometheus_port: int = Field(9090, description="Port of the local Prometheus.")
    alertmanager_port: int = Field(9093, description="Port of the local Alertmanager.")
    scrape_interval_s: int = Field(5, ge=1, description="Prometheus scrape interval of the worker.")
    prometheus_rules_dir: Path = Field(
        REPO_ROOT / "deploy" / "prometheus" / "rules",
        description="Rule files the local Prometheus loads (generated by python -m "
        "stream_app.alerting).",
    )
    alert_webhook_url: str = Field(
        "http://127.0.0.1:9099/alerts",
        description="Where the local Alertmanager posts alerts (on-call's webhook receiver).",
    )

    @field_validator(
        "kafka_port", "kafka_controller_port", "web_port", "prometheus_port", "alertmanager_port"
    )
    @classmethod
    def _port_in_range(cls, value: int) -> int:
        if not 1 <= value <= 65535:
            raise ValueError(f"{value} is not a TCP port (1-65535)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not an IANA time zone (e.g. Europe/Bucharest)"
            ) from None
        return value

    @field_validator("min_event_time")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("needs an explicit offset, e.g. 2000-01-01T00:00:00Z")
        return value

    def params_book(self) -> ParamsBook:
        """Deployment parameters plus each queue's overrides (validated at start).

        Targets come from the KPI targets file (the one the alert rules are rendered from),
        so the wallboard colours a queue against the same numbers that page on-call;
        ``CCMON_QUEUE_OVERRIDES`` may still override any parameter, targets included.
        """
        from stream_app.alerting import config as targets_config  # yaml only when needed

        path = self.kpi_targets_file or targets_config.CONFIG_PATH
        loaded = targets_config.load(path) if path.exists() or self.kpi_targets_file else None
        default = self.kpi_params()

        def with_targets(params: KpiParams, queue: str | None) -> KpiParams:
            if loaded is None:
                return params
            values: dict[str, Any] = {
                name: loaded.value(kpi, "target", queue) for name, kpi in TARGET_FIELDS.items()
            }
            return replace(params, **values)

        queues = {}
        target_queues = set(loaded.overrides) if loaded else set()
        for queue in sorted(target_queues - set(self.queue_overrides)):
            queues[queue] = with_targets(default, queue)
        for queue, overrides in self.queue_overrides.items():
            unknown = set(overrides) - {f.name for f in fields(KpiParams)}
            if unknown:
                raise UserError(
                    f"invalid configuration: CCMON_QUEUE_OVERRIDES: queue {queue!r} has unknown "
                    f"parameter(s) {', '.join(sorted(unknown))}; see README, Configuration"
                )
            try:
                queues[queue] = replace(with_targets(default, queue), **overrides)
            except (TypeError, ValueError) as exc:
                raise UserError(
                    f"invalid configuration: CCMON_QUEUE_OVERRIDES: queue {queue!r}: {exc}"
                ) from None
        return ParamsBook(default=with_targets(default, None), queues=queues)

    def kpi_params(self) -> KpiParams:
        """The KPI parameters as the pure arithmetic takes them."""
        return KpiParams(
            service_level_threshold_s=self.service_level_threshold_s,
            short_abandon_threshold_s=self.short_abandon_threshold_s,
            csat_satisfied_min_5=self.csat_satisfied_min_5,
            csat_satisfied_min_10=self.csat_satisfied_min_10,
            fcr_lookback_s=self.fcr_lookback_days * 86400,
            timezone=self.timezone,
            day_reset=self.day_reset,
        )

    @property
    def horizon_ms(self) -> int:
        """`horizon_hours` in milliseconds."""
        return int(self.horizon_hours * 3_600_000)

    @property
    def min_event_time_ms(self) -> int:
        """`min_event_time` as epoch milliseconds, as the decoder takes it."""
        return int(self.min_event_time.timestamp() * 1000)

    @property
    def bootstrap_servers(self) -> str:
        """What Kafka clients connect to."""
        return self.kafka_bootstrap or ",".join(
            f"{self.kafka_host}:{port}" for port, _ in self.broker_ports
        )

    @property
    def broker_ports(self) -> list[tuple[int, int]]:
        """(client port, controller port) of each broker of the local stack."""
        return [
            (self.kafka_port + 100 * n, self.kafka_controller_port + 100 * n)
            for n in range(self.kafka_brokers)
        ]

    @property
    def replication_factor(self) -> int:
        """Replicas of each topic created (``topic_replication_factor``, 0: from the brokers)."""
        return self.topic_replication_factor or min(3, self.kafka_brokers)

    @property
    def topics_by_type(self) -> dict[str, str]:
        """Event type -> full topic name (namespace applied)."""
        names = (
            self.topic_contact_started,
            self.topic_contact_answered,
            self.topic_contact_resolved,
            self.topic_contact_abandoned,
            self.topic_survey_submitted,
            self.topic_customer_status,
        )
        return {t: self.topic_namespace + n for t, n in zip(EVENT_TYPES, names, strict=True)}

    @property
    def deadletter_topic(self) -> str:
        """Full name of the dead-letter topic."""
        return self.topic_namespace + self.topic_deadletter

    @property
    def all_topics(self) -> list[str]:
        """Every topic ccmon itself creates: the six input topics and the dead-letter topic."""
        return [*self.topics_by_type.values(), self.deadletter_topic]


def load_settings() -> Settings:
    """Read the environment; a bad value becomes one clear line instead of a traceback."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise UserError(
            f"invalid configuration: CCMON_{field.upper()}: {first['msg']}; "
            "fix the environment variable (see README, Configuration)"
        ) from None
