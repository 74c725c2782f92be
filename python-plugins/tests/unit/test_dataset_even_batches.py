"""Under DDP every rank runs the same number of steps: O3DataLoader ends each rank's epoch at the
batch count of the rank with the fewest, also when it resumes mid-epoch."""

from __future__ import annotations

import logging

import pytest
from dataset_shards import build_version, local_source, numbered

from o3ml import O3DataLoader, O3ShardDataset
from o3ml._datasets import LocalShardSource

TOTAL = 51  # ranks get 25 and 26 samples: 7 and 8 batches of 4 with two workers each


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> LocalShardSource:
    directory = tmp_path_factory.mktemp("shards")
    return local_source(directory, build_version(directory, numbered(TOTAL, "train"), per_shard=6))


def loader(source: LocalShardSource, rank: int, even: bool = True) -> O3DataLoader:
    dataset = O3ShardDataset("toy@v1", "train", source=source, shuffle_seed=3, shuffle_buffer=5, rank=rank, world_size=2)
    return O3DataLoader(dataset, batch_size=4, num_workers=2, even_batches=even)


def keys(batches: list[dict]) -> list[list[str]]:  # type: ignore[type-arg]
    return [list(b["__key__"]) for b in batches]


def test_every_rank_yields_as_many_batches_as_the_rank_with_fewest(source: LocalShardSource, caplog: pytest.LogCaptureFixture) -> None:
    uneven = [keys(list(loader(source, rank, even=False))) for rank in (0, 1)]
    assert [len(b) for b in uneven] == [7, 8]  # what a DDP job would hang on
    with caplog.at_level(logging.WARNING):
        even = [keys(list(loader(source, rank))) for rank in (0, 1)]
    assert [len(loader(source, rank)) for rank in (0, 1)] == [7, 7]
    assert even == [uneven[0], uneven[1][:7]]
    assert "rank 1 of 2 ends each epoch" in caplog.text and "after 7 of its 8 batches" in caplog.text
    seen = [k for rank in even for batch in rank for k in batch]
    assert len(seen) == len(set(seen)) == TOTAL - len(uneven[1][7])


def test_a_rank_resumed_mid_epoch_stops_at_the_same_batch(source: LocalShardSource) -> None:
    full = keys(list(loader(source, 1)))
    first = loader(source, 1)
    head = []
    for batch in first:
        head.append(list(batch["__key__"]))
        if len(head) == 3:
            break
    resumed = loader(source, 1)
    resumed.load_state_dict(first.state_dict())
    rest = keys(list(resumed))
    assert head + rest == full and len(full) == 7
    assert resumed.state_dict()["complete"]
