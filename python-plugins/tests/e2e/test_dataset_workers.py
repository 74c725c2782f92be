"""Data-loader workers against a real `o3ml serve`: no epoch is lost to gRPC and fork, and a shard
transfer the connection breaks is tried again rather than failing the epoch."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cutting_proxy import CuttingProxy
from dataset_trees import image_folder, push
from lightning_models import moto_service
from servers import S3Endpoint, Service

from o3ml import NotFoundError, O3Client, O3DataLoader, O3ShardDataset, UnavailableError

SAMPLES = 48


@pytest.fixture(scope="module")
def service(moto: S3Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    # What is under test is the Python side's processes and connections: one S3 server is enough.
    with moto_service(moto, tmp_path_factory) as svc:
        yield svc


@pytest.fixture(scope="module")
def pushed(service: Service, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str]]:
    tree = tmp_path_factory.mktemp("tree")
    expected = image_folder(tree, {"train": SAMPLES}, size=5000)
    summary = push(service, tree, f"tests/workers-{uuid.uuid4().hex[:8]}", shard_size="64KiB")
    assert summary["shards"] >= 4
    return f"{summary['name']}@{summary['version']}", sorted(expected)


def close_retry_channel(dataset: O3ShardDataset, client: O3Client) -> None:
    """Closes the channel the source opened for its retries (the test's client closes its own)."""
    connection = dataset.source.connection  # type: ignore[attr-defined]
    if connection is not client.connection:
        connection.close()


class BusyTrainer:
    """Threads making gRPC calls without pause, as a trainer's checkpoint uploads and callbacks do."""

    def __init__(self, client: O3Client, key: str, threads: int = 2) -> None:
        self.client, self.key = client, key
        self.calls = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        while not self._stop.is_set():
            self.client.stat(self.key)
            assert self.client.get(self.key) == b"busy"
            self.calls += 1

    def __enter__(self) -> BusyTrainer:
        self.client.put(self.key, b"busy")
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)


def test_workers_lose_no_epoch_while_the_main_process_makes_grpc_calls(service: Service, pushed: Any) -> None:
    spec, expected = pushed
    with O3Client(service.address) as client, BusyTrainer(client, f"tests/busy-{uuid.uuid4().hex[:8]}") as busy:
        dataset = O3ShardDataset(spec, "train", client=client, shuffle_seed=5, shuffle_buffer=8)
        for epoch in range(12):
            loader = O3DataLoader(dataset, batch_size=4, num_workers=2)
            loader.set_epoch(epoch)
            keys = [key for batch in loader for key in batch["__key__"]]
            assert sorted(keys) == expected, f"epoch {epoch}"
        calls_meanwhile = busy.calls
    # Workers of a service-backed loader are not forked from this (gRPC-busy) process.
    assert loader.multiprocessing_context.get_start_method() == "forkserver"
    assert calls_meanwhile > 12


@pytest.mark.parametrize("cache", ["host", "stream"])
def test_a_shard_transfer_the_connection_breaks_once_is_retried(
    service: Service, pushed: Any, cache: str, caplog: pytest.LogCaptureFixture
) -> None:
    spec, expected = pushed
    with CuttingProxy(service.address) as proxy, O3Client(proxy.address) as client:
        dataset = O3ShardDataset(spec, "train", client=client, cache=cache)  # type: ignore[arg-type]
        assert dataset.source.transport == cache  # type: ignore[attr-defined]
        proxy.cut_next()  # the next answer of the service, the first shard's, never arrives
        keys = [sample["__key__"] for sample in dataset]
        close_retry_channel(dataset, client)
    assert sorted(keys) == expected
    # One replacement channel for all the fetching threads: 2 connections. A third is possible,
    # and is not an orphaned channel: a thread that starts its next shard on the old channel
    # between the cut and the replacement makes that channel reconnect once by itself. A thread
    # opening a channel of its own per failed call would add one per thread in flight.
    assert proxy.cuts == 1 and proxy.connections in (2, 3)
    assert "failed with UNAVAILABLE" in caplog.text and "trying again" in caplog.text


def test_a_service_that_is_gone_fails_the_read_within_seconds_saying_so(service: Service, pushed: Any) -> None:
    spec, _ = pushed
    proxy = CuttingProxy(service.address)
    with O3Client(proxy.address) as client:
        dataset = O3ShardDataset(spec, "train", client=client, cache="stream")
        proxy.close()  # nothing listens at the address any more
        started = time.monotonic()
        with pytest.raises(UnavailableError, match=f"cannot reach the o3ml service at {proxy.address} \\(5 attempts") as caught:
            next(iter(dataset))
        assert time.monotonic() - started < 15
        close_retry_channel(dataset, client)
    assert "shard" in str(caught.value) and not isinstance(caught.value, NotFoundError)

