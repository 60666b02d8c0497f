"""Pre-go-live check of a file of events (one JSON object per line), as ``ccmon check FILE``.

An integrator runs this on a sample of what they will produce and sees exactly what the worker
would accept or dead-letter, because both go through ``decode_event``. A file line has no Kafka
topic or timestamp, so any of the six types is allowed and the wall clock stands in for the
record timestamp in the "at most 24 h ahead" rule.
"""

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from stream_app.events.decode import Accepted, decode_event
from stream_app.events.reasons import Reason

MAX_EXAMPLES: int = 3
"""Example lines kept per reason: enough to find the fault, not a second copy of the file."""

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class RejectExample:
    """One rejected line: where it is and what was wrong with it."""

    line: int
    detail: str


@dataclass(slots=True)
class CheckSummary:
    """What ``check_lines`` found; ``as_json`` is the machine-readable contract."""

    accepted: int = 0
    rejected: Counter[Reason] = field(default_factory=Counter)
    examples: dict[Reason, list[RejectExample]] = field(default_factory=dict)
    accepted_by_type: Counter[str] = field(default_factory=Counter)

    @property
    def rejected_total(self) -> int:
        """All rejected lines, whatever the reason."""
        return sum(self.rejected.values())

    @property
    def ok(self) -> bool:
        """True when no line would be dead-lettered (a CLI exit status 0)."""
        return not self.rejected

    def as_json(self) -> dict[str, object]:
        """``{"accepted": n, "rejected": {"<reason>": n, ...}}``, reasons sorted by name."""
        rejected = {reason.value: count for reason, count in sorted(self.rejected.items())}
        return {"accepted": self.accepted, "rejected": rejected}

    def render_text(self) -> str:
        """A short human report: totals, then per reason its meaning and example lines."""
        lines = [
            f"{self.accepted + self.rejected_total} events checked: "
            f"{self.accepted} accepted, {self.rejected_total} rejected"
        ]
        if self.accepted_by_type:
            by_type = ", ".join(f"{t} {n}" for t, n in sorted(self.accepted_by_type.items()))
            lines.append(f"accepted by type: {by_type}")
        for reason, count in sorted(self.rejected.items(), key=lambda item: (-item[1], item[0])):
            lines.append(f"{reason.value}: {count} ({reason.description})")
            lines.extend(f"  line {ex.line}: {ex.detail}" for ex in self.examples[reason])
        if self.ok:
            lines.append("OK: every event would be accepted")
        return "\n".join(lines)


def check_lines(
    lines: Iterable[bytes], *, min_time_ms: int, now_ms: int | None = None
) -> CheckSummary:
    """Decode every non-blank line and summarize; line numbers count blank lines too (from 1).

    ``now_ms`` (default: the wall clock at the start) is the reference for the +24 h rule.
    """
    reference_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    summary = CheckSummary()
    for number, line in enumerate(lines, start=1):
        if number == 1 and line.startswith(_BOM):  # files saved by some Windows editors
            line = line[len(_BOM) :]
        line = line.strip()
        if not line:
            continue
        result = decode_event(
            line, expected_type=None, kafka_timestamp_ms=reference_ms, min_time_ms=min_time_ms
        )
        if isinstance(result, Accepted):
            summary.accepted += 1
            summary.accepted_by_type[result.event_type] += 1
            continue
        summary.rejected[result.reason] += 1
        examples = summary.examples.setdefault(result.reason, [])
        if len(examples) < MAX_EXAMPLES:
            examples.append(RejectExample(number, result.detail))
    return summary
