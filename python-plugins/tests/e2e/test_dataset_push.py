"""``o3ml.push_dataset`` against a real `o3ml serve`: the same folder pushed from Python and by the
CLI gives the same shard CIDs and the same sample table; pushing it again moves no byte; bad options
are refused with the CLI's message and store nothing; the client's token reaches the push."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

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

SPLITS = {"train": 30, "val": 6}


def unique_name(label: str) -> str:
    return f"tests/push-{label}-{uuid.uuid4().hex[:8]}"


def manifest(client: O3Client, name: str, version: str) -> Any:
    return O3ShardDataset(f"{name}@{version}", split=None, client=client).version.manifest


def sample_table(m: Any) -> list[tuple[str, list[Any]]]:
    """Each shard's split and its samples (key, offset, size, ...), in shard order."""
    return [(s.split, list(s.samples)) for s in m.shards]


def test_python_and_the_cli_push_the_same_shards_and_sample_table(service: Service, tmp_path: Path) -> None:
    image_folder(tmp_path, SPLITS)
    by_cli = push(service, tmp_path, unique_name("cli"), shard_size="64KiB")
    with O3Client(service.address) as client:
        by_python = push_dataset(tmp_path, unique_name("python"), shard_size="64KiB", client=client)
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


def test_bad_options_are_refused_with_the_clis_message_and_store_nothing(service: Service, tmp_path: Path) -> None:
    image_folder(tmp_path, {"train": 4})
    name = unique_name("bad")
    with O3Client(service.address) as client:
        with pytest.raises(InvalidArgumentError, match="--seed -1"):
            push_dataset(tmp_path, name, seed=-1, client=client)
        with pytest.raises(InvalidArgumentError, match="--kind jpeg: give one of"):
            push_dataset(tmp_path, name, kind="jpeg", client=client)
        with pytest.raises(InvalidArgumentError, match="--shard-size"):
            push_dataset(tmp_path, name, shard_size="lots", client=client)
        with pytest.raises(NotFoundError):
            O3ShardDataset(name, split=None, client=client)


def test_the_connections_token_reaches_the_push(token_service: Service, tmp_path: Path) -> None:
    image_folder(tmp_path, {"train": 4})
    with pytest.raises(UnauthenticatedError):
        push_dataset(tmp_path, unique_name("token"), client=Connection(token_service.address, token="wrong-token"))
    done = push_dataset(tmp_path, unique_name("token"), client=Connection(token_service.address, token="right-token"))
    assert done.samples == 4
