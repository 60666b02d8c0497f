"""Typed, immutable records for the six v1 input events, as the decoder hands them on.

Records hold already-validated values only: times are normalized to UTC epoch milliseconds,
durations are floats in seconds, optional fields are ``None`` when absent or null (``team`` stays
``None``; the KPI stage decides how to label it). They are frozen and slotted because the worker
creates one per input record and keeps many of them in state.
"""

from dataclasses import dataclass
from typing import ClassVar, Literal, TypeAlias

Channel: TypeAlias = Literal["voice", "chat", "email", "messaging", "video", "other"]
Metric: TypeAlias = Literal["csat", "nps"]
Status: TypeAlias = Literal["active", "churned"]

CHANNELS: tuple[Channel, ...] = ("voice", "chat", "email", "messaging", "video", "other")


@dataclass(frozen=True, slots=True, kw_only=True)
class _EventBase:
    """Fields every event carries."""

    event_id: str
    occurred_at_ms: int
    schema_version: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactStarted(_EventBase):
    """A contact entered a queue: counts as offered and starts waiting."""

    event_type: ClassVar[str] = "contact.started"

    contact_id: str
    customer_id: str
    queue: str
    channel: Channel
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactAnswered(_EventBase):
    """An agent picked the contact up: answered, ASA and service level."""

    event_type: ClassVar[str] = "contact.answered"

    contact_id: str
    queue: str
    channel: Channel
    agent_id: str
    wait_seconds: float
    team: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactResolved(_EventBase):
    """The agent's handling ended: handled, AHT and first-contact resolution."""

    event_type: ClassVar[str] = "contact.resolved"

    contact_id: str
    customer_id: str
    queue: str
    channel: Channel
    agent_id: str
    talk_seconds: float
    hold_seconds: float
    wrap_seconds: float
    resolved: bool
    team: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactAbandoned(_EventBase):
    """The customer left the queue unanswered: abandonment."""

    event_type: ClassVar[str] = "contact.abandoned"

    contact_id: str
    queue: str
    channel: Channel
    wait_seconds: float
    customer_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SurveySubmitted(_EventBase):
    """A CSAT or NPS answer.

    ``scale`` is always set: the CSAT scale given (5 or 10) or the default 5; NPS is always
    on 0..10, so it is 10 for NPS whatever the producer sent.
    """

    event_type: ClassVar[str] = "survey.submitted"

    customer_id: str
    metric: Metric
    score: int
    scale: int
    contact_id: str | None = None
    queue: str | None = None
    channel: Channel | None = None
    agent_id: str | None = None
    team: str | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerStatus(_EventBase):
    """A customer's status changed: customer retention rate."""

    event_type: ClassVar[str] = "customer.status"

    customer_id: str
    status: Status


Event: TypeAlias = (
    ContactStarted
    | ContactAnswered
    | ContactResolved
    | ContactAbandoned
    | SurveySubmitted
    | CustomerStatus
)
