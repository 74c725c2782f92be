"""Whether this process shares a filesystem with the o3ml service (``AdminService.Colocate``).

On the same host (the common case: one service per training node), bulk bytes need not cross
gRPC: a save writes the checkpoint's bytes into a file of the service's staging directory and
names it in the Save call; a load reads the service's verified host-cache files straight into
tensor storages. Sharing a host is proven, not assumed: the service writes a random challenge
into its staging directory, this process reads it there and answers with random bytes of its
own in a file beside it, which the service reads back. A process that cannot do both (another
host or container, another ``O3ML_HOME``, another user, a read-only directory, an older
service) streams everything through gRPC, as it always could, and says so once at debug level.

``O3ML_COLOCATE=0`` turns the file path off. The answer is remembered per channel.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from typing import Any

import grpc

from .gen import admin_service_pb2 as pb

log = logging.getLogger("o3ml")

_COLOCATE = "/o3ml.v1.AdminService/Colocate"
_known: weakref.WeakKeyDictionary[Any, str | None] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def staging_dir(channel: grpc.Channel, metadata: tuple[tuple[str, str], ...], address: str) -> str | None:
    """The service's staging directory when this process shares its filesystem, else None."""
    if os.environ.get("O3ML_COLOCATE", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    with _lock:
        if channel in _known:
            return _known[channel]
    found, why = _handshake(channel, metadata)
    if found is None:
        log.debug("o3ml: streaming bytes through gRPC to %s, not through files: %s", address, why)
    with _lock:
        _known[channel] = found
    return found


def forget_after(err: OSError) -> None:
    """Logs why a staged file could not be written; the save streams instead."""
    log.debug("o3ml: could not stage a checkpoint (%s); streaming it through gRPC instead", err)


def _handshake(channel: grpc.Channel, metadata: tuple[tuple[str, str], ...]) -> tuple[str | None, str]:
    call = channel.unary_unary(
        _COLOCATE, request_serializer=pb.ColocateRequest.SerializeToString, response_deserializer=pb.ColocateResponse.FromString
    )
    try:
        first: pb.ColocateResponse = call(pb.ColocateRequest(), metadata=metadata, timeout=10)
    except grpc.RpcError as err:
        return None, f"the service did not take the handshake ({err.code().name}: {err.details()})"
    probe = os.path.join(first.staging_dir, first.probe)
    answer = os.urandom(32)
    try:
        with open(probe, "rb") as f:
            seen = f.read(len(first.challenge) + 1)
        if seen != first.challenge:
            why = f"{probe} does not hold the service's challenge"
        else:
            fd = os.open(probe + ".answer", os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            try:
                os.write(fd, answer)
            finally:
                os.close(fd)
            why = ""
    except OSError as err:
        seen, why = b"", f"{probe} cannot be read or answered here ({err.strerror or err})"
    try:
        # Sent even after a failure here, so the service deletes its probe file at once.
        second: pb.ColocateResponse = call(
            pb.ColocateRequest(probe=first.probe, challenge=seen, answer=answer if not why else b""),
            metadata=metadata,
            timeout=10,
        )
    except grpc.RpcError as err:
        return None, f"the handshake failed ({err.code().name}: {err.details()})"
    if why:
        return None, why
    if not second.colocated:
        return None, f"the service could not read this process's answer in {first.staging_dir}"
    return first.staging_dir, ""
