"""Resuming a run from O3: by name from any process, or from the newest checkpoint of a folder.

Lightning chooses what to restore before any callback hook runs, and the one public way in at
that moment is the ``ckpt_path`` of an ``OnExceptionCheckpoint``: ``fit(ckpt_path="last")``
takes the newest of those paths and of ``ModelCheckpoint``'s ``last.ckpt`` files, and a ``fit``
without ``ckpt_path`` asks for "last" by itself when such a callback is present. So
``O3ResumeCallback`` is an ``OnExceptionCheckpoint`` whose path is the newest committed
checkpoint of its run (or folder) on O3, looked up when Lightning asks; it saves nothing on an
exception and deletes nothing at teardown. ``ModelCheckpoint``'s own ``last.ckpt`` lookup does
not work for any remote ``dirpath`` (Lightning issue #18261: it drops the URL scheme), so
without this callback ``ckpt_path="last"`` starts fresh; ``O3CheckpointIO`` then says so.

Around the restore the callback also keeps what an exact resume needs beyond Lightning's own
state: the random number generators (saved with every checkpoint, restored before the first
resumed batch), and consistent loop counters (``_loop_progress``). It records
``trainer.callback_metrics`` with every checkpoint, for ``select_checkpoint(best=...)``.
"""

from __future__ import annotations

import logging
import posixpath
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import ModelCheckpoint, OnExceptionCheckpoint

from .._checkpoint_info import CheckpointInfo
from .._checkpoint_select import CheckpointPath, select_checkpoint
from .._checkpoints import latest_checkpoint, list_checkpoints
from .._client import O3Client
from .._errors import NotFoundError
from .._o3_url import object_key, service_bucket, url_of
from .._shared_client import shared_client
from . import _rng, _warning_filters
from ._checkpoint_io import O3CheckpointIO
from ._checkpoint_metadata import O3ML_ENTRY, scalar_metrics
from ._loop_progress import repair_checkpoint, repair_trainer, saved_at_epoch_end

log = logging.getLogger(__name__)

_LIVE_STATES = ("committed", "durable")
# Lightning's words when a fit without ckpt_path turns to "last" because of this callback: they
# speak of a missing model, which is not the case, and this callback logs what it resumes.
_IMPLICIT_LAST = _warning_filters.ignore(
    _warning_filters.exactly("`.fit(ckpt_path=None)` was called without a model. The last model of the previous `fit` call will be used.")
)
_NO_LAST = _warning_filters.exactly('.fit(ckpt_path="last") is set, but there is no last checkpoint available.')


def resolve_ckpt_path(run: str, *, prefix: str = "", client: O3Client | None = None, bucket: str | None = None) -> str | None:
    """``o3://<bucket>/<key>`` of the newest committed checkpoint of ``run``; None when it has none."""
    info = latest_checkpoint(client or shared_client(), run, prefix)
    return url_of(info.key, bucket or service_bucket()) if info is not None else None


class O3ResumeCallback(OnExceptionCheckpoint):
    """Resumes ``run`` from its newest committed checkpoint on O3 when ``fit`` starts, else starts it.

    ``run`` is a run name (or id): the run is found by name from any process and continued, and
    registered (with the module's hyperparameters) when it does not exist yet, so every process
    of the run saves under one identity. ``O3CheckpointIO`` without a ``run`` of its own saves
    under it. ``dirpath`` (``o3://<bucket>/<dir>``) instead resumes from the newest checkpoint
    under that folder, whatever its run. ``prefix`` narrows the candidates to keys under it.

    ``trainer.fit(model)`` and ``trainer.fit(model, ckpt_path="last")`` both resume; a path given
    as ``ckpt_path`` wins. ``resumed_from`` holds the checkpoint used, or None; starting fresh is
    logged once at WARNING. List it after the ``ModelCheckpoint`` callbacks: Lightning counts it
    as a checkpoint callback, and takes the first one as ``trainer.checkpoint_callback``.
    """

    def __init__(
        self,
        run: str | None = None,
        *,
        dirpath: str | None = None,
        prefix: str = "",
        client: O3Client | None = None,
        bucket: str | None = None,
    ) -> None:
        if run is None and dirpath is None:
            raise TypeError("name the run to resume, O3ResumeCallback(run='my-run'), or its folder, O3ResumeCallback(dirpath='o3://<bucket>/<dir>')")
        super().__init__(dirpath=dirpath or "o3://", filename="o3ml-resume")
        self.run = run
        self.folder = dirpath
        self.prefix = prefix
        self._client = client
        self.bucket = bucket
        #: The checkpoint this fit resumed from; None when it started fresh.
        self.resumed_from: CheckpointInfo | None = None
        #: The id the run's checkpoints are saved under, once known.
        self.run_id: str | None = None
        self._looked = False
        self._quiet_no_last: Any = None
        self._pending_rng: dict[str, Any] | None = None
        self._rng_before_data = False
        self._restored = False

    @property
    def client(self) -> O3Client:
        if self._client is None:
            self._client = shared_client()
        return self._client

    @property
    def ckpt_path(self) -> str | None:  # type: ignore[override]
        """The checkpoint to resume from, looked up once per fit when Lightning asks for it."""
        if not self._looked:
            self._looked = True
            self.resumed_from = self._newest()
            self._announce()
        info = self.resumed_from
        # Loaded by CID: a key saved over between this lookup and the load cannot swap checkpoints.
        return None if info is None else CheckpointPath(url_of(info.key, self._bucket()), info)

    # --- Lightning hooks -------------------------------------------------------------------

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self._quiet_no_last is not None:
            _warning_filters.lift(self._quiet_no_last)
            self._quiet_no_last = None
        if stage != "fit":
            return
        if self.run is not None and self.run_id is None:
            self.run_id = self._run_identity(pl_module)
        plugin = _o3_plugin(trainer)
        if plugin is not None:
            plugin.resume_considered = True
            if plugin.run is None and self.run_id is not None:
                plugin.run = self.run_id
        if not any(isinstance(c, ModelCheckpoint) for c in trainer.checkpoint_callbacks):
            log.warning("O3ResumeCallback: the Trainer has no ModelCheckpoint callback, so this run saves no checkpoint to resume from")
        elif trainer.checkpoint_callback is self:
            log.warning("O3ResumeCallback is listed before the ModelCheckpoint callbacks: trainer.checkpoint_callback is it, not them; list it after them")

    def on_load_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]) -> None:
        # Runs before Lightning restores its loops from this same dict.
        repair_checkpoint(checkpoint)
        entry = checkpoint.get(O3ML_ENTRY)
        self._pending_rng = entry.get("rng") if isinstance(entry, dict) else None
        # After an epoch's last batch the next batch starts a new epoch, whose dataloader iterator
        # draws from the generators first, as it did in the uninterrupted run: restore before the
        # fit loop makes that iterator. Mid-epoch, the uninterrupted run made none: restore after.
        self._rng_before_data = saved_at_epoch_end(checkpoint)
        self._restored = True

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._pending_rng is not None and self._rng_before_data:
            _rng.restore(self._pending_rng)
            self._pending_rng = None

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int) -> None:
        if self._pending_rng is not None:
            _rng.restore(self._pending_rng)
            self._pending_rng = None
        if self._restored:
            self._restored = False
            if repair_trainer(trainer):
                log.info("mended Lightning's epoch counters after its restart on an epoch's last batch")

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]) -> None:
        checkpoint[O3ML_ENTRY] = {"rng": _rng.capture(), "metrics": scalar_metrics(trainer.callback_metrics)}

    def on_exception(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        pass  # the newest committed checkpoint is what a resume wants, not a save from mid-failure

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        # Never delete the checkpoint resumed from (OnExceptionCheckpoint would); look again next fit.
        self._looked = False
        self._pending_rng = None
        self._restored = False

    # --- lookups ----------------------------------------------------------------------------

    def _newest(self) -> CheckpointInfo | None:
        if self.run is not None:
            try:
                return select_checkpoint(self.run, prefix=self.prefix, client=self.client, bucket=self._bucket()).info
            except NotFoundError:
                return None
        folder = object_key(self.folder or "", self._bucket(), f"the o3ml service at {self.client.address}").rstrip("/")
        under = posixpath.join(folder, self.prefix) if self.prefix else f"{folder}/"
        live = [c for c in list_checkpoints(self.client, None, under) if c.state in _LIVE_STATES]
        return max(live, key=lambda c: (c.created, c.step), default=None)

    def _announce(self) -> None:
        info = self.resumed_from
        what = f"run {self.run!r}" if self.run is not None else f"folder {self.folder}"
        if info is None:
            log.warning("no committed checkpoint of %s on O3 (service %s): training starts fresh", what, self.client.address)
            # Said once: Lightning's own words about save_last would follow and mislead.
            self._quiet_no_last = _warning_filters.ignore(_NO_LAST)
            return
        log.info(
            "resuming %s from %s (step %d, epoch %d, checkpoint %s)",
            what, url_of(info.key, self._bucket()), info.step, info.epoch, info.cid,
        )
        # Resuming into the folder it was saved in is expected, not worth Lightning's warning.
        folder = url_of(posixpath.dirname(info.key), self._bucket())
        _warning_filters.ignore(_warning_filters.exactly(f"Checkpoint directory {folder}") + r"/? exists and is not empty\.")

    def _run_identity(self, module: pl.LightningModule) -> str:
        """The id of ``run``: its registered run's, its own when only checkpoints name it, else a new run's."""
        assert self.run is not None
        try:
            return self.client.run(self.run).id
        except NotFoundError:
            pass
        if self.resumed_from is not None:
            return self.resumed_from.run  # checkpoints saved under a label no registration names
        hyperparameters = dict(module.hparams) if getattr(module, "hparams", None) else {}
        return self.client.register_run(self.run, hyperparameters)

    def _bucket(self) -> str:
        return self.bucket or service_bucket()


def _o3_plugin(trainer: pl.Trainer) -> O3CheckpointIO | None:
    """The Trainer's O3CheckpointIO, also when wrapped (Lightning's AsyncCheckpointIO)."""
    plugin: Any = trainer.strategy.checkpoint_io
    for _ in range(4):
        if isinstance(plugin, O3CheckpointIO):
            return plugin
        plugin = getattr(plugin, "checkpoint_io", None)
    return None
