"""s3fs through fsspec: what Lightning does with an ``s3://`` path by default.

Checkpoints go through Lightning's own ``TorchCheckpointIO`` (torch.save into an fsspec file,
the default for ``s3://`` dirpaths), asynchronously through Lightning's ``AsyncCheckpointIO``
around it; a dataset epoch streams the shared WebDataset tar shards with ``fs.open``.
"""

from __future__ import annotations

from typing import Any

from peer_base import Endpoint, Fixture, Peer, Tally, Unsupported
from peer_boto3 import async_plugin
from tar_samples import read_shards


class S3fsPeer(Peer):
    name = "s3fs"

    def __init__(self, ep: Endpoint) -> None:
        try:
            import s3fs
            from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
        except ImportError as err:
            raise Unsupported(f"s3fs is not installed here ({err}); the full run installs it into .venv-bench") from err
        self.ep = ep
        self.options = {
            "key": ep.access_key,
            "secret": ep.secret_key,
            "endpoint_url": ep.endpoint,
            "client_kwargs": {"region_name": ep.region},
            "config_kwargs": {
                "s3": {"addressing_style": "path"},
                "request_checksum_calculation": "when_required",
                "response_checksum_validation": "when_required",
            },
        }
        self.fs = s3fs.S3FileSystem(**self.options)
        # Lightning resolves s3:// through fsspec; these options are what storage_options would carry.
        import fsspec.config

        fsspec.config.conf["s3"] = self.options
        self.io = TorchCheckpointIO()
        self.async_io = async_plugin(TorchCheckpointIO())
        self.shards: list[str] = []

    def _url(self, key: str) -> str:
        return f"s3://{self.ep.bucket}/{key}"

    def put(self, key: str, data: bytes) -> None:
        self.fs.pipe(self._url(key), data)

    def get(self, key: str) -> bytes:
        return self.fs.cat(self._url(key))  # type: ignore[no-any-return]

    def save_checkpoint(self, key: str, state: dict[str, Any]) -> None:
        self.io.save_checkpoint(state, self._url(key))

    def load_checkpoint(self, key: str) -> dict[str, Any]:
        return self.io.load_checkpoint(self._url(key), weights_only=True)  # type: ignore[no-any-return]

    def save_checkpoint_async(self, key: str, state: dict[str, Any]) -> None:
        self.async_io.save_checkpoint(state, self._url(key))

    def wait_saved(self) -> None:
        self.async_io.teardown()

    def prepare_epoch(self, fixture: Fixture) -> None:
        self.shards = fixture.shards

    def read_epoch(self, cold: bool) -> Tally:
        # A fresh listing cache per epoch, as a new process would have.
        self.fs.invalidate_cache()
        return read_shards(self.shards, lambda key: self.fs.open(self._url(key), "rb"))
