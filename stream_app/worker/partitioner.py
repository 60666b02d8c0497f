"""Kafka's default partitioner (murmur2 of the key), fast enough to call for every record.

Where a key's state lives is decided by the partition Kafka's default partitioner gives it, so
the intake, the tables and the engine must all agree with it. aiokafka's pure-Python murmur2
costs several microseconds per key; this one reads the key four bytes at a time and the
partition of recently seen keys is remembered (a contact's events arrive close together).
"""

from __future__ import annotations

import random
import struct
from collections.abc import Sequence
from functools import lru_cache

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF
_WORDS = struct.Struct("<I")


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 hash (as ``org.apache.kafka.common.utils.Utils.murmur2``), unsigned."""
    length = len(data)
    h = (0x9747B28C ^ length) & _MASK
    tail = length & ~3
    for (k,) in _WORDS.iter_unpack(data[:tail]):
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    extra = length & 3
    if extra >= 3:
        h ^= data[tail + 2] << 16
    if extra >= 2:
        h ^= data[tail + 1] << 8
    if extra >= 1:
        h ^= data[tail]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


@lru_cache(maxsize=1 << 17)
def partition_of(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` (UTF-8) among ``partitions``."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def default_partitioner(
    key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]
) -> int:
    """aiokafka's ``DefaultPartitioner`` with this module's murmur2 (for the producer setting)."""
    if key is None:
        return random.choice(available or all_partitions)
    return all_partitions[(murmur2(key) & 0x7FFFFFFF) % len(all_partitions)]
