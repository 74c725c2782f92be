"""What every storage path measured side by side offers, and where it reaches the store.

A peer implements the operations it has a natural way to do; an operation it cannot do (or a
peer that cannot be imported or cannot talk to the endpoint) raises ``Unsupported`` with the
reason, which the report shows instead of a number.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class Unsupported(Exception):
    """This peer cannot do this here; the message says why."""


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
            # Newer botocore sends CRC checksums by default, which Akave O3 refuses (DESIGN.md §5).
            AWS_REQUEST_CHECKSUM_CALCULATION="when_required",
            AWS_RESPONSE_CHECKSUM_VALIDATION="when_required",
        )


@dataclass(frozen=True)
class Fixture:
    """The shared dataset: ``train/c<k>/<i>.bin`` under ``dir``; ``spec`` is its o3ml version."""

    dir: Path
    spec: str
    samples: int
    sample_bytes: int

    def files(self) -> list[Path]:
        return sorted(p for p in self.dir.rglob("*.bin"))


class Peer:
    """Defaults: every operation unsupported."""

    name = "peer"

    def put(self, key: str, data: bytes) -> None:
        raise Unsupported(f"{self.name} has no plain object put")

    def get(self, key: str) -> bytes:
        raise Unsupported(f"{self.name} has no plain object get")

    def save_checkpoint(self, key: str, state: dict[str, Any]) -> None:
        raise Unsupported(f"{self.name} has no checkpoint path")

    def load_checkpoint(self, key: str) -> dict[str, Any]:
        raise Unsupported(f"{self.name} has no checkpoint path")

    def prepare_epoch(self, fixture: Fixture) -> None:
        """Untimed: lay the shared samples out in the store the way this peer reads them."""
        raise Unsupported(f"{self.name} has no dataset reader")

    def read_epoch(self) -> tuple[int, int]:
        """One full pass over the dataset from the store; returns (samples, payload bytes)."""
        raise Unsupported(f"{self.name} has no dataset reader")

    def close(self) -> None:
        pass
