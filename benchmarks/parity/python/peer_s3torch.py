"""s3torchconnector (AWS's PyTorch connector on the CRT client): its writer/reader for objects,
its Lightning plugin ``S3LightningCheckpoint`` for checkpoints (asynchronously inside Lightning's
``AsyncCheckpointIO``, as its documentation shows), and ``S3MapDataset`` over the shared
WebDataset tar shards for a dataset epoch."""

from __future__ import annotations

from typing import Any

from peer_base import Endpoint, Fixture, Peer, Tally, Unsupported
from peer_boto3 import async_plugin
from tar_samples import read_shards


class S3TorchPeer(Peer):
    name = "s3torchconnector"

    def __init__(self, ep: Endpoint) -> None:
        try:
            from s3torchconnector import S3Checkpoint, S3ClientConfig
            from s3torchconnector.lightning import S3LightningCheckpoint
        except ImportError as err:
            raise Unsupported(f"s3torchconnector is not installed here ({err}); the full run installs it into .venv-bench") from err
        ep.export_aws_env()
        self.ep = ep
        self.config = S3ClientConfig(force_path_style=True)
        self.checkpoint = S3Checkpoint(region=ep.region, endpoint=ep.endpoint, s3client_config=self.config)
        self.io = S3LightningCheckpoint(region=ep.region, endpoint=ep.endpoint, s3client_config=self.config)
        self.async_io = async_plugin(S3LightningCheckpoint(region=ep.region, endpoint=ep.endpoint, s3client_config=self.config))
        self.dataset: Any = None

    def _url(self, key: str) -> str:
        return f"s3://{self.ep.bucket}/{key}"

    def put(self, key: str, data: bytes) -> None:
        with self.checkpoint.writer(self._url(key)) as writer:
            writer.write(data)

    def get(self, key: str) -> bytes:
        with self.checkpoint.reader(self._url(key)) as reader:
            return reader.read()  # type: ignore[no-any-return]

    def save_checkpoint(self, key: str, state: dict[str, Any]) -> None:
        self.io.save_checkpoint(state, self._url(key))

    def load_checkpoint(self, key: str) -> dict[str, Any]:
        return self.io.load_checkpoint(self._url(key), map_location="cpu", weights_only=True)  # type: ignore[no-any-return]

    def save_checkpoint_async(self, key: str, state: dict[str, Any]) -> None:
        self.async_io.save_checkpoint(state, self._url(key))

    def wait_saved(self) -> None:
        self.async_io.teardown()

    def prepare_epoch(self, fixture: Fixture) -> None:
        from s3torchconnector import S3MapDataset

        urls = [self._url(k) for k in fixture.shards]
        self.dataset = S3MapDataset.from_objects(urls, region=self.ep.region, endpoint=self.ep.endpoint, s3client_config=self.config)
        self.index = {url: i for i, url in enumerate(urls)}

    def read_epoch(self, cold: bool) -> Tally:
        return read_shards(list(self.index), lambda url: self.dataset[self.index[url]])
