"""``O3CheckpointIO``: Lightning's CheckpointIO plugin saving tensor-aware checkpoints to O3."""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Mapping
from typing import Any

import torch
from lightning.fabric.plugins.io.checkpoint_io import CheckpointIO
from lightning.fabric.utilities.types import _PATH

from .._checkpoint_codec import encode
from .._checkpoint_info import CheckpointInfo
from .._checkpoint_select import CheckpointPath
from .._checkpoints import checkpoint_header, load_checkpoint, upload_entries
from .._client import O3Client
from .._errors import FailedPreconditionError, NotFoundError, O3mlError, error_for_code
from .._o3_url import object_key, service_bucket, url_of
from .._retention import Retention
from .._shared_client import shared_client
from ._background import BackgroundUploads
from ._checkpoint_metadata import DATASET_LABEL, checkpoint_metrics, dataset_of, monitor_labels, monitored_metrics
from ._loop_progress import repair_checkpoint

log = logging.getLogger(__name__)

#: Content type of objects saved through the CheckpointService (anything else was put as bytes).
CHECKPOINT_CONTENT_TYPE = "application/vnd.o3ml.checkpoint"
_STORAGE_OPTIONS = frozenset({"run", "step", "epoch", "metrics", "dataset_cid", "parent_cid", "labels"})
# Kept under its old name: the metric each ModelCheckpoint monitors.
_monitored_metrics = monitored_metrics


class O3CheckpointIO(CheckpointIO):
    """Saves and loads Lightning checkpoints through the o3ml service, tensor-aware.

    Paths are ``o3://<bucket>/<key>`` (the bucket must be the service's) or plain keys. Every
    tensor storage is stored on its own, so a save uploads only the tensors that changed.
    ``run`` names the training run the checkpoints belong to: a registered run's name or id (a
    name is recorded as its run's id), or any label; by default the key's directory, so one
    ``ModelCheckpoint`` dirpath is one run (``O3ResumeCallback`` sets it to the run it resumes).
    ``client`` defaults to one configured from ``O3ML_SERVICE`` and ``O3ML_TOKEN``; ``bucket``
    to ``O3ML_BUCKET``.

    Each checkpoint records its step, epoch, metrics (all of ``trainer.callback_metrics`` when
    ``O3ResumeCallback`` is in the Trainer, else the monitored ones), the monitored metric and
    its mode (labels ``o3ml.monitor``, ``o3ml.mode``) and the dataset version (CID, and label
    ``o3ml.dataset``), all read from the checkpoint itself, so Lightning's ``AsyncCheckpointIO``
    wrapper keeps them. Loading mends Lightning's loop counters where a resumed process left them
    inconsistent (see ``_loop_progress``).

    With ``async_save`` a save blocks only while tensors are copied to host memory; the upload
    runs in a background thread, at most ``max_pending`` checkpoints at a time. A failed upload
    is raised by the next save or by ``teardown`` (end of fit). ``storage_options`` of
    ``trainer.save_checkpoint`` may override ``run``, ``step``, ``epoch``, ``metrics``,
    ``dataset_cid``, ``parent_cid`` and ``labels``.
    """

    def __init__(
        self,
        client: O3Client | None = None,
        *,
        run: str | None = None,
        bucket: str | None = None,
        async_save: bool = False,
        max_pending: int = 2,
        dataset_cid: str = "",
        labels: Mapping[str, str] | None = None,
        retention: Retention | None = None,
    ) -> None:
        self._client = client
        self.retention = retention
        self.run = run
        self.bucket = bucket or service_bucket()
        self.async_save = async_save
        self.dataset_cid = dataset_cid
        self.labels = dict(labels or {})
        self._uploads = BackgroundUploads(max_pending) if async_save else None
        self._run_ids: dict[str, str] = {}
        # Set once this plugin loaded a checkpoint or a resume callback looked for one: a first
        # save into a folder that already holds checkpoints is then no silent fresh start.
        self.resume_considered = False
        self._saved_any = False
        #: The info of the newest checkpoint this plugin committed.
        self.last_saved: CheckpointInfo | None = None

    @property
    def client(self) -> O3Client:
        if self._client is None:
            self._client = shared_client()
        return self._client

    def key(self, path: _PATH) -> str:
        return object_key(path, self.bucket, f"the o3ml service at {self.client.address}")

    def save_checkpoint(self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None) -> None:
        key = self.key(path)
        header = checkpoint_header(key, **self._metadata(checkpoint, key, storage_options))
        if not self._saved_any:
            self._saved_any = True
            self._warn_if_fresh_beside_others(key)
        if self._uploads is None:
            self._committed(upload_entries(self.client, header, encode(checkpoint)))
            return
        self._uploads.raise_error()
        self._uploads.reserve()
        try:
            entries = encode(checkpoint, snapshot=True)  # the only part the training loop waits for
        except BaseException:
            self._uploads.release()
            raise
        client = self.client
        self._uploads.submit(
            f"the upload of checkpoint {key!r}",
            lambda: self._committed(upload_entries(client, header, entries)),
            holds_slot=True,
        )

    def load_checkpoint(
        self, path: _PATH, map_location: Any | None = "cpu", weights_only: bool | None = None
    ) -> dict[str, Any]:
        """Loads to CPU by default, as Lightning's TorchCheckpointIO does; Lightning moves tensors later.

        A ``CheckpointPath`` (from ``select_checkpoint``) loads exactly its checkpoint, by CID. An
        object stored as plain bytes (a torch.save file put through ``o3://``) loads with torch.load.
        """
        if self._uploads is not None:
            self._uploads.wait()  # a checkpoint still uploading must be readable by its own writer
        self.resume_considered = True
        key = self.key(path)
        try:
            if isinstance(path, CheckpointPath):
                state = load_checkpoint(self.client, cid=path.info.cid, map_location=map_location, weights_only=weights_only)
            else:
                state = load_checkpoint(self.client, key, map_location=map_location, weights_only=weights_only)
        except FailedPreconditionError:
            if self.client.stat(key).content_type == CHECKPOINT_CONTENT_TYPE:
                raise
            with self.client.open(key) as file:
                state = torch.load(file, map_location=map_location, weights_only=weights_only)
        if repair_checkpoint(state):
            log.info("mended the epoch counters of %s that an earlier resumed process saved inconsistent", key)
        return state  # type: ignore[no-any-return]

    def remove_checkpoint(self, path: _PATH) -> None:
        key = self.key(path)
        if self._uploads is None:
            self._remove(key)
        else:
            # Queued behind the uploads, so a removal never overtakes the save of the same key.
            self._uploads.submit(f"the removal of checkpoint {key!r}", lambda: self._remove(key), holds_slot=False)

    def teardown(self) -> None:
        """Waits for background uploads and raises the first failure not raised yet."""
        if self._uploads is not None:
            self._uploads.close()

    def run_id(self, run: str) -> str:
        """The id checkpoints of ``run`` are recorded under: a registered run's id, else ``run`` itself."""
        if run not in self._run_ids:
            try:
                self._run_ids[run] = self.client.run(run).id
            except NotFoundError:
                self._run_ids[run] = run
        return self._run_ids[run]

    def _remove(self, key: str) -> None:
        try:
            self.client.delete(key)
        except NotFoundError:
            pass
        log.debug("removed checkpoint %s", key)

    def _committed(self, info: CheckpointInfo) -> None:
        self.last_saved = info
        log.debug(
            "checkpoint %s committed as %s: %d of %d bytes uploaded", info.key, info.cid, info.bytes_uploaded, info.bytes_total
        )
        if self.retention is not None:
            pruned = self.retention.apply(self.client, info.run)
            if pruned.removed:
                log.info("retention removed %d checkpoint(s) of run %s: %s", len(pruned.removed), info.run, ", ".join(c.key for c in pruned.removed))

    def _metadata(self, checkpoint: Any, key: str, storage_options: Any) -> dict[str, Any]:
        state = checkpoint if isinstance(checkpoint, Mapping) else {}
        folder = posixpath.dirname(key)
        dataset_cid, dataset = dataset_of(state)
        labels = {**monitor_labels(state, url_of(folder, self.bucket)), **({DATASET_LABEL: dataset} if dataset else {}), **self.labels}
        metadata: dict[str, Any] = {
            "run": self.run_id(self.run) if self.run else folder or "default",
            "step": int(state.get("global_step", 0)),
            "epoch": int(state.get("epoch", 0)),
            "metrics": checkpoint_metrics(state),
            "dataset_cid": self.dataset_cid or dataset_cid,
            "labels": labels,
        }
        if storage_options is not None:
            unknown = set(storage_options) - _STORAGE_OPTIONS if isinstance(storage_options, Mapping) else {storage_options}
            if unknown:
                raise error_for_code(
                    "INVALID_ARGUMENT",
                    f"O3CheckpointIO does not understand storage_options {sorted(map(str, unknown))}; "
                    f"it takes a dict with keys among {sorted(_STORAGE_OPTIONS)}",
                )
            metadata.update(storage_options)
        return metadata

    def _warn_if_fresh_beside_others(self, key: str) -> None:
        """Says so when a fit that resumed from nothing saves into a folder holding checkpoints.

        Lightning's ``ckpt_path="last"`` cannot see checkpoints on ``o3://`` (Lightning issue
        #18261) and then starts fresh with only a warning about ``save_last``; this names the
        cause and the fix, once per plugin.
        """
        if self.resume_considered:
            return
        folder = posixpath.dirname(key)
        try:
            earlier = [o for o in self.client.list(f"{folder}/" if folder else "") if o.content_type == CHECKPOINT_CONTENT_TYPE and o.key != key]
        except O3mlError as err:
            log.debug("could not list %s to check for earlier checkpoints: %s", folder, err)
            return
        if earlier:
            newest = max(earlier, key=lambda o: o.created)
            log.warning(
                "%s already holds %d checkpoint(s) (newest: %s) and this fit resumed from none of them: it started "
                "fresh and saves beside them. Lightning's ckpt_path=\"last\" cannot find checkpoints on o3:// "
                "(Lightning issue #18261); to resume, add O3ResumeCallback(run=...) or O3ResumeCallback(dirpath=...) "
                "to the Trainer's callbacks, or pass ckpt_path=select_checkpoint(...)",
                url_of(folder, self.bucket), len(earlier), url_of(newest.key, self.bucket),
            )
