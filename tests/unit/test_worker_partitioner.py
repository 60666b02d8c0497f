"""The worker's partitioner gives every key the partition Kafka's default partitioner gives it."""

from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from stream_app.worker.partitioner import default_partitioner, murmur2, partition_of

pytestmark = pytest.mark.unit


def test_murmur2_and_partitions_match_kafkas() -> None:
    rng = random.Random(3)
    for _ in range(5000):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
        assert murmur2(data) == aiokafka_murmur2(data)
    for key in ("s1-c1", "cu-433400", "é-ü-€", ""):
        expected = (aiokafka_murmur2(key.encode()) & 0x7FFFFFFF) % 6
        assert partition_of(key, 6) == expected


def test_producer_partitioner_agrees_with_partition_of_and_spreads_keyless_records() -> None:
    partitions = list(range(12))
    for key in ("c-1", "cust-77", "é"):
        assert default_partitioner(key.encode(), partitions, partitions) == partition_of(key, 12)
    random.seed(1)
    keyless = {default_partitioner(None, partitions, [3, 5]) for _ in range(200)}
    assert keyless == {3, 5}
    assert {default_partitioner(None, partitions, []) for _ in range(500)} == set(partitions)
