"""A 2-process DDP job (CPU, gloo) the DDP test starts, kills with SIGKILL mid-epoch, and resumes.

Lightning's ``strategy="ddp"`` starts rank 1 itself by running this script again. Each rank reads
an ``O3DataModule`` with 2 workers and appends one JSON line per training batch to
``<records>/rank<r>.jsonl``: the job's label, epoch, global step, sample keys and the worker that
read each sample. It also writes a ``start`` line (the checkpoint it resumed from) and, when fit
ends, an ``end`` line (the checkpoint this rank saved last, if any). Checkpoints go to O3 through
``O3CheckpointIO`` every ``--every`` steps; ``O3ResumeCallback`` resumes the run. With
``--stall-at N`` each rank prints ``STALLED <rank>`` after step N and waits to be killed. With
``--hold <file>`` rank 0 resolves the dataset before it starts rank 1, prints ``RESOLVED``, and
waits for ``<file>`` to exist (the test pushes a newer version meanwhile, which rank 1, started
after, resolves on its own).

Lightning and torch are imported inside ``main``: the data-loader fork server imports this module
once more (it holds the ``transform``), and that import stays cheap.
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


def say(line: str) -> None:
    # One write of the whole line: both ranks print to the same pipe.
    os.write(sys.stdout.fileno(), f"{line}\n".encode())


def tag_worker(sample: dict[str, Any]) -> dict[str, Any]:
    """The sample's key and the data-loader worker that read it."""
    from torch.utils.data import get_worker_info

    info = get_worker_info()
    return {"key": sample["__key__"], "worker": info.id if info is not None else -1}


def main() -> None:
    import lightning.pytorch as pl
    import torch
    from lightning.pytorch.callbacks import ModelCheckpoint

    from o3ml.lightning import O3CheckpointIO, O3DataModule, O3ResumeCallback

    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--dirpath", required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--records", required=True)
    parser.add_argument("--label", required=True)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--every", type=int, default=3)
    parser.add_argument("--stall-at", type=int, default=0)
    parser.add_argument("--hold", default="")
    args = parser.parse_args()
    # What O3DataModule says about the version each rank reads, for the test to see.
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("o3ml.lightning").setLevel(logging.INFO)

    def record(trainer: pl.Trainer, **fields: Any) -> None:
        with open(Path(args.records) / f"rank{trainer.global_rank}.jsonl", "a") as f:
            f.write(json.dumps({"job": args.label, "rank": trainer.global_rank, **fields}) + "\n")

    class Model(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(1, 1)

        def training_step(self, batch: dict[str, Any], index: int) -> torch.Tensor:
            record(
                self.trainer, event="batch", epoch=self.current_epoch, step=self.global_step,
                keys=list(batch["key"]), workers=[int(w) for w in batch["worker"]],
            )
            x = torch.ones(len(batch["key"]), 1)
            return torch.nn.functional.mse_loss(self.layer(x), x)

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    resume = O3ResumeCallback(run=args.run)
    plugin = O3CheckpointIO()

    class Report(pl.Callback):
        def on_train_start(self, trainer: pl.Trainer, module: Any) -> None:
            info = resume.resumed_from
            record(
                trainer, event="start", resumed_from=info.cid if info else None, resumed_step=info.step if info else None,
                dataset_cid=data.dataset_cid,
            )

        def on_train_batch_end(self, trainer: pl.Trainer, *_: Any) -> None:
            if trainer.global_step == args.stall_at:
                say(f"STALLED {trainer.global_rank}")
                while True:
                    time.sleep(1)

        def on_train_end(self, trainer: pl.Trainer, module: Any) -> None:
            record(trainer, event="end", saved=plugin.last_saved.key if plugin.last_saved else None)

    trainer = pl.Trainer(
        accelerator="cpu",
        devices=2,
        strategy="ddp",
        max_epochs=args.epochs,
        plugins=[plugin],
        callbacks=[ModelCheckpoint(dirpath=args.dirpath, every_n_train_steps=args.every, save_top_k=-1, filename="{step}"), resume, Report()],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    data = O3DataModule(args.dataset, batch_size=3, num_workers=2, shuffle_seed=4, shuffle_buffer=6, decode=None, transform=tag_worker)
    if args.hold and "LOCAL_RANK" not in os.environ:  # rank 0, before fit starts rank 1
        say(f"RESOLVED {data.dataset_cid}")
        while not os.path.exists(args.hold):
            time.sleep(0.1)
    trainer.fit(Model(), datamodule=data)
    say(f"DONE {trainer.global_rank}")


if __name__ == "__main__":
    main()
