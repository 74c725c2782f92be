"""The client side of CheckpointService.Load against an in-process service that breaks the contract.

A load returns the checkpoint only when every entry arrived whole; anything else is an
``IntegrityError`` and nothing is returned. The real service is covered in tests/e2e.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent import futures

import grpc
import pytest
import torch

from o3ml import IntegrityError, O3Client, load_checkpoint
from o3ml._checkpoint_codec import encode
from o3ml.gen import checkpoint_service_pb2 as pb
from o3ml.gen import checkpoint_service_pb2_grpc

Stream = list[pb.LoadCheckpointResponse]


def good_stream() -> Stream:
    entries = encode({"w": torch.arange(8, dtype=torch.float32), "n": 3})
    messages = [pb.LoadCheckpointResponse(info=pb.CheckpointInfo(key="k", entry_count=len(entries)))]
    for entry in entries:
        messages.append(pb.LoadCheckpointResponse(entry=pb.EntryHeader(name=entry.name, kind=entry.kind, dtype=entry.dtype, nbytes=entry.nbytes)))
        data = bytes(entry.data)
        messages += [pb.LoadCheckpointResponse(data=data[i : i + 10]) for i in range(0, len(data), 10)]
    return messages


class Service(checkpoint_service_pb2_grpc.CheckpointServiceServicer):
    def __init__(self, messages: Stream) -> None:
        self.messages = messages

    def Load(self, request: pb.CheckpointSelector, context: grpc.ServicerContext) -> Iterator[pb.LoadCheckpointResponse]:
        yield from self.messages


@pytest.fixture
def serve() -> Iterator[Callable[[Stream], O3Client]]:
    servers: list[grpc.Server] = []
    clients: list[O3Client] = []

    def start(messages: Stream) -> O3Client:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        checkpoint_service_pb2_grpc.add_CheckpointServiceServicer_to_server(Service(messages), server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        servers.append(server)
        clients.append(O3Client(f"127.0.0.1:{port}"))
        return clients[-1]

    yield start
    for client in clients:
        client.close()
    for server in servers:
        server.stop(grace=None)


def test_a_whole_stream_loads(serve: Callable[[Stream], O3Client]) -> None:
    out = load_checkpoint(serve(good_stream()), "k", weights_only=False)
    assert torch.equal(out["w"], torch.arange(8, dtype=torch.float32)) and out["n"] == 3


def extra_data(m: Stream) -> Stream:
    return m + [pb.LoadCheckpointResponse(data=b"x")]


def cut_last_entry(m: Stream) -> Stream:
    return m[:-1]


def missing_entry(m: Stream) -> Stream:
    last_entry = max(i for i, r in enumerate(m) if r.WhichOneof("msg") == "entry")
    return m[:last_entry]


def no_info(m: Stream) -> Stream:
    return m[1:]


def storage_first(m: Stream) -> Stream:
    storage_at = max(i for i, r in enumerate(m) if r.WhichOneof("msg") == "entry")
    return [m[0], *m[storage_at:]]


@pytest.mark.parametrize("break_it", [extra_data, cut_last_entry, missing_entry, no_info, storage_first])
def test_a_broken_stream_loads_nothing(serve: Callable[[Stream], O3Client], break_it: Callable[[Stream], Stream]) -> None:
    with pytest.raises(IntegrityError, match="nothing was loaded"):
        load_checkpoint(serve(break_it(good_stream())), "k", weights_only=False)
