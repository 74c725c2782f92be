"""o3ml itself, as a training job uses it: ``O3Client`` for objects, the Lightning
``O3CheckpointIO`` plugin for checkpoints and ``O3ShardDataset`` for a dataset epoch, all
through the o3ml service over loopback gRPC."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from peer_base import Endpoint, Fixture, Peer


class O3mlPeer(Peer):
    name = "o3ml"

    def __init__(self, ep: Endpoint) -> None:
        from o3ml import O3Client
        from o3ml.lightning import O3CheckpointIO

        self.ep = ep
        self.client = O3Client(ep.service)
        self.io = O3CheckpointIO(self.client, run=f"{ep.prefix}-bench", bucket=ep.bucket)
        self.spec = ""

    def put(self, key: str, data: bytes) -> None:
        self.client.put(key, data)

    def get(self, key: str) -> bytes:
        return self.client.get(key)

    def save_checkpoint(self, key: str, state: dict[str, Any]) -> None:
        self.io.save_checkpoint(state, key)

    def load_checkpoint(self, key: str) -> dict[str, Any]:
        return self.io.load_checkpoint(key, weights_only=True)

    def prepare_epoch(self, fixture: Fixture) -> None:
        self.spec = fixture.spec  # pushed with `o3ml dataset push` by the TypeScript side

    def read_epoch(self) -> tuple[int, int]:
        from o3ml import O3ShardDataset

        # Cold host cache, as for every peer: the shards come from the store.
        blobs = Path(self.ep.service_home) / "cache" / "blobs"
        for cached in blobs.iterdir() if blobs.is_dir() else []:
            if cached.is_file():
                cached.unlink(missing_ok=True)
        samples = payload = 0
        for sample in O3ShardDataset(self.spec, split="train", client=self.client):
            samples += 1
            payload += sum(len(v) for v in sample.values() if isinstance(v, (bytes, bytearray, memoryview)))
        return samples, payload

    def close(self) -> None:
        self.io.teardown()
        self.client.close()
