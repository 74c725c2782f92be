"""Turns what ``O3Client.put`` accepts into a stream of byte chunks of bounded size.

Sources are read lazily, one chunk at a time, so an object of any size is never held in memory;
the size is reported up front when it can be known without reading (bytes-like data, paths,
seekable files), which lets the service refuse a stream that ends early.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol, Union, runtime_checkable


@runtime_checkable
class Readable(Protocol):
    """A binary file object: anything with ``read(size) -> bytes``."""

    def read(self, size: int = ..., /) -> bytes: ...


@runtime_checkable
class _Seekable(Protocol):
    """A file object that may know its size: ``seekable``, ``tell`` and ``seek`` (io.IOBase's)."""

    def seekable(self) -> bool: ...

    def tell(self) -> int: ...

    def seek(self, offset: int, whence: int = ..., /) -> int: ...


#: What ``put`` accepts: bytes-like data, a path, a binary file object or an iterable of chunks.
PutData = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", Readable, Iterable[bytes]]


@dataclass
class PutSource:
    """The chunks of one object, and its size when known before reading it."""

    chunks: Iterator[bytes]
    size: int | None


@contextmanager
def open_source(data: PutData, chunk_size: int) -> Iterator[PutSource]:
    """Opens ``data`` for reading in chunks of exactly ``chunk_size`` bytes (the last may be shorter).

    A path is opened here, in the caller's thread, so a missing file fails before any request is
    sent; it is closed when the ``with`` block ends. File objects passed in stay open: they belong
    to the caller.
    """
    view = _buffer_of(data)
    if view is not None:
        yield PutSource(_slices(view, chunk_size), len(view))
    elif isinstance(data, (str, os.PathLike)):
        with open(data, "rb") as file:
            status = os.fstat(file.fileno())
            size = status.st_size if stat.S_ISREG(status.st_mode) else None
            yield PutSource(rechunk(_read_chunks(file, chunk_size), chunk_size), size)
    elif isinstance(data, Readable):  # a runtime-checkable Protocol: anything with a read method
        yield PutSource(rechunk(_read_chunks(data, chunk_size), chunk_size), _remaining_size(data))
    elif isinstance(data, Iterable):
        yield PutSource(rechunk(data, chunk_size), None)
    else:
        raise TypeError(
            f"put() cannot store a {type(data).__name__}: pass bytes, a path, a binary file object "
            "or an iterable of bytes"
        )


def rechunk(pieces: Iterable[object], size: int) -> Iterator[bytes]:
    """Regroups byte pieces of any sizes into chunks of exactly ``size`` bytes, the last shorter.

    Empty pieces are dropped and nothing is yielded for an empty input. The pieces come from the
    caller's iterable, so each is checked here: one that is not bytes-like raises TypeError.
    """
    pending = bytearray()
    for piece in pieces:
        view = _byte_view(piece)
        start = 0
        if pending:
            start = min(size - len(pending), len(view))
            pending += view[:start]
            if len(pending) < size:
                continue
            yield bytes(pending)
            pending.clear()
        if start == 0 and len(view) == size and isinstance(piece, bytes):
            yield piece
            continue
        while len(view) - start >= size:
            yield bytes(view[start : start + size])
            start += size
        pending += view[start:]
    if pending:
        yield bytes(pending)


def _byte_view(data: object) -> memoryview:
    if isinstance(data, str):
        raise TypeError("put() stores bytes, not str: encode the text first (for example text.encode())")
    try:
        view = memoryview(data)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"put() got a chunk of type {type(data).__name__}; chunks must be bytes-like") from None
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


def _buffer_of(data: object) -> memoryview | None:
    """A byte view of anything with the buffer protocol (bytes, arrays, numpy), else None."""
    if isinstance(data, (str, os.PathLike)):
        return None
    try:
        return _byte_view(data)
    except TypeError:
        return None


def _slices(view: memoryview, size: int) -> Iterator[bytes]:
    for start in range(0, len(view), size):
        yield bytes(view[start : start + size])


def _read_chunks(file: Readable, size: int) -> Iterator[bytes]:
    while True:
        chunk = file.read(size)
        if isinstance(chunk, str):
            raise TypeError("put() needs a binary file object; open the file with mode 'rb'")
        if not chunk:
            return
        yield chunk


def _remaining_size(file: Readable) -> int | None:
    """Bytes left between the file's position and its end, or None when it cannot tell."""
    if not isinstance(file, _Seekable):
        return None
    try:
        if not file.seekable():
            return None
        position = file.tell()
        end = file.seek(0, io.SEEK_END)
        file.seek(position)
    except (OSError, ValueError):
        return None
    return max(0, end - position) if isinstance(end, int) else None
