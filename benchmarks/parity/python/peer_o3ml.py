"""o3ml itself, as a training job uses it: ``O3Client`` for objects, the Lightning
``O3CheckpointIO`` plugin for checkpoints (``async_save=True`` for the asynchronous path) and
``O3ShardDataset`` for a dataset epoch, all through the o3ml service over loopback gRPC."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from peer_base import Endpoint, Fixture, Peer, Tally


class O3mlPeer(Peer):
    name = "o3ml"
    dataset_format = "WebDataset tar shards (its own dataset version: the same shard bytes)"

    def __init__(self, ep: Endpoint) -> None:
        from o3ml import O3Client
        from o3ml.lightning import O3CheckpointIO

        self.ep = ep
        self.client = O3Client(ep.service)
        self.io = O3CheckpointIO(self.client, run=f"{ep.prefix}-bench", bucket=ep.bucket)
        self.async_io = O3CheckpointIO(self.client, run=f"{ep.prefix}-bench-async", bucket=ep.bucket, async_save=True)
        self.spec = ""
        self.dataset: Any = None

    def put(self, key: str, data: bytes) -> None:
        self.client.put(key, data)

    def get(self, key: str) -> bytes:
        return self.client.get(key)

    def save_checkpoint(self, key: str, state: dict[str, Any]) -> None:
        self.io.save_checkpoint(state, key)

    def load_checkpoint(self, key: str) -> dict[str, Any]:
        return self.io.load_checkpoint(key, weights_only=True)

    def save_checkpoint_async(self, key: str, state: dict[str, Any]) -> None:
        self.async_io.save_checkpoint(state, key)

    def wait_saved(self) -> None:
        # teardown is what Lightning calls at the end of fit: it waits and raises any upload failure.
        self.async_io.teardown()

    def remove(self, keys: list[str]) -> None:
        """Deletes ``keys`` through the service, as ``o3ml rm`` does; a deleted checkpoint is
        recorded as deleted, so the gc may collect it."""
        for key in keys:
            self.client.delete(key)

    def saved_note(self) -> str | None:
        info = self.io.last_saved
        return f"uploaded {info.bytes_uploaded} of {info.bytes_total} bytes" if info else None

    def prepare_epoch(self, fixture: Fixture) -> None:
        self.spec = fixture.spec  # pushed with `o3ml dataset push` by the TypeScript side

    def read_epoch(self, cold: bool) -> Tally:
        from o3ml import O3ShardDataset

        if cold or self.dataset is None:
            # An empty host cache: the shards come from the store, as for a new job.
            blobs = Path(self.ep.service_home) / "cache" / "blobs"
            for cached in blobs.iterdir() if blobs.is_dir() else []:
                if cached.is_file():
                    cached.unlink(missing_ok=True)
            self.dataset = O3ShardDataset(self.spec, split="train", client=self.client)
        tally = Tally()
        for sample in self.dataset:
            tally.samples += 1
            for value in sample.values():
                if isinstance(value, (bytes, bytearray, memoryview)):
                    tally.add(value, new_sample=False)
        return tally

    def close(self) -> None:
        self.io.teardown()
        self.async_io.teardown()
        self.client.close()
