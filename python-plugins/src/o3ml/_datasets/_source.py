"""Where dataset versions and shard bytes come from: the interface every reader goes through.

``O3ShardDataset`` orders, partitions, reads and decodes samples the same way whatever the
source; a source only resolves ``name@version`` to a manifest and hands out the verified bytes
of one shard at a time. Sources are pickled into data-loader workers, so they hold settings,
never open connections (each process opens its own). A source whose connections do not survive
a fork of a busy process sets ``fork_safe = False`` (``ServiceShardSource``, gRPC):
``O3DataLoader`` then starts its workers through a fork server (``_workers``).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

from ..gen import manifest_pb2
from ._split_index import DatasetVersion
from ._tar import BytesLike

__all__ = ["ShardSource"]


@runtime_checkable
class ShardSource(Protocol):
    """Resolves dataset versions and opens their shards."""

    def resolve(self, spec: str) -> DatasetVersion:
        """The version ``spec`` names (``name@version``, ``name``, ``name@latest``); ``NotFoundError`` if none."""
        ...

    def open_shard(self, shard: manifest_pb2.ShardEntry, where: str) -> AbstractContextManager[BytesLike]:
        """The shard's whole bytes, verified against its CID, valid until the context exits.

        ``where`` names the shard in messages. A shard that fails verification raises
        ``IntegrityError`` naming ``where`` and the CID, before any of its bytes are handed out.
        """
        ...

    def describe(self) -> str:
        """Where the data comes from, for messages (e.g. the service address)."""
        ...
