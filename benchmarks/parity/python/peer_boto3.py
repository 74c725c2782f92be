"""boto3 straight to the store: the baseline every S3 user has.

Checkpoints are ``torch.save`` to memory and one ``put_object`` (the whole file is buffered, as
the simplest code does); a dataset epoch is one GET per sample object, 8 threads.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch

from peer_base import Endpoint, Fixture, Peer

THREADS = 8


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


def upload_samples(ep: Endpoint, fixture: Fixture, under: str) -> list[str]:
    """The fixture's files as one object each under ``under``; returns their keys (untimed set-up)."""
    client = boto3_client(ep)
    keys = []
    for path in fixture.files():
        keys.append(f"{under}/{path.relative_to(fixture.dir).as_posix()}")
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda kp: client.put_object(Bucket=ep.bucket, Key=kp[0], Body=kp[1].read_bytes()), zip(keys, fixture.files())))
    return keys


class Boto3Peer(Peer):
    name = "boto3"

    def __init__(self, ep: Endpoint) -> None:
        self.ep = ep
        self.client = boto3_client(ep)
        self.keys: list[str] = []

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.ep.bucket, Key=key, Body=data)

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.ep.bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]

    def save_checkpoint(self, key: str, state: dict[str, Any]) -> None:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        self.put(key, buffer.getvalue())

    def load_checkpoint(self, key: str) -> dict[str, Any]:
        return torch.load(io.BytesIO(self.get(key)), map_location="cpu", weights_only=True)  # type: ignore[no-any-return]

    def prepare_epoch(self, fixture: Fixture) -> None:
        self.keys = upload_samples(self.ep, fixture, f"{self.ep.prefix}/peers/raw")

    def read_epoch(self) -> tuple[int, int]:
        with ThreadPoolExecutor(THREADS) as pool:
            sizes = list(pool.map(lambda k: len(self.get(k)), self.keys))
        return len(sizes), sum(sizes)
