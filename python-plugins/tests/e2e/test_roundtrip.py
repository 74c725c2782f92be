"""Bytes go in and come back identical, whatever the size and however they are passed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from payloads import MiB, random_bytes

from o3ml import O3Client

SIZES = [
    0,
    1,
    5 * MiB - 1,
    5 * MiB + 1,
    pytest.param(300 * MiB, marks=pytest.mark.slow, id="300MiB"),
]


@pytest.fixture(scope="session")
def payload_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("payloads")


def payload_file(folder: Path, size: int) -> Path:
    """A file of `size` random bytes, made once and shared by every server's run."""
    path = folder / f"{size}.bin"
    if not path.exists():
        path.write_bytes(random_bytes(size, seed=size))
    return path


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("source", ["bytes", "file", "path"])
def test_round_trip_is_byte_identical(
    client: O3Client, prefix: str, payload_dir: Path, size: int, source: str
) -> None:
    path = payload_file(payload_dir, size)
    key = f"{prefix}object.bin"
    if source == "bytes":
        data = path.read_bytes()
        info = client.put(key, data)
    elif source == "file":
        with open(path, "rb") as file:
            info = client.put(key, file)
        data = path.read_bytes()
    else:
        info = client.put(key, path)
        data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert (info.key, info.size, info.sha256) == (key, size, digest)

    assert client.get(key) == data
    with client.open(key) as f:
        assert f.read() == data
    # Piece by piece, in sizes that straddle the service's messages and blobs.
    received = hashlib.sha256()
    total = 0
    with client.open(key) as f:
        while piece := f.read(3 * MiB + 17):
            received.update(piece)
            total += len(piece)
    assert (total, received.hexdigest()) == (size, digest)
