"""Micro-benchmark of decode_event: how many records per second one core validates.

Not a test. Builds realistic events of all six types (with a share of invalid ones spread over
the rejection reasons), then times ``decode_event`` over all of them and over the valid ones
alone. Run: ``.venv/bin/python bench/bench_validator.py [--events 200000] [--invalid 0.05]``.
"""

import argparse
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson

from stream_app.events import (
    CHANNELS,
    DEFAULT_MIN_TIME_MS,
    TOPIC_TYPES,
    Accepted,
    decode_event,
)

KAFKA_TS = 1_741_953_600_000  # 2025-03-14T12:00:00Z
START = datetime(2025, 3, 14, 8, 0, tzinfo=UTC)
PLUS_3 = timezone(timedelta(hours=3))
QUEUES = ("billing", "tech-support", "sales", "retention", "claims")
# Mix roughly like a contact center: every contact starts, most are answered and resolved.
TYPE_WEIGHTS = (30, 25, 25, 6, 10, 4)


def occurred_at(rng: random.Random) -> str | int:
    """Mostly RFC 3339 (UTC or +03:00, with or without ms), some integer epoch ms."""
    moment = START + timedelta(milliseconds=rng.randrange(3_600_000))
    style = rng.randrange(4)
    if style == 0:
        return int(moment.timestamp() * 1000)
    if style == 1:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == 2:
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return moment.astimezone(PLUS_3).isoformat(timespec="seconds")


def valid_event(rng: random.Random, n: int, event_type: str) -> dict[str, Any]:
    """A realistic valid event of ``event_type``."""
    contact = f"c-{rng.randrange(10**7)}"
    customer = f"cust-{rng.randrange(10**6)}"
    agent = f"agent-{rng.randrange(400)}"
    team = f"team-{rng.randrange(20)}"
    queue = rng.choice(QUEUES)
    channel = rng.choice(CHANNELS)
    base: dict[str, Any] = {
        "event_id": f"evt-{n:09d}-{rng.randrange(10**6)}",
        "type": event_type,
        "occurred_at": occurred_at(rng),
    }
    if event_type == "contact.started":
        extra: dict[str, Any] = {
            "contact_id": contact,
            "customer_id": customer,
            "queue": queue,
            "channel": channel,
            "reason": rng.choice(("billing", "outage", "upgrade")),
        }
    elif event_type == "contact.answered":
        extra = {
            "contact_id": contact,
            "queue": queue,
            "channel": channel,
            "agent_id": agent,
            "team": team,
            "wait_seconds": round(rng.expovariate(1 / 25), 3),
        }
    elif event_type == "contact.resolved":
        extra = {
            "contact_id": contact,
            "customer_id": customer,
            "queue": queue,
            "channel": channel,
            "agent_id": agent,
            "team": team,
            "talk_seconds": round(rng.uniform(30, 900), 1),
            "hold_seconds": rng.choice((0, 0, 15, 42.5)),
            "wrap_seconds": rng.randrange(0, 180),
            "resolved": rng.random() < 0.8,
            "reason": rng.choice(("billing", "outage", "upgrade")),
        }
    elif event_type == "contact.abandoned":
        extra = {
            "contact_id": contact,
            "customer_id": customer,
            "queue": queue,
            "channel": channel,
            "wait_seconds": round(rng.expovariate(1 / 60), 3),
        }
    elif event_type == "survey.submitted":
        nps = rng.random() < 0.4
        extra = {
            "customer_id": customer,
            "contact_id": contact,
            "metric": "nps" if nps else "csat",
            "score": rng.randrange(0, 11) if nps else rng.randrange(1, 6),
        }
        if rng.random() < 0.3:
            extra["comment"] = "Thanks for the quick help!"
    else:
        extra = {"customer_id": customer, "status": rng.choice(("active", "churned"))}
    return base | extra


BREAKERS: tuple[Callable[[dict[str, Any]], None], ...] = (
    lambda e: e.pop("event_id"),
    lambda e: e.update(channel="phone"),
    lambda e: e.update(occurred_at="2025-03-14T09:00:00"),
    lambda e: e.update(occurred_at="1999-12-31T23:59:59Z"),
    lambda e: e.update(type="contact.transferred"),
    lambda e: e.update(schema_version=2),
    lambda e: e.update(event_id=""),
    lambda e: e.update(event_id="x" * 200),
    lambda e: e.update(queue=17),
)


def build(count: int, invalid_share: float, seed: int) -> list[tuple[str, bytes]]:
    """``count`` (topic type, raw bytes) pairs, ``invalid_share`` of them broken."""
    rng = random.Random(seed)
    records: list[tuple[str, bytes]] = []
    for n in range(count):
        event_type = rng.choices(TOPIC_TYPES, TYPE_WEIGHTS)[0]
        obj = valid_event(rng, n, event_type)
        if rng.random() < invalid_share:
            if rng.random() < 0.1:
                records.append((event_type, b'{"event_id": "e", "wait_seconds": NaN}'))
                continue
            if "wait_seconds" in obj and rng.random() < 0.5:
                obj["wait_seconds"] = -3
            else:
                rng.choice(BREAKERS)(obj)
        records.append((event_type, orjson.dumps(obj)))
    return records


def run(records: list[tuple[str, bytes]]) -> tuple[float, Counter[str]]:
    """Seconds taken to decode every record once, and the outcome counts."""
    outcomes: Counter[str] = Counter()
    start = time.perf_counter()
    for event_type, raw in records:
        result = decode_event(
            raw,
            expected_type=event_type,
            kafka_timestamp_ms=KAFKA_TS,
            min_time_ms=DEFAULT_MIN_TIME_MS,
        )
        outcomes["accepted" if isinstance(result, Accepted) else result.reason.value] += 1
    return time.perf_counter() - start, outcomes


def main() -> None:
    """Build the data, warm up, then report the best of a few timed passes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--invalid", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    records = build(args.events, args.invalid, args.seed)
    size = sum(len(raw) for _, raw in records) / len(records)
    run(records[:5000])  # warm-up
    mixed_s, outcomes = min((run(records) for _ in range(args.repeat)), key=lambda r: r[0])
    valid_only = [r for r in records if b"NaN" not in r[1]]
    valid_only = [
        (t, raw)
        for t, raw in valid_only
        if isinstance(
            decode_event(
                raw,
                expected_type=t,
                kafka_timestamp_ms=KAFKA_TS,
                min_time_ms=DEFAULT_MIN_TIME_MS,
            ),
            Accepted,
        )
    ]
    valid_s = min(run(valid_only)[0] for _ in range(args.repeat))

    rejected = sum(n for k, n in outcomes.items() if k != "accepted")
    print(f"python {sys.version.split()[0]}, {len(records):,} records, mean {size:.0f} bytes")
    print(
        f"mixed ({rejected / len(records):.1%} invalid): "
        f"{len(records) / mixed_s:,.0f} events/s ({mixed_s / len(records) * 1e6:.2f} us/event)"
    )
    print(
        f"valid only ({len(valid_only):,}): {len(valid_only) / valid_s:,.0f} events/s "
        f"({valid_s / len(valid_only) * 1e6:.2f} us/event)"
    )
    print("outcomes:", ", ".join(f"{k} {n}" for k, n in outcomes.most_common()))


if __name__ == "__main__":
    main()
