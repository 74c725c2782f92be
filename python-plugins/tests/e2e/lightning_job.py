"""A training job the resume tests start as a subprocess and kill with SIGKILL.

Prints ``STEP <global_step>`` after every batch and, at the end, ``RESUMED_FROM <step|none>``;
saves the final state_dict to ``--out``. ``--hang-at-save N`` makes the N-th checkpoint upload
stop halfway through its stream (after printing ``HANGING <key>``), so the test can kill the
job while that upload is open.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning_models import Regressor, loader, seeded, trainer

import o3ml._checkpoints as checkpoints
from o3ml.lightning import O3CheckpointIO, O3ResumeCallback


class PrintSteps(pl.Callback):
    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        print(f"STEP {trainer.global_step}", flush=True)


def hang_at_save(number: int) -> None:
    original = checkpoints._save_messages
    calls = 0

    def messages(header: Any, entries: Any, **options: Any) -> Iterator[Any]:
        nonlocal calls
        calls += 1
        produced = list(original(header, entries, **options))
        if calls != number:
            yield from produced
            return
        yield from produced[: len(produced) // 2]
        print(f"HANGING {header.key}", flush=True)
        while True:
            time.sleep(1)

    checkpoints._save_messages = messages


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dirpath", required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--max-steps", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--hang-at-save", type=int, default=0)
    args = parser.parse_args()
    if args.hang_at_save:
        hang_at_save(args.hang_at_save)
    seeded()
    resume = O3ResumeCallback(args.run)
    callbacks: list[pl.Callback] = [
        ModelCheckpoint(dirpath=args.dirpath, save_top_k=-1, every_n_epochs=1),
        PrintSteps(),
    ]
    if args.resume:
        callbacks.append(resume)
    model = Regressor(step_data=True)
    fit = trainer(max_steps=args.max_steps, plugins=[O3CheckpointIO(run=args.run)], callbacks=callbacks)
    fit.fit(model, loader())
    torch.save(model.state_dict(), args.out)
    print(f"RESUMED_FROM {resume.resumed_from.step if resume.resumed_from else 'none'}", flush=True)


if __name__ == "__main__":
    main()
