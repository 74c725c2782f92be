"""Regrouping put sources into bounded chunks."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from o3ml._put_source import open_source, rechunk

pieces = st.lists(st.binary(max_size=300), max_size=30)


@given(pieces=pieces, size=st.integers(min_value=1, max_value=200))
def test_rechunk_keeps_every_byte_in_full_chunks(pieces: list[bytes], size: int) -> None:
    chunks = list(rechunk(pieces, size))
    assert b"".join(chunks) == b"".join(pieces)
    assert all(len(c) == size for c in chunks[:-1])
    assert all(0 < len(c) <= size for c in chunks)


@given(data=st.binary(max_size=2000), size=st.integers(min_value=1, max_value=300), start=st.integers(0, 2100))
def test_sources_report_the_size_they_will_send(data: bytes, size: int, start: int) -> None:
    for source in (data, bytearray(data), memoryview(data)):
        with open_source(source, size) as opened:
            assert opened.size == len(data) and b"".join(opened.chunks) == data
    file = io.BytesIO(data)
    file.seek(start)
    with open_source(file, size) as opened:
        assert opened.size == max(0, len(data) - start) and b"".join(opened.chunks) == data[start:]
    with open_source(iter([data]), size) as opened:
        assert opened.size is None and b"".join(opened.chunks) == data


def test_non_byte_formats_are_sent_as_their_bytes() -> None:
    import array

    values = array.array("d", [1.0, 2.5])
    with open_source(values, 4) as opened:  # type: ignore[arg-type]
        assert b"".join(opened.chunks) == values.tobytes()
