"""The Python side of the parity matrix: the training workflows as a Lightning job runs them
(dataset stream, checkpoint save/load, kill-free resume), through the target's o3ml service.

Each check returns notes (pass) or raises; ``run_checks`` turns them into matrix cells. The
checkpoint saved twice under ``<prefix>/ckpt/last.ckpt`` leaves a superseded version behind for
the TypeScript side's ``o3ml gc`` row.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable
from typing import Any

import torch

from peer_base import Endpoint, Fixture
from repeats import describe

Check = Callable[[], str]


def cell(check: Check) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        notes = check()
        status = "pass"
    except Exception as err:  # noqa: BLE001 - a failing workflow is a row, not a crash
        status, notes = "fail", describe(err)
        traceback.print_exc()
    return {"status": status, "ms": (time.perf_counter() - start) * 1000, "notes": notes}


def _state(seed: int) -> dict[str, Any]:
    generator = torch.Generator().manual_seed(seed)
    return {
        "state_dict": {f"layer{i}.weight": torch.randn(256, 256, generator=generator) for i in range(8)},
        "global_step": seed,
        "epoch": 0,
    }


def run_checks(ep: Endpoint, fixture: Fixture) -> list[dict[str, Any]]:
    from o3ml import O3Client, O3ShardDataset
    from o3ml.lightning import O3CheckpointIO

    os.environ["O3ML_SERVICE"] = ep.service
    os.environ["O3ML_BUCKET"] = ep.bucket
    client = O3Client(ep.service)
    io = O3CheckpointIO(client, run=f"{ep.prefix}-run", bucket=ep.bucket)
    key = f"{ep.prefix}/ckpt/last.ckpt"

    def stream() -> str:
        dataset = O3ShardDataset(fixture.spec, split="train", client=client, shuffle_seed=1)
        count = sum(1 for _ in dataset)
        if count != fixture.samples:
            raise AssertionError(f"one epoch yielded {count} samples, {fixture.samples} were pushed")
        return f"{count} samples, shuffled, one epoch"

    def save() -> str:
        io.save_checkpoint(_state(1), key)
        io.save_checkpoint(_state(2), key)  # supersedes the first: what gc later collects
        info = io.last_saved
        return f"8 tensors, {info.bytes_total if info else '?'} bytes, saved twice (second supersedes)"

    def load() -> str:
        got = io.load_checkpoint(key, weights_only=True)
        want = _state(2)
        same = all(torch.equal(got["state_dict"][k], v) for k, v in want["state_dict"].items())
        if not same or got["global_step"] != 2:
            raise AssertionError("the loaded checkpoint differs from the newest save")
        return "newest version, every tensor equal"

    def resume() -> str:
        return _fit_and_resume(ep, client)

    checks = [
        ("dataset stream (O3ShardDataset)", "one shuffled epoch through the service, every shard verified", stream),
        ("checkpoint save (O3CheckpointIO)", "Lightning CheckpointIO plugin, tensor-aware", save),
        ("checkpoint load (O3CheckpointIO)", "newest version back, tensors compared", load),
        ("checkpoint resume (Lightning + O3ResumeCallback)", "fit 3 steps, then a new Trainer resumes from O3 to step 5", resume),
    ]
    rows = [{"workflow": name, "about": about, "cell": cell(check)} for name, about, check in checks]
    io.teardown()
    client.close()
    return rows


def _fit_and_resume(ep: Endpoint, client: Any) -> str:
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import ModelCheckpoint
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    from o3ml.lightning import O3CheckpointIO, O3ResumeCallback

    class Tiny(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Linear(16, 1)

        def training_step(self, batch: Any, index: int) -> torch.Tensor:
            x, y = batch
            return nn.functional.mse_loss(self.net(x), y)

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    data = DataLoader(TensorDataset(torch.randn(64, 16), torch.randn(64, 1)), batch_size=8)
    run = f"{ep.prefix}/fit"

    def trainer(max_steps: int, extra: list[pl.Callback]) -> pl.Trainer:
        return pl.Trainer(
            max_steps=max_steps,
            accelerator="cpu",
            devices=1,
            logger=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            plugins=[O3CheckpointIO(client, run=run, bucket=ep.bucket)],
            callbacks=[ModelCheckpoint(dirpath=f"o3://{ep.bucket}/{run}", every_n_train_steps=1, save_top_k=-1), *extra],
        )

    trainer(3, []).fit(Tiny(), data)
    resume = O3ResumeCallback(run, client=client, bucket=ep.bucket)
    second = trainer(5, [resume])
    second.fit(Tiny(), data)
    step = resume.resumed_from.step if resume.resumed_from else None
    if step != 3 or second.global_step != 5:
        raise AssertionError(f"resumed from step {step}, ended at {second.global_step} (expected 3 and 5)")
    return "resumed from step 3, finished at step 5"
