"""Properties over random data and random ways of cutting it into pieces."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from o3ml import O3Client


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(max_size=64 * 1024),
    cuts=st.lists(st.integers(min_value=0, max_value=64 * 1024), max_size=8),
    offset=st.integers(min_value=0, max_value=64 * 1024),
)
def test_any_bytes_cut_any_way_come_back_whole(
    client: O3Client, prefix: str, data: bytes, cuts: list[int], offset: int
) -> None:
    bounds = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    pieces = [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    key = f"{prefix}{uuid.uuid4().hex}"
    info = client.put(key, iter(pieces))
    assert info.size == len(data)
    assert client.get(key) == data
    with client.open(key) as f:
        f.seek(min(offset, len(data)))
        assert f.read() == data[min(offset, len(data)) :]
