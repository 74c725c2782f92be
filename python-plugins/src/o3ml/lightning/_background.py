"""Uploads that run behind the training loop, in order, with bounded memory and loud failures.

One worker thread runs the submitted work in submission order, so a removal queued after a save
of the same key happens after it. At most ``max_pending`` snapshots wait or upload at once: a
save beyond that waits for the oldest to finish instead of piling host copies up in memory. The
first failure is kept and raised by the next ``raise_error`` (the next save) or by ``close``
(teardown): never swallowed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any


class BackgroundUploads:
    def __init__(self, max_pending: int) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, not {max_pending}")
        self._slots = threading.Semaphore(max_pending)
        self._executor: ThreadPoolExecutor | None = None
        self._futures: set[Future[None]] = set()
        self._lock = threading.Lock()
        self._error: BaseException | None = None

    def reserve(self) -> None:
        """Waits for room for one more snapshot; pair with ``submit(..., holds_slot=True)`` or ``release``."""
        self._slots.acquire()

    def release(self) -> None:
        self._slots.release()

    def submit(self, what: str, work: Callable[[], Any], *, holds_slot: bool) -> None:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="o3ml-checkpoint-upload")
            future = self._executor.submit(self._run, what, work, holds_slot)
            self._futures.add(future)
        future.add_done_callback(self._forget)

    def raise_error(self) -> None:
        with self._lock:
            error, self._error = self._error, None
        if error is not None:
            raise error

    def wait(self) -> None:
        """Waits until everything submitted so far has finished (failures stay kept)."""
        with self._lock:
            pending = set(self._futures)
        wait(pending)

    def close(self) -> None:
        """Waits for all work, stops the worker, and raises the first failure not yet raised."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        self.raise_error()

    def _run(self, what: str, work: Callable[[], Any], holds_slot: bool) -> None:
        try:
            work()
        except BaseException as err:  # kept for the training thread; nothing else would see it
            if hasattr(err, "add_note"):
                err.add_note(f"(raised in the background by {what})")
            with self._lock:
                if self._error is None:
                    self._error = err
        finally:
            if holds_slot:
                self._slots.release()

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)
