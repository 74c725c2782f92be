"""The training script of test_installed_wheel.py, run by a fresh virtualenv's python from a folder
outside the checkout: only the installed o3ml wheel, torch and lightning are importable.

No service address is given, so o3ml starts a local service for O3ML_HOME (o3ml/_autostart.py).
Lightning's ModelCheckpoint saves to ``--dirpath`` (an o3:// folder) through O3CheckpointIO every
4 steps, and ``fit(ckpt_path="last")`` with O3ResumeCallback resumes from the newest one. Prints
``STEP <n>`` after each step, ``STARTED_AT <n>`` when training starts and ``DONE <n>`` at the end;
``--stall-at N`` stops after step N (printing ``STALLED``) until the test kills the process.
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from o3ml.lightning import O3CheckpointIO, O3ResumeCallback


class Regressor(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))

    def training_step(self, batch: Any, index: int) -> torch.Tensor:
        x, y = batch
        return nn.functional.mse_loss(self.net(x), y)

    def configure_optimizers(self) -> Any:
        return torch.optim.Adam(self.parameters(), lr=0.01)


class Report(pl.Callback):
    def __init__(self, stall_at: int) -> None:
        self.stall_at = stall_at

    def on_train_start(self, trainer: pl.Trainer, *args: Any) -> None:
        print(f"STARTED_AT {trainer.global_step}", flush=True)

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        print(f"STEP {trainer.global_step}", flush=True)
        if trainer.global_step == self.stall_at:
            print("STALLED", flush=True)
            while True:
                time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dirpath", required=True)
    parser.add_argument("--max-steps", type=int, required=True)
    parser.add_argument("--stall-at", type=int, default=-1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(64, 8), torch.randn(64, 1))
    callbacks: list[pl.Callback] = [
        ModelCheckpoint(dirpath=args.dirpath, every_n_train_steps=4, save_top_k=-1, save_last=True),
        O3ResumeCallback(dirpath=args.dirpath),
        Report(args.stall_at),  # Lightning runs it before the checkpoint callbacks: stall at a step that saves nothing
    ]
    trainer = pl.Trainer(
        max_steps=args.max_steps,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        plugins=[O3CheckpointIO()],
        callbacks=callbacks,
    )
    trainer.fit(Regressor(), DataLoader(data, batch_size=8), ckpt_path="last")
    print(f"DONE {trainer.global_step}", flush=True)


if __name__ == "__main__":
    main()
