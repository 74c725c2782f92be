"""Content addressing: the same bytes are uploaded to the store once."""

from __future__ import annotations

import pytest
from payloads import MiB, random_bytes
from servers import Service

from o3ml import O3Client

WRITTEN = "o3ml_store_bytes_written_total"


@pytest.mark.slow
def test_putting_the_same_300_mib_twice_uploads_it_once(client: O3Client, service: Service, prefix: str) -> None:
    data = random_bytes(300 * MiB, seed=0xDED0)
    before = service.metric(WRITTEN)
    first = client.put(f"{prefix}first", data)
    middle = service.metric(WRITTEN)
    second = client.put(f"{prefix}second", data)
    after = service.metric(WRITTEN)
    assert middle - before >= len(data), "the first put should have sent every byte to the store"
    assert after - middle < MiB, f"the second put sent {after - middle:.0f} bytes to the store"
    assert first.sha256 == second.sha256 and first.cid == second.cid
    assert client.get(f"{prefix}second") == data
