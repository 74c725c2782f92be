"""``CheckpointInfo``: what the service knows about one committed checkpoint."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .gen import checkpoint_service_pb2


@dataclass(frozen=True)
class CheckpointInfo:
    """One checkpoint as the service records it; ``cid`` (its manifest CID) is its identity.

    ``state`` is ``"committed"`` (readable), ``"durable"`` (the store reports the bytes reached
    the network) or ``"deleted"``. ``bytes_uploaded`` is what this save sent to the store;
    ``bytes_deduplicated`` what it did not need to, because identical blobs were already there.
    """

    cid: str
    key: str
    run: str
    step: int
    epoch: int
    state: str
    bytes_total: int
    bytes_uploaded: int
    bytes_deduplicated: int
    created: datetime
    entry_count: int
    dataset_cid: str = ""
    parent_cid: str = ""
    metrics: Mapping[str, float] = field(default_factory=dict, hash=False)

    @classmethod
    def from_proto(cls, info: checkpoint_service_pb2.CheckpointInfo) -> CheckpointInfo:
        return cls(
            cid=info.cid,
            key=info.key,
            run=info.run,
            step=info.step,
            epoch=info.epoch,
            state=info.state,
            bytes_total=info.bytes_total,
            bytes_uploaded=info.bytes_uploaded,
            bytes_deduplicated=info.bytes_deduplicated,
            created=datetime.fromtimestamp(info.created_unix_ms / 1000, tz=timezone.utc),
            entry_count=info.entry_count,
            dataset_cid=info.dataset_cid,
            parent_cid=info.parent_cid,
            metrics=dict(info.metrics),
        )


@dataclass(frozen=True)
class VerifyResult:
    """What re-reading and re-hashing every blob of a checkpoint found (it raises on a mismatch)."""

    info: CheckpointInfo
    blobs_checked: int
    bytes_checked: int
