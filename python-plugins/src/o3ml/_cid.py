"""Content identifiers as o3ml writes them: CIDv1, raw codec, sha2-256, base32 (``"bafkrei…"``).

Only this one kind is accepted, so a CID string maps to exactly one digest and a blob can be
checked with ``hashlib`` alone: decode the multihash from the string and compare.
"""

from __future__ import annotations

import base64
import hashlib
import mmap

from ._errors import IntegrityError, InvalidArgumentError

__all__ = ["cid_of", "digest_of", "verify_blob"]

# CIDv1 (0x01), raw codec (0x55), multihash sha2-256 (0x12) of 32 bytes (0x20): one byte each.
_PREFIX = bytes([0x01, 0x55, 0x12, 0x20])
_DIGEST_BYTES = 32


def cid_of(data: bytes | bytearray | memoryview) -> str:
    """The CID of ``data``."""
    return _encode(hashlib.sha256(data).digest())


def digest_of(cid: str) -> bytes:
    """The sha2-256 digest named by ``cid``; ``InvalidArgumentError`` when it is not an o3ml CID."""
    if not isinstance(cid, str) or not cid.startswith("b") or cid != cid.lower():
        raise _refuse(cid, "o3ml CIDs are lowercase base32 strings starting with 'b'")
    body = cid[1:].upper()
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except ValueError as err:
        raise _refuse(cid, f"it is not base32 ({err})") from None
    if len(raw) != len(_PREFIX) + _DIGEST_BYTES or not raw.startswith(_PREFIX):
        raise _refuse(cid, "it is not a CIDv1 with the raw codec and a sha2-256 digest")
    digest = raw[len(_PREFIX) :]
    # Another spelling of the same bytes would name another object key: accept the canonical one only.
    if _encode(digest) != cid:
        raise _refuse(cid, "it is not in canonical form")
    return digest


def verify_blob(cid: str, data: bytes | bytearray | memoryview | mmap.mmap, what: str, remedy: str) -> None:
    """Raises ``IntegrityError`` naming ``what``, ``cid`` and ``remedy`` unless ``data`` hashes to ``cid``."""
    actual = hashlib.sha256(data).digest()
    if actual != digest_of(cid):
        raise IntegrityError(
            f"{what} (cid {cid}) failed verification: its {len(data)} bytes hash to {_encode(actual)}, "
            f"so the stored copy is damaged or was altered; {remedy}",
            {"cid": cid, "actual_cid": _encode(actual)},
        )


def _encode(digest: bytes) -> str:
    return "b" + base64.b32encode(_PREFIX + digest).decode("ascii").lower().rstrip("=")


def _refuse(cid: object, why: str) -> InvalidArgumentError:
    shown = repr(cid if not isinstance(cid, str) or len(cid) <= 80 else cid[:80] + "…")
    return InvalidArgumentError(f"{shown} is not an o3ml CID: {why}", {"cid": cid if isinstance(cid, str) else None})
