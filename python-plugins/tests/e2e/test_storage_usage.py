"""``O3Client.storage_usage``: the figures of ``o3ml du`` equal what boto3 lists from the bucket."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import service_of_its_own
import torch

from o3ml import InvalidArgumentError, KeyCounts, NotFoundError, O3Client, StorageUsage, save_checkpoint

ROOT = "o3ml/v1/"


# The whole bucket listed again and again, by boto3 and by the service: on a bucket of its own (conftest.service_of_its_own says why).
service = service_of_its_own("o3ml-serve-usage")


def listing(bucket: Any, service: Any) -> dict[str, int]:
    """Every current key under o3ml/v1/ with its size, listed by boto3 behind the service's back."""
    out: dict[str, int] = {}
    for page in bucket.get_paginator("list_objects_v2").paginate(Bucket=service.bucket, Prefix=ROOT):
        for o in page.get("Contents", []):
            out[o["Key"]] = o["Size"]
    return out


def stored(keys: dict[str, int]) -> dict[str, KeyCounts]:
    """The blobs, manifests and refs among ``keys``: what storage_usage counts as stored."""
    out = {}
    for part in ("blobs", "manifests", "refs"):
        mine = [size for key, size in keys.items() if key.startswith(f"{ROOT}{part}/")]
        out[part] = KeyCounts(count=len(mine), bytes=sum(mine))
    return out


def test_storage_usage_of_a_run_and_the_bucket_equals_the_bucket_listing(client: O3Client, prefix: str, bucket: Any, service: Any) -> None:
    run, other = f"{prefix}run", f"{prefix}other"
    frozen = torch.randn(300_007)  # 1,200,028 bytes: past what is packed with small entries, one blob, found by its size
    states = [{"frozen": frozen, "head": torch.randn(1000 + i)} for i in range(3)]

    before = listing(bucket, service)
    first = save_checkpoint(client, f"{prefix}s1.ckpt", states[0], run=run, step=1)
    middle = listing(bucket, service)
    second = save_checkpoint(client, f"{prefix}s2.ckpt", states[1], run=run, step=2)
    after = listing(bucket, service)
    new = {k: s for k, s in after.items() if k not in before}

    alone = client.storage_usage(run=run)
    assert isinstance(alone, StorageUsage) and alone.selection == f"run {run}"
    assert (alone.blobs, alone.manifests, alone.refs) == tuple(stored(new).values())
    assert alone.stored_bytes == sum(c.bytes for c in stored(new).values())
    assert alone.logical_bytes == first.bytes_total + second.bytes_total
    assert alone.items == 2 and alone.shared == KeyCounts(0, 0) and alone.reclaimable_bytes == 0

    # Another run saves the same frozen tensor: dedup stores it once, and both runs share it.
    save_checkpoint(client, f"{prefix}o1.ckpt", states[2], run=other, step=1)
    frozen_blob = [size for key, size in middle.items() if key not in before and key.startswith(f"{ROOT}blobs/") and size == frozen.nbytes]
    assert len(frozen_blob) == 1
    assert client.storage_usage(run=run).shared == KeyCounts(1, frozen.nbytes)
    assert client.storage_usage(run=other).shared == KeyCounts(1, frozen.nbytes)

    # Deleting the first checkpoint leaves its own blobs, manifest and ref, and the deletion marker
    # above that ref, for gc; the frozen blob stays stored, as the others still name it.
    first_new = {k: s for k, s in middle.items() if k not in before and s != frozen.nbytes}
    ahead = listing(bucket, service)
    assert client.delete(f"{prefix}s1.ckpt")
    marker = {k: s for k, s in listing(bucket, service).items() if k not in ahead and k.startswith(f"{ROOT}refs/")}
    left = client.storage_usage(run=run)
    assert left.items == 1 and left.logical_bytes == second.bytes_total
    assert left.reclaimable_blobs == stored(first_new)["blobs"]
    assert left.reclaimable_manifests == stored(first_new)["manifests"]
    assert left.reclaimable_refs == stored({**first_new, **marker})["refs"] and left.reclaimable_refs.count == 2
    assert left.stored_bytes == alone.stored_bytes - sum(c.bytes for c in stored(first_new).values())

    whole = client.storage_usage()
    now = listing(bucket, service)
    assert whole.selection == "bucket"
    assert whole.total_bytes == sum(now.values())
    log = [size for key, size in now.items() if key.startswith(f"{ROOT}log/")]
    assert whole.log == KeyCounts(len(log), sum(log))
    assert whole.stored_bytes + whole.reclaimable_bytes + whole.log.bytes + whole.other.bytes == whole.total_bytes


def test_storage_usage_says_what_was_wrong(client: O3Client, prefix: str) -> None:
    with pytest.raises(InvalidArgumentError, match="not both"):
        client.storage_usage(run="a", dataset="b")
    with pytest.raises(NotFoundError, match="o3ml runs ls"):
        client.storage_usage(run=f"{prefix}no-such-run")
    with pytest.raises(InvalidArgumentError, match="invalid dataset name"):
        client.storage_usage(dataset="bad name!")
