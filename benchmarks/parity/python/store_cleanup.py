"""Keeps a long run's data in the store bounded: every round writes fresh objects, and a full run
writes tens of GiB, more than the disk under a local target may hold.

Each key a peer wrote is deleted with the version it has (the O3 target keeps versions, as O3
does, so a plain DELETE would only add a delete marker); the version comes from a HEAD, so no
version listing of the bucket is needed per key. o3ml's own objects are deleted through o3ml and
collected by its gc after each cell (cleaner.py; benchmarks/parity/src/store-cleanup.ts says why
that is safe).
"""

from __future__ import annotations

from typing import Any


def delete_keys(client: Any, bucket: str, keys: list[str]) -> int:
    """Deletes each of ``keys`` (boto3 client), its current version included; returns how many existed."""
    from botocore.exceptions import ClientError

    deleted = 0
    for key in keys:
        try:
            version = client.head_object(Bucket=bucket, Key=key).get("VersionId")
        except ClientError:
            continue  # never written (a failed round), or already gone
        if version and version != "null":
            client.delete_object(Bucket=bucket, Key=key, VersionId=version)
        else:
            client.delete_object(Bucket=bucket, Key=key)
        deleted += 1
    return deleted
