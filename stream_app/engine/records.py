"""The layout of the stored states: what each short key of a contact's or customer's state holds.

States are plain dicts and lists, stored as orjson bytes in changelogged tables; keys are short
because every state is written once per batch and kept for the whole horizon. These TypedDicts
cost nothing at run time (a TypedDict is a dict): they are the states' documentation, checked
by mypy wherever ``engine.apply`` writes a state and ``engine.contributions`` reads one.
Changing a layout changes what old changelogs recover into: add keys, never rename them.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


class StartedRecord(TypedDict):
    """A ``contact.started``: occurred at ``t`` (epoch ms), queue, channel, customer."""

    t: int
    q: str
    ch: str
    cu: str | None


class AnsweredRecord(TypedDict):
    """A ``contact.answered``: queue, channel, agent, team, wait ``w`` (ms)."""

    t: int
    q: str
    ch: str
    a: str
    tm: str | None
    w: int


class AbandonedRecord(TypedDict):
    """A ``contact.abandoned``: queue, channel, wait ``w`` (ms)."""

    t: int
    q: str
    ch: str
    w: int


class ResolvedRecord(TypedDict):
    """A ``contact.resolved``: talk, hold and wrap in ms, ``res`` resolved, ``r`` reason."""

    t: int
    q: str
    ch: str
    a: str
    tm: str | None
    talk: int
    hold: int
    wrap: int
    res: bool
    r: str | None


class SurveyRecord(TypedDict):
    """A ``survey.submitted``: metric ``m`` (csat | nps), score ``s``, scale ``sc``, and the
    dimensions it names itself (each missing one comes from its contact)."""

    t: int
    m: str
    s: int
    sc: int | None
    q: str | None
    ch: str | None
    a: str | None
    tm: str | None


class StatusRecord(TypedDict):
    """A ``customer.status``: status ``s`` from ``t`` on."""

    t: int
    s: str


class HandledRecord(TypedDict):
    """A customer's handled contact for FCR (its first resolution); ``n`` is the arrival
    sequence number that breaks ties of ``t``."""

    t: int
    n: int
    r: str | None
    res: bool
    q: str
    ch: str
    a: str
    tm: str | None


class ContactState(TypedDict):
    """One contact: the event ids applied (``ids``), the newest event time (``last``), and its
    events by kind."""

    ids: NotRequired[list[str]]
    last: NotRequired[int]
    started: NotRequired[list[StartedRecord]]
    answered: NotRequired[list[AnsweredRecord]]
    abandoned: NotRequired[list[AbandonedRecord]]
    resolved: NotRequired[list[ResolvedRecord]]
    surveys: NotRequired[list[SurveyRecord]]


class CustomerState(TypedDict):
    """One customer: ids and ``last`` as a contact's, status history (CRR), handled contacts by
    contact id (FCR) with their arrival counter ``seq``, and surveys without a contact."""

    ids: NotRequired[list[str]]
    last: NotRequired[int]
    status: NotRequired[list[StatusRecord]]
    handled: NotRequired[dict[str, HandledRecord]]
    seq: NotRequired[int]
    surveys: NotRequired[list[SurveyRecord]]
