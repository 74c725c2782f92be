"""Hand-framed data messages must be exactly what the generated classes would produce and parse."""

from __future__ import annotations

import pytest

from o3ml._checkpoint_wire import deserialize_load, serialize_save
from o3ml.gen import checkpoint_service_pb2 as pb


@pytest.mark.parametrize("size", [0, 1, 127, 128, 300, 16383, 16384, 4 * 1024 * 1024])
def test_data_messages_match_the_generated_encoding(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    framed = serialize_save(memoryview(payload))
    assert framed == pb.SaveCheckpointRequest(data=payload).SerializeToString()
    assert pb.SaveCheckpointRequest.FromString(framed).data == payload
    received = deserialize_load(pb.LoadCheckpointResponse(data=payload).SerializeToString())
    assert isinstance(received, memoryview) and bytes(received) == payload


def test_other_messages_go_through_the_generated_classes() -> None:
    header = pb.SaveCheckpointRequest(header=pb.CheckpointHeader(key="k", run="r"))
    assert serialize_save(header) == header.SerializeToString()
    info = pb.LoadCheckpointResponse(info=pb.CheckpointInfo(cid="c", key="k", entry_count=2))
    assert deserialize_load(info.SerializeToString()) == info
    entry = pb.LoadCheckpointResponse(entry=pb.EntryHeader(name="0", nbytes=12))
    assert deserialize_load(entry.SerializeToString()) == entry
