"""Input events: the v1 contract (typed records, rejection reasons) and the shared decoder.

Everything that reads an event from Kafka or from a file goes through ``decode_event``.
"""

from stream_app.events.check import CheckSummary, check_lines
from stream_app.events.decode import (
    DEFAULT_MIN_TIME_MS,
    TOPIC_TYPES,
    Accepted,
    DecodeResult,
    Rejected,
    decode_event,
)
from stream_app.events.reasons import Reason
from stream_app.events.records import (
    CHANNELS,
    Channel,
    ContactAbandoned,
    ContactAnswered,
    ContactResolved,
    ContactStarted,
    CustomerStatus,
    Event,
    SurveySubmitted,
)

__all__ = [
    "CHANNELS",
    "DEFAULT_MIN_TIME_MS",
    "TOPIC_TYPES",
    "Accepted",
    "Channel",
    "CheckSummary",
    "ContactAbandoned",
    "ContactAnswered",
    "ContactResolved",
    "ContactStarted",
    "CustomerStatus",
    "DecodeResult",
    "Event",
    "Reason",
    "Rejected",
    "SurveySubmitted",
    "check_lines",
    "decode_event",
]
