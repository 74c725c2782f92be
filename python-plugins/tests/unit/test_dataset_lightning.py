"""O3DataModule in a real Lightning fit: a run killed mid-epoch and resumed from its checkpoint
trains on exactly the batches the uninterrupted run trained on, in the same order."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import pytest
import torch
from dataset_shards import build_version, local_source, numbered
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

from o3ml._datasets import LocalShardSource
from o3ml.lightning import O3DataModule

EPOCH_BATCHES = 15  # 57 samples / batch 4, split over workers


class Recorder(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(1, 1)
        self.seen: list[tuple[int, list[str]]] = []
        self.validated: list[str] = []

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        self.seen.append((self.current_epoch, list(batch["__key__"])))
        x = batch["cls"].float().unsqueeze(1)
        return torch.nn.functional.mse_loss(self.layer(x), x)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self.validated.extend(batch["__key__"])

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)


class Killed(Exception):
    """Stands for the trainer process dying mid-epoch."""


class Crash(Callback):
    def __init__(self, at_step: int) -> None:
        self.at_step = at_step

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if trainer.global_step == self.at_step:
            raise Killed


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> LocalShardSource:
    directory = tmp_path_factory.mktemp("shards")
    samples = numbered(57, "train") + numbered(9, "val")
    return local_source(directory, build_version(directory, samples, per_shard=8))


def fit(source: LocalShardSource, root: Path, num_workers: int, callbacks: list[Callback], ckpt_path: str | None = None) -> Recorder:
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    model = Recorder()
    data = O3DataModule("toy@v1", batch_size=4, num_workers=num_workers, shuffle_seed=9, shuffle_buffer=6, decode=None, source=source)
    trainer = pl.Trainer(
        default_root_dir=root,
        max_epochs=2,
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=callbacks,
        num_sanity_val_steps=0,
    )
    try:
        trainer.fit(model, datamodule=data, ckpt_path=ckpt_path)
    except Killed:
        pass
    return model


@pytest.mark.parametrize("num_workers", [0, 2])
@pytest.mark.parametrize("crash_at", [4, EPOCH_BATCHES + 6])
def test_dataset_lightning_resume_mid_epoch_trains_on_exactly_the_unseen_batches(
    source: LocalShardSource, tmp_path: Path, num_workers: int, crash_at: int
) -> None:
    full = fit(source, tmp_path / "full", num_workers, [])
    assert len(full.seen) == 2 * EPOCH_BATCHES
    first_epoch = sorted(k for epoch, keys in full.seen if epoch == 0 for k in keys)
    assert first_epoch == sorted(s.key for s in numbered(57, "train"))
    assert [k for e, keys in full.seen if e == 0 for k in keys] != [k for e, keys in full.seen if e == 1 for k in keys]
    assert sorted(full.validated) == sorted(2 * [s.key for s in numbered(9, "val")])

    saved = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=crash_at - 1, save_top_k=-1, filename="{step}")
    crashed = fit(source, tmp_path / "run", num_workers, [saved, Crash(crash_at)])
    checkpoint = tmp_path / "ckpt" / f"step={crash_at - 1}.ckpt"
    assert checkpoint.exists(), sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    state = torch.load(checkpoint, weights_only=False)["loops"]["fit_loop"]["state_dict"]["combined_loader"][0]
    assert state["batches"] == (crash_at - 1) % EPOCH_BATCHES

    resumed = fit(source, tmp_path / "run", num_workers, [], ckpt_path=str(checkpoint))
    assert crashed.seen[: crash_at - 1] + resumed.seen == full.seen


def test_dataset_lightning_resume_from_an_end_of_epoch_checkpoint_starts_the_next_epoch(source: LocalShardSource, tmp_path: Path) -> None:
    full = fit(source, tmp_path / "full", 0, [])
    saved = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_top_k=-1, filename="{epoch}")
    crashed = fit(source, tmp_path / "run", 0, [saved, Crash(EPOCH_BATCHES + 2)])
    resumed = fit(source, tmp_path / "run", 0, [], ckpt_path=str(tmp_path / "ckpt" / "epoch=0.ckpt"))
    assert crashed.seen[:EPOCH_BATCHES] + resumed.seen == full.seen


def test_dataset_datamodule_exposes_the_dataset_cid_and_skips_missing_splits(source: LocalShardSource) -> None:
    data = O3DataModule("toy", batch_size=4, source=source)
    version = source.resolve("toy@v1")
    assert data.dataset_cid == version.cid
    assert data.state_dict() == {"dataset": "toy@v1", "dataset_cid": version.cid}
    assert data.test_dataloader() == []
    assert len(data.val_dataloader()) == 3
