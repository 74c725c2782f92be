"""``ObjectReader``: a readable, seekable raw file over the service's Get stream.

The first message of a Get stream is the object's info, the rest are data. The service verifies
every blob against its CID before sending it; the reader adds an end-to-end check: when a stream
that started at offset 0 ends, the bytes received must have the object's size and sha2-256.
Seeking outside what has already been received cancels the stream and opens a new one at the
target offset; the new stream must name the same version of the object.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from ._errors import error_for_code, from_rpc_error
from ._object_info import ObjectInfo
from .gen import object_service_pb2

#: Starts a Get stream of one object at a byte offset.
StreamOpener = Callable[[int], Iterator[object_service_pb2.GetResponse]]

_EMPTY = memoryview(b"")


class ObjectReader(io.RawIOBase):
    """Raw binary reader of one object; wrap it in ``io.BufferedReader`` (``O3Client.open`` does)."""

    def __init__(self, key: str, opener: StreamOpener, address: str) -> None:
        super().__init__()
        self._key = key
        self._opener = opener
        self._address = address
        self._call: Iterator[object_service_pb2.GetResponse] | None = None
        self._pending = _EMPTY
        self._position = 0
        self._received = 0  # offset of the next byte the current stream will deliver
        self._hasher: Any = None  # sha2-256 of the stream while it covers the object from byte 0
        self._cid: str | None = None  # the version being read, fixed by the first stream
        self.info: ObjectInfo = self._start(0)

    @property
    def name(self) -> str:
        return self._key

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
        if not self._pending:
            data = self._next_data()
            if data is None:
                return 0
            self._pending = memoryview(data)
        count = min(len(target), len(self._pending))
        target[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        self._position += count
        return count

    def readall(self) -> bytes:
        # RawIOBase.readall reads in 8 KiB steps; collect whole messages instead. BytesIO hands
        # back its buffer without a copy when it is exactly full, so memory peaks at about the size.
        self._check_open()
        out = io.BytesIO()
        out.write(self._pending)
        self._position += len(self._pending)
        self._pending = _EMPTY
        while (data := self._next_data()) is not None:
            out.write(data)
            self._position += len(data)
        return out.getvalue()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._check_open()
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._position + offset
        elif whence == io.SEEK_END:
            target = self.info.size + offset
        else:
            raise ValueError(f"invalid whence {whence!r}: use io.SEEK_SET, io.SEEK_CUR or io.SEEK_END")
        if target < 0:
            raise ValueError(f"negative seek position {target} in {self._key!r}")
        ahead = target - self._position
        if 0 <= ahead <= len(self._pending):
            # Already received: skip within it and keep the stream (and its checksum) going.
            self._pending = self._pending[ahead:]
        else:
            self._cancel()
            self._pending = _EMPTY
            self._received = target
        self._position = target
        return target

    def tell(self) -> int:
        self._check_open()
        return self._position

    def close(self) -> None:
        self._cancel()
        self._pending = _EMPTY
        super().close()

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError(f"I/O operation on closed object reader of {self._key!r}")

    def _start(self, offset: int) -> ObjectInfo:
        call = self._opener(offset)
        self._call = call
        try:
            first = next(call)
        except StopIteration:
            raise error_for_code(
                "INTERNAL", f"the o3ml service at {self._address} ended the stream of {self._key!r} "
                "before sending its info; please report this with the service log"
            ) from None
        except grpc.RpcError as err:
            self._call = None
            raise from_rpc_error(err, self._address) from None
        if first.WhichOneof("msg") != "info":
            self._cancel()
            raise error_for_code(
                "INTERNAL", f"the o3ml service at {self._address} sent data before the info of "
                f"{self._key!r}; please report this with the service log"
            )
        info = ObjectInfo.from_proto(first.info)
        if self._cid is None:
            self._cid = info.cid
        elif info.cid != self._cid:
            self._cancel()
            raise error_for_code(
                "FAILED_PRECONDITION",
                f"object {self._key!r} was replaced while it was being read (cid {self._cid} is "
                f"now {info.cid}); open it again to read the new version",
                {"key": self._key, "cid": self._cid},
            )
        self._received = offset
        self._hasher = hashlib.sha256() if offset == 0 else None
        return info

    def _next_data(self) -> bytes | None:
        """The next data message of the stream, or None at the end of the object."""
        if self._call is None:
            if self._received >= self.info.size:
                return None
            self._start(self._received)
        assert self._call is not None
        try:
            for message in self._call:
                if message.WhichOneof("msg") != "data":
                    continue
                data = message.data
                if not data:
                    continue
                self._received += len(data)
                if self._received > self.info.size:
                    self._fail_integrity(f"the stream carried more than its {self.info.size} bytes")
                if self._hasher is not None:
                    self._hasher.update(data)
                return data
        except grpc.RpcError as err:
            self._call = None
            raise from_rpc_error(err, self._address) from None
        self._call = None
        self._verify_end()
        return None

    def _verify_end(self) -> None:
        if self._received != self.info.size:
            self._fail_integrity(f"the stream ended after {self._received} of {self.info.size} bytes")
        if self._hasher is not None and self.info.sha256:
            actual = self._hasher.hexdigest()
            if actual != self.info.sha256:
                self._fail_integrity(f"the bytes hash to sha256 {actual}, not {self.info.sha256}")

    def _fail_integrity(self, what: str) -> None:
        self._cancel()
        raise error_for_code(
            "INTEGRITY",
            f"object {self._key!r} (cid {self.info.cid}) read from {self._address} is corrupt: {what}; "
            "run `o3ml verify` to check the stored blobs and report it if they are intact",
            {"key": self._key, "cid": self.info.cid},
        )

    def _cancel(self) -> None:
        call, self._call = self._call, None
        if call is not None:
            call.cancel()  # type: ignore[attr-defined]
