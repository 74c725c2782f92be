"""O3ShardDataset over local WebDataset shards: what it yields, in what order, and what it refuses."""

from __future__ import annotations

import io
import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from dataset_shards import Sample, build_version, local_source, numbered
from torch.utils.data import DataLoader

from o3ml import FailedPreconditionError, IntegrityError, NotFoundError, O3DataLoader, O3ShardDataset
from o3ml._datasets import DatasetVersion, LocalShardSource
from o3ml._datasets._tar import BytesLike
from o3ml.gen import manifest_pb2

SPLITS = {"train": 95, "val": 20, "test": 15}


@pytest.fixture
def toy(tmp_path: Path) -> tuple[LocalShardSource, DatasetVersion]:
    samples = [s for split, n in SPLITS.items() for s in numbered(n, split)]
    version = build_version(tmp_path / "shards", samples, per_shard=10)
    return local_source(tmp_path / "shards", version), version


def keys_of(batches: object) -> list[str]:
    return [k for batch in batches for k in batch["__key__"]]  # type: ignore[attr-defined]


@pytest.mark.parametrize("num_workers", [0, 2])
def test_dataset_one_epoch_yields_every_sample_once(toy, num_workers: int) -> None:  # type: ignore[no-untyped-def]
    source, _ = toy
    dataset = O3ShardDataset("toy@v1", "train", source=source, shuffle_seed=5, shuffle_buffer=16)
    loader = O3DataLoader(dataset, batch_size=4, num_workers=num_workers)
    keys = keys_of(loader)
    assert Counter(keys) == Counter(s.key for s in numbered(95, "train"))
    assert len(loader) == sum(1 for _ in loader)


def test_dataset_plain_dataloader_with_workers_yields_every_sample_once(toy) -> None:  # type: ignore[no-untyped-def]
    source, _ = toy
    dataset = O3ShardDataset("toy", "train", source=source, shuffle_seed=1)
    keys = keys_of(DataLoader(dataset, batch_size=8, num_workers=2))
    assert sorted(keys) == sorted(s.key for s in numbered(95, "train"))


def test_dataset_samples_hold_their_members_and_cls_as_int(toy) -> None:  # type: ignore[no-untyped-def]
    source, _ = toy
    samples = list(O3ShardDataset("toy@v1", "val", source=source))
    expected = numbered(20, "val")
    assert [s["__key__"] for s in samples] == [s.key for s in expected]  # no seed: manifest order
    for got, want in zip(samples, expected, strict=True):
        assert got["bin"] == want.members["bin"]
        assert got["cls"] == int(want.members["cls"]) and isinstance(got["cls"], int)
        assert set(got) == {"__key__", "bin", "cls"}


def test_dataset_same_seed_same_order_other_seed_or_epoch_another(toy) -> None:  # type: ignore[no-untyped-def]
    source, _ = toy

    def order(seed: int, epoch: int) -> list[str]:
        dataset = O3ShardDataset("toy@v1", "train", source=source, shuffle_seed=seed, shuffle_buffer=20)
        dataset.set_epoch(epoch)
        return [s["__key__"] for s in dataset]

    first = order(1, 0)
    assert first == order(1, 0)
    assert first != order(2, 0)
    assert first != order(1, 1)
    assert sorted(first) == sorted(order(1, 1))


def test_dataset_order_with_workers_is_the_same_every_time(toy) -> None:  # type: ignore[no-untyped-def]
    source, _ = toy
    runs = [keys_of(O3DataLoader(O3ShardDataset("toy@v1", "train", source=source, shuffle_seed=3), batch_size=5, num_workers=2)) for _ in range(2)]
    assert runs[0] == runs[1]


def test_dataset_ranks_read_disjoint_parts_that_cover_the_split(toy) -> None:  # type: ignore[no-untyped-def]
    source, _ = toy
    parts = [
        [s["__key__"] for s in O3ShardDataset("toy@v1", "train", source=source, shuffle_seed=4, rank=r, world_size=3)]
        for r in range(3)
    ]
    assert sorted(k for part in parts for k in part) == sorted(s.key for s in numbered(95, "train"))
    assert [len(p) for p in parts] == [31, 32, 32]
    assert len(O3ShardDataset("toy@v1", "train", source=source, rank=1, world_size=3)) == 32


def test_dataset_unsplit_version_is_all_training_data(tmp_path: Path) -> None:
    version = build_version(tmp_path, numbered(12), per_shard=5)
    source = local_source(tmp_path, version)
    assert len(list(O3ShardDataset("toy@v1", "train", source=source))) == 12
    assert len(list(O3ShardDataset("toy@v1", None, source=source))) == 12


def test_dataset_missing_split_or_version_is_not_found(toy) -> None:  # type: ignore[no-untyped-def]
    source, _ = toy
    with pytest.raises(NotFoundError, match="no split 'holdout'.*'train', 'val', 'test'"):
        O3ShardDataset("toy@v1", "holdout", source=source)
    with pytest.raises(NotFoundError, match="no version 'v9'"):
        O3ShardDataset("toy@v9", "train", source=source)
    with pytest.raises(NotFoundError, match="no dataset 'other'"):
        O3ShardDataset("other@v1", "train", source=source)


def test_dataset_altered_shard_raises_integrity_error_and_yields_none_of_its_samples(toy) -> None:  # type: ignore[no-untyped-def]
    source, version = toy
    victim = version.manifest.shards[3]
    path = source.directory / victim.cid
    data = bytearray(path.read_bytes())
    data[700] ^= 0x01
    path.write_bytes(bytes(data))
    yielded: list[str] = []
    with pytest.raises(IntegrityError) as caught:
        for sample in O3ShardDataset("toy@v1", "train", source=source):
            yielded.append(sample["__key__"])
    message = str(caught.value)
    assert victim.cid in message and "shard 3 of toy@v1 split 'train'" in message
    assert yielded == [s.key for s in numbered(30, "train")]  # shards 0-2 in full, nothing of shard 3


def test_dataset_integrity_error_reaches_the_trainer_through_workers(toy) -> None:  # type: ignore[no-untyped-def]
    source, version = toy
    victim = version.manifest.shards[5]
    (source.directory / victim.cid).write_bytes(b"\0" * victim.size)
    bad = {e.key for e in victim.samples}
    seen: list[str] = []
    with pytest.raises(IntegrityError, match=victim.cid):
        for batch in O3DataLoader(O3ShardDataset("toy@v1", "train", source=source, shuffle_seed=2), batch_size=2, num_workers=2):
            seen.extend(batch["__key__"])
    assert not bad.intersection(seen)


def test_dataset_manifest_that_does_not_match_its_shard_is_an_integrity_error(toy) -> None:  # type: ignore[no-untyped-def]
    source, version = toy
    manifest = type(version.manifest)()
    manifest.CopyFrom(version.manifest)
    manifest.shards[0].samples[1].offset += 512
    broken = DatasetVersion("toy", "v2", "bafkreibroken", manifest)
    with pytest.raises(IntegrityError, match="does not match its manifest entry"):
        list(O3ShardDataset(broken, "train", source=source))


class CountingSource(LocalShardSource):
    """Records which shards were opened, in order."""

    opened: list[str]

    def __init__(self, directory: Path, versions: tuple[DatasetVersion, ...]) -> None:
        super().__init__(directory, versions)
        self.opened = []

    @contextmanager
    def open_shard(self, shard: manifest_pb2.ShardEntry, where: str) -> Iterator[BytesLike]:
        self.opened.append(shard.cid)
        with super().open_shard(shard, where) as data:
            yield data


def test_dataset_fetches_shards_lazily_a_few_ahead(toy) -> None:  # type: ignore[no-untyped-def]
    source, version = toy
    counting = CountingSource(source.directory, source.versions)
    dataset = O3ShardDataset("toy@v1", "train", source=counting, prefetch_shards=2)
    assert counting.opened == []  # resolving reads no shard
    it = iter(dataset)
    next(it)
    for _ in range(50):
        if len(counting.opened) >= 3:
            break
        time.sleep(0.02)
    assert 1 <= len(counting.opened) <= 3  # the current shard and at most two ahead
    it.close()
    assert len(counting.opened) <= 3
    assert len([s for s in version.manifest.shards if s.split == "train"]) == 10


def test_dataset_decode_auto_turns_npy_and_json_into_values(tmp_path: Path) -> None:
    def npy(array: np.ndarray) -> bytes:
        out = io.BytesIO()
        np.save(out, array)
        return out.getvalue()

    samples = [
        Sample(f"row{i}", {"npy": npy(np.arange(6, dtype=np.float32).reshape(2, 3) + i), "json": json.dumps({"a": i}).encode(), "cls": b"1", "txt": b"hi"})
        for i in range(4)
    ]
    version = build_version(tmp_path, samples, per_shard=3)
    dataset = O3ShardDataset(
        "toy@v1", "train", source=local_source(tmp_path, version), decode="auto", transform=lambda s: (s["npy"], s["json"]["a"], s["cls"], s["txt"])
    )
    got = list(dataset)
    assert [a for _, a, _, _ in got] == [0, 1, 2, 3]
    assert all(isinstance(t, torch.Tensor) and t.shape == (2, 3) and t.dtype == torch.float32 for t, *_ in got)
    assert torch.equal(got[2][0], torch.arange(6, dtype=torch.float32).reshape(2, 3) + 2)
    assert all(c == 1 and txt == "hi" for _, _, c, txt in got)


def test_dataset_decode_auto_of_images_without_an_image_library_says_what_to_install(tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    try:
        import PIL  # noqa: F401

        pytest.skip("Pillow is installed")
    except ModuleNotFoundError:
        pass
    version = build_version(tmp_path, [Sample("a/1", {"png": b"\x89PNG", "cls": b"0"})])
    with pytest.raises(FailedPreconditionError, match="pip install pillow"):
        O3ShardDataset("toy@v1", "train", source=local_source(tmp_path, version), decode="auto")
    # Undecoded, the image bytes are still there.
    (sample,) = O3ShardDataset("toy@v1", "train", source=local_source(tmp_path, version))
    assert sample["png"] == b"\x89PNG"


def test_dataset_decode_mapping_and_function(toy) -> None:  # type: ignore[no-untyped-def]
    source, _ = toy
    upper = O3ShardDataset("toy@v1", "test", source=source, decode={"bin": bytes.upper})
    assert next(iter(upper))["bin"].startswith(b"SAMPLE TEST 0")
    whole = O3ShardDataset("toy@v1", "test", source=source, decode=lambda s: {"k": s["__key__"], "c": s["cls"]})
    assert next(iter(whole)) == {"k": "test/s00000", "c": 0}


def test_dataset_workers_started_by_spawn_get_a_working_copy(toy) -> None:  # type: ignore[no-untyped-def]
    source, _ = toy
    dataset = O3ShardDataset("toy@v1", "val", source=source, shuffle_seed=1, decode="auto")
    loader = O3DataLoader(dataset, batch_size=4, num_workers=2, multiprocessing_context="spawn")
    assert sorted(keys_of(loader)) == sorted(s.key for s in numbered(20, "val"))
