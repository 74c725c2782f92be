"""The trainer the reliability crash matrix starts, watches and SIGKILLs (tests/reliability).

A tiny Lightning regression fit on CPU that saves a checkpoint through ``O3CheckpointIO`` every
``--every`` steps and, with ``--resume``, starts from the run's newest committed checkpoint
(``O3ResumeCallback``). Its stdout is a line protocol the driver reads to choose when to kill:

- ``RESUMED <step|none> <cid|->``: the checkpoint this process resumed from (before any step);
- ``STEP <n>`` after every batch;
- ``SAVE_BEGIN <key>`` / ``SAVE_END <key> <cid>`` around every checkpoint upload;
- ``HANGING <key>`` when ``--hang-at-save N`` stopped the N-th upload halfway through its stream;
- ``DONE <step>`` when ``--max-steps`` was reached.

``--step-ms`` slows each step down so that a random kill lands at a random point of the run.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

import lightning.pytorch as pl  # noqa: E402
from lightning.pytorch.callbacks import ModelCheckpoint  # noqa: E402
from lightning_models import Regressor, loader, seeded, trainer  # noqa: E402

import o3ml._checkpoints as checkpoints  # noqa: E402
from o3ml.lightning import O3CheckpointIO, O3ResumeCallback  # noqa: E402


def say(line: str) -> None:
    print(line, flush=True)


class AnnouncedCheckpointIO(O3CheckpointIO):
    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        key = self.key(path)
        say(f"SAVE_BEGIN {key}")
        super().save_checkpoint(checkpoint, path, storage_options)
        say(f"SAVE_END {key} {self.last_saved.cid if self.last_saved else '-'}")


class Announce(pl.Callback):
    def __init__(self, resume: O3ResumeCallback, step_ms: int) -> None:
        self.resume = resume
        self.step_ms = step_ms

    def on_train_start(self, trainer: pl.Trainer, *args: Any) -> None:
        info = self.resume.resumed_from
        say(f"RESUMED {info.step if info else 'none'} {info.cid if info else '-'}")

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if self.step_ms:
            time.sleep(self.step_ms / 1000)
        say(f"STEP {trainer.global_step}")


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
        yield from produced[: max(1, len(produced) // 2)]
        say(f"HANGING {header.key}")
        while True:
            time.sleep(1)

    checkpoints._save_messages = messages


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", required=True, help="run name, also the checkpoint folder under the bucket")
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--max-steps", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=2)
    parser.add_argument("--step-ms", type=int, default=40)
    parser.add_argument("--hang-at-save", type=int, default=0)
    args = parser.parse_args()
    if args.hang_at_save:
        hang_at_save(args.hang_at_save)
    seeded()
    resume = O3ResumeCallback(args.run)
    dirpath = f"o3://{args.bucket}/{args.run}"
    callbacks: list[pl.Callback] = [
        resume,
        ModelCheckpoint(dirpath=dirpath, every_n_train_steps=args.every, save_top_k=-1, filename="{step}"),
        Announce(resume, args.step_ms),
    ]
    fit = trainer(max_steps=args.max_steps, max_epochs=-1, plugins=[AnnouncedCheckpointIO(run=args.run)], callbacks=callbacks)
    fit.fit(Regressor(step_data=True), loader())
    say(f"DONE {fit.global_step}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
