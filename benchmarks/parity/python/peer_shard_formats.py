"""litData and MosaicML streaming: each writes the shared samples into its own shard format
(untimed, locally, then uploaded as they would be), and a dataset epoch streams those shards
from the store into a fresh local cache, as each library does."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from peer_base import Endpoint, Fixture, Peer, Unsupported
from peer_boto3 import boto3_client

SHARD_BYTES = 16 << 20


def _sample(path: str) -> dict[str, Any]:
    """One sample as both libraries store it (module level: litdata pickles it to its workers)."""
    p = Path(path)
    return {"data": p.read_bytes(), "cls": int(p.parent.name.lstrip("c"))}


def _upload_dir(ep: Endpoint, local: Path, under: str) -> None:
    client = boto3_client(ep)
    for path in sorted(local.rglob("*")):
        if path.is_file():
            client.upload_file(str(path), ep.bucket, f"{under}/{path.relative_to(local).as_posix()}")


class LitdataPeer(Peer):
    name = "litdata"

    def __init__(self, ep: Endpoint) -> None:
        try:
            import litdata  # noqa: F401
        except ImportError as err:
            raise Unsupported(f"litdata is not installed here ({err}); the full run installs it into .venv-bench") from err
        ep.export_aws_env()
        self.ep = ep
        self.url = f"s3://{ep.bucket}/{ep.prefix}/peers/litdata"
        self.work = Path(tempfile.mkdtemp(prefix="o3ml-parity-litdata-"))

    def prepare_epoch(self, fixture: Fixture) -> None:
        import litdata

        out = self.work / "optimized"
        litdata.optimize(
            fn=_sample, inputs=[str(p) for p in fixture.files()], output_dir=str(out), chunk_bytes=SHARD_BYTES, num_workers=1, mode="overwrite"
        )
        _upload_dir(self.ep, out, self.url.split("/", 3)[3])

    def read_epoch(self) -> tuple[int, int]:
        import litdata

        options = {
            "endpoint_url": self.ep.endpoint,
            "aws_access_key_id": self.ep.access_key,
            "aws_secret_access_key": self.ep.secret_key,
            "region_name": self.ep.region,
        }
        cache = tempfile.mkdtemp(dir=self.work, prefix="cache-")
        dataset = litdata.StreamingDataset(self.url, storage_options=options, cache_dir=cache)
        samples = payload = 0
        for item in dataset:
            samples += 1
            payload += len(item["data"])
        return samples, payload


class MosaicPeer(Peer):
    name = "mosaicml-streaming"

    def __init__(self, ep: Endpoint) -> None:
        try:
            import streaming  # noqa: F401
        except ImportError as err:
            raise Unsupported(f"mosaicml-streaming is not installed here ({err}); the full run installs it into .venv-bench") from err
        ep.export_aws_env()
        self.ep = ep
        self.key = f"{ep.prefix}/peers/mds"
        self.work = Path(tempfile.mkdtemp(prefix="o3ml-parity-mds-"))

    def prepare_epoch(self, fixture: Fixture) -> None:
        from streaming import MDSWriter

        out = self.work / "mds"
        with MDSWriter(out=str(out), columns={"data": "bytes", "cls": "int"}, size_limit=SHARD_BYTES) as writer:
            for path in fixture.files():
                writer.write(_sample(str(path)))
        _upload_dir(self.ep, out, self.key)

    def read_epoch(self) -> tuple[int, int]:
        from streaming import StreamingDataset
        from streaming.base.util import clean_stale_shared_memory

        clean_stale_shared_memory()
        local = tempfile.mkdtemp(dir=self.work, prefix="cache-")
        dataset = StreamingDataset(remote=f"s3://{self.ep.bucket}/{self.key}", local=local, shuffle=False, batch_size=1)
        samples = payload = 0
        for item in dataset:
            samples += 1
            payload += len(item["data"])
        return samples, payload
