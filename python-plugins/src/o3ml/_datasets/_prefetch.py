"""Loading shards ahead of the reader, in background threads.

The reader knows the whole order of its stream before it starts, hence the order in which it
will first need each shard. Threads load shards in that order (fetch, verify, cut out the
samples the stream needs) and keep at most ``ahead`` loaded shards waiting beyond the one the
reader took last, so fetching the next shards overlaps with training on the current one while
memory stays bounded. Up to ``threads`` of those loads run at once: one shard's fetch waits on
the network and the service most of the time, so several in flight hide each other's round
trips (shard fetches release the GIL while they wait). A shard that fails to load is reported
to the reader when it asks for that shard, and no load starts after a failure: nothing after it
is read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["Prefetcher"]

_T = TypeVar("_T")
# How long closing waits for loads in progress before leaving the (daemon) threads to finish alone.
_CLOSE_WAIT = 5.0


class Prefetcher(Generic[_T]):
    """Runs ``load(item)`` for each of ``order``, ``ahead`` items in advance, ``threads`` at a time."""

    def __init__(self, load: Callable[[int], _T], order: Sequence[int], ahead: int, name: str = "o3ml-prefetch", threads: int = 1) -> None:
        if ahead < 0:
            raise ValueError(f"ahead must be 0 or more, not {ahead}")
        if threads < 1:
            raise ValueError(f"threads must be 1 or more, not {threads}")
        self._load = load
        self._order = list(order)
        self._slots = threading.Semaphore(ahead + 1)
        self._ready: dict[int, _T] = {}
        self._failed: dict[int, BaseException] = {}
        self._cond = threading.Condition()
        self._stopped = False
        self._next = 0  # position in `order` of the next item a thread starts loading
        self._taken = 0
        # More threads than slots would only wait on the semaphore.
        count = min(threads, ahead + 1, max(len(self._order), 1))
        self._running = count
        self._threads = [threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True) for i in range(count)]
        for thread in self._threads:
            thread.start()

    def take(self, item: int) -> _T:
        """The loaded ``item``, waiting for it; raises what its load raised.

        Taking an item ends the reader's use of the one taken before, which frees its slot.
        """
        if self._taken:
            self._slots.release()
        self._taken += 1
        with self._cond:
            self._cond.wait_for(lambda: item in self._ready or item in self._failed or self._running == 0)
            if item in self._failed:
                raise self._failed.pop(item)
            if item not in self._ready:
                raise RuntimeError(f"shard {item} was not scheduled for loading")
            return self._ready.pop(item)

    def close(self) -> None:
        """Stops loading; loads in progress are left to finish on their own."""
        with self._cond:
            self._stopped = True
            self._ready.clear()
        for _ in self._threads:
            self._slots.release()
        for thread in self._threads:
            thread.join(_CLOSE_WAIT)

    def __enter__(self) -> Prefetcher[_T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _claim(self) -> int | None:
        """The next item to load, or None when there is none or loading stopped."""
        with self._cond:
            if self._stopped or self._failed or self._next >= len(self._order):
                return None
            item = self._order[self._next]
            self._next += 1
            return item

    def _run(self) -> None:
        try:
            while True:
                self._slots.acquire()
                item = self._claim()
                if item is None:
                    self._slots.release()  # wakes a sibling waiting on a slot, so it sees the end too
                    return
                try:
                    value = self._load(item)
                except BaseException as err:  # handed to the reader, which raises it in its own thread
                    with self._cond:
                        self._failed[item] = err
                        self._cond.notify_all()
                    return
                with self._cond:
                    if self._stopped:
                        return
                    self._ready[item] = value
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()
