"""How one valid event changes a contact's or a customer's state (pure, no faust).

States are plain dicts stored with orjson in faust tables. Each remembers the ``event_id`` s it
has applied, so a duplicate or a replay after a crash leaves the state unchanged: that is what
makes the engine exact under at-least-once delivery. Durations are kept as integer ms.
"""

from __future__ import annotations

from stream_app.engine.records import ContactState, CustomerState, HandledRecord, SurveyRecord
from stream_app.events import (
    ContactAbandoned,
    ContactAnswered,
    ContactResolved,
    ContactStarted,
    CustomerStatus,
    Event,
    SurveySubmitted,
)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def contact_key(event: Event) -> str | None:
    """Key of the contact state an event updates, or None when it has no contact."""
    return getattr(event, "contact_id", None)


def customer_key(event: Event) -> str | None:
    """Key of the customer state an event updates, or None (only some events reach customers)."""
    if isinstance(event, CustomerStatus | ContactResolved):
        return event.customer_id
    if isinstance(event, SurveySubmitted) and event.contact_id is None:
        return event.customer_id
    return None


def _remember(state: ContactState | CustomerState, event: Event) -> bool:
    """Record the event id; False when it was applied before (a duplicate or a replay)."""
    ids: list[str] = state.setdefault("ids", [])
    if event.event_id in ids:
        return False
    ids.append(event.event_id)
    state["last"] = max(state.get("last", 0), event.occurred_at_ms)
    return True


def survey_record(event: SurveySubmitted) -> SurveyRecord:
    """How a survey is kept in a state (and read by the facts)."""
    return {
        "t": event.occurred_at_ms,
        "m": event.metric,
        "s": event.score,
        "sc": event.scale,
        "q": event.queue,
        "ch": event.channel,
        "a": event.agent_id,
        "tm": event.team,
    }


def apply_to_contact(state: ContactState, event: Event) -> bool:
    """Add ``event`` to its contact's state; False when nothing changed (a duplicate)."""
    if not _remember(state, event):
        return False
    t = event.occurred_at_ms
    if isinstance(event, ContactStarted):
        state.setdefault("started", []).append(
            {"t": t, "q": event.queue, "ch": event.channel, "cu": event.customer_id}
        )
    elif isinstance(event, ContactAnswered):
        state.setdefault("answered", []).append(
            {
                "t": t,
                "q": event.queue,
                "ch": event.channel,
                "a": event.agent_id,
                "tm": event.team,
                "w": _ms(event.wait_seconds),
            }
        )
    elif isinstance(event, ContactAbandoned):
        state.setdefault("abandoned", []).append(
            {"t": t, "q": event.queue, "ch": event.channel, "w": _ms(event.wait_seconds)}
        )
    elif isinstance(event, ContactResolved):
        state.setdefault("resolved", []).append(
            {
                "t": t,
                "q": event.queue,
                "ch": event.channel,
                "a": event.agent_id,
                "tm": event.team,
                "talk": _ms(event.talk_seconds),
                "hold": _ms(event.hold_seconds),
                "wrap": _ms(event.wrap_seconds),
                "res": event.resolved,
                "r": event.reason,
            }
        )
    elif isinstance(event, SurveySubmitted):
        state.setdefault("surveys", []).append(survey_record(event))
    return True


def apply_to_customer(state: CustomerState, event: Event) -> bool:
    """Add ``event`` to its customer's state; False when nothing changed (a duplicate)."""
    if not _remember(state, event):
        return False
    t = event.occurred_at_ms
    if isinstance(event, CustomerStatus):
        state.setdefault("status", []).append({"t": t, "s": event.status})
    elif isinstance(event, ContactResolved):
        handled: dict[str, HandledRecord] = state.setdefault("handled", {})
        seq = state["seq"] = state.get("seq", 0) + 1
        current = handled.get(event.contact_id)
        # A contact counts once for FCR: by its first resolved event in event time.
        if current is None or t < current["t"]:
            handled[event.contact_id] = {
                "t": t,
                "n": seq,
                "r": event.reason,
                "res": event.resolved,
                "q": event.queue,
                "ch": event.channel,
                "a": event.agent_id,
                "tm": event.team,
            }
    elif isinstance(event, SurveySubmitted):
        state.setdefault("surveys", []).append(survey_record(event))
    return True


def contact_waiting_since(state: ContactState) -> tuple[str, str, int] | None:
    """(queue, channel, started_at) while the contact waits: started, not answered/abandoned."""
    started = state.get("started")
    if not started or state.get("answered") or state.get("abandoned") or state.get("resolved"):
        return None
    first = min(started, key=lambda s: s["t"])
    return first["q"], first["ch"], first["t"]
