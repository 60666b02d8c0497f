"""A faust table whose changelog records the stage produces itself, once per batch.

faust's own path buffers each table write and produces it record by record; a batch stage
writes each state once and hands all of a batch's changelog records to the producer before
the batch is acked (docs/engine.md), so the recovered tables always match what was acked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any


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
