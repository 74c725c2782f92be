"""``O3StorageWriter``: torch.distributed.checkpoint saves to O3, one o3ml checkpoint per rank.

DCP plans a save on every rank, gathers the plans at the coordinator, has every rank write its
items, then has the coordinator write the metadata (see ``StorageWriter``). Here each rank
uploads its items as one o3ml checkpoint through the CheckpointService: a checkpoint's entries
are chunked one by one, so a tensor whose bytes did not change since any earlier save (of any
rank, any checkpoint) is stored already and costs no upload. A plain object put would chunk the
rank's whole file in fixed 8 MiB pieces instead, and a changed tensor would make every chunk it
touches, with the unchanged tensors sharing it, upload again. The layout is in ``_layout``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import os
import pickle
import uuid
from collections.abc import Mapping
from typing import Any

import torch
from torch.distributed.checkpoint.filesystem import CURRENT_DCP_VERSION
from torch.distributed.checkpoint.metadata import Metadata, StorageMeta
from torch.distributed.checkpoint.planner import SavePlan, SavePlanner, WriteItem, WriteItemType
from torch.distributed.checkpoint.storage import StorageWriter, WriteResult
from torch.futures import Future

from .._checkpoint_codec import dtype_name, encode
from .._checkpoint_info import CheckpointInfo
from .._checkpoints import checkpoint_header, upload_entries
from .._client import O3Client
from .._errors import FailedPreconditionError, NotFoundError, O3mlError, error_for_code
from .._o3_url import service_bucket
from ._layout import ItemLocation, checkpoint_key, data_key, metadata_key
from ._location import O3Location

__all__ = ["O3StorageWriter"]

log = logging.getLogger(__name__)

METADATA_CONTENT_TYPE = "application/vnd.o3ml.dcp-metadata"


@dataclasses.dataclass(frozen=True)
class _DataPrefix:
    """The name of a rank's data object in this save, without its suffix: ``__<rank>_<save>``."""

    prefix: str


class O3StorageWriter(O3Location, StorageWriter):
    """Writes ``dcp.save(state_dict, storage_writer=O3StorageWriter("o3://<bucket>/<dir>"))`` to O3.

    ``client`` defaults to one configured from ``O3ML_SERVICE`` and ``O3ML_TOKEN``; ``bucket`` to
    ``O3ML_BUCKET``. Each rank's data object is an o3ml checkpoint of run ``run`` (default: the
    checkpoint's folder key), with ``step`` and ``labels`` recorded; ``last_upload`` holds this
    rank's checkpoint info of the last save (None when the rank had nothing to write), whose
    ``bytes_uploaded`` says what the save cost. A ``checkpoint_id`` given to ``dcp.save`` replaces
    the one given here.
    """

    def __init__(
        self,
        checkpoint_id: str | os.PathLike[str] | None = None,
        *,
        client: O3Client | None = None,
        bucket: str | None = None,
        run: str | None = None,
        step: int = 0,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self._client = client
        self.bucket = bucket or service_bucket()
        self.run = run
        self.step = step
        self.labels = dict(labels or {})
        self.key: str | None = None
        self.rank = 0
        self.is_coordinator = True
        self.use_collectives = True
        self.last_upload: CheckpointInfo | None = None
        self.reset(checkpoint_id)

    def reset(self, checkpoint_id: str | os.PathLike[str] | None = None) -> None:
        if checkpoint_id is not None:
            self.key = checkpoint_key(checkpoint_id, self.bucket)
        self.save_id = uuid.uuid4().hex[:12]

    def set_up_storage_writer(self, is_coordinator: bool, *args: Any, **kwargs: Any) -> None:
        self.is_coordinator = is_coordinator
        self.rank = int(kwargs.get("rank") or 0)
        self.use_collectives = bool(kwargs.get("use_collectives", True))
        self.last_upload = None

    def storage_meta(self) -> StorageMeta | None:
        return StorageMeta(checkpoint_id=self.checkpoint_id, save_id=self.save_id)

    def prepare_local_plan(self, plan: SavePlan) -> SavePlan:
        self._folder()
        if not self.use_collectives:
            # No coordinator names the objects: each rank names its own, with its own save id.
            plan = dataclasses.replace(plan, storage_data=_DataPrefix(f"__{self.rank}_{self.save_id}"))
        return plan

    def prepare_global_plan(self, plans: list[SavePlan]) -> list[SavePlan]:
        # One save id, the coordinator's, for every rank's object of this save.
        return [
            plan if plan.storage_data is not None else dataclasses.replace(plan, storage_data=_DataPrefix(f"__{rank}_{self.save_id}"))
            for rank, plan in enumerate(plans)
        ]

    def write_data(self, plan: SavePlan, planner: SavePlanner) -> Future[list[WriteResult]]:
        results: list[WriteResult] = []
        if plan.items:
            results = self._upload(data_key(self._folder(), plan.storage_data.prefix), plan.items, planner)
        future: Future[list[WriteResult]] = Future()
        future.set_result(results)
        return future

    def finish(self, metadata: Metadata, results: list[list[WriteResult]]) -> None:
        """Writes the metadata (the commit point), then removes the objects of the save it replaced."""
        metadata.version = CURRENT_DCP_VERSION
        metadata.storage_data = {result.index: result.storage_data for rank in results for result in rank}
        metadata.storage_meta = self.storage_meta()
        key = metadata_key(self._folder(), None if self.use_collectives else self.rank)
        replaced = self._objects_named_by(key)
        self.client.put(key, pickle.dumps(metadata), content_type=METADATA_CONTENT_TYPE)
        named = {location.key for location in metadata.storage_data.values()}
        for old in sorted(replaced - named):
            try:
                self.client.delete(old)
            except O3mlError as err:
                log.warning("the checkpoint at %s was saved; its previous data object %s could not be removed: %s", self.checkpoint_id, old, err)

    # --- helpers ----------------------------------------------------------------------------

    def _folder(self) -> str:
        if self.key is None:
            raise error_for_code(
                "INVALID_ARGUMENT",
                "O3StorageWriter has no checkpoint to write: give it o3://<bucket>/<dir>, or pass checkpoint_id to dcp.save",
            )
        return self.key

    def _upload(self, key: str, items: list[WriteItem], planner: SavePlanner) -> list[WriteResult]:
        names, tensors = [], []
        owners: set[int] = set()
        for item in items:
            tensor = _payload(item, planner.resolve_data(item))
            storage = tensor.untyped_storage()._cdata
            if storage in owners:
                tensor = tensor.clone()  # each item must own its storage, so it gets its own entry
            owners.add(tensor.untyped_storage()._cdata)
            names.append(_item_name(item))
            tensors.append(tensor)
        entries = encode(dict(zip(names, tensors, strict=True)))
        storages = entries[1:]
        if len(storages) != len(tensors) or any(e.nbytes != t.nbytes for e, t in zip(storages, tensors, strict=True)):
            raise error_for_code("INTERNAL", f"the items of {key} did not encode to one storage each; please report this")
        header = checkpoint_header(
            key, run=self.run or self._folder(), step=self.step, labels={**self.labels, "o3ml.dcp.rank": str(self.rank)}
        )
        info = upload_entries(self.client, header, entries)
        self.last_upload = info
        results, offset = [], entries[0].nbytes
        for item, tensor, entry in zip(items, tensors, storages, strict=True):
            shape = None if item.type == WriteItemType.BYTE_IO else tuple(tensor.shape)
            location = ItemLocation(
                key, info.cid, offset, entry.nbytes, dtype_name(tensor.dtype), shape, hashlib.sha256(entry.data).hexdigest()
            )
            results.append(WriteResult(index=item.index, size_in_bytes=entry.nbytes, storage_data=location))
            offset += entry.nbytes
        return results

    def _objects_named_by(self, key: str) -> set[str]:
        """The data objects the metadata now at ``key`` names (none when there is none, or it is not ours)."""
        try:
            old = pickle.loads(self.client.get(key))
        except NotFoundError:
            return set()
        except Exception as err:  # a foreign or damaged file: leave whatever it names alone
            log.warning("the previous metadata at %s could not be read (%s); its data objects are left in place", key, err)
            return set()
        locations = getattr(old, "storage_data", None)
        if not isinstance(locations, dict):
            return set()
        return {loc.key for loc in locations.values() if isinstance(loc, ItemLocation)}


def _payload(item: WriteItem, data: Any) -> torch.Tensor:
    """The bytes of one item as a CPU tensor owning exactly its storage."""
    if item.type == WriteItemType.BYTE_IO:
        raw = data.getbuffer() if isinstance(data, io.BytesIO) else memoryview(data)
        return torch.frombuffer(bytearray(raw), dtype=torch.uint8) if raw.nbytes else torch.empty(0, dtype=torch.uint8)
    if not isinstance(data, torch.Tensor):
        raise FailedPreconditionError(f"the planner resolved {item.index.fqn} to a {type(data).__name__}, not a tensor")
    tensor = data.detach()
    if tensor.device.type != "cpu":
        tensor = tensor.cpu()
    # A view (a shard of a bigger tensor, a transposed weight) is saved as its own compact bytes.
    if not tensor.is_contiguous() or tensor.storage_offset() != 0 or tensor.untyped_storage().nbytes() != tensor.nbytes:
        tensor = tensor.clone(memory_format=torch.contiguous_format)
    return tensor


def _item_name(item: WriteItem) -> str:
    offset = item.index.offset
    return item.index.fqn if offset is None else f"{item.index.fqn}@{','.join(map(str, offset))}"
