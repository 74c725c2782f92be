"""The service streams: its resident memory stays bounded whatever the object's size.

The test runs its own service. glibc keeps a process's malloc high-water mark
resident, so a service shared with the rest of the suite would carry the peak of
whichever earlier call held the most bytes at once (measured: 374 MiB before
this test started, 10 MiB added by it), and the bound would measure the test
order instead of the streaming."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator

import pytest
from payloads import MiB, pseudo_random_stream
from conftest import launch
from servers import S3Endpoint, rss_bytes

from o3ml import O3Client

GiB = 1024 * MiB
# What the service holds is a few 8 MiB chunks in flight; the rest of its resident size is its
# runtime and garbage buffers (blob reads, encoded gRPC messages) that the next collection
# frees. Node 24's V8 collects dead ArrayBuffers later than Node 20's did: on a fresh service
# the read peaked at 184-244 MiB on Node 20 and 290-331 MiB on Node 24, with the same code and
# 144 MiB of buffers outstanding at most. A service that held the object would need 2 GiB.
RSS_LIMIT = 400 * MiB


class RssSampler:
    """Samples the resident memory of a process tree every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval, self.peak, self.samples = pid, interval, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes(self.pid))
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.mark.slow
def test_a_2_gib_object_streams_through_in_bounded_service_memory(
    minio: S3Endpoint, tmp_path_factory: pytest.TempPathFactory, prefix: str
) -> None:
    # One S3 server is enough: what is bounded is the service's memory, whatever stores the
    # bytes. MinIO keeps them on disk; moto would hold all 2 GiB in its own process.
    service = launch(minio, tmp_path_factory, name="o3ml-serve-memory")
    try:
        with O3Client(service.address) as client:
            _stream_two_gib(client, service.pid, f"{prefix}two-gib.bin")
    finally:
        service.stop()


def _stream_two_gib(client: O3Client, pid: int, key: str) -> None:
    sent = hashlib.sha256()

    def source() -> Iterator[bytes]:
        for piece in pseudo_random_stream(2 * GiB, seed=2):
            sent.update(piece)
            yield piece

    with RssSampler(pid) as put_rss:
        started = time.monotonic()
        info = client.put(key, source())
        put_seconds = time.monotonic() - started
    assert (info.size, info.sha256) == (2 * GiB, sent.hexdigest())

    received, total = hashlib.sha256(), 0
    with RssSampler(pid) as get_rss, client.open(key) as f:
        started = time.monotonic()
        while piece := f.read(4 * MiB):
            received.update(piece)
            total += len(piece)
        get_seconds = time.monotonic() - started
    assert (total, received.hexdigest()) == (2 * GiB, sent.hexdigest())

    report = (
        f"service RSS peak: put {put_rss.peak / MiB:.0f} MiB ({put_rss.samples} samples, {2048 / put_seconds:.0f} MiB/s), "
        f"read {get_rss.peak / MiB:.0f} MiB ({get_rss.samples} samples, {2048 / get_seconds:.0f} MiB/s)"
    )
    print(report)
    assert put_rss.samples > 10 and get_rss.samples > 10
    assert put_rss.peak < RSS_LIMIT and get_rss.peak < RSS_LIMIT, report
