"""An in-process gRPC server on loopback for unit tests that play the service's part."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from typing import Any

import grpc


@contextmanager
def serving(add: Callable[[Any, grpc.Server], None], servicer: Any, workers: int = 4) -> Iterator[str]:
    """Serves ``servicer`` (registered with a generated ``add_*Servicer_to_server``); yields its address."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers))
    add(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(grace=None)
