"""``ObjectInfo``: what the service knows about one stored object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .gen import object_service_pb2


@dataclass(frozen=True)
class ObjectInfo:
    """One named object as the service stores it.

    ``cid`` is the content identifier of the object's manifest (the Merkle root of its bytes);
    ``sha256`` is the hex sha2-256 of the whole object; ``created`` is when this version of the
    key was committed, in UTC. ``problem`` is set only in listings, for a damaged object (its
    manifest is missing or fails its hash): it says what is wrong, and reading it raises
    ``IntegrityError``. ``archive_size`` is set for a torch checkpoint saved through the
    CheckpointService: the size of its torch archive view (what a ``.ckpt`` file of it holds, and
    what ``o3://`` reads of it give); 0 for any other object.
    """

    key: str
    size: int
    cid: str
    sha256: str
    created: datetime
    content_type: str = ""
    # Excluded from hashing because a dict is not hashable; still compared by ==.
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    problem: str = ""
    archive_size: int = 0

    @classmethod
    def from_proto(cls, info: object_service_pb2.ObjectInfo) -> ObjectInfo:
        return cls(
            key=info.key,
            size=info.size,
            cid=info.cid,
            sha256=info.sha256,
            created=datetime.fromtimestamp(info.created_unix_ms / 1000, tz=timezone.utc),
            content_type=info.content_type,
            labels=dict(info.labels),
            problem=info.problem,
            archive_size=info.archive_size,
        )
