"""Objects through files on the service's host (see ``_colocation``): a put of bytes in memory
is written into a file of the service's staging directory and named in the Put call; a get reads
the verified host-cache files of the object's blobs (``ObjectService.Locate``). The service
verified every blob against its CID right before naming it. Anything that keeps the files from
being used returns None, and the caller streams through gRPC instead."""

from __future__ import annotations

import logging
import mmap
import os

import grpc

from . import _colocation
from ._connection import Connection
from ._errors import from_rpc_error
from .gen import object_service_pb2 as pb
from .gen import object_service_pb2_grpc

log = logging.getLogger("o3ml")

#: Below this size a stream costs no more than a staged file (create, write, unlink).
STAGE_MIN_BYTES = 1024 * 1024
def put_staged(connection: Connection, staging: str, header: pb.PutHeader, data: memoryview) -> pb.PutResponse | None:
    """A co-located put of ``data``; None when it could not be staged, or not for this service
    (the caller streams)."""
    name = _colocation.stage(staging, [data])
    if name is None:
        return None
    path = os.path.join(staging, name)
    staged = pb.PutHeader()
    staged.CopyFrom(header)
    staged.staged = name
    staged.expected_size = data.nbytes
    staged.has_expected_size = True
    try:
        put = connection.stub(object_service_pb2_grpc.ObjectServiceStub).Put
        return put(iter([pb.PutRequest(header=staged)]), metadata=connection.metadata, timeout=connection.timeout)  # type: ignore[no-any-return]
    except grpc.RpcError as err:
        error = from_rpc_error(err, connection.address)
        if _colocation.refused_elsewhere(connection, path, error):
            return None
        raise error from None
    finally:
        _colocation.unlink(path)  # the service deletes it too; whoever is first


def get_located(connection: Connection, key: str) -> bytes | None:
    """The whole object read from the host cache; None when a file could not be used as named.

    The blobs' files are mapped as they are named and copied once, into the returned bytes, at the
    end: filling a zeroed buffer and copying that into bytes touched twice as much fresh memory,
    whose page faults cost more than the copy (docs/performance.md, "Bodies read into a reused
    buffer").
    """
    locate = connection.stub(object_service_pb2_grpc.ObjectServiceStub).Locate
    stream = locate(pb.GetRequest(key=key), metadata=connection.metadata, timeout=connection.timeout)
    size: int | None = None
    parts: list[bytes | mmap.mmap] = []
    at = 0
    try:
        for message in stream:
            kind = message.WhichOneof("msg")
            if kind == "info" and size is None:
                size = message.info.size
                continue
            if kind != "blob" or size is None:
                raise _colocation.StaleFile(f"an unexpected {kind or 'empty'} message")
            blob = message.blob
            part = _colocation.map_file(blob.path, blob.size) if blob.path else blob.data
            parts.append(part)
            at += len(part)
            if at > size:
                raise _colocation.StaleFile("more bytes than the object's size")
        if size is None or at != size:
            log.debug("o3ml: the located get of %r ended after %d bytes; streaming it instead", key, at)
            return None
        return b"".join(parts)
    except grpc.RpcError as err:
        if err.code() == grpc.StatusCode.UNIMPLEMENTED:
            return None
        raise from_rpc_error(err, connection.address) from None
    except _colocation.StaleFile as stale:
        stream.cancel()
        log.debug("o3ml: the located get of %r broke off (%s); streaming it instead", key, stale)
        return None
    finally:
        for part in parts:
            if isinstance(part, mmap.mmap):
                part.close()
