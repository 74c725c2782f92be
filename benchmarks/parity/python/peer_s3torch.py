"""s3torchconnector (AWS's PyTorch connector on the CRT client): its Lightning checkpoint
plugin for checkpoints, its writer/reader for objects and ``S3IterableDataset`` over the
sample objects for a dataset epoch."""

from __future__ import annotations

import io
from typing import Any

import torch

from peer_base import Endpoint, Fixture, Peer, Unsupported
from peer_boto3 import upload_samples


class S3TorchPeer(Peer):
    name = "s3torchconnector"

    def __init__(self, ep: Endpoint) -> None:
        try:
            from s3torchconnector import S3Checkpoint, S3ClientConfig
        except ImportError as err:
            raise Unsupported(f"s3torchconnector is not installed here ({err}); the full run installs it into .venv-bench") from err
        ep.export_aws_env()
        self.ep = ep
        self.config = S3ClientConfig(force_path_style=True)
        self.checkpoint = S3Checkpoint(region=ep.region, endpoint=ep.endpoint, s3client_config=self.config)
        self.prefix_url = ""

    def _url(self, key: str) -> str:
        return f"s3://{self.ep.bucket}/{key}"

    def put(self, key: str, data: bytes) -> None:
        with self.checkpoint.writer(self._url(key)) as writer:
            writer.write(data)

    def get(self, key: str) -> bytes:
        with self.checkpoint.reader(self._url(key)) as reader:
            return reader.read()  # type: ignore[no-any-return]

    def save_checkpoint(self, key: str, state: dict[str, Any]) -> None:
        with self.checkpoint.writer(self._url(key)) as writer:
            torch.save(state, writer)

    def load_checkpoint(self, key: str) -> dict[str, Any]:
        with self.checkpoint.reader(self._url(key)) as reader:
            return torch.load(io.BytesIO(reader.read()), map_location="cpu", weights_only=True)  # type: ignore[no-any-return]

    def prepare_epoch(self, fixture: Fixture) -> None:
        upload_samples(self.ep, fixture, f"{self.ep.prefix}/peers/s3torch")
        self.prefix_url = self._url(f"{self.ep.prefix}/peers/s3torch/")

    def read_epoch(self) -> tuple[int, int]:
        from s3torchconnector import S3IterableDataset

        dataset = S3IterableDataset.from_prefix(
            self.prefix_url, region=self.ep.region, endpoint=self.ep.endpoint, s3client_config=self.config
        )
        samples = payload = 0
        for item in dataset:
            payload += len(item.read())
            samples += 1
        return samples, payload
