"""Checkpoints saved by O3CheckpointIO read through ``o3://`` as the plain ``.ckpt`` file torch writes.

The service lays each checkpoint out as torch's zip archive (its torch archive view), so the tools
that only know files work unchanged on ``o3://`` URLs: ``load_from_checkpoint``, a Trainer's
``ckpt_path`` without o3ml's plugin, ``torch.load`` over ``fsspec.open``, ``fsspec.get``. The
service here cuts blobs at 1 MiB, and the model's layers are bigger, so reads cross blob
boundaries as well as entry boundaries.
"""

from __future__ import annotations

import io
import os
import random
import subprocess
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
import torch
from dataset_trees import CLI
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning_models import Regressor, loader, seeded, service_env, trainer
from servers import S3Endpoint, Service, start_service
from torch import nn

from o3ml._fsspec import O3FileSystem
from o3ml.lightning import O3CheckpointIO

WIDTH = 600  # one Linear's weight is 1.4 MiB: it spans two 1 MiB blobs


class Validated(Regressor):
    def validation_step(self, batch: Any, index: int) -> None:
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self(x), y))


@pytest.fixture(scope="module")
def service(moto: S3Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    svc = start_service(
        moto, tmp_path_factory.mktemp("o3ml-archive-home"), tmp_path_factory.mktemp("o3ml-archive-logs"), extra_args=["--chunk-size", "1"]
    )
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def saved(service: Service) -> Iterator[dict[str, Any]]:
    """One short fit saving through O3CheckpointIO into ModelCheckpoint(dirpath="o3://...")."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in service_env(service).items():
            env.setenv(name, value)
        seeded()
        dirpath = f"o3://{service.bucket}/tests/archive/{uuid.uuid4().hex[:8]}"
        model = Validated(width=WIDTH)
        checkpoint = ModelCheckpoint(dirpath=dirpath, filename="last", every_n_train_steps=8, save_top_k=1)
        trainer(max_steps=8, plugins=[O3CheckpointIO()], callbacks=[checkpoint]).fit(model, loader(width=WIDTH))
        url = str(checkpoint.last_model_path or checkpoint.best_model_path)
        assert url.startswith("o3://"), url
        yield {"url": url, "key": url.removeprefix(f"o3://{service.bucket}/"), "state": model.state_dict()}


@pytest.fixture
def env(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in service_env(service).items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def exported(service: Service, saved: dict[str, Any], tmp_path: Path) -> bytes:
    """The file `o3ml ckpt export` writes for the checkpoint."""
    target = tmp_path / "exported.ckpt"
    done = subprocess.run(
        ["node", str(CLI), "ckpt", "export", saved["key"], str(target), "--json"],
        env={**os.environ, "O3ML_SERVICE": service.address},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return target.read_bytes()


def same_weights(state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> bool:
    return state.keys() == expected.keys() and all(torch.equal(state[k], expected[k]) for k in expected)


def test_load_from_checkpoint_reads_an_o3_url(env: None, saved: dict[str, Any]) -> None:
    model = Validated.load_from_checkpoint(saved["url"])
    assert same_weights(model.state_dict(), saved["state"])
    assert model.hparams["width"] == WIDTH


def test_torch_load_with_weights_only_reads_an_fsspec_file(env: None, saved: dict[str, Any]) -> None:
    with fsspec.open(saved["url"], "rb") as f:
        checkpoint = torch.load(f, weights_only=True)
    assert checkpoint["global_step"] == 8
    assert same_weights(checkpoint["state_dict"], saved["state"])
    assert checkpoint["optimizer_states"][0]["state"]  # Adam's moments came along


def test_a_trainer_without_o3ml_plugins_validates_from_an_o3_ckpt_path(env: None, saved: dict[str, Any]) -> None:
    seeded()
    fresh = Validated(width=WIDTH)
    metrics = trainer().validate(fresh, loader(width=WIDTH, seed=1), ckpt_path=saved["url"], verbose=False)
    assert same_weights(fresh.state_dict(), saved["state"])
    trained = Validated(width=WIDTH)
    trained.load_state_dict(saved["state"])
    expected = trainer().validate(trained, loader(width=WIDTH, seed=1), verbose=False)
    assert metrics[0]["val_loss"] == pytest.approx(expected[0]["val_loss"])


def test_fsspec_get_gives_the_file_o3ml_ckpt_export_writes(env: None, saved: dict[str, Any], exported: bytes, tmp_path: Path) -> None:
    fs = O3FileSystem()
    target = tmp_path / "not" / "yet" / "there.ckpt"  # get makes the folders, as fsspec's own filesystems do
    fs.get(saved["url"], str(target))
    assert target.read_bytes() == exported
    assert fs.size(saved["url"]) == len(exported)
    info = fs.info(saved["url"])
    assert info["checkpoint"] and info["stored_size"] < len(exported) and "sha256" not in info
    assert next(e for e in fs.ls(saved["url"].rsplit("/", 1)[0]) if e["name"].endswith("last.ckpt"))["size"] == len(exported)
    assert fs.cat(saved["url"]) == exported
    assert zipfile.ZipFile(target).testzip() is None  # every CRC right


def test_seeks_and_reads_anywhere_give_the_exported_bytes(env: None, saved: dict[str, Any], exported: bytes) -> None:
    records = zipfile.ZipFile(io.BytesIO(exported)).infolist()
    rng = random.Random(0)
    # Where records start (a header, then data from another entry), and the central directory's end.
    edges = rng.sample(sorted({r.header_offset for r in records}), 8) + [len(exported) - 22]
    reads = [(edge + shift, size) for edge in edges for shift, size in ((-7, 20), (0, 1), (-1, 3000))]
    reads += [(rng.randrange(len(exported)), rng.choice((1, 100, 70_000, 1_500_000))) for _ in range(12)]
    rng.shuffle(reads)
    fs = O3FileSystem()
    with fs.open(saved["url"], "rb") as f:
        for offset, size in reads:
            offset = max(0, offset)
            f.seek(offset)
            assert f.read(size) == exported[offset : offset + size], (offset, size)
        f.seek(-10, os.SEEK_END)
        assert f.read() == exported[-10:]
    for offset, size in reads[:8]:
        assert fs.cat_file(saved["url"], start=offset, end=offset + size) == exported[offset : offset + size]
    assert fs.cat_file(saved["url"], start=-30) == exported[-30:]


def test_a_copied_or_moved_checkpoint_still_loads(env: None, saved: dict[str, Any], service: Service) -> None:
    fs = O3FileSystem()
    base = saved["url"].rsplit("/", 1)[0]
    fs.cp(saved["url"], f"{base}/copies/best.ckpt")
    fs.mv(f"{base}/copies/best.ckpt", f"{base}/moved/best.ckpt")
    assert not fs.exists(f"{base}/copies/best.ckpt")
    with fs.open(f"{base}/moved/best.ckpt", "rb") as f:
        assert same_weights(torch.load(f, weights_only=True)["state_dict"], saved["state"])
