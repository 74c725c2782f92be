"""What every storage path measured side by side offers, and where it reaches the store.

A peer implements the operations it has a natural way to do; an operation it cannot do raises
``Unsupported`` with the reason, which the report shows as "not offered" instead of a number.
Anything else a peer raises is a failure, reported whole.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class Unsupported(Exception):
    """This peer has no such path; the message says why."""


@dataclass(frozen=True)
class Endpoint:
    """One target's S3 endpoint and bucket, and its o3ml service."""

    endpoint: str
    region: str
    access_key: str
    secret_key: str
    bucket: str
    prefix: str
    service: str
    service_home: str

    @property
    def plain_http(self) -> bool:
        return self.endpoint.startswith("http://")

    def export_aws_env(self) -> None:
        """The standard variables most S3 libraries read (s3fs, s3torchconnector, MosaicML streaming)."""
        os.environ.update(
            AWS_ACCESS_KEY_ID=self.access_key,
            AWS_SECRET_ACCESS_KEY=self.secret_key,
            AWS_REGION=self.region,
            AWS_DEFAULT_REGION=self.region,
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_ENDPOINT_URL_S3=self.endpoint,
            S3_ENDPOINT_URL=self.endpoint,
            # Newer botocore sends CRC checksums by default, which Akave O3 refuses (docs/o3-vs-s3.md).
            AWS_REQUEST_CHECKSUM_CALCULATION="when_required",
            AWS_RESPONSE_CHECKSUM_VALIDATION="when_required",
        )


@dataclass(frozen=True)
class Fixture:
    """The shared dataset: ``train/c<k>/<i>.bin`` under ``dir``; ``spec`` is its o3ml version;
    ``shards`` the keys (in the bucket) of the same version's WebDataset tar shards, as
    ``o3ml dataset pull`` wrote them, uploaded as plain objects for the peers that read tar;
    ``local_shards`` those files where the pull wrote them (the local-disk reference)."""

    dir: Path
    spec: str
    samples: int
    sample_bytes: int
    shards: list[str] = field(default_factory=list)
    local_shards: list[Path] = field(default_factory=list)

    def files(self) -> list[Path]:
        return sorted(p for p in self.dir.rglob("*.bin"))

    def expected(self) -> Tally:
        """What a complete epoch delivers: every sample file's bytes."""
        out = Tally()
        for path in self.files():
            out.add(path.read_bytes())
        return out


@dataclass
class Tally:
    """What one epoch delivered: samples, their payload bytes, and the sum of the CRC-32 of every
    sample's payload. Computing the CRC touches every byte, as training does, so no reader can
    look fast by handing out views it never fills; the sum (order-free) proves the bytes right."""

    samples: int = 0
    payload: int = 0
    digest: int = 0

    def add(self, data: bytes | bytearray | memoryview, new_sample: bool = True) -> None:
        self.samples += 1 if new_sample else 0
        self.payload += len(data)
        self.digest = (self.digest + zlib.crc32(data)) % (1 << 64)

    def merge(self, other: Tally) -> Tally:
        return Tally(self.samples + other.samples, self.payload + other.payload, (self.digest + other.digest) % (1 << 64))


class Peer:
    """Defaults: every operation unsupported."""

    name = "peer"
    #: How this peer's dataset epoch reads the samples (shown beside its figures).
    dataset_format = "WebDataset tar shards (the same objects for every tar reader)"

    def put(self, key: str, data: bytes) -> None:
        raise Unsupported(f"{self.name} has no plain object put/get")

    def get(self, key: str) -> bytes:
        raise Unsupported(f"{self.name} has no plain object put/get")

    def save_checkpoint(self, key: str, state: dict[str, Any]) -> None:
        raise Unsupported(f"{self.name} has no checkpoint path")

    def load_checkpoint(self, key: str) -> dict[str, Any]:
        raise Unsupported(f"{self.name} has no checkpoint path")

    def save_checkpoint_async(self, key: str, state: dict[str, Any]) -> None:
        """Returns when the training loop may go on; the upload may still run."""
        raise Unsupported(f"{self.name} has no asynchronous checkpoint path")

    def wait_saved(self) -> None:
        """Blocks until every asynchronous save so far is durable in the store."""
        raise Unsupported(f"{self.name} has no asynchronous checkpoint path")

    def prepare_epoch(self, fixture: Fixture) -> None:
        """Untimed: lay the shared samples out in the store the way this peer reads them."""
        raise Unsupported(f"{self.name} has no dataset reader")

    def read_epoch(self, cold: bool) -> Tally:
        """One full pass over the dataset from the store, every sample's payload tallied.
        ``cold``: from an empty cache, as a new job starts; otherwise the pass right after the
        previous one (a second epoch), with whatever the peer kept."""
        raise Unsupported(f"{self.name} has no dataset reader")

    def close(self) -> None:
        pass
