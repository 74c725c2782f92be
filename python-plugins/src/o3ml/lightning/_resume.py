"""Resuming a run from its newest committed checkpoint on O3.

Lightning decides what to restore before any callback hook runs with a ``ckpt_path`` a callback
could change, so there are two ways in:

- ``trainer.fit(model, ckpt_path=resolve_ckpt_path("my-run"))``: public API only;
- ``O3ResumeCallback("my-run")``: in its ``setup`` hook (stage "fit") it loads the checkpoint
  into the trainer's checkpoint connector. Lightning's restore, which runs right after ``setup``
  with no ``ckpt_path``, then restores model, callbacks, loops and optimizers from it exactly as
  for ``fit(ckpt_path=...)``. A ``ckpt_path`` passed to ``fit`` still wins over it.

Both need the trainer to read checkpoints with ``O3CheckpointIO``. Lightning's own
``ckpt_path="last"`` cannot find checkpoints under any remote ``dirpath`` (Lightning issue
#18261: ``_find_last_checkpoints`` drops the URL scheme), which is why these exist.
"""

from __future__ import annotations

import logging
import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback

from .._checkpoint_info import CheckpointInfo
from .._checkpoints import latest_checkpoint
from .._client import O3Client
from .._o3_url import service_bucket, url_of
from .._shared_client import shared_client

log = logging.getLogger(__name__)


def resolve_ckpt_path(run: str, *, prefix: str = "", client: O3Client | None = None, bucket: str | None = None) -> str | None:
    """``o3://<bucket>/<key>`` of the newest committed checkpoint of ``run``; None when it has none."""
    info = latest_checkpoint(client or shared_client(), run, prefix)
    return url_of(info.key, bucket or service_bucket()) if info is not None else None


class O3ResumeCallback(Callback):
    """At the start of ``fit``, resumes ``run`` from its newest committed checkpoint on O3, if any.

    ``run`` is the run name the checkpoints were saved under (``O3CheckpointIO(run=...)``, by
    default the checkpoint directory's key, e.g. ``"runs/r1/ckpts"``); ``prefix`` narrows the
    candidates to keys starting with it. ``resumed_from`` holds the checkpoint used, or None.
    """

    def __init__(self, run: str, *, prefix: str = "", client: O3Client | None = None, bucket: str | None = None) -> None:
        self.run = run
        self.prefix = prefix
        self._client = client
        self.bucket = bucket
        self.resumed_from: CheckpointInfo | None = None

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        info = latest_checkpoint(self._client or shared_client(), self.run, self.prefix)
        self.resumed_from = info
        if info is None:
            log.info("no committed checkpoint of run %r on O3: training starts fresh", self.run)
            return
        url = url_of(info.key, self.bucket or service_bucket())
        log.info("resuming run %r from %s (step %d, epoch %d, checkpoint %s)", self.run, url, info.step, info.epoch, info.cid)
        trainer._checkpoint_connector.resume_start(url)
