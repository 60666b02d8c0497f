"""Liveness: a worker holding records it does not deliver is stalled; rebalances are not."""

from __future__ import annotations

from stream_app.worker.liveness import Liveness


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_records_waiting_and_none_delivered_for_the_limit_is_a_stall() -> None:
    clock = Clock()
    liveness = Liveness(stall_after_s=60, clock=clock)
    liveness.observe(delivered=500, behind=40, settled=True)  # delivered moved: reset
    liveness.observe(delivered=500, behind=40, settled=True)  # the wait starts here
    clock.now += 59
    liveness.observe(delivered=500, behind=40, settled=True)
    assert liveness.live
    clock.now += 1
    liveness.observe(delivered=500, behind=40, settled=True)
    assert not liveness.live
    assert liveness.stalls == 1
    assert liveness.idle_s == 60
    clock.now += 30  # still stalled: counted once
    liveness.observe(delivered=500, behind=40, settled=True)
    assert (liveness.live, liveness.stalls) == (False, 1)


def test_a_delivered_record_resets_the_watch() -> None:
    clock = Clock()
    liveness = Liveness(stall_after_s=60, clock=clock)
    liveness.observe(delivered=1, behind=10, settled=True)
    for n in range(2, 10):  # slow but moving
        clock.now += 50
        liveness.observe(delivered=n, behind=10, settled=True)
    assert liveness.live
    assert liveness.stalls == 0


def test_nothing_to_read_or_a_rebalance_is_not_a_stall() -> None:
    clock = Clock()
    liveness = Liveness(stall_after_s=60, clock=clock)
    for behind, settled in [(0, True), (25, False), (0, True), (25, False)]:
        clock.now += 100
        liveness.observe(delivered=7, behind=behind, settled=settled)
        assert liveness.live
    clock.now += 100  # the first settled reading with records waiting starts the watch
    liveness.observe(delivered=7, behind=25, settled=True)
    assert liveness.live


def test_a_stalled_worker_that_delivers_again_is_live() -> None:
    clock = Clock()
    liveness = Liveness(stall_after_s=10, clock=clock)
    liveness.observe(delivered=3, behind=5, settled=True)
    liveness.observe(delivered=3, behind=5, settled=True)
    clock.now += 10
    liveness.observe(delivered=3, behind=5, settled=True)
    assert not liveness.live
    liveness.observe(delivered=4, behind=4, settled=True)
    assert liveness.live
