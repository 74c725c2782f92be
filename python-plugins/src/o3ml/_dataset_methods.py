"""Dataset version management (deletion), as methods of ``O3Client``; reading datasets is
``O3ShardDataset``'s (``_datasets``)."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from ._connection import Connection
from ._errors import from_rpc_error
from .gen import blob_service_pb2 as pb
from .gen import blob_service_pb2_grpc


@dataclass(frozen=True)
class DatasetVersionInfo:
    """One dataset version, as the service describes it."""

    name: str
    version: str
    cid: str
    parent_cid: str
    samples: int
    bytes: int
    shards: int
    created_unix_ms: int

    @classmethod
    def from_proto(cls, p: pb.DatasetVersionInfo) -> DatasetVersionInfo:
        return cls(p.name, p.version, p.cid, p.parent_cid, p.samples, p.bytes, p.shards, p.created_unix_ms)


class DatasetMethods:
    """Dataset version deletion, as methods of ``O3Client``."""

    connection: Connection

    def delete_dataset(self, name: str, version: str, *, force: bool = False) -> DatasetVersionInfo:
        """Deletes ``name@version`` (a version id or manifest CID) and returns what was deleted: it
        is no longer listed or readable, and ``o3ml gc`` then reclaims the shards no other version
        names. Raises ``FailedPreconditionError`` naming the checkpoints that are kept and were
        trained on the version, unless ``force``; ``NotFoundError`` when there is no such version.
        """
        if not version:
            raise ValueError(f"name the version of dataset {name!r} to delete")
        conn = self.connection
        request = pb.DeleteDatasetRequest(name=name, version=version, force=force)
        try:
            info = conn.stub(blob_service_pb2_grpc.DatasetServiceStub).Delete(
                request, metadata=conn.metadata, timeout=conn.timeout
            )
        except grpc.RpcError as err:
            raise from_rpc_error(err, conn.address) from None
        return DatasetVersionInfo.from_proto(info)
