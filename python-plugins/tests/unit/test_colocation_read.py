"""Reading a verified cache file (or a range of one) into caller memory, and what counts as stale."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from o3ml._colocation import StaleFile, map_file, read_into


def test_a_whole_file_must_fill_the_part_exactly(tmp_path: Path) -> None:
    f = tmp_path / "blob"
    f.write_bytes(bytes(range(200)))
    out = bytearray(200)
    read_into(str(f), memoryview(out))
    assert out == bytes(range(200))
    for wrong in (199, 201):
        with pytest.raises(StaleFile):
            read_into(str(f), memoryview(bytearray(wrong)))


def test_a_range_is_read_from_its_offset_and_must_be_in_the_file(tmp_path: Path) -> None:
    f = tmp_path / "pack"
    f.write_bytes(bytes(range(256)) * 4)
    out = bytearray(100)
    read_into(str(f), memoryview(out), 300)
    assert out == (bytes(range(256)) * 4)[300:400]
    read_into(str(f), memoryview(bytearray(24)), 1000)  # the last bytes of the file
    with pytest.raises(StaleFile):
        read_into(str(f), memoryview(bytearray(25)), 1000)
    with pytest.raises(StaleFile):
        read_into(str(tmp_path / "gone"), memoryview(bytearray(1)), 0)


def test_a_mapped_file_must_hold_exactly_its_size_and_keeps_its_bytes_once_unlinked(tmp_path: Path) -> None:
    f = tmp_path / "blob"
    f.write_bytes(bytes(range(256)) * 3)
    mapped = map_file(str(f), 768)
    try:
        # The cache evicts by unlinking: the mapping still holds the bytes verified before.
        os.unlink(f)
        assert b"".join([mapped]) == bytes(range(256)) * 3
    finally:
        if not isinstance(mapped, bytes):
            mapped.close()
    g = tmp_path / "other"
    g.write_bytes(b"x" * 10)
    for wrong in (9, 11):
        with pytest.raises(StaleFile):
            map_file(str(g), wrong)
    with pytest.raises(StaleFile):
        map_file(str(tmp_path / "gone"), 1)
    assert map_file(str(tmp_path / "gone"), 0) == b""
