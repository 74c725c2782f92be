"""ServiceShardSource against an in-process Dataset/BlobService: both ways of getting shard bytes,
the client-side check of streamed bytes, leases, and error mapping."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from dataset_shards import build_version, numbered

from o3ml import FailedPreconditionError, IntegrityError, NotFoundError, O3Client, O3DataLoader, O3ShardDataset
from o3ml._datasets import DatasetVersion
from o3ml._datasets._service_source import is_loopback
from o3ml.gen import blob_service_pb2 as pb
from o3ml.gen import blob_service_pb2_grpc


@dataclass
class FakeBlobs(blob_service_pb2_grpc.BlobServiceServicer, blob_service_pb2_grpc.DatasetServiceServicer):
    directory: Path
    version: DatasetVersion
    tamper: Callable[[str, bytes], bytes] = lambda cid, data: data
    fetch_path: Callable[[str], str] | None = None
    leases: set[str] = field(default_factory=set)
    released: list[str] = field(default_factory=list)
    calls: list[tuple[str, dict[str, str | bytes]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _record(self, method: str, context: grpc.ServicerContext) -> None:
        with self.lock:
            self.calls.append((method, dict(context.invocation_metadata())))

    def Resolve(self, request: pb.ResolveDatasetRequest, context: grpc.ServicerContext) -> pb.ResolveDatasetResponse:
        self._record("Resolve", context)
        if request.spec not in (self.version.name, self.version.spec):
            context.set_trailing_metadata((("o3ml-code", "NOT_FOUND"),))
            context.abort(grpc.StatusCode.NOT_FOUND, f"dataset {self.version.name} has no version for {request.spec}")
        info = pb.DatasetVersionInfo(name=self.version.name, version=self.version.version, cid=self.version.cid)
        return pb.ResolveDatasetResponse(info=info, manifest=self.version.manifest)

    def Get(self, request: pb.GetBlobRequest, context: grpc.ServicerContext) -> Iterator[pb.GetBlobResponse]:
        self._record("Get", context)
        data = self.tamper(request.cid, (self.directory / request.cid).read_bytes())
        for i in range(0, len(data), 1000):
            yield pb.GetBlobResponse(data=data[i : i + 1000])

    def Fetch(self, request: pb.FetchBlobRequest, context: grpc.ServicerContext) -> pb.FetchBlobResponse:
        self._record("Fetch", context)
        path = self.fetch_path(request.cid) if self.fetch_path else str(self.directory / request.cid)
        lease = f"lease-{request.cid}-{len(self.calls)}"
        with self.lock:
            self.leases.add(lease)
        return pb.FetchBlobResponse(path=path, size=0, lease=lease)

    def Release(self, request: pb.ReleaseBlobRequest, context: grpc.ServicerContext) -> pb.ReleaseBlobResponse:
        self._record("Release", context)
        with self.lock:
            self.leases.discard(request.lease)
            self.released.append(request.lease)
        return pb.ReleaseBlobResponse()

    def methods(self) -> list[str]:
        return [m for m, _ in self.calls]


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[tuple[FakeBlobs, str]]:
    version = build_version(tmp_path, numbered(40, "train"), per_shard=8)
    servicer = FakeBlobs(tmp_path, version)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    blob_service_pb2_grpc.add_BlobServiceServicer_to_server(servicer, server)
    blob_service_pb2_grpc.add_DatasetServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    server.stop(grace=None)


def keys(dataset: O3ShardDataset) -> list[str]:
    return [s["__key__"] for s in dataset]


def test_dataset_service_source_reads_host_cache_files_and_releases_every_lease(fake) -> None:  # type: ignore[no-untyped-def]
    servicer, address = fake
    dataset = O3ShardDataset("toy@v1", client=O3Client(address, "sekret"))
    assert dataset.source.transport == "host"  # type: ignore[attr-defined]
    assert keys(dataset) == [s.key for s in numbered(40, "train")]
    assert servicer.methods().count("Fetch") == 5 and "Get" not in servicer.methods()
    assert servicer.leases == set() and len(servicer.released) == 5
    assert all(meta.get("authorization") == "Bearer sekret" for _, meta in servicer.calls)


def test_dataset_service_source_streams_and_checks_the_bytes_itself(fake) -> None:  # type: ignore[no-untyped-def]
    servicer, address = fake
    dataset = O3ShardDataset("toy", client=O3Client(address), cache="stream")
    assert keys(dataset) == [s.key for s in numbered(40, "train")]
    assert servicer.methods().count("Get") == 5 and "Fetch" not in servicer.methods()

    victim = servicer.version.manifest.shards[1].cid
    servicer.tamper = lambda cid, data: data[:-1] + bytes([data[-1] ^ 1]) if cid == victim else data
    seen: list[str] = []
    with pytest.raises(IntegrityError, match=f"shard 1 of toy@v1 split 'train' \\(cid {victim}\\)") as caught:
        for sample in O3ShardDataset("toy", client=O3Client(address), cache="stream"):
            seen.append(sample["__key__"])
    assert "failed verification" in str(caught.value)
    assert seen == [s.key for s in numbered(8, "train")]

    servicer.tamper = lambda cid, data: data[:-512] if cid == victim else data
    with pytest.raises(IntegrityError, match=victim):
        list(O3ShardDataset("toy", client=O3Client(address), cache="stream"))


def test_dataset_service_source_streams_when_the_cache_file_is_not_on_this_host(fake, caplog) -> None:  # type: ignore[no-untyped-def]
    servicer, address = fake
    servicer.fetch_path = lambda cid: f"/nonexistent/o3ml-cache/{cid}"
    dataset = O3ShardDataset("toy", client=O3Client(address))
    assert keys(dataset) == [s.key for s in numbered(40, "train")]
    assert dataset.source.transport == "stream"  # type: ignore[attr-defined]
    # The first Fetch whose file cannot be opened switches to streaming; fetches already in flight
    # beside it (up to the prefetch window, 3 by default) stream too, and none starts after it.
    assert 1 <= servicer.methods().count("Fetch") <= dataset.prefetch_shards + 1 and servicer.methods().count("Get") == 5
    assert servicer.leases == set()
    assert "streaming shards over gRPC" in caplog.text

    with pytest.raises(FailedPreconditionError, match="cache='stream'"):
        list(O3ShardDataset("toy", client=O3Client(address), cache="host"))


def test_dataset_service_source_workers_open_their_own_channels(fake) -> None:  # type: ignore[no-untyped-def]
    servicer, address = fake
    dataset = O3ShardDataset("toy", client=O3Client(address, "t0k"), cache="stream", shuffle_seed=1)
    got = [k for batch in O3DataLoader(dataset, batch_size=3, num_workers=2) for k in batch["__key__"]]
    assert sorted(got) == sorted(s.key for s in numbered(40, "train"))
    assert all(meta.get("authorization") == "Bearer t0k" for _, meta in servicer.calls)


def test_dataset_service_source_missing_version_is_not_found(fake) -> None:  # type: ignore[no-untyped-def]
    _, address = fake
    with pytest.raises(NotFoundError, match="has no version"):
        O3ShardDataset("toy@v7", client=O3Client(address))


@pytest.mark.parametrize(
    ("address", "local"),
    [("127.0.0.1:7433", True), ("localhost:1", True), ("[::1]:7433", True), ("unix:/tmp/s", True), ("10.0.0.2:7433", False), ("svc.example:7433", False)],
)
def test_dataset_service_source_uses_the_host_cache_only_for_loopback_addresses(address: str, local: bool) -> None:
    assert is_loopback(address) is local
