"""Input the service must refuse, and streams that must leave nothing behind."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pytest
from payloads import MiB, random_bytes

from o3ml import AbortedError, InvalidArgumentError, NotFoundError, O3Client

BAD_KEYS = {
    "empty": "",
    "dotdot": "..",
    "dotdot-first": "../etc/passwd",
    "dotdot-inside": "a/../b",
    "dotdot-last": "a/..",
    "nul": "a\x00b",
    "del": "a\x7fb",
    "c1-nel": "a\x85b",
    "c1-csi": "a\x9b31mb",
    "line-separator": "a\u2028b",
}


@pytest.mark.parametrize("key", list(BAD_KEYS.values()), ids=list(BAD_KEYS))
def test_bad_keys_are_invalid_arguments(client: O3Client, key: str) -> None:
    calls: dict[str, Callable[[], object]] = {
        "put": lambda: client.put(key, b"payload"),
        "get": lambda: client.get(key),
        "open": lambda: client.open(key),
        "stat": lambda: client.stat(key),
        "delete": lambda: client.delete(key),
    }
    for name, call in calls.items():
        with pytest.raises(InvalidArgumentError) as caught:
            call()
        assert "key" in str(caught.value), f"{name}: {caught.value}"


def test_a_bad_list_prefix_is_an_invalid_argument(client: O3Client) -> None:
    with pytest.raises(InvalidArgumentError):
        list(client.list("a/../"))


class SourceFailed(Exception):
    pass


@pytest.mark.parametrize("sent", [MiB, 20 * MiB], ids=["before-first-blob", "after-blobs"])
def test_a_put_whose_source_fails_leaves_nothing_visible(client: O3Client, prefix: str, sent: int) -> None:
    key = f"{prefix}half-written"
    data = random_bytes(sent, seed=sent)

    def source() -> Iterator[bytes]:
        for start in range(0, len(data), MiB):
            yield data[start : start + MiB]
        raise SourceFailed("the producer crashed")

    with pytest.raises(SourceFailed):
        client.put(key, source())
    check_invisible(client, prefix, key)


class ShortFile(io.RawIOBase):
    """Claims `claimed` bytes (seek to the end says so) but ends after `actual`."""

    def __init__(self, claimed: int, actual: int) -> None:
        self._claimed, self._data, self._pos = claimed, random_bytes(actual, seed=actual), 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._pos = offset if whence == io.SEEK_SET else self._claimed + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        piece = self._data[self._pos : self._pos + len(buffer)]
        buffer[: len(piece)] = piece
        self._pos += len(piece)
        return len(piece)


def test_a_stream_shorter_than_its_declared_size_is_aborted(client: O3Client, prefix: str) -> None:
    key = f"{prefix}short"
    with pytest.raises(AbortedError) as caught:
        client.put(key, io.BufferedReader(ShortFile(claimed=12 * MiB, actual=9 * MiB)))
    assert key in str(caught.value)
    check_invisible(client, prefix, key)


def check_invisible(client: O3Client, prefix: str, key: str) -> None:
    with pytest.raises(NotFoundError):
        client.stat(key)
    assert [info.key for info in client.list(prefix)] == []
    # The service is still serving.
    info = client.put(f"{prefix}after", b"still here")
    assert client.get(f"{prefix}after") == b"still here" and info.size == 10
