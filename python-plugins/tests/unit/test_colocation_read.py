"""Reading a verified cache file (or a range of one) into caller memory, and what counts as stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from o3ml._colocation import StaleFile, read_into


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
