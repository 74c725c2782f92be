"""Holding one checkpoint upload open, so ``npm run demo`` can kill the trainer inside it.

``HoldUpload(n)`` is a gRPC client interceptor. The ``n``-th checkpoint save of the process is
streamed to the service up to half of its messages; then the interceptor prints
``O3ML-UPLOAD-HELD key=<key> step=<step>`` and blocks that stream for good. The service holds an
open Save stream with part of a checkpoint and no trailer, which is exactly the state a trainer
killed mid-upload leaves behind: the demo sends SIGKILL on that line and then checks that the
checkpoint never became visible. Holding the stream, rather than killing at "a save started",
makes the moment certain however fast the upload would have been.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from o3ml import O3Client

SAVE_METHOD = "/o3ml.v1.CheckpointService/Save"
HELD_MARKER = "O3ML-UPLOAD-HELD"
# Long enough for the half stream to leave this process and reach the service before the marker.
_SETTLE_SECONDS = 0.5


class HoldUpload(grpc.StreamUnaryClientInterceptor):  # type: ignore[misc]
    def __init__(self, number: int) -> None:
        if number < 1:
            raise ValueError(f"the upload to hold is counted from 1, not {number}")
        self.number = number
        self._saves = 0
        self._lock = threading.Lock()

    def intercept_stream_unary(self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, requests: Iterator[Any]) -> Any:
        if details.method != SAVE_METHOD:
            return continuation(details, requests)
        with self._lock:
            self._saves += 1
            hold = self._saves == self.number
        return continuation(details, self._held(requests) if hold else requests)

    def _held(self, requests: Iterator[Any]) -> Iterator[Any]:
        messages = list(requests)  # already encoded entries: listing them copies nothing
        header = messages[0].header
        yield from messages[: len(messages) // 2]
        time.sleep(_SETTLE_SECONDS)
        print(f"{HELD_MARKER} key={header.key} step={header.step}", flush=True)
        sys.stdout.flush()
        while True:  # until the process is killed; the trailer that would commit is never sent
            time.sleep(60)


def holding_client(number: int) -> O3Client:
    """An ``O3Client`` (configured from the environment) whose ``number``-th checkpoint save is held.

    The checkpoint calls go through the client's connection, so intercepting its calls is enough.
    """
    client = O3Client()
    client.connection.intercept(HoldUpload(number))
    return client
