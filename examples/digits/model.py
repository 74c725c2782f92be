"""``DigitsCNN``: a small convolutional classifier of 8×8 grey digit images.

A ``backbone`` (two convolutions and a 64-feature layer: nearly every weight) and a linear
``head`` that maps the features to classes. No dropout and no batch
statistics: with a fixed seed the only randomness is the initial weights and the data order, so
a run resumed from a checkpoint ends on exactly the weights of an uninterrupted one.
``examples/finetune`` freezes the backbone and trains a new head for another task.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
from torch import nn

FEATURES = 64


def image_and_label(sample: dict[str, Any]) -> tuple[torch.Tensor, int]:
    """A pushed sample (``png``: uint8 1×8×8, ``cls``: int) as the pair the model trains on."""
    return sample["png"].float().div_(255.0), sample["cls"]


class DigitsCNN(pl.LightningModule):
    """``frozen_backbone`` trains the head only (the backbone's weights stay as loaded)."""

    def __init__(self, classes: int = 10, lr: float = 5e-3, width: int = 16, frozen_backbone: bool = False) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.backbone = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 8×8 → 4×4
            nn.Flatten(),
            nn.Linear(2 * width * 16, FEATURES),
            nn.ReLU(),
        )
        self.head = nn.Linear(FEATURES, classes)
        if frozen_backbone:
            self.backbone.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))  # type: ignore[no-any-return]

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], index: int) -> torch.Tensor:
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y)
        self.log("train_loss", loss, on_step=True, on_epoch=False)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], index: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], index: int) -> None:
        self._evaluate(batch, "test")

    def _evaluate(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> None:
        x, y = batch
        logits = self(x)
        self.log(f"{stage}_loss", nn.functional.cross_entropy(logits, y), batch_size=len(y))
        self.log(f"{stage}_acc", (logits.argmax(1) == y).float().mean(), batch_size=len(y))

    def configure_optimizers(self) -> Any:
        # Only trainable parameters: a frozen backbone then has no optimizer state to save either.
        return torch.optim.Adam([p for p in self.parameters() if p.requires_grad], lr=self.hparams.lr)
