"""Checkpoints through the real CheckpointService: round trips, dedup, listing, hostile input."""

from __future__ import annotations

import socket
from collections import OrderedDict
from pathlib import Path
from typing import Any

import grpc
import pytest
import torch
from blobs import entry_blob_key
from servers import Service

from o3ml import (
    AbortedError,
    FailedPreconditionError,
    IntegrityError,
    InvalidArgumentError,
    NotFoundError,
    O3Client,
    export_checkpoint,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
    stat_checkpoint,
    verify_checkpoint,
)
from o3ml._checkpoints import CheckpointMethods
from o3ml._errors import from_rpc_error
from o3ml.gen import checkpoint_service_pb2 as pb
from o3ml.gen import manifest_pb2

MiB = 1024 * 1024


def model_state(seed: int) -> dict[str, Any]:
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn(64, 64, generator=generator)
    return {
        "state_dict": OrderedDict(
            weight=weight,
            weight_t=weight.t(),
            half=torch.randn(33, generator=generator).half(),
            bf16=torch.randn(5, 7, generator=generator).bfloat16(),
            int8=torch.randint(-128, 127, (19,), generator=generator, dtype=torch.int8),
            mask=torch.rand(11, generator=generator) > 0.5,
            complex=torch.randn(4, generator=generator, dtype=torch.complex64),
            scalar=torch.tensor(7.25),
            empty=torch.empty(0, 3),
        ),
        "epoch": 2,
        "notes": {"lr": 0.001, "tags": ("a", "b")},
    }


def assert_same(loaded: dict[str, Any], original: dict[str, Any]) -> None:
    for name, tensor in original["state_dict"].items():
        got = loaded["state_dict"][name]
        assert got.dtype == tensor.dtype and got.stride() == tensor.stride() and torch.equal(got, tensor), name
    assert loaded["epoch"] == original["epoch"] and loaded["notes"] == original["notes"]


def test_round_trip_keeps_dtypes_views_sharing_and_metadata(client: O3Client, prefix: str) -> None:
    state = model_state(1)
    info = save_checkpoint(
        client, f"{prefix}step=10.ckpt", state, run=f"{prefix}run", step=10, epoch=2, metrics={"val_loss": 0.25}
    )
    assert (info.key, info.run, info.step, info.epoch, info.state) == (f"{prefix}step=10.ckpt", f"{prefix}run", 10, 2, "committed")
    assert info.metrics == {"val_loss": 0.25} and info.entry_count == 1 + 8
    loaded = load_checkpoint(client, f"{prefix}step=10.ckpt")
    assert_same(loaded, state)
    sd = loaded["state_dict"]
    assert sd["weight"].untyped_storage().data_ptr() == sd["weight_t"].untyped_storage().data_ptr()
    assert_same(load_checkpoint(client, cid=info.cid, map_location="cpu"), state)


def test_an_unchanged_storage_is_not_uploaded_again(client: O3Client, prefix: str) -> None:
    frozen = torch.randn(1024, 1024)  # 4 MiB that never changes
    first = save_checkpoint(client, f"{prefix}a.ckpt", {"frozen": frozen, "head": torch.randn(256)}, run=f"{prefix}run")
    second = save_checkpoint(client, f"{prefix}b.ckpt", {"frozen": frozen, "head": torch.randn(256)}, run=f"{prefix}run", step=1)
    assert first.bytes_uploaded >= 4 * MiB
    assert second.bytes_uploaded < 64 * 1024, second
    assert second.bytes_deduplicated >= 4 * MiB
    assert second.parent_cid == first.cid, "the service links a run's checkpoints"


def test_list_stat_latest_verify_and_export(client: O3Client, prefix: str, tmp_path: Path) -> None:
    run = f"{prefix}run"
    infos = [save_checkpoint(client, f"{prefix}s{step}.ckpt", model_state(step), run=run, step=step) for step in (1, 2, 3)]
    listed = list_checkpoints(client, run)
    assert [c.key for c in listed] == [i.key for i in infos]
    assert list_checkpoints(client, prefix=f"{prefix}s2") == [stat_checkpoint(client, f"{prefix}s2.ckpt")]
    assert latest_checkpoint(client, run) == infos[-1]
    assert latest_checkpoint(client, f"{prefix}no-such-run") is None
    checked = verify_checkpoint(client, f"{prefix}s3.ckpt")
    # Every blob it names is checked whole: with unchanged small tensors of earlier saves still in
    # their packs, that may be more than the checkpoint's own bytes, which its object's size is.
    assert checked.info.cid == infos[-1].cid and checked.bytes_checked >= infos[-1].bytes_total == client.stat(f"{prefix}s3.ckpt").size
    export_checkpoint(client, tmp_path / "s3.pt", f"{prefix}s3.ckpt")
    assert_same(torch.load(tmp_path / "s3.pt", weights_only=True), model_state(3))
    client.delete(f"{prefix}s3.ckpt")
    assert [c.key for c in list_checkpoints(client, run)] == [i.key for i in infos[:2]]
    assert latest_checkpoint(client, run) == infos[1]


def test_missing_checkpoint_and_plain_object_are_clear_errors(client: O3Client, prefix: str) -> None:
    with pytest.raises(NotFoundError, match=f"{prefix}missing.ckpt"):
        load_checkpoint(client, f"{prefix}missing.ckpt")
    client.put(f"{prefix}plain.bin", b"not a checkpoint" * 20)
    with pytest.raises(FailedPreconditionError, match="not a checkpoint"):
        load_checkpoint(client, f"{prefix}plain.bin")


@pytest.mark.parametrize("make", [lambda: (lambda x: x), socket.socket], ids=["lambda", "socket"])
def test_an_unpicklable_object_saves_nothing(client: O3Client, prefix: str, make: Any) -> None:
    culprit = make()
    try:
        with pytest.raises(InvalidArgumentError, match=r"checkpoint\['hyper_parameters'\]\['bad'\]"):
            save_checkpoint(client, f"{prefix}bad.ckpt", {"w": torch.randn(3), "hyper_parameters": {"bad": culprit}}, run="r")
    finally:
        if isinstance(culprit, socket.socket):
            culprit.close()
    with pytest.raises(NotFoundError):
        stat_checkpoint(client, f"{prefix}bad.ckpt")


def test_a_corrupted_blob_fails_the_load_and_verify(client: O3Client, prefix: str, bucket: Any, service: Service) -> None:
    victim = torch.randn(1000)  # a small storage: packed with the checkpoint's other small entries
    info = save_checkpoint(client, f"{prefix}c.ckpt", {"victim": victim, "ok": torch.randn(10)}, run=f"{prefix}run")
    key = entry_blob_key(bucket, service.bucket, info.cid, victim.numpy().tobytes())
    original = bucket.get_object(Bucket=service.bucket, Key=key)["Body"].read()
    flipped = bytearray(original)
    flipped[100] ^= 0x01
    bucket.put_object(Bucket=service.bucket, Key=key, Body=bytes(flipped))
    try:
        with pytest.raises(IntegrityError):
            load_checkpoint(client, f"{prefix}c.ckpt")
        with pytest.raises(IntegrityError):
            verify_checkpoint(client, f"{prefix}c.ckpt")
    finally:
        bucket.put_object(Bucket=service.bucket, Key=key, Body=original)


def test_a_stream_cut_before_its_trailer_commits_nothing(client: O3Client, prefix: str) -> None:
    data = bytes(1000)

    def truncated() -> Any:
        yield pb.SaveCheckpointRequest(header=pb.CheckpointHeader(key=f"{prefix}cut.ckpt", run=f"{prefix}run"))
        yield pb.SaveCheckpointRequest(entry=pb.EntryHeader(name="data.pkl", kind=manifest_pb2.SKELETON, nbytes=len(data)))
        yield pb.SaveCheckpointRequest(data=data)

    save = client.connection.channel.stream_unary(
        "/o3ml.v1.CheckpointService/Save",
        request_serializer=pb.SaveCheckpointRequest.SerializeToString,
        response_deserializer=pb.CheckpointInfo.FromString,
    )
    with pytest.raises(grpc.RpcError) as caught:
        save(truncated())
    assert isinstance(from_rpc_error(caught.value), AbortedError)
    with pytest.raises(NotFoundError):
        stat_checkpoint(client, f"{prefix}cut.ckpt")
    assert list_checkpoints(client, f"{prefix}run") == []


def test_the_calls_as_methods_of_a_client(service: Service, prefix: str) -> None:
    client_class = O3Client if issubclass(O3Client, CheckpointMethods) else type("Client", (O3Client, CheckpointMethods), {})
    with client_class(service.address) as client:
        info = client.save_checkpoint(f"{prefix}m.ckpt", model_state(5), run=f"{prefix}run", step=5)
        assert_same(client.load_checkpoint(f"{prefix}m.ckpt"), model_state(5))
        assert client.checkpoints(f"{prefix}run") == [info] == [client.stat_checkpoint(cid=info.cid)]
        assert client.latest_checkpoint(f"{prefix}run") == info
        assert client.verify_checkpoint(f"{prefix}m.ckpt").blobs_checked >= 1
