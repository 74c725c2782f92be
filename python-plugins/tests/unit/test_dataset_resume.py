"""Exact mid-epoch resume: after N batches, a new loader from the saved state yields exactly the
rest of the epoch, in the order the uninterrupted run would have used."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataset_shards import build_version, local_source, numbered

from o3ml import FailedPreconditionError, O3DataLoader, O3ShardDataset
from o3ml._datasets import LocalShardSource

TOTAL = 103  # not a multiple of the batch size or of the worker count


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> LocalShardSource:
    directory = tmp_path_factory.mktemp("shards")
    # Uneven shards, so workers' shares start and end mid-shard.
    return local_source(directory, build_version(directory, numbered(TOTAL, "train"), per_shard=7))


def loader(source: LocalShardSource, num_workers: int, batch_size: int = 4, seed: int | None = 11, drop_last: bool = False) -> O3DataLoader:
    dataset = O3ShardDataset("toy@v1", "train", source=source, shuffle_seed=seed, shuffle_buffer=10)
    return O3DataLoader(dataset, batch_size=batch_size, num_workers=num_workers, drop_last=drop_last)


def batches(dl: O3DataLoader, epoch: int = 0, stop: int | None = None) -> list[list[str]]:
    dl.set_epoch(epoch)
    out: list[list[str]] = []
    for batch in dl:
        out.append(list(batch["__key__"]))
        if stop is not None and len(out) == stop:
            break
    return out


@pytest.mark.parametrize("num_workers", [0, 2])
@pytest.mark.parametrize("stop", [1, 6, 13, 25])
def test_dataset_resume_after_n_batches_yields_exactly_the_rest(source: LocalShardSource, num_workers: int, stop: int) -> None:
    full = batches(loader(source, num_workers), epoch=1)
    interrupted = loader(source, num_workers)
    head = batches(interrupted, epoch=1, stop=stop)
    state = interrupted.state_dict()
    assert state["epoch"] == 1 and state["batches"] == stop and not state["complete"]

    resumed = loader(source, num_workers)
    resumed.load_state_dict(state)
    tail = [list(b["__key__"]) for b in resumed]
    assert head == full[:stop]
    assert tail == full[stop:]
    # The next epoch after a resumed one is a whole, fresh epoch.
    assert batches(resumed, epoch=2) == batches(loader(source, num_workers), epoch=2)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_dataset_resume_of_a_resumed_epoch_stays_exact(source: LocalShardSource, num_workers: int) -> None:
    full = batches(loader(source, num_workers))
    first = loader(source, num_workers)
    batches(first, stop=5)
    second = loader(source, num_workers)
    second.load_state_dict(first.state_dict())
    it = iter(second)
    middle = [list(next(it)["__key__"]) for _ in range(7)]
    third = loader(source, num_workers)
    third.load_state_dict(second.state_dict())
    assert third.state_dict()["batches"] == 12
    assert middle + [list(b["__key__"]) for b in third] == full[5:]


def test_dataset_resume_with_drop_last_skips_the_same_batches(source: LocalShardSource) -> None:
    full = batches(loader(source, 2, batch_size=6, drop_last=True))
    first = loader(source, 2, batch_size=6, drop_last=True)
    head = batches(first, stop=4)
    again = loader(source, 2, batch_size=6, drop_last=True)
    again.load_state_dict(first.state_dict())
    assert head + [list(b["__key__"]) for b in again] == full
    assert all(len(b) == 6 for b in full)


def test_dataset_state_saved_at_the_end_of_an_epoch_resumes_at_the_next(source: LocalShardSource) -> None:
    done = loader(source, 0)
    batches(done, epoch=3)
    state = done.state_dict()
    assert state["complete"] and state["epoch"] == 3
    resumed = loader(source, 2, batch_size=5)  # other settings are fine at an epoch boundary
    resumed.load_state_dict(state)
    assert [list(b["__key__"]) for b in resumed] == batches(loader(source, 2, batch_size=5), epoch=4)


def test_dataset_mid_epoch_resume_with_other_settings_is_refused(source: LocalShardSource) -> None:
    first = loader(source, 2)
    batches(first, stop=3)
    state = first.state_dict()
    with pytest.raises(FailedPreconditionError, match="num_workers 2 then, 0 now"):
        loader(source, 0).load_state_dict(state)
    with pytest.raises(FailedPreconditionError, match="shuffle_seed 11 then, 12 now"):
        loader(source, 2, seed=12).load_state_dict(state)


def test_dataset_direct_iteration_resumes_from_the_dataset_state(source: LocalShardSource) -> None:
    def dataset() -> O3ShardDataset:
        ds = O3ShardDataset("toy@v1", "train", source=source, shuffle_seed=4, shuffle_buffer=9)
        ds.set_epoch(2)
        return ds

    full = [s["__key__"] for s in dataset()]
    first = dataset()
    it = iter(first)
    head = [next(it)["__key__"] for _ in range(40)]
    state = first.state_dict()
    assert state == {**state, "epoch": 2, "samples": 40}
    again = dataset()
    again.load_state_dict(state)
    assert head + [s["__key__"] for s in again] == full


def test_dataset_loader_refuses_persistent_workers(source: LocalShardSource) -> None:
    from o3ml import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="persistent_workers"):
        O3DataLoader(O3ShardDataset("toy@v1", source=source), batch_size=2, num_workers=1, persistent_workers=True)


def test_dataset_loader_length_counts_every_workers_partial_batch(tmp_path: Path) -> None:
    version = build_version(tmp_path, numbered(10), per_shard=3)
    dataset = O3ShardDataset("toy@v1", source=local_source(tmp_path, version))
    dl = O3DataLoader(dataset, batch_size=4, num_workers=2)  # 5 + 5 samples: 2 batches each
    assert len(dl) == 4 == sum(1 for _ in dl)
