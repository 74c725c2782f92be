"""Loading shards ahead of the reader, in a background thread.

The reader knows the whole order of its stream before it starts, hence the order in which it
will first need each shard. A thread loads shards in that order (fetch, verify, cut out the
samples the stream needs) and keeps at most ``ahead`` loaded shards waiting beyond the one the
reader took last, so fetching the next shards overlaps with training on the current one while
memory stays bounded. A shard that fails to load is reported to the reader when it asks for
that shard, and the thread stops there: nothing after a failure is read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["Prefetcher"]

_T = TypeVar("_T")
# How long closing waits for a load in progress before leaving the (daemon) thread to finish alone.
_CLOSE_WAIT = 5.0


class Prefetcher(Generic[_T]):
    """Runs ``load(item)`` for each of ``order`` in a background thread, ``ahead`` items in advance."""

    def __init__(self, load: Callable[[int], _T], order: Sequence[int], ahead: int, name: str = "o3ml-prefetch") -> None:
        if ahead < 0:
            raise ValueError(f"ahead must be 0 or more, not {ahead}")
        self._load = load
        self._order = list(order)
        self._slots = threading.Semaphore(ahead + 1)
        self._ready: dict[int, _T] = {}
        self._failed: dict[int, BaseException] = {}
        self._cond = threading.Condition()
        self._stopped = False
        self._taken = 0
        self._finished = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def take(self, item: int) -> _T:
        """The loaded ``item``, waiting for it; raises what its load raised.

        Taking an item ends the reader's use of the one taken before, which frees its slot.
        """
        if self._taken:
            self._slots.release()
        self._taken += 1
        with self._cond:
            self._cond.wait_for(lambda: item in self._ready or item in self._failed or self._finished)
            if item in self._failed:
                raise self._failed.pop(item)
            if item not in self._ready:
                raise RuntimeError(f"shard {item} was not scheduled for loading")
            return self._ready.pop(item)

    def close(self) -> None:
        """Stops loading; a load in progress is left to finish on its own."""
        with self._cond:
            self._stopped = True
            self._ready.clear()
        self._slots.release()
        self._thread.join(_CLOSE_WAIT)

    def __enter__(self) -> Prefetcher[_T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        try:
            for item in self._order:
                self._slots.acquire()
                if self._stopped:
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
                self._finished = True
                self._cond.notify_all()
