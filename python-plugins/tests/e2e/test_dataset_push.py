"""``o3ml.push_dataset`` against a real `o3ml serve`, both ways it runs: on the service's host the
service pushes (``DatasetService.Push``, options staged in its staging directory), elsewhere
(``O3ML_COLOCATE=0`` here) the bundled CLI does. Either way the same folder pushed from Python and by
the CLI gives the same shard CIDs and the same sample table; pushing it again moves no byte; bad
options are refused with the CLI's message and store nothing; the client's token reaches the push."""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from typing import Any

import grpc
import pytest
from dataset_trees import image_folder, push
from servers import Service

from o3ml import (
    Connection,
    InvalidArgumentError,
    NotFoundError,
    O3Client,
    O3ShardDataset,
    PushResult,
    UnauthenticatedError,
    push_dataset,
)
from o3ml._colocation import colocated
from o3ml._errors import from_rpc_error
from o3ml.gen import blob_service_pb2 as pb
from o3ml.gen import blob_service_pb2_grpc

SPLITS = {"train": 30, "val": 6}

#: What push_dataset logs (at debug level) for each way it runs.
TOOK = {"service": "through DatasetService.Push", "cli": "with the bundled o3ml CLI"}


@pytest.fixture(params=["service", "cli"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> str:
    """How push_dataset runs in the test: through the co-located service, or the CLI (not co-located)."""
    if request.param == "cli":
        monkeypatch.setenv("O3ML_COLOCATE", "0")
    caplog.set_level(logging.DEBUG, logger="o3ml")
    return str(request.param)


def ways_taken(caplog: pytest.LogCaptureFixture) -> set[str]:
    return {w for w, said in TOOK.items() for r in caplog.records if said in r.getMessage()}


def staged_by_this_process(client: O3Client) -> list[str]:
    """Staged files of this process left in the service's staging directory."""
    found = colocated(client.connection)
    assert found is not None, "the tests' service runs on this host"
    return [n for n in os.listdir(found.staging_dir) if n.startswith(f"{os.getpid()}-")]


def unique_name(label: str) -> str:
    return f"tests/push-{label}-{uuid.uuid4().hex[:8]}"


def manifest(client: O3Client, name: str, version: str) -> Any:
    return O3ShardDataset(f"{name}@{version}", split=None, client=client).version.manifest


def sample_table(m: Any) -> list[tuple[str, list[Any]]]:
    """Each shard's split and its samples (key, offset, size, ...), in shard order."""
    return [(s.split, list(s.samples)) for s in m.shards]


def test_python_and_the_cli_push_the_same_shards_and_sample_table(
    service: Service, tmp_path: Path, way: str, caplog: pytest.LogCaptureFixture
) -> None:
    image_folder(tmp_path, SPLITS)
    by_cli = push(service, tmp_path, unique_name("cli"), shard_size="64KiB")
    with O3Client(service.address) as client:
        by_python = push_dataset(tmp_path, unique_name("python"), shard_size="64KiB", client=client)
        assert ways_taken(caplog) == {way}
        assert isinstance(by_python, PushResult)
        assert (by_python.samples, by_python.shards, by_python.splits) == (by_cli["samples"], by_cli["shards"], by_cli["splits"])
        assert by_python.shards_already_stored == by_python.shards_new  # the CLI stored every shard already

        from_cli = manifest(client, str(by_cli["name"]), str(by_cli["version"]))
        from_python = manifest(client, by_python.name, by_python.version)
        assert [s.cid for s in from_python.shards] == [s.cid for s in from_cli.shards]
        assert sample_table(from_python) == sample_table(from_cli) and len(from_cli.shards) == by_cli["shards"]

        # A new version of the unchanged folder names the parent's shards again: nothing moves.
        again = push_dataset(tmp_path, by_python.name, shard_size="64KiB", client=client)
        assert again.parent_cid == by_python.cid and again.cid != by_python.cid
        assert (again.bytes_uploaded, again.shards_reused) == (0, again.shards)
        assert ways_taken(caplog) == {way}
        if way == "service":
            assert staged_by_this_process(client) == []


def test_a_relative_path_is_read_from_this_process_directory(
    service: Service, tmp_path: Path, way: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    image_folder(tmp_path / "data", {"train": 5})
    monkeypatch.chdir(tmp_path)
    with O3Client(service.address) as client:
        done = push_dataset("data", unique_name("relative"), client=client)
        assert (done.samples, done.splits) == (5, {"train": 5})


def test_bad_options_are_refused_with_the_clis_message_and_store_nothing(
    service: Service, tmp_path: Path, way: str, caplog: pytest.LogCaptureFixture
) -> None:
    image_folder(tmp_path, {"train": 4})
    name = unique_name("bad")
    with O3Client(service.address) as client:
        with pytest.raises(InvalidArgumentError, match="--seed -1: give a whole number"):
            push_dataset(tmp_path, name, seed=-1, client=client)
        with pytest.raises(InvalidArgumentError, match="--kind jpeg: give one of"):
            push_dataset(tmp_path, name, kind="jpeg", client=client)
        with pytest.raises(InvalidArgumentError, match='--shard-size "lots"'):
            push_dataset(tmp_path, name, shard_size="lots", client=client)
        with pytest.raises(InvalidArgumentError, match='--split "train=0.5"'):
            push_dataset(tmp_path, name, split={"train": 0.5}, client=client)
        with pytest.raises(InvalidArgumentError, match="does not exist"):
            push_dataset(tmp_path / "absent", name, client=client)
        with pytest.raises(NotFoundError):
            O3ShardDataset(name, split=None, client=client)
        assert ways_taken(caplog) == {way}
        if way == "service":
            assert staged_by_this_process(client) == []


def test_the_service_refuses_a_push_named_by_no_staged_file(client: O3Client, tmp_path: Path) -> None:
    """Push reads options only from a file staged on its host: a name that is not one is refused, and
    nothing is read or pushed (the file named here holds valid options)."""
    image_folder(tmp_path, {"train": 2})
    name = unique_name("unstaged")
    options = tmp_path / "options.bin"
    options.write_bytes(pb.PushDatasetOptions(path=str(tmp_path), name=name).SerializeToString())
    stub = client.connection.stub(blob_service_pb2_grpc.DatasetServiceStub)
    with pytest.raises(grpc.RpcError) as caught:
        list(stub.Push(pb.PushDatasetRequest(staged=str(options)), metadata=client.connection.metadata))
    assert isinstance(from_rpc_error(caught.value), InvalidArgumentError)
    assert "is not the name of a staged file" in str(caught.value.details())
    assert options.exists()
    with pytest.raises(NotFoundError):
        O3ShardDataset(name, split=None, client=client)


def test_the_connections_token_reaches_the_push(token_service: Service, tmp_path: Path) -> None:
    image_folder(tmp_path, {"train": 4})
    with pytest.raises(UnauthenticatedError):
        push_dataset(tmp_path, unique_name("token"), client=Connection(token_service.address, token="wrong-token"))
    done = push_dataset(tmp_path, unique_name("token"), client=Connection(token_service.address, token="right-token"))
    assert done.samples == 4
