"""Where the service keeps a blob in the bucket, for tests that tamper with it behind its back."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from o3ml.gen import manifest_pb2


def blob_key(data: bytes) -> str:
    """o3ml/v1/blobs/<CIDv1 (raw codec, sha2-256) in base32> of a blob holding ``data``."""
    cid = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "o3ml/v1/blobs/b" + base64.b32encode(cid).decode().lower().rstrip("=")


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
