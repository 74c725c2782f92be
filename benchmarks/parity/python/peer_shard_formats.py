"""litData and MosaicML streaming: each writes the shared samples into its own shard format
(untimed, locally, then uploaded as they would be), and a dataset epoch streams those shards
from the store into a local cache, as each library does. Their figures compare formats as well
as transport, and the report marks them so.

litData fetches chunks with obstore (Rust object_store). It builds that client from its boto3
client's endpoint (path-style for anything but amazonaws.com) and a fixed set of client options
without ``allow_http``, so a plain-HTTP endpoint fails every chunk GET with "builder error"
(BadScheme); ``AWS_ALLOW_HTTP`` in the environment does not help, because the explicit client
options replace what obstore read from it. On a plain-HTTP endpoint (the local targets) the
adapter adds ``allow_http`` to those options: the one setting missing, and what a litData user
on a plain-HTTP MinIO has to do too. HTTPS endpoints (real S3 and O3) are left untouched.
"""

from __future__ import annotations

import gc
import shutil
import tempfile
from pathlib import Path
from typing import Any

from peer_base import Endpoint, Fixture, Peer, Tally, Unsupported
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


def allow_plain_http_for_litdata() -> None:
    """Lets litData's obstore chunk client reach a plain-HTTP endpoint (see the module docstring)."""
    from litdata.streaming import downloader

    options = getattr(downloader, "_OBSTORE_CLIENT_OPTIONS", None)
    if not isinstance(options, dict):
        raise Unsupported("this litdata version keeps no obstore client options to add allow_http to; it cannot reach a plain-HTTP endpoint")
    options["allow_http"] = True


class LitdataPeer(Peer):
    name = "litdata"
    dataset_format = "own format: litdata chunks (16 MiB), written by litdata.optimize"

    def __init__(self, ep: Endpoint) -> None:
        try:
            import litdata  # noqa: F401
        except ImportError as err:
            raise Unsupported(f"litdata is not installed here ({err}); the full run installs it into .venv-bench") from err
        ep.export_aws_env()
        if ep.plain_http:
            allow_plain_http_for_litdata()
        self.ep = ep
        self.url = f"s3://{ep.bucket}/{ep.prefix}/peers/litdata"
        self.work = Path(tempfile.mkdtemp(prefix="o3ml-parity-litdata-"))
        self.dataset: Any = None
        self.cache: Path | None = None

    def prepare_epoch(self, fixture: Fixture) -> None:
        import litdata

        out = self.work / "optimized"
        litdata.optimize(
            fn=_sample, inputs=[str(p) for p in fixture.files()], output_dir=str(out), chunk_bytes=SHARD_BYTES, num_workers=1, mode="overwrite"
        )
        _upload_dir(self.ep, out, self.url.split("/", 3)[3])

    def read_epoch(self, cold: bool) -> Tally:
        import litdata

        if cold or self.dataset is None:
            self._drop()
            options = {
                "endpoint_url": self.ep.endpoint,
                "aws_access_key_id": self.ep.access_key,
                "aws_secret_access_key": self.ep.secret_key,
                "region_name": self.ep.region,
            }
            self.cache = Path(tempfile.mkdtemp(dir=self.work, prefix="cache-"))
            self.dataset = litdata.StreamingDataset(self.url, storage_options=options, cache_dir=str(self.cache))
        tally = Tally()
        for item in self.dataset:
            tally.add(item["data"])
        return tally

    def _drop(self) -> None:
        self.dataset = None
        gc.collect()
        if self.cache is not None:
            shutil.rmtree(self.cache, ignore_errors=True)

    def close(self) -> None:
        self._drop()
        shutil.rmtree(self.work, ignore_errors=True)


class MosaicPeer(Peer):
    name = "mosaicml-streaming"
    dataset_format = "own format: MDS shards (16 MiB), written by streaming.MDSWriter"

    def __init__(self, ep: Endpoint) -> None:
        try:
            import streaming  # noqa: F401
        except ImportError as err:
            raise Unsupported(f"mosaicml-streaming is not installed here ({err}); the full run installs it into .venv-bench") from err
        ep.export_aws_env()
        self.ep = ep
        self.key = f"{ep.prefix}/peers/mds"
        self.work = Path(tempfile.mkdtemp(prefix="o3ml-parity-mds-"))
        self.dataset: Any = None
        self.local: Path | None = None

    def prepare_epoch(self, fixture: Fixture) -> None:
        from streaming import MDSWriter

        out = self.work / "mds"
        with MDSWriter(out=str(out), columns={"data": "bytes", "cls": "int"}, size_limit=SHARD_BYTES) as writer:
            for path in fixture.files():
                writer.write(_sample(str(path)))
        _upload_dir(self.ep, out, self.key)

    def read_epoch(self, cold: bool) -> Tally:
        from streaming import StreamingDataset
        from streaming.base.util import clean_stale_shared_memory

        if cold or self.dataset is None:
            self._drop()
            clean_stale_shared_memory()
            self.local = Path(tempfile.mkdtemp(dir=self.work, prefix="cache-"))
            self.dataset = StreamingDataset(remote=f"s3://{self.ep.bucket}/{self.key}", local=str(self.local), shuffle=False, batch_size=1)
        tally = Tally()
        for item in self.dataset:
            tally.add(item["data"])
        return tally

    def _drop(self) -> None:
        # A StreamingDataset holds shared memory named after its local folder: release it first.
        self.dataset = None
        gc.collect()
        if self.local is not None:
            shutil.rmtree(self.local, ignore_errors=True)

    def close(self) -> None:
        self._drop()
        shutil.rmtree(self.work, ignore_errors=True)
