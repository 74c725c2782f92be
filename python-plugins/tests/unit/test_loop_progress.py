"""o3ml's one reach into Lightning internals, the loop progress counters, checked against the
installed Lightning with real fits on CPU (local checkpoint files, no service)."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any

import lightning
import lightning.pytorch as pl
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from o3ml.lightning._loop_progress import SUPPORTED_LIGHTNING, repair_checkpoint

EPOCH = 4  # batches; a checkpoint every 2 steps, so every other one on an epoch's last batch


def test_the_installed_lightning_is_a_version_this_module_was_checked_against() -> None:
    minor = ".".join(lightning.__version__.split(".")[:2])
    assert minor in SUPPORTED_LIGHTNING, f"check o3ml/lightning/_loop_progress.py against Lightning {minor}, then list it"


def progress(epoch: tuple[int, int, int, int], batch: tuple[int, int], last: bool) -> dict[str, Any]:
    names = ("ready", "started", "processed", "completed")
    counters = dict(zip(names, epoch, strict=True))
    ready, completed = batch
    return {
        "loops": {
            "fit_loop": {
                "epoch_progress": {"total": dict(counters), "current": dict(counters)},
                "epoch_loop.batch_progress": {
                    "current": {"ready": ready, "started": ready, "processed": ready, "completed": completed},
                    "is_last_batch": last,
                },
            }
        }
    }


@pytest.mark.parametrize(
    ("saved", "repaired"),
    [
        (((2, 2, 2, 2), (23, 22), False), (3, 3, 2, 2)),  # mid-epoch, by a lagging process
        (((2, 2, 2, 2), (46, 45), True), (3, 3, 2, 2)),  # on the last batch, by a lagging process
        (((2, 2, 3, 2), (46, 46), True), (3, 3, 3, 2)),  # at the epoch's end, by a lagging process
    ],
)
def test_inconsistent_counters_are_mended(saved: Any, repaired: tuple[int, ...]) -> None:
    checkpoint = progress(*saved)
    assert repair_checkpoint(checkpoint)
    for part in ("total", "current"):
        counters = checkpoint["loops"]["fit_loop"]["epoch_progress"][part]
        assert tuple(counters[k] for k in ("ready", "started", "processed", "completed")) == repaired


@pytest.mark.parametrize(
    "saved",
    [
        ((3, 3, 2, 2), (23, 22), False),  # mid-epoch
        ((2, 2, 1, 1), (46, 45), True),  # on an epoch's last batch
        ((3, 3, 3, 2), (46, 46), True),  # at an epoch's end
        ((3, 3, 3, 3), (46, 46), True),  # after fit
    ],
)
def test_consistent_counters_are_left_alone(saved: Any) -> None:
    checkpoint = progress(*saved)
    before = copy.deepcopy(checkpoint)
    assert not repair_checkpoint(checkpoint) and checkpoint == before
    assert not repair_checkpoint({"state_dict": {}}) and not repair_checkpoint(None)


class Tiny(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(2, 1)
        self.seen: list[tuple[int, int, int]] = []

    def training_step(self, batch: Any, index: int) -> torch.Tensor:
        self.seen.append((self.global_step, self.current_epoch, index))
        loss: torch.Tensor = self.net(batch[0]).pow(2).mean()
        return loss

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.01)


def fit(folder: Path, ckpt_path: Path | None = None) -> Tiny:
    torch.manual_seed(0)
    model = Tiny()
    trainer = pl.Trainer(
        max_epochs=3, accelerator="cpu", logger=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=[ModelCheckpoint(dirpath=folder, every_n_train_steps=EPOCH // 2, save_top_k=-1, filename="{step}")],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(model, DataLoader(TensorDataset(torch.ones(EPOCH, 2)), batch_size=1), ckpt_path=ckpt_path)
    return model


def test_a_resume_from_a_checkpoint_a_lagging_process_saved_continues_at_the_next_batch(tmp_path: Path) -> None:
    reference = fit(tmp_path / "reference")
    expected = {step: (epoch, index) for step, epoch, index in reference.seen}
    end_of_epoch, mid_epoch = 2 * EPOCH, 2 * EPOCH + EPOCH // 2
    # Lightning restarts on the last batch of epoch 1; the process lags and saves mid-epoch 2.
    fit(tmp_path / "lagging", tmp_path / "reference" / f"step={end_of_epoch}.ckpt")
    saved = torch.load(tmp_path / "lagging" / f"step={mid_epoch}.ckpt", weights_only=False)
    repair_checkpoint(saved)
    assert saved["loops"] == torch.load(tmp_path / "reference" / f"step={mid_epoch}.ckpt", weights_only=False)["loops"]
    torch.save(saved, tmp_path / "mended.ckpt")
    resumed = fit(tmp_path / "resumed", tmp_path / "mended.ckpt")
    assert resumed.seen[0] == (mid_epoch, 2, EPOCH // 2) and all(expected[s] == (e, i) for s, e, i in resumed.seen)
    assert resumed.seen[-1][0] == 3 * EPOCH - 1
