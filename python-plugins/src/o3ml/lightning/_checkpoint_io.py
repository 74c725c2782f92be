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
from .._checkpoints import checkpoint_header, load_checkpoint, upload_entries
from .._client import O3Client
from .._errors import FailedPreconditionError, NotFoundError, error_for_code
from .._o3_url import object_key, service_bucket
from .._shared_client import shared_client
from ._background import BackgroundUploads

log = logging.getLogger(__name__)

#: Content type of objects saved through the CheckpointService (anything else was put as bytes).
CHECKPOINT_CONTENT_TYPE = "application/vnd.o3ml.checkpoint"
_STORAGE_OPTIONS = frozenset({"run", "step", "epoch", "metrics", "dataset_cid", "parent_cid", "labels"})


class O3CheckpointIO(CheckpointIO):
    """Saves and loads Lightning checkpoints through the o3ml service, tensor-aware.

    Paths are ``o3://<bucket>/<key>`` (the bucket must be the service's) or plain keys. Every
    tensor storage is stored on its own, so a save uploads only the tensors that changed.
    ``run`` names the training run the checkpoints belong to (default: the key's directory, so
    one ``ModelCheckpoint`` dirpath is one run). ``client`` defaults to one configured from
    ``O3ML_SERVICE`` and ``O3ML_TOKEN``; ``bucket`` to ``O3ML_BUCKET``.

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
    ) -> None:
        self._client = client
        self.run = run
        self.bucket = bucket or service_bucket()
        self.async_save = async_save
        self.dataset_cid = dataset_cid
        self.labels = dict(labels or {})
        self._uploads = BackgroundUploads(max_pending) if async_save else None
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

        An object stored as plain bytes (a torch.save file put through ``o3://``) loads with torch.load.
        """
        if self._uploads is not None:
            self._uploads.wait()  # a checkpoint still uploading must be readable by its own writer
        key = self.key(path)
        try:
            return load_checkpoint(self.client, key, map_location=map_location, weights_only=weights_only)  # type: ignore[no-any-return]
        except FailedPreconditionError:
            if self.client.stat(key).content_type == CHECKPOINT_CONTENT_TYPE:
                raise
        with self.client.open(key) as file:
            return torch.load(file, map_location=map_location, weights_only=weights_only)  # type: ignore[no-any-return]

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

    def _metadata(self, checkpoint: Any, key: str, storage_options: Any) -> dict[str, Any]:
        state = checkpoint if isinstance(checkpoint, Mapping) else {}
        metadata: dict[str, Any] = {
            "run": self.run or posixpath.dirname(key) or "default",
            "step": int(state.get("global_step", 0)),
            "epoch": int(state.get("epoch", 0)),
            "metrics": _monitored_metrics(state),
            "dataset_cid": self.dataset_cid,
            "labels": self.labels,
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


def _monitored_metrics(checkpoint: Mapping[str, Any]) -> dict[str, float]:
    """The metric each ModelCheckpoint monitors, with the value it had for this save."""
    metrics: dict[str, float] = {}
    callbacks = checkpoint.get("callbacks")
    for state in callbacks.values() if isinstance(callbacks, Mapping) else ():
        if isinstance(state, Mapping) and isinstance(state.get("monitor"), str):
            score = state.get("current_score")
            if isinstance(score, (torch.Tensor, int, float)) and not isinstance(score, bool):
                metrics[state["monitor"]] = float(score)
    return metrics
