"""Where the service keeps a blob in the bucket, for tests that tamper with it behind its back."""

from __future__ import annotations

from typing import Any

from o3ml.gen import manifest_pb2


def entry_blob_key(bucket: Any, bucket_name: str, manifest_cid: str, data: bytes) -> str:
    """The key of the blob holding the checkpoint entry whose bytes are ``data``: a small entry's pack
    (shared with the checkpoint's other small entries), or a large entry's own first chunk."""
    stored = bucket.get_object(Bucket=bucket_name, Key=f"o3ml/v1/manifests/{manifest_cid}")["Body"].read()
    manifest = manifest_pb2.ObjectManifest.FromString(stored)
    for entry in manifest.checkpoint.entries:
        if entry.nbytes != len(data):
            continue
        key = "o3ml/v1/blobs/" + manifest.chunks[entry.first_chunk].cid
        blob = bucket.get_object(Bucket=bucket_name, Key=key)["Body"].read()
        if blob[entry.offset : entry.offset + min(len(data), len(blob) - entry.offset)] == data[: len(blob) - entry.offset]:
            return key
    raise AssertionError(f"checkpoint {manifest_cid} has no entry holding those {len(data)} bytes")
