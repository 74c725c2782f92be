"""A blob altered in the bucket behind the service's back is never served."""

from __future__ import annotations

import pytest
from payloads import MiB, random_bytes

from o3ml import IntegrityError, O3Client

BLOBS = "o3ml/v1/blobs/"


def blob_keys(bucket, name: str) -> set[str]:  # type: ignore[no-untyped-def]
    keys: set[str] = set()
    for page in bucket.get_paginator("list_objects_v2").paginate(Bucket=name, Prefix=BLOBS):
        keys.update(item["Key"] for item in page.get("Contents", []))
    return keys


def test_a_corrupted_blob_raises_integrity_error_and_returns_no_corrupt_byte(
    client: O3Client, bucket, service, prefix: str  # type: ignore[no-untyped-def]
) -> None:
    # Several blobs (the service cuts objects into blobs of a few MiB); corrupt one in the middle
    # so that good bytes come before it and the reader must stop exactly at it.
    data = random_bytes(20 * MiB + 123, seed=0xC0FFEE)
    key = f"{prefix}victim.bin"
    before = blob_keys(bucket, service.bucket)
    client.put(key, data)
    new = sorted(blob_keys(bucket, service.bucket) - before)
    assert new, "the put stored no new blob under o3ml/v1/blobs/"
    contents = {k: bucket.get_object(Bucket=service.bucket, Key=k)["Body"].read() for k in new}
    assert sum(len(c) for c in contents.values()) == len(data)
    offsets = sorted((data.find(content), k) for k, content in contents.items())
    assert all(offset >= 0 for offset, _ in offsets), "a new blob holds bytes that are not the object's"
    offset, victim = offsets[len(offsets) // 2]
    original = contents[victim]
    flipped = bytes(b ^ 0xFF for b in original)
    bucket.put_object(Bucket=service.bucket, Key=victim, Body=flipped)
    cid = victim[len(BLOBS) :]

    with pytest.raises(IntegrityError) as caught:
        client.get(key)
    check_message(caught.value, key, cid)

    received = bytearray()
    with pytest.raises(IntegrityError) as caught, client.open(key) as f:
        while piece := f.read(MiB - 7):
            received += piece
    check_message(caught.value, key, cid)
    assert len(received) <= offset, "bytes of the corrupted blob were returned"
    assert received == data[: len(received)]

    with pytest.raises(IntegrityError), client.open(key) as f:
        f.read()


def check_message(err: IntegrityError, key: str, cid: str) -> None:
    message = str(err)
    assert key in message, f"the message does not name the key: {message}"
    assert cid in message, f"the message does not name the CID {cid}: {message}"
    # Detected by the service, which verifies every blob before sending it.
    assert err.details.get("grpc_status") == "DATA_LOSS"
