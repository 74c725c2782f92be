"""Framing of CheckpointService's data messages without copying tensor bytes through protobuf.

The generated message classes only take ``bytes`` for the ``data`` field, so sending a storage
through them would copy every byte twice (into a ``bytes``, then into the serialized message)
and receiving would copy once more. A data message is a single length-delimited field, so it is
framed and unframed here directly: sending joins the tag, the length and the storage's own
memoryview slice into the one buffer gRPC sends; receiving hands out a view into the buffer
gRPC received. Every other message goes through the generated classes.

``data`` is field 3 of both SaveCheckpointRequest and LoadCheckpointResponse.
"""

from __future__ import annotations

from typing import Any, Union

from .gen import checkpoint_service_pb2 as pb

_DATA_TAG = b"\x1a"  # field 3, wire type 2 (length-delimited)

SaveMessage = Union[pb.SaveCheckpointRequest, memoryview]
LoadMessage = Union[pb.LoadCheckpointResponse, memoryview]


def serialize_save(message: SaveMessage) -> bytes:
    """A SaveCheckpointRequest; a memoryview stands for ``SaveCheckpointRequest(data=view)``."""
    if isinstance(message, memoryview):
        return b"".join((_DATA_TAG, _varint(message.nbytes), message))
    return message.SerializeToString()


def deserialize_load(raw: bytes) -> LoadMessage:
    """A LoadCheckpointResponse; a data message comes back as a view of its bytes."""
    if raw[:1] == _DATA_TAG:
        length, start = _read_varint(raw, 1)
        if start + length == len(raw):
            return memoryview(raw)[start:]
    return pb.LoadCheckpointResponse.FromString(raw)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _read_varint(raw: Any, position: int) -> tuple[int, int]:
    value, shift = 0, 0
    while position < len(raw) and shift < 64:
        byte = raw[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
    return -1, position  # not a varint: the caller falls back to the generated parser
