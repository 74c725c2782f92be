"""Whether this process shares a filesystem with the o3ml service (``AdminService.Colocate``).

On the same host (the common case: one service per training node), bulk bytes need not cross
gRPC: a save writes the checkpoint's bytes into a file of the service's staging directory and
names it in the Save call; a load reads the service's verified host-cache files straight into
tensor storages. Sharing a host is proven, not assumed: the service writes a random challenge
into its staging directory, this process reads it there and answers with random bytes of its
own in a file beside it, which the service reads back. A process that cannot do both (another
host or container, another ``O3ML_HOME``, another user, a read-only directory, an older
service) streams everything through gRPC, as it always could, and says so once at debug level.

``O3ML_COLOCATE=0`` turns the file path off. The answer is remembered per channel (so a forked
process, which opens a channel of its own, asks again), and forgotten when a staged call shows
the channel now reaches another service (``refused_elsewhere``). A handshake no service answered
(``UNAVAILABLE``: not started yet, restarting) is not remembered: the next call asks again.
"""

from __future__ import annotations

import logging
import mmap
import os
import secrets
import threading
import weakref
from dataclasses import dataclass
from typing import Any

import grpc

from ._connection import Connection
from ._errors import O3mlError
from .gen import admin_service_pb2 as pb

log = logging.getLogger("o3ml")

_COLOCATE = "/o3ml.v1.AdminService/Colocate"
#: A handshake call that failed with one of these reached no service: its failure says nothing about
#: the host. Not DEADLINE_EXCEEDED: a service too slow to answer in 10 s would cost every call 10 s.
_UNANSWERED = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
_lock = threading.Lock()


@dataclass(frozen=True)
class Colocated:
    """What a process on the service's host needs: where to stage, and how the service cuts blobs."""

    staging_dir: str
    chunk_size: int


_known: weakref.WeakKeyDictionary[Any, Colocated | None] = weakref.WeakKeyDictionary()


def staging_dir(connection: Connection) -> str | None:
    """The service's staging directory when this process shares its filesystem, else None."""
    found = colocated(connection)
    return found.staging_dir if found else None


def colocated(connection: Connection) -> Colocated | None:
    """How this process shares the service's filesystem; None when it does not (or must not)."""
    if os.environ.get("O3ML_COLOCATE", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    channel = connection.channel
    with _lock:
        if channel in _known:
            return _known[channel]
    try:
        found, why = _handshake(channel, connection.metadata)
    except grpc.RpcError as err:
        # No service answered (not started yet, restarting): nothing is known, so nothing is
        # remembered, and the next call asks again; this one streams (and fails the same way if
        # the service is still not there).
        log.debug("o3ml: no handshake with %s (%s: %s); streaming this call", connection.address, err.code().name, err.details())
        return None
    if found is None:
        log.debug("o3ml: streaming bytes through gRPC to %s, not through files: %s", connection.address, why)
    with _lock:
        _known[channel] = found
    return found


def refused_elsewhere(connection: Connection, path: str, err: O3mlError) -> bool:
    """True (and the handshake forgotten) when the service just refused a file staged at ``path``
    as missing while it is still there: the channel reconnected to another service than the one
    that took the handshake (restarted with another ``O3ML_HOME``, or another service now on the
    address), whose staging directory is elsewhere. The caller streams this call; the next one
    shakes hands again. The service deletes a staged file before it answers, so on the service
    that took the handshake a refusal naming the file never finds it still there.
    """
    name = os.path.basename(path)
    if err.code != "FAILED_PRECONDITION" or name not in str(err) or not os.path.exists(path):
        return False
    with _lock:
        _known.pop(connection.channel, None)
    log.debug("o3ml: %s no longer reaches the service whose staging directory is %s; streaming", connection.address, os.path.dirname(path))
    return True


def _handshake(channel: grpc.Channel, metadata: tuple[tuple[str, str], ...]) -> tuple[Colocated | None, str]:
    call = channel.unary_unary(
        _COLOCATE, request_serializer=pb.ColocateRequest.SerializeToString, response_deserializer=pb.ColocateResponse.FromString
    )
    try:
        first: pb.ColocateResponse = call(pb.ColocateRequest(), metadata=metadata, timeout=10)
    except grpc.RpcError as err:
        if err.code() in _UNANSWERED:
            raise
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
        if err.code() in _UNANSWERED:
            raise
        return None, f"the handshake failed ({err.code().name}: {err.details()})"
    if why:
        return None, why
    if not second.colocated:
        return None, f"the service could not read this process's answer in {first.staging_dir}"
    return Colocated(first.staging_dir, first.chunk_size or 8 * 1024 * 1024), ""


#: Largest single write to a staged file.
_WRITE_BYTES = 1 << 30


def stage(staging: str, views: list[memoryview]) -> str | None:
    """Writes ``views`` back to back into a new file of the staging directory; its name, or None.

    The name carries this process's id: the service sweeps files whose writer died.
    """
    name = f"{os.getpid()}-{secrets.token_hex(16)}.stage"
    path = os.path.join(staging, name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError as err:
        log.debug("o3ml: cannot stage in %s (%s); streaming through gRPC instead", staging, err)
        return None
    try:
        try:
            for view in views:
                while view.nbytes:
                    view = view[os.write(fd, view[:_WRITE_BYTES]) :]
        finally:
            os.close(fd)
    except OSError as err:
        unlink(path)
        log.debug("o3ml: could not write %s (%s); streaming through gRPC instead", path, err)
        return None
    except BaseException:
        unlink(path)
        raise
    return name


def unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class StaleFile(Exception):
    """A file the service named is no longer what it verified (evicted or changed meanwhile)."""


def read_into(path: str, part: memoryview, offset: int | None = None) -> None:
    """Reads the file at ``path`` into ``part``; else ``StaleFile``.

    Without ``offset`` the whole file, which must fill ``part`` exactly; with it, ``part.nbytes``
    bytes from there (an entry packed with others in one blob), which the file must hold.
    Straight into the caller's memory (a tensor storage, an object's buffer): one copy from the
    page cache. The read releases the GIL, so several may run on threads.
    """
    try:
        with open(path, "rb", buffering=0) as fh:
            size = os.fstat(fh.fileno()).st_size
            if size != part.nbytes if offset is None else size < offset + part.nbytes:
                raise StaleFile(f"{path} changed")
            fh.seek(offset or 0)
            got = 0
            while got < part.nbytes:
                n = fh.readinto(part[got:])
                if not n:
                    raise StaleFile(f"{path} ended early")
                got += n
    except OSError as err:
        raise StaleFile(f"{path}: {err}") from err


def map_file(path: str, size: int) -> mmap.mmap | bytes:
    """The file at ``path``, which must hold exactly ``size`` bytes, mapped read-only; else ``StaleFile``.

    Host-cache entries are never rewritten in place (a new entry is renamed over, an evicted one
    unlinked), so the mapping keeps the bytes that were verified even once the service's pin ends.
    """
    if size == 0:
        return b""
    try:
        with open(path, "rb", buffering=0) as fh:
            if os.fstat(fh.fileno()).st_size != size:
                raise StaleFile(f"{path} changed")
            return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as err:
        raise StaleFile(f"{path}: {err}") from err
