"""A dataset whose manifest is more than 8 MiB (180,000 samples, about 9.6 MiB of manifest) reads from
Python: the manifest travels whole in one Resolve answer, up to the message limit the service and
every client take from proto/o3ml/v1/limits.proto. Python's channels once allowed only 8 MiB, so
such a dataset could be pushed (the CLI allowed 64 MiB) but not read."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from dataset_trees import push
from servers import S3Endpoint, Service, start_service

from o3ml import Connection, O3Client, O3ShardDataset, ResourceExhaustedError

# About 56 bytes of manifest per sample: 180,000 make about 9.6 MiB, past the old 8 MiB limit by a
# sixth. What matters is only being past that limit (the test asserts the manifest's size and that a
# client held to the old limit fails); more rows would only make the push slower.
ROWS = 180_000
OLD_LIMIT = 8 * 1024 * 1024


@pytest.fixture(scope="module")
def service(minio: S3Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    # What is under test is the message limit between Python and the service; ~180 MiB of shards
    # go to one S3 server only, MinIO, which keeps them on disk rather than in memory as moto does.
    svc = start_service(minio, tmp_path_factory.mktemp("big-manifest-home"), tmp_path_factory.mktemp("big-manifest-logs"))
    try:
        yield svc
    finally:
        svc.stop()


@pytest.mark.slow
def test_a_manifest_of_more_than_8_mib_streams_to_python(service: Service, tmp_path: Path) -> None:
    table = tmp_path / "rows.csv"
    table.write_text("row\n" + "".join(f"{i}\n" for i in range(ROWS)))
    summary = push(service, table, f"tests/big-manifest-{uuid.uuid4().hex[:8]}", shard_size="16MiB")
    spec = f"{summary['name']}@{summary['version']}"
    assert summary["samples"] == ROWS

    with O3Client(service.address) as client:
        dataset = O3ShardDataset(spec, split=None, client=client, decode="auto")
        assert dataset.version.manifest.ByteSize() > OLD_LIMIT  # the manifest this test is about (about 16 MiB)
        assert len(dataset) == ROWS and dataset.dataset_cid == summary["cid"]
        first = list(itertools.islice(dataset, 3))
        # Push spreads the rows over the shards in a seeded order: each row read is the one its key names.
        assert len(first) == 3 and all(s["json"] == {"row": int(s["__key__"])} for s in first)

        # The limit Python had before could not take it.
        old = O3Client.from_connection(Connection(service.address, max_message=OLD_LIMIT))
        with old, pytest.raises(ResourceExhaustedError):
            O3ShardDataset(spec, split=None, client=old)
