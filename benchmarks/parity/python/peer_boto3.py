"""boto3 straight to the store: the baseline every S3 user has.

Checkpoints are ``torch.save`` into memory and one ``put_object``, as the simplest code does;
the asynchronous save is that wrapped in Lightning's own ``AsyncCheckpointIO``. A dataset epoch
streams the shared WebDataset tar shards with ``get_object``.
"""

from __future__ import annotations

import io
from typing import Any

import torch
from lightning.fabric.plugins.io.checkpoint_io import CheckpointIO

from peer_base import Endpoint, Fixture, Peer, Tally
from tar_samples import read_shards


def boto3_client(ep: Endpoint) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=ep.endpoint,
        aws_access_key_id=ep.access_key,
        aws_secret_access_key=ep.secret_key,
        region_name=ep.region,
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 3},
            max_pool_connections=32,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def async_plugin(plugin: Any) -> Any:
    """Lightning's asynchronous wrapper around any CheckpointIO (it copies the tensors on the
    caller's thread, then saves in a background thread)."""
    from lightning.pytorch.plugins.io import AsyncCheckpointIO

    return AsyncCheckpointIO(plugin)


class Boto3CheckpointIO(CheckpointIO):
    """The few lines a user writes to save Lightning checkpoints with boto3."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str, storage_options: Any = None) -> None:
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        buffer.seek(0)
        self.client.put_object(Bucket=self.bucket, Key=path, Body=buffer)

    def load_checkpoint(self, path: str, map_location: Any = "cpu", weights_only: bool = True) -> dict[str, Any]:
        body = self.client.get_object(Bucket=self.bucket, Key=path)["Body"].read()
        return torch.load(io.BytesIO(body), map_location=map_location, weights_only=weights_only)  # type: ignore[no-any-return]

    def remove_checkpoint(self, path: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=path)

    def teardown(self) -> None:
        pass


class Boto3Peer(Peer):
    name = "boto3"

    def __init__(self, ep: Endpoint) -> None:
        self.ep = ep
        self.client = boto3_client(ep)
        self.io = Boto3CheckpointIO(self.client, ep.bucket)
        self.async_io = async_plugin(Boto3CheckpointIO(self.client, ep.bucket))
        self.shards: list[str] = []

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.ep.bucket, Key=key, Body=data)

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.ep.bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]

    def save_checkpoint(self, key: str, state: dict[str, Any]) -> None:
        self.io.save_checkpoint(state, key)

    def load_checkpoint(self, key: str) -> dict[str, Any]:
        return self.io.load_checkpoint(key)

    def save_checkpoint_async(self, key: str, state: dict[str, Any]) -> None:
        self.async_io.save_checkpoint(state, key)

    def wait_saved(self) -> None:
        self.async_io.teardown()

    def prepare_epoch(self, fixture: Fixture) -> None:
        self.shards = fixture.shards

    def read_epoch(self, cold: bool) -> Tally:
        return read_shards(self.shards, lambda key: self.client.get_object(Bucket=self.ep.bucket, Key=key)["Body"])
