"""Trains ``DigitsCNN`` on a digits dataset version stored on O3, checkpointing to O3.

Everything goes through the o3ml service at ``$O3ML_SERVICE``: the training, validation and
test splits are streamed from the dataset version (``O3DataModule``), a checkpoint is saved
tensor-aware every ``--every-n-steps`` steps (``O3CheckpointIO``), and the run is registered
with its hyperparameters, code commit and environment, so every checkpoint names the run and
the dataset version (manifest CID) it came from. Run again with the same ``--run``, it carries on
from that run's newest committed checkpoint on O3 (``O3ResumeCallback(run=...)``), mid-epoch
included, under the same run.

    .venv/bin/python examples/digits/train.py --dataset digits --run digits-cnn
    .venv/bin/python examples/digits/train.py --dataset digits --run digits-cnn   # resumes it

Training is deterministic on CPU: the same seed gives the same weights, and a resumed run ends
on exactly the weights of an uninterrupted one. ``--weights`` writes the final ``state_dict``
(for that comparison); ``--result`` writes what the run did as JSON. ``--markers`` and
``--hold-upload`` exist for ``npm run demo``, which kills this process at chosen moments.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import warnings

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import DigitsCNN, image_and_label  # noqa: E402

from o3ml import O3Client  # noqa: E402
from o3ml.lightning import O3CheckpointIO, O3DataModule, O3ResumeCallback  # noqa: E402

STEP_MARKER = "O3ML-STEP"

# Noise that says nothing about this job: a deprecation inside Lightning, and the length warning
# of IterableDatasets (O3ShardDataset's length is exact for any number of workers).
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
warnings.filterwarnings("ignore", message=r"Your `IterableDataset` has `__len__` defined")


RESUMED_MARKER = "O3ML-RESUMED"


class StepMarkers(Callback):
    """Prints ``O3ML-RESUMED ...`` when training starts and ``O3ML-STEP step=<global step>
    epoch=<e> batch=<b> of=<n>`` after every training step, for a watcher of this process."""

    def __init__(self, resume: O3ResumeCallback) -> None:
        self.resume = resume

    def on_train_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        info = self.resume.resumed_from
        where = "none" if info is None else f"step={info.step} epoch={info.epoch} key={info.key} cid={info.cid}"
        print(f"{RESUMED_MARKER} {where}", flush=True)

    def on_train_batch_end(self, trainer: pl.Trainer, module: pl.LightningModule, outputs: Any, batch: Any, index: int) -> None:
        print(f"{STEP_MARKER} step={trainer.global_step} epoch={trainer.current_epoch} batch={index + 1} of={trainer.num_training_batches}", flush=True)


def quiet_lightning() -> None:
    """Lightning's notices (GPU available, tips) say nothing about an example that runs on CPU."""
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)


def deterministic(seed: int) -> None:
    pl.seed_everything(seed, workers=True, verbose=False)
    torch.use_deterministic_algorithms(True)
    # A model this small gains nothing from more threads, and one thread keeps every float
    # reduction in the same order whatever else the machine is doing.
    torch.set_num_threads(1)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits", help="dataset on O3: name (newest version) or name@version")
    parser.add_argument("--run", default="digits-cnn", help="run name; checkpoints go to o3://<bucket>/runs/<run>/")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--every-n-steps", type=int, default=10, help="save a checkpoint every N training steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="kept for older scripts: a run always carries on from its newest checkpoint on O3")
    parser.add_argument("--weights", type=Path, help="write the final state_dict here (torch.save)")
    parser.add_argument("--result", type=Path, help="write what the run did here, as JSON")
    parser.add_argument("--markers", action="store_true", help="print O3ML-STEP lines (for the demo)")
    parser.add_argument("--hold-upload", type=int, default=0, metavar="N", help="hold the N-th checkpoint upload open (for the demo)")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or args.every_n_steps < 1:
        parser.error("--epochs, --batch-size and --every-n-steps must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    quiet_lightning()
    deterministic(args.seed)
    if args.hold_upload:
        from upload_hold import holding_client

        client = holding_client(args.hold_upload)
    else:
        client = O3Client()
    hyperparameters = {k: getattr(args, k) for k in ("dataset", "epochs", "batch_size", "lr", "every_n_steps", "seed")}
    run_id = client.register_run(args.run, hyperparameters)  # a name registered before is continued
    bucket = os.environ.get("O3ML_BUCKET") or "o3ml"
    dirpath = f"o3://{bucket}/runs/{args.run}"

    data = O3DataModule(
        args.dataset, batch_size=args.batch_size, num_workers=0, transform=image_and_label, shuffle_seed=args.seed, client=client
    )
    checkpoint_io = O3CheckpointIO(client, run=run_id)  # the DataModule records its dataset CID in it
    resume = O3ResumeCallback(run=args.run, client=client)  # resumes the run by name, or starts it
    callbacks: list[Callback] = [
        ModelCheckpoint(dirpath=dirpath, filename="{epoch}-{step}", every_n_train_steps=args.every_n_steps, save_top_k=-1),
        resume,
        *([StepMarkers(resume)] if args.markers else []),
    ]
    trainer = pl.Trainer(
        max_epochs=args.epochs,
        accelerator="cpu",
        devices=1,
        deterministic=True,
        plugins=[checkpoint_io],
        callbacks=callbacks,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    model = DigitsCNN(lr=args.lr)
    started = time.monotonic()
    trainer.fit(model, datamodule=data)
    trained_seconds = time.monotonic() - started
    tested = trainer.test(model, datamodule=data, verbose=False)[0]
    resumed = resume.resumed_from
    result = {
        "run": args.run,
        "run_id": run_id,
        "dataset": data.version.spec,
        "dataset_cid": data.dataset_cid,
        "steps": trainer.global_step,
        "epochs": args.epochs,
        "resumed_from": None if resumed is None else {"key": resumed.key, "cid": resumed.cid, "step": resumed.step, "epoch": resumed.epoch},
        "last_checkpoint": None if checkpoint_io.last_saved is None else {"key": checkpoint_io.last_saved.key, "cid": checkpoint_io.last_saved.cid, "step": checkpoint_io.last_saved.step},
        "test_acc": float(tested["test_acc"]),
        "test_loss": float(tested["test_loss"]),
        "fit_seconds": round(trained_seconds, 2),
    }
    if args.weights is not None:
        torch.save(model.state_dict(), args.weights)
    if args.result is not None:
        args.result.write_text(json.dumps(result, indent=2))
    print(f"run {args.run} ({run_id}) on {result['dataset']}: {result['steps']} steps, test accuracy {result['test_acc']:.4f}")
    if resumed is not None:
        print(f"resumed from {resumed.key} (step {resumed.step}, epoch {resumed.epoch})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
