"""A checkpoint's torch archive view, read from the service (``CheckpointService.ReadArchive``).

A checkpoint is stored as its entries (see ``_checkpoint_codec``); the service lays those out as
the zip torch.save writes and serves any byte range of it. Its layout follows from the checkpoint
table alone, so the archive's size is known up front (``ObjectInfo.archive_size``) and a range
costs only the blobs it covers. This is what ``o3://`` reads of a checkpoint give, so torch.load,
``LightningModule.load_from_checkpoint`` and ``fsspec.get`` see a plain ``.ckpt`` file.

``torch.load`` seeks: it peeks at the first bytes, reads the central directory at the end in
several small steps backwards, then the records from the start, in order. ``ArchiveReader`` fetches
the archive's last bytes (the central directory) once, on the first read there, and serves every
later read of them from memory. Elsewhere it keeps one stream open: reads in order and short skips
forward continue it (the service sends ahead, within gRPC's flow control), reads back into its last
MiB are served from the messages it delivered, and only a read anywhere else starts a stream at
the new offset. A torch.load of a checkpoint so costs two streams. Every stream must name the
version of the checkpoint the reader was opened on.
"""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

import grpc

from ._connection import connection_of
from ._errors import error_for_code, from_rpc_error
from ._object_info import ObjectInfo
from .gen import checkpoint_service_pb2 as pb
from .gen import checkpoint_service_pb2_grpc

if TYPE_CHECKING:
    from ._client import O3Client

#: Buffer of the file ``open_archive`` returns: a read of a few bytes still fetches this much.
READ_BUFFER = 1024 * 1024
#: A forward seek at most this far ahead of the open stream reads on instead of starting another:
#: cheaper than a new stream, which re-fetches the whole blob the new offset falls in.
SKIP_BYTES = 8 * 1024 * 1024
#: How far back of the open stream's position a seek is still served from the messages received.
BEHIND_BYTES = 1024 * 1024
#: The archive's last bytes, fetched whole on the first read there: the central directory of a
#: checkpoint of a few thousand tensors (about 70 bytes a record), which zip readers read in steps.
TAIL_BYTES = 256 * 1024


def open_archive(client: O3Client, info: ObjectInfo) -> IO[bytes]:
    """A buffered, seekable binary file over the archive of the checkpoint ``info`` describes."""
    return io.BufferedReader(ArchiveReader(client, info), buffer_size=READ_BUFFER)


def read_archive(client: O3Client, info: ObjectInfo, start: int = 0, end: int | None = None) -> bytes:
    """Bytes ``[start, end)`` of the archive (``end`` None: to the end) in one stream."""
    end = info.archive_size if end is None else min(end, info.archive_size)
    if end <= start:
        return b""
    out = io.BytesIO()
    for data in _stream(client, info, start, end - start):
        out.write(data)
    if out.tell() != end - start:
        raise _corrupt(info, client.address, f"the stream of [{start}, {end}) carried {out.tell()} bytes")
    return out.getvalue()


def copy_archive(client: O3Client, info: ObjectInfo, target: IO[bytes]) -> int:
    """Writes the whole archive to ``target``; returns its size."""
    written = 0
    for data in _stream(client, info, 0, 0):
        target.write(data)
        written += len(data)
    if written != info.archive_size:
        raise _corrupt(info, client.address, f"the stream ended after {written} of {info.archive_size} bytes")
    return written


class ArchiveReader(io.RawIOBase):
    """Raw binary reader of a checkpoint's archive; wrap it in ``io.BufferedReader`` (``open_archive`` does)."""

    def __init__(self, client: O3Client, info: ObjectInfo) -> None:
        super().__init__()
        self._client = client
        self.info = info
        self._size = info.archive_size
        self._position = 0
        self._tail_start = max(0, self._size - TAIL_BYTES)
        self._tail: bytes | None = None
        self._call: Any = None  # the open ReadArchive stream, if any
        self._messages: Iterator[bytes] | None = None
        # The open stream's latest messages, (archive offset, bytes), covering about BEHIND_BYTES
        # before self._received: a seek back into them is served without a new stream.
        self._recent: deque[tuple[int, memoryview]] = deque()
        self._received = 0  # archive offset of the next byte the open stream will deliver

    @property
    def name(self) -> str:
        return self.info.key

    @property
    def mode(self) -> str:
        return "rb"

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._check_open()
        target = memoryview(buffer).cast("B")
        if self._position >= self._size or not len(target):
            return 0
        piece = self._piece_at(self._position)
        count = min(len(target), len(piece))
        target[:count] = piece[:count]
        self._position += count
        return count

    def readall(self) -> bytes:
        # RawIOBase.readall reads in 8 KiB steps; collect whole pieces instead.
        self._check_open()
        out = io.BytesIO()
        while self._position < self._size:
            piece = self._piece_at(self._position)
            out.write(piece)
            self._position += len(piece)
        return out.getvalue()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._check_open()
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._position + offset
        elif whence == io.SEEK_END:
            target = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence!r}: use io.SEEK_SET, io.SEEK_CUR or io.SEEK_END")
        if target < 0:
            raise ValueError(f"negative seek position {target} in {self.info.key!r}")
        self._position = target  # the stream follows at the next read
        return target

    def tell(self) -> int:
        self._check_open()
        return self._position

    def close(self) -> None:
        self._cancel()
        super().close()

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError(f"I/O operation on closed archive reader of {self.info.key!r}")

    def _piece_at(self, offset: int) -> memoryview:
        """Bytes of the archive from ``offset`` on (at least one, at most to the end of a message)."""
        if offset >= self._tail_start:
            if self._tail is None:
                self._tail = read_archive(self._client, self.info, self._tail_start, self._size)
            return memoryview(self._tail)[offset - self._tail_start :]
        if self._messages is None or not self._recent_start() <= offset <= self._received + SKIP_BYTES:
            self._restart(offset)
        while self._received <= offset:  # reading on is cheaper than a new stream
            self._receive()
        for start, data in self._recent:
            if start <= offset < start + len(data):
                return data[offset - start : self._tail_start - start]
        raise AssertionError("the open stream holds the offset")  # _recent covers [_recent_start, _received)

    def _recent_start(self) -> int:
        return self._recent[0][0] if self._recent else self._received

    def _restart(self, offset: int) -> None:
        self._cancel()
        self._messages = _stream(self._client, self.info, offset, 0, self._set_call)
        self._received = offset

    def _receive(self) -> None:
        assert self._messages is not None
        try:
            data = next(self._messages)
        except StopIteration:
            self._messages = None
            raise _corrupt(self.info, self._client.address, f"the stream ended at byte {self._received} of {self._size}") from None
        self._recent.append((self._received, memoryview(data)))
        self._received += len(data)
        while self._recent and self._recent[0][0] + len(self._recent[0][1]) <= self._received - BEHIND_BYTES:
            self._recent.popleft()

    def _set_call(self, call: Any) -> None:
        self._call = call

    def _cancel(self) -> None:
        call, self._call, self._messages = self._call, None, None
        self._recent.clear()
        if call is not None:
            call.cancel()


def _stream(client: O3Client, info: ObjectInfo, offset: int, length: int, on_call: Any = None) -> Iterator[bytes]:
    """The data of one ReadArchive stream of the version ``info`` names, after checking its info."""
    conn = connection_of(client)
    stub = conn.stub(checkpoint_service_pb2_grpc.CheckpointServiceStub)
    request = pb.ReadArchiveRequest(checkpoint=pb.CheckpointSelector(key=info.key), offset=offset, length=length)
    call = stub.ReadArchive(request, metadata=conn.metadata, timeout=conn.timeout)
    if on_call is not None:
        on_call(call)
    try:
        first = next(call, None)
        if first is None or first.WhichOneof("msg") != "info":
            raise error_for_code(
                "INTERNAL", f"the o3ml service at {conn.address} did not start the archive of {info.key!r} with its info; "
                "please report this with the service log"
            )
        if first.info.cid != info.cid:
            raise error_for_code(
                "FAILED_PRECONDITION",
                f"checkpoint {info.key!r} was replaced while it was being read (cid {info.cid} is now "
                f"{first.info.cid}); open it again to read the new version",
                {"key": info.key, "cid": info.cid},
            )
        for message in call:
            if message.data:
                yield message.data
    except grpc.RpcError as err:
        raise from_rpc_error(err, conn.address) from None
    finally:
        call.cancel()


def _corrupt(info: ObjectInfo, address: str, what: str) -> Exception:
    return error_for_code(
        "INTEGRITY",
        f"the archive of checkpoint {info.key!r} (cid {info.cid}) read from {address} is incomplete: {what}; "
        "retry, and report it with the service log if it persists",
        {"key": info.key, "cid": info.cid},
    )
