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
from pathlib import Path

import pytest
import torch
from payloads import MiB, pseudo_random_stream, random_bytes
from servers import S3Endpoint, Service, rss_bytes, start_service

from o3ml import O3Client, load_checkpoint, save_checkpoint

GiB = 1024 * MiB
# What the service holds is bounded by its chunk buffers (96 MiB: services/storage/src/colocation/
# chunk-buffers.ts), a fetch thread's fills (16 at most) and the gRPC messages in flight, whatever
# the object's size and whatever --concurrency is. The rest of its resident size is its runtime
# (about 130 MiB idle), its threads' heaps and garbage buffers the next collection frees; `o3ml
# serve` keeps V8's young generation at 4 MiB semi-spaces (packages/o3ml/bin/o3ml.js), where Node
# 24 grew it to a 128 MiB new space. Measured at --concurrency 64 on a busy 2-core host
# (docs/performance.md, "Service memory"): streaming 2 GiB, put 203-204 MiB and read 287-303 MiB
# (229-254 and 331-379 MiB with V8's default); co-located, a 768 MiB put 243-246 MiB, its get
# 264-265 MiB, a 512 MiB checkpoint save 289-297 MiB and its load 292-297 MiB. The bound leaves
# room for a busier host. Before the chunk buffers, a 512 MiB co-located put peaked at 809 MiB: a
# service that held the object would need its size.
RSS_LIMIT = 400 * MiB
# The highest --concurrency `o3ml serve` takes.
MAX_CONCURRENCY = "64"


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
    service, _ = _launch_at_max_concurrency(minio, tmp_path_factory, "o3ml-serve-memory")
    try:
        with O3Client(service.address) as client:
            _stream_two_gib(client, service.pid, f"{prefix}two-gib.bin")
    finally:
        service.stop()


@pytest.mark.slow
def test_co_located_puts_gets_saves_and_loads_stay_within_the_chunk_buffers(
    minio: S3Endpoint, tmp_path_factory: pytest.TempPathFactory, prefix: str
) -> None:
    """On the service's host bytes move through files: the service reads a staged file into its
    chunk buffers to hash and upload it, and fetches blobs into the host cache on a fetch thread.
    Neither may hold the object, whatever its size and whatever --concurrency is."""
    service, home = _launch_at_max_concurrency(minio, tmp_path_factory, "o3ml-serve-memory-colocated")
    try:
        with O3Client(service.address) as client:
            data = random_bytes(768 * MiB, seed=3)
            key = f"{prefix}colocated.bin"
            with RssSampler(service.pid) as put_rss:
                info = client.put(key, data)
            assert info.size == len(data)
            with RssSampler(service.pid) as get_rss:
                got = client.get(key)
            assert got == data
            del got, data
            # 64 tensors of 8 MiB (512 MiB): a staged save, then a located load.
            state = {f"t{i}": torch.full((2 * MiB,), float(i)) for i in range(64)}
            with RssSampler(service.pid) as save_rss:
                save_checkpoint(client, f"{prefix}colocated.ckpt", state, run=f"{prefix}memory")
            with RssSampler(service.pid) as load_rss:
                loaded = load_checkpoint(client, f"{prefix}colocated.ckpt")
            assert all(torch.equal(loaded[name], tensor) for name, tensor in state.items())
        peaks = {"put": put_rss.peak, "get": get_rss.peak, "save": save_rss.peak, "load": load_rss.peak}
        report = "service RSS peak: " + ", ".join(f"{what} {peak / MiB:.0f} MiB" for what, peak in peaks.items())
        print(report)
        # The co-located paths really were taken: the located get and load filled the host cache.
        assert sum(f.stat().st_size for f in home.rglob("*") if f.is_file()) > 768 * MiB, "the reads did not go through the host cache"
        assert all(peak < RSS_LIMIT for peak in peaks.values()), report
    finally:
        service.stop()


def _launch_at_max_concurrency(minio: S3Endpoint, factory: pytest.TempPathFactory, name: str) -> tuple[Service, Path]:
    """A service of its own (see the module's docstring), and its O3ML_HOME."""
    home = factory.mktemp(f"{name}-home")
    try:
        return start_service(minio, home, factory.mktemp(f"{name}-logs"), name=name, extra_args=["--concurrency", MAX_CONCURRENCY]), home
    except RuntimeError as err:
        pytest.fail(f"the o3ml service could not be started in front of {minio.kind}: {err}")


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
