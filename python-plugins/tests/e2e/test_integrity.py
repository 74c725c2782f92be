"""A blob altered in the bucket behind the service's back is never served."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from payloads import MiB, random_bytes
from servers import Service

from o3ml import IntegrityError, O3Client

BLOBS = "o3ml/v1/blobs/"


def blob_keys(bucket: Any, name: str) -> set[str]:
    keys: set[str] = set()
    for page in bucket.get_paginator("list_objects_v2").paginate(Bucket=name, Prefix=BLOBS):
        keys.update(item["Key"] for item in page.get("Contents", []))
    return keys


def test_a_corrupted_blob_raises_integrity_error_and_returns_no_corrupt_byte(
    client: O3Client, bucket: Any, service: Service, prefix: str
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


def test_a_blob_missing_from_the_bucket_is_data_loss_not_a_missing_file(
    client: O3Client, bucket: Any, service: Service, prefix: str
) -> None:
    import fsspec

    key = f"{prefix}lost-blob.bin"
    before = blob_keys(bucket, service.bucket)
    client.put(key, random_bytes(3 * MiB + 5, seed=0xB10B))
    lost = sorted(blob_keys(bucket, service.bucket) - before)[0]
    bucket.delete_object(Bucket=service.bucket, Key=lost)
    cid = lost[len(BLOBS) :]

    with pytest.raises(IntegrityError) as caught:
        client.get(key)
    assert not isinstance(caught.value, FileNotFoundError)
    check_message(caught.value, key, cid)
    fs = fsspec.filesystem("o3", bucket=service.bucket, client=client, skip_instance_cache=True)
    with pytest.raises(IntegrityError), fs.open(f"o3://{service.bucket}/{key}", "rb") as f:
        f.read()
    assert fs.exists(f"o3://{service.bucket}/{key}"), "the object is damaged, not absent"


def test_listing_names_a_damaged_object_and_goes_on(
    client: O3Client, bucket: Any, service: Service, prefix: str, tmp_path: Path
) -> None:
    import fsspec
    from servers import start_service

    keys = [f"{prefix}shelf/{n}.bin" for n in range(3)]
    infos = [client.put(k, random_bytes(1000 + n, seed=n)) for n, k in enumerate(keys)]
    # Garbage where the middle object's manifest was: its CID no longer matches.
    bucket.put_object(Bucket=service.bucket, Key=f"o3ml/v1/manifests/{infos[1].cid}", Body=b"garbage")
    # A second service on the bucket has read no manifest yet (the session's one remembers them).
    fresh = start_service(service.s3, tmp_path / "home", tmp_path / "logs", name="o3ml-serve-fresh", extra_env={"O3ML_BUCKET": service.bucket})
    try:
        with O3Client(fresh.address) as other:
            seen = list(other.list(f"{prefix}shelf/"))
            assert [i.key for i in seen] == keys
            assert [i.problem == "" for i in seen] == [True, False, True]
            assert infos[1].cid in seen[1].problem
            assert seen[0].sha256 == infos[0].sha256
            fs = fsspec.filesystem("o3", bucket=service.bucket, client=other, skip_instance_cache=True)
            entries = fs.ls(f"o3://{service.bucket}/{prefix}shelf", detail=True)
            assert [e["name"].rsplit("/", 1)[-1] for e in entries] == ["0.bin", "1.bin", "2.bin"]
            assert [e["size"] for e in entries] == [1000, 1001, 1002]
            assert "problem" in entries[1] and "problem" not in entries[0]
            with pytest.raises(IntegrityError):
                other.get(keys[1])
            assert other.get(keys[2]) == random_bytes(1002, seed=2)
    finally:
        fresh.stop()
