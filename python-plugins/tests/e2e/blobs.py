"""Where the service keeps a blob in the bucket, for tests that tamper with it behind its back."""

from __future__ import annotations

import base64
import hashlib


def blob_key(data: bytes) -> str:
    """o3ml/v1/blobs/<CIDv1 (raw codec, sha2-256) in base32> of a blob holding ``data``."""
    cid = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "o3ml/v1/blobs/b" + base64.b32encode(cid).decode().lower().rstrip("=")
