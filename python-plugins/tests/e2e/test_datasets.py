"""O3ShardDataset and O3DataModule against a real `o3ml serve`, with datasets pushed by the real
CLI: every sample once, exact resume, altered shards refused, a small cache, shared hosts."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dataset_trees import image_folder, push
from servers import S3Endpoint, Service, start_service

from o3ml import IntegrityError, NotFoundError, O3Client, O3DataLoader, O3ShardDataset

SPLITS = {"train": 60, "val": 12}
BLOBS = "o3ml/v1/blobs/"


def unique_name(label: str) -> str:
    return f"tests/{label}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def pushed(service: Service, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, dict[str, Any]], dict[str, Any]]:
    """One dataset for the read-only tests of this module: (spec, expected samples, push summary)."""
    tree = tmp_path_factory.mktemp("tree")
    expected = image_folder(tree, SPLITS)
    summary = push(service, tree, unique_name("read"))
    return f"{summary['name']}@{summary['version']}", expected, summary


def check_epoch(samples: list[dict[str, Any]], expected: dict[str, dict[str, Any]], split: str) -> None:
    want = {k: v for k, v in expected.items() if k.startswith(f"{split}/")}
    assert sorted(s["__key__"] for s in samples) == sorted(want)
    for s in samples:
        assert s["bin"] == want[s["__key__"]]["bin"]
        assert s["cls"] == want[s["__key__"]]["cls"]


@pytest.mark.parametrize("cache", ["host", "stream"])
@pytest.mark.parametrize("num_workers", [0, 2])
def test_dataset_e2e_epoch_yields_every_sample_once_with_its_bytes(
    service: Service, pushed: Any, cache: str, num_workers: int
) -> None:
    spec, expected, summary = pushed
    assert summary["shards"] >= 6
    with O3Client(service.address) as client:
        dataset = O3ShardDataset(spec, "train", client=client, cache=cache, shuffle_seed=3)  # type: ignore[arg-type]
        assert dataset.source.transport == cache  # type: ignore[attr-defined]
        assert dataset.dataset_cid == summary["cid"] and dataset.classes == ["c0", "c1", "c2"]
        loader = O3DataLoader(dataset, batch_size=None, num_workers=num_workers)
        check_epoch(list(loader), expected, "train")


def test_dataset_e2e_resume_after_n_batches_yields_exactly_the_rest(service: Service, pushed: Any) -> None:
    spec, _, _ = pushed

    def loader() -> O3DataLoader:
        return O3DataLoader(O3ShardDataset(spec, "train", client=O3Client(service.address), shuffle_seed=8, shuffle_buffer=16), batch_size=4, num_workers=2)

    full = [list(b["__key__"]) for b in loader()]
    first = loader()
    head = []
    for batch in first:
        head.append(list(batch["__key__"]))
        if len(head) == 5:
            break
    resumed = loader()
    resumed.load_state_dict(first.state_dict())
    assert head + [list(b["__key__"]) for b in resumed] == full


def test_dataset_e2e_missing_version_or_dataset_is_not_found(service: Service, pushed: Any) -> None:
    spec, _, _ = pushed
    name = spec.split("@")[0]
    with O3Client(service.address) as client:
        with pytest.raises(NotFoundError, match="has no version nope"):
            O3ShardDataset(f"{name}@nope", client=client)
        with pytest.raises(NotFoundError, match="no dataset"):
            O3ShardDataset(unique_name("absent"), client=client)
        with pytest.raises(NotFoundError, match="no split 'holdout'"):
            O3ShardDataset(spec, "holdout", client=client)


def test_dataset_e2e_names_that_need_pax_headers_are_read_back(service: Service, tmp_path: Path) -> None:
    # A non-ASCII or too long name gets a PAX header before its tar header; the others plain ustar.
    files = {"notes/été.bin": b"summer", "notes/plain.bin": b"plain", f"deep/{'n' * 200}.bin": b"x" * 700, f"{'d' * 120}/{'f' * 90}.bin": b"prefix"}
    for rel, data in files.items():
        (tmp_path / "tree" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "tree" / rel).write_bytes(data)
    summary = push(service, tmp_path / "tree", unique_name("names"), extra=("--kind", "files"))
    with O3Client(service.address) as client:
        got = {s["__key__"]: s["bin"] for s in O3ShardDataset(f"{summary['name']}@{summary['version']}", client=client)}
    assert got == {rel.removesuffix(".bin"): data for rel, data in files.items()}


@pytest.mark.parametrize("cache", ["host", "stream"])
def test_dataset_e2e_shard_altered_in_the_bucket_raises_integrity_error_and_yields_none_of_it(
    service: Service, bucket: Any, tmp_path: Path, cache: str
) -> None:
    image_folder(tmp_path / "tree", {"train": 40}, seed=hash(cache) & 0xFFFF)
    summary = push(service, tmp_path / "tree", unique_name("altered"))
    spec = f"{summary['name']}@{summary['version']}"
    with O3Client(service.address) as client:
        manifest = O3ShardDataset(spec, client=client).version.manifest
        victim = manifest.shards[2]
        key = BLOBS + victim.cid
        original = bucket.get_object(Bucket=service.bucket, Key=key)["Body"].read()
        bucket.put_object(Bucket=service.bucket, Key=key, Body=original[:100] + bytes([original[100] ^ 1]) + original[101:])
        seen: list[str] = []
        with pytest.raises(IntegrityError) as caught:
            for sample in O3ShardDataset(spec, client=client, cache=cache):  # type: ignore[arg-type]
                seen.append(sample["__key__"])
    assert victim.cid in str(caught.value) and "shard 2 of" in str(caught.value)
    assert not {s.key for s in victim.samples}.intersection(seen)
    assert seen == [s.key for shard in manifest.shards[:2] for s in shard.samples]


CAP = 200 * 1024  # about three 64 KiB shards


@pytest.fixture(scope="module")
def capped(s3: S3Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, Path]]:
    home = tmp_path_factory.mktemp("capped-home")
    # A host cache that holds at most CAP bytes (O3ML_CACHE_BYTES).
    service = start_service(s3, home, tmp_path_factory.mktemp("capped-logs"), name="o3ml-serve-capped", extra_env={"O3ML_CACHE_BYTES": str(CAP)})
    yield service, home / "cache" / "blobs"
    service.stop()


def test_dataset_e2e_cache_smaller_than_the_dataset_still_completes_the_epoch(capped: Any, tmp_path: Path) -> None:
    service, cache_dir = capped
    expected = image_folder(tmp_path / "tree", {"train": 150})
    summary = push(service, tmp_path / "tree", unique_name("capped"))
    assert summary["bytesTotal"] > 4 * CAP
    spec = f"{summary['name']}@{summary['version']}"
    for epoch in range(2):  # the second epoch finds most shards evicted and fetches them again
        dataset = O3ShardDataset(spec, client=O3Client(service.address), cache="host", shuffle_seed=1)
        loader = O3DataLoader(dataset, batch_size=None, num_workers=2)
        loader.set_epoch(epoch)
        check_epoch(list(loader), expected, "train")
        entries = [p for p in cache_dir.iterdir() if p.is_file() and p.name.startswith("b") and "." not in p.name]
        assert sum(p.stat().st_size for p in entries) <= CAP  # every lease was released, so eviction caught up


READER = textwrap.dedent(
    """
    import hashlib, json, sys
    from o3ml import O3Client, O3DataLoader, O3ShardDataset
    address, spec, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    dataset = O3ShardDataset(spec, client=O3Client(address), cache="host", shuffle_seed=seed)
    digests = sorted(hashlib.sha256(s["__key__"].encode() + s["bin"]).hexdigest() for s in O3DataLoader(dataset, batch_size=None, num_workers=2))
    print(json.dumps({"samples": len(digests), "digest": hashlib.sha256("".join(digests).encode()).hexdigest()}))
    """
)


def test_dataset_e2e_two_processes_sharing_one_service_and_cache_both_complete(service: Service, tmp_path: Path) -> None:
    expected = image_folder(tmp_path / "tree", {"train": 70}, seed=5)
    summary = push(service, tmp_path / "tree", unique_name("shared"))
    spec = f"{summary['name']}@{summary['version']}"
    script = tmp_path / "reader.py"
    script.write_text(READER)
    readers = [
        subprocess.Popen([sys.executable, str(script), service.address, spec, str(seed)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for seed in (1, 2)
    ]
    results = []
    for reader in readers:
        out, err = reader.communicate(timeout=300)
        assert reader.returncode == 0, err[-3000:]
        results.append(json.loads(out))
    digests = sorted(hashlib.sha256(k.encode() + v["bin"]).hexdigest() for k, v in expected.items())  # type: ignore[operator]
    want = {"samples": 70, "digest": hashlib.sha256("".join(digests).encode()).hexdigest()}
    assert results == [want, want]


class Recorder:
    """Builds a LightningModule that records the sample keys of every training batch."""

    @staticmethod
    def make() -> Any:
        import lightning.pytorch as pl
        import torch

        class Model(pl.LightningModule):
            def __init__(self) -> None:
                super().__init__()
                self.layer = torch.nn.Linear(1, 1)
                self.seen: list[tuple[int, list[str]]] = []

            def training_step(self, batch: dict[str, Any], batch_idx: int) -> Any:
                self.seen.append((self.current_epoch, list(batch["__key__"])))
                x = batch["cls"].float().unsqueeze(1)
                return torch.nn.functional.mse_loss(self.layer(x), x)

            def configure_optimizers(self) -> Any:
                return torch.optim.SGD(self.parameters(), lr=0.01)

        return Model()


class Killed(Exception):
    """Stands for the trainer process dying mid-epoch."""


def test_dataset_e2e_datamodule_resumes_mid_epoch_from_a_checkpoint_on_o3_and_records_the_dataset(
    moto: S3Endpoint, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lightning.pytorch.callbacks import Callback, ModelCheckpoint
    from lightning_models import moto_service, service_env, trainer, unique_dir

    from o3ml._checkpoints import list_checkpoints
    from o3ml.lightning import O3CheckpointIO, O3DataModule

    class Crash(Callback):
        def on_train_batch_end(self, trainer: Any, *args: Any) -> None:
            if trainer.global_step == 17:
                raise Killed

    with moto_service(moto, tmp_path_factory) as service:
        for name, value in service_env(service).items():
            monkeypatch.setenv(name, value)
        image_folder(tmp_path / "tree", {"train": 50, "val": 6})
        summary = push(service, tmp_path / "tree", unique_name("fit"))

        def fit(callbacks: list[Any], ckpt_path: str | None = None) -> tuple[Any, O3DataModule]:
            model = Recorder.make()
            data = O3DataModule(summary["name"], batch_size=4, num_workers=2, shuffle_seed=4, decode=None)
            run = trainer(max_epochs=2, plugins=[O3CheckpointIO()], callbacks=callbacks)
            try:
                run.fit(model, datamodule=data, ckpt_path=ckpt_path)
            except Killed:
                pass
            return model, data

        full, data = fit([])
        assert data.dataset_cid == summary["cid"]
        dirpath, run_name = unique_dir(service, "dataset-resume")
        saved = ModelCheckpoint(dirpath=dirpath, every_n_train_steps=16, save_top_k=-1, filename="{step}")
        crashed, _ = fit([saved, Crash()])
        resumed, _ = fit([], ckpt_path=f"{dirpath}/step=16.ckpt")
        assert crashed.seen[:16] + resumed.seen == full.seen
        with O3Client(service.address) as client:
            recorded = {info.dataset_cid for info in list_checkpoints(client, run_name)}
        assert recorded == {summary["cid"]}
