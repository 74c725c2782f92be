"""read_members: one sample's members out of a shard, by the byte range its manifest entry names."""

from __future__ import annotations

import io
import tarfile

import pytest
from dataset_shards import Sample, tar_shard

from o3ml import IntegrityError
from o3ml._datasets._tar import read_members

SAMPLES = [
    Sample("plain/a", {"bin": b"A" * 700, "cls": b"1"}),
    Sample("classes/chat/été_001", {"png": b"\x89PNG not really", "cls": b"2"}),
    Sample("deep/" + "d" * 200 + "/" + "f" * 150, {"json": b"{}"}),
    Sample("plain/b", {"bin": b"", "txt": b"last"}),
]


def test_reads_plain_ustar_and_pax_headers_for_non_ascii_and_long_names() -> None:
    # PAX_FORMAT writes a PAX header before each non-ASCII or too long name, as tar-stream does.
    data, entries = tar_shard(SAMPLES, format=tarfile.PAX_FORMAT)
    archive = tarfile.open(fileobj=io.BytesIO(data))
    assert [bool(archive.getmember(f"{s.key}.{sorted(s.members)[0]}").pax_headers) for s in SAMPLES] == [False, True, True, False]
    for sample, entry in zip(SAMPLES, entries, strict=True):
        assert read_members(data, entry.offset, entry.size, entry.key, "shard 0") == sample.members


def test_reads_a_size_written_in_base_256() -> None:
    data, [entry] = tar_shard([Sample("big/one", {"bin": b"x" * 1000})])
    header = bytearray(data[:512])
    header[124:136] = bytes([0x80]) + (1000).to_bytes(11, "big")  # how tar writes a size past 8 GiB
    header[148:156] = b" " * 8
    header[148:156] = f"{sum(header):06o}\0 ".encode()
    assert read_members(bytes(header) + data[512:], entry.offset, entry.size, entry.key, "shard 0") == {"bin": b"x" * 1000}


@pytest.mark.parametrize(
    ("offset", "size", "key", "why"),
    [
        (512, 0, None, "not the start of a ustar header"),
        (0, 0, "classes/chat/other", "is 'classes/chat/été_001.cls', not classes/chat/other.<ext>"),
        (0, -512, None, "not a readable tar archive \\(unexpected end of data\\)"),
    ],
)
def test_a_range_that_does_not_hold_a_pax_sample_is_an_integrity_error(offset: int, size: int, key: str | None, why: str) -> None:
    data, entries = tar_shard(SAMPLES, format=tarfile.PAX_FORMAT)
    entry = entries[1]
    wanted = key or entry.key
    with pytest.raises(IntegrityError, match=f"sample '{wanted}' of shard 0 does not match its manifest entry: .*({why})"):
        read_members(data, entry.offset + offset, entry.size + size, wanted, "shard 0")
