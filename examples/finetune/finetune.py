"""Fine-tunes a digits checkpoint on O3 for a new task with a frozen backbone, and shows what
content addressing saves: the frozen tensors are stored once, whatever the number of checkpoints.

The newest checkpoint of the digits run (``--from-run``, made by ``examples/digits``) is loaded
from O3; its backbone is kept and frozen, and a new head is trained for ``--task``:
``parity`` (even or odd, 2 classes) or ``low-high`` (0–4 or 5–9). Checkpoints go to O3 every
``--every-n-steps`` steps. Each one holds the whole model, but the service uploads only the
tensors it has not stored before: the new head and its optimizer state. The frozen backbone,
identical to the digits checkpoint's, is deduplicated every time; the table at the end shows
the service's own figures per checkpoint (as ``o3ml ckpt show --json`` does).

    .venv/bin/python examples/finetune/finetune.py --from-run digits-cnn --task parity
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "digits"))
from model import DigitsCNN, image_and_label  # noqa: E402
from train import deterministic, quiet_lightning  # noqa: E402  (importing it also silences Lightning's noise)

from o3ml import CheckpointInfo, NotFoundError, O3Client, list_checkpoints, load_checkpoint, select_checkpoint  # noqa: E402
from o3ml.lightning import O3CheckpointIO, O3DataModule  # noqa: E402

TASKS: dict[str, tuple[int, Callable[[int], int]]] = {
    "parity": (2, lambda digit: digit % 2),
    "low-high": (2, lambda digit: int(digit >= 5)),
}


class Relabel:
    """A sample as (image, new label): picklable, so it also works with data-loader workers."""

    def __init__(self, task: str) -> None:
        self.task = task

    def __call__(self, sample: dict[str, Any]) -> tuple[torch.Tensor, int]:
        image, digit = image_and_label(sample)
        return image, TASKS[self.task][1](digit)


class StartedFrom(O3CheckpointIO):
    """Names the checkpoint the fine-tuning started from as the parent of its first checkpoint,
    so ``o3ml lineage`` leads from the fine-tuned model back to the digits run and its data."""

    def __init__(self, client: O3Client, start: CheckpointInfo, **options: Any) -> None:
        super().__init__(client, **options)
        self.start = start

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if self.last_saved is None and storage_options is None:
            storage_options = {"parent_cid": self.start.cid}
        super().save_checkpoint(checkpoint, path, storage_options)


def pretrained(client: O3Client, run: str, classes: int) -> tuple[DigitsCNN, CheckpointInfo]:
    """A model with the backbone of ``run``'s newest checkpoint (frozen) and a new head."""
    try:
        start = select_checkpoint(run, client=client).info  # the run's newest committed checkpoint, by name
    except NotFoundError:
        raise SystemExit(f"finetune: the service at {client.address} has no committed checkpoint of run {run!r}; train it first: bash examples/digits/run.sh") from None
    # weights_only: a Lightning checkpoint is tensors and plain values; nothing else is unpickled.
    state = load_checkpoint(client, cid=start.cid, map_location="cpu", weights_only=True)["state_dict"]
    model = DigitsCNN(classes=classes, frozen_backbone=True)
    backbone = {k.removeprefix("backbone."): v for k, v in state.items() if k.startswith("backbone.")}
    model.backbone.load_state_dict(backbone)
    return model, start


def report(client: O3Client, run_id: str, start: CheckpointInfo) -> dict[str, Any]:
    rows = sorted(list_checkpoints(client, run_id), key=lambda info: info.step)
    print(f"\ncheckpoints of the fine-tuning run (started from {start.key}, step {start.step})")
    print(f"  {'step':>5}  {'size':>10}  {'uploaded':>10}  {'deduplicated':>12}  key")
    for info in rows:
        print(f"  {info.step:>5}  {info.bytes_total:>10,}  {info.bytes_uploaded:>10,}  {info.bytes_deduplicated:>12,}  {info.key}")
    total = sum(i.bytes_total for i in rows)
    uploaded = sum(i.bytes_uploaded for i in rows)
    deduplicated = sum(i.bytes_deduplicated for i in rows)
    share = deduplicated / total if total else 0.0
    print(f"  total  {total:>10,}  {uploaded:>10,}  {deduplicated:>12,}  ({share:.1%} not uploaded: the frozen backbone is stored once)")
    return {
        "checkpoints": [
            {"key": i.key, "cid": i.cid, "step": i.step, "state": i.state, "bytes_total": i.bytes_total,
             "bytes_uploaded": i.bytes_uploaded, "bytes_deduplicated": i.bytes_deduplicated, "parent_cid": i.parent_cid}
            for i in rows
        ],
        "bytes_total": total,
        "bytes_uploaded": uploaded,
        "bytes_deduplicated": deduplicated,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-run", default="digits-cnn", help="the digits run whose newest checkpoint to start from")
    parser.add_argument("--dataset", default="digits", help="dataset on O3: name (newest version) or name@version")
    parser.add_argument("--task", choices=sorted(TASKS), default="parity")
    parser.add_argument("--run", default="", help="run name (default: <from-run>-<task>)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--every-n-steps", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--result", type=Path, help="write the run's figures here, as JSON")
    args = parser.parse_args(argv)
    run = args.run or f"{args.from_run}-{args.task}"
    quiet_lightning()
    deterministic(args.seed)
    warnings.filterwarnings("ignore", message=r".*does not have many workers")

    client = O3Client()
    classes = TASKS[args.task][0]
    model, start = pretrained(client, args.from_run, classes)
    model.hparams.lr = args.lr
    run_id = client.register_run(run, {**{k: getattr(args, k) for k in ("from_run", "dataset", "task", "epochs", "batch_size", "lr", "every_n_steps", "seed")}, "started_from": start.cid})
    bucket = os.environ.get("O3ML_BUCKET") or "o3ml"
    data = O3DataModule(args.dataset, batch_size=args.batch_size, transform=Relabel(args.task), shuffle_seed=args.seed, client=client)
    trainer = pl.Trainer(
        max_epochs=args.epochs,
        accelerator="cpu",
        devices=1,
        deterministic=True,
        plugins=[StartedFrom(client, start, run=run_id)],
        callbacks=[ModelCheckpoint(dirpath=f"o3://{bucket}/runs/{run}", filename="{epoch}-{step}", every_n_train_steps=args.every_n_steps, save_top_k=-1)],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    frozen = sum(p.numel() for p in model.backbone.parameters())
    trained = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"fine-tuning {run}: task {args.task}, backbone of {start.key} frozen ({frozen:,} weights), new head of {trained:,} weights")
    trainer.fit(model, datamodule=data)
    accuracy = float(trainer.test(model, datamodule=data, verbose=False)[0]["test_acc"])
    print(f"test accuracy on {args.task}: {accuracy:.4f}")
    figures = report(client, run_id, start)
    if figures["checkpoints"]:
        first = figures["checkpoints"][0]["cid"]
        print(f"\nlineage of its first checkpoint (o3ml lineage {first} --depth 1):")
        print(client.lineage(first, "text", depth=1))
    if args.result is not None:
        args.result.write_text(json.dumps({"run": run, "run_id": run_id, "started_from": start.cid, "test_acc": accuracy, **figures}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
