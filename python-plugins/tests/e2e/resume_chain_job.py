"""A training job the exact-resume test starts, kills and resumes, several times in a row.

Epochs of 46 batches, a checkpoint every 23 steps, so every other checkpoint is saved on an
epoch's last batch. What each batch trains on depends on the loop's position (epoch, batch)
and the model uses dropout, so a resume that restarts an epoch at the wrong batch or draws
other random numbers ends on other weights. Prints ``AT <step> <epoch> <batch>`` before every
batch; ``--stop-after N`` prints ``COMMITTED N`` once the step-N checkpoint is committed and
then waits to be killed. ``--lag`` leaves Lightning's own counters unmended in this process,
so the checkpoints it saves are the inconsistent ones an older o3ml left behind.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning_models import samples, seeded, trainer
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import o3ml.lightning._resume as resume_module
from o3ml.lightning import O3CheckpointIO, O3ResumeCallback

BATCHES_PER_EPOCH = 46
EVERY = 23
WIDTH = 16


class Noisy(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(WIDTH, WIDTH), nn.Tanh(), nn.Dropout(0.2), nn.Linear(WIDTH, 1))

    def training_step(self, batch: Any, index: int) -> torch.Tensor:
        x, y = samples(8, WIDTH, seed=10_000 * self.current_epoch + index)
        loss = nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.Adam(self.parameters(), lr=0.01)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.5)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


class Positions(pl.Callback):
    def on_train_batch_start(self, trainer: pl.Trainer, module: Any, batch: Any, index: int) -> None:
        print(f"AT {trainer.global_step} {trainer.current_epoch} {index}", flush=True)


class StopAfter(O3CheckpointIO):
    def __init__(self, step: int) -> None:
        super().__init__()
        self.step = step

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        super().save_checkpoint(checkpoint, path, storage_options)
        if checkpoint["global_step"] == self.step:
            print(f"COMMITTED {self.step}", flush=True)
            while True:
                time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dirpath", required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--stop-after", type=int, default=-1)
    parser.add_argument("--lag", action="store_true")
    args = parser.parse_args()
    if args.lag:
        resume_module.repair_trainer = lambda trainer: False  # type: ignore[attr-defined]  # the name _resume calls, imported there
    seeded()
    loader = DataLoader(TensorDataset(torch.zeros(BATCHES_PER_EPOCH, 1)), batch_size=1)
    callbacks = [
        ModelCheckpoint(dirpath=args.dirpath, every_n_train_steps=EVERY, save_top_k=-1, filename="{step}"),
        O3ResumeCallback(run=args.run),
        Positions(),
    ]
    fit = trainer(max_epochs=args.epochs, plugins=[StopAfter(args.stop_after)], callbacks=callbacks)
    fit.fit(Noisy(), loader)
    torch.save(fit.lightning_module.state_dict(), args.out)
    print(f"DONE {fit.global_step}", flush=True)


if __name__ == "__main__":
    main()
