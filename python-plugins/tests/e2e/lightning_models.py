"""Small, deterministic Lightning models and data for the checkpoint tests (CPU, seconds per fit)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from servers import S3Endpoint, Service, start_service
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

BATCH = 16
SAMPLES = 256  # 16 steps per epoch


class Regressor(pl.LightningModule):
    """A tanh MLP; ``frozen`` freezes the backbone so only the head (and its Adam state) train.

    With ``step_data`` each batch is made from the global step instead of read from the loader.
    Lightning restarts a plain DataLoader from its first batch on resume (only stateful loaders
    resume mid-stream), so a bitwise resume test needs data that depends on the step alone.
    """

    def __init__(self, width: int = 32, depth: int = 2, frozen: bool = False, lr: float = 0.01, step_data: bool = False) -> None:
        super().__init__()
        self.save_hyperparameters()
        layers: list[nn.Module] = []
        for _ in range(depth):
            layers += [nn.Linear(width, width), nn.Tanh()]
        self.backbone = nn.Sequential(*layers)
        self.head = nn.Linear(width, 1)
        if frozen:
            self.backbone.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(self.backbone(x))
        return out

    def training_step(self, batch: Any, index: int) -> torch.Tensor:
        x, y = step_batch(self.global_step, self.hparams["width"]) if self.hparams["step_data"] else batch
        loss = nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss, on_step=True, on_epoch=False)
        return loss

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.Adam([p for p in self.parameters() if p.requires_grad], lr=self.hparams["lr"])
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=50, gamma=0.5)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def samples(count: int, width: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(count, width, generator=generator)
    y = x[:, :1] * 0.5 - x[:, 1:2] ** 2 + 0.1 * torch.randn(count, 1, generator=generator)
    return x, y


def step_batch(step: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    return samples(BATCH, width, seed=1_000_000 + step)


def loader(width: int = 32, seed: int = 0) -> DataLoader[tuple[torch.Tensor, ...]]:
    return DataLoader(TensorDataset(*samples(SAMPLES, width, seed)), batch_size=BATCH, shuffle=False)


def trainer(**options: Any) -> pl.Trainer:
    # Only the tests' own ModelCheckpoint saves: Lightning's default one would write to the cwd.
    checkpointing = any(isinstance(c, ModelCheckpoint) for c in options.get("callbacks", []))
    defaults: dict[str, Any] = dict(
        enable_checkpointing=checkpointing,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        deterministic=True,
        num_sanity_val_steps=0,
    )
    return pl.Trainer(**{**defaults, **options})


def seeded(seed: int = 7) -> None:
    pl.seed_everything(seed, workers=True, verbose=False)
    torch.use_deterministic_algorithms(True)


@contextmanager
def moto_service(moto: S3Endpoint, factory: Any) -> Iterator[Service]:
    # Lightning tests exercise the Python plugin, not the S3 server behind the service: one
    # server (moto) is enough, and the conformance of both servers is covered elsewhere.
    service = start_service(moto, factory.mktemp("o3ml-lightning-home"), factory.mktemp("o3ml-lightning-logs"))
    try:
        yield service
    finally:
        service.stop()


def service_env(service: Service) -> dict[str, str]:
    return {"O3ML_SERVICE": service.address, "O3ML_BUCKET": service.bucket}


def unique_dir(service: Service, name: str) -> tuple[str, str]:
    """(``o3://bucket/<dir>``, ``<dir>``) for one test; ``<dir>`` is also the default run name."""
    key = f"tests/lightning/{name}-{uuid.uuid4().hex[:8]}"
    return f"o3://{service.bucket}/{key}", key


def set_env(env: dict[str, str]) -> None:
    os.environ.update(env)
