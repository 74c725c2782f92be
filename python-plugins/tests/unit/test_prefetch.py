"""The shard prefetcher: loads in parallel, within its window, in the reader's order, stopping at a failure."""

from __future__ import annotations

import threading
import time

import pytest

from o3ml._datasets._prefetch import Prefetcher


def test_loads_run_at_once_up_to_the_thread_count() -> None:
    # Three loads meet at a barrier: only three threads loading at the same time get past it.
    barrier = threading.Barrier(3, timeout=10)

    def load(item: int) -> int:
        if item < 3:
            barrier.wait()
        return item * 10

    with Prefetcher(load, list(range(6)), ahead=2, threads=3) as ahead:
        assert [ahead.take(i) for i in range(6)] == [0, 10, 20, 30, 40, 50]


def test_one_thread_loads_one_at_a_time() -> None:
    barrier = threading.Barrier(2, timeout=0.5)

    def load(item: int) -> int:
        barrier.wait()  # never met by a second load
        return item

    with Prefetcher(load, [0, 1], ahead=2, threads=1) as ahead, pytest.raises(threading.BrokenBarrierError):
        ahead.take(0)


def test_never_more_than_the_window_is_loaded_or_loading_beyond_the_reader() -> None:
    lock = threading.Lock()
    started: list[int] = []
    calls = 0  # take() calls made: each one ends the reader's use of the item before it
    worst = 0

    def load(item: int) -> int:
        nonlocal worst
        with lock:
            started.append(item)
            # loads begun minus items the reader has finished with
            worst = max(worst, len(started) - max(calls - 1, 0))
        time.sleep(0.002)
        return item

    with Prefetcher(load, list(range(40)), ahead=2, threads=8) as ahead:
        for i in range(40):
            with lock:
                calls += 1
            assert ahead.take(i) == i
            time.sleep(0.001)
    assert worst <= 3  # ahead + 1, whatever the thread count
    assert sorted(started) == list(range(40))


def test_a_failure_reaches_the_reader_at_its_item_and_nothing_after_it_starts() -> None:
    started: list[int] = []
    failed = threading.Event()

    def load(item: int) -> int:
        started.append(item)
        if item == 3:
            failed.set()
            raise OSError("shard 3: connection reset")
        if item > 3:
            failed.wait(5)  # loads claimed before the failure end after it
        return item

    with Prefetcher(load, list(range(20)), ahead=3, threads=4) as ahead:
        assert [ahead.take(i) for i in range(3)] == [0, 1, 2]
        with pytest.raises(OSError, match="shard 3"):
            ahead.take(3)
    # At most the window's worth of items were claimed when 3 failed; nothing was started after.
    assert max(started) <= 3 + 3


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="threads must be 1 or more"):
        Prefetcher(lambda i: i, [0], ahead=1, threads=0)
    with pytest.raises(ValueError, match="ahead must be 0 or more"):
        Prefetcher(lambda i: i, [0], ahead=-1)
