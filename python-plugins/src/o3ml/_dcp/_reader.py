"""``O3StorageReader``: torch.distributed.checkpoint loads from O3, with any number of ranks.

DCP plans which parts of which saved items each rank needs (resharding included: a tensor saved
as two shards loads whole into one rank, or as other shards into other ranks) and asks the
reader for them. The reader reads only those items' bytes: ranged reads of the ranks' data
objects, neighbouring items merged into one read of at most ``SPAN_BYTES``, a few reads ahead of
the copying. Every read checks that the object is still the version the metadata names and that
each item's bytes hash to the digest the writer recorded, before any of them is used.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import grpc
import torch
from torch.distributed._shard._utils import narrow_tensor_by_index
from torch.distributed.checkpoint.metadata import Metadata, MetadataIndex, StorageMeta
from torch.distributed.checkpoint.planner import LoadItemType, LoadPlan, LoadPlanner, ReadItem
from torch.distributed.checkpoint.storage import StorageReader
from torch.futures import Future

from .._client import O3Client
from .._errors import FailedPreconditionError, IntegrityError, NotFoundError, error_for_code
from .._o3_url import service_bucket
from .._retry import Retrying
from ..gen import object_service_pb2 as pb
from ..gen import object_service_pb2_grpc
from ._layout import ItemLocation, checkpoint_key, metadata_key
from ._location import O3Location

__all__ = ["O3StorageReader"]

#: Largest read: neighbouring items are fetched together up to this many bytes.
SPAN_BYTES = 64 * 1024 * 1024
# Unneeded bytes between two needed items that are still read through rather than skipped.
_GAP_BYTES = 1024 * 1024
_READS_AHEAD = 2


@dataclass
class _Span:
    """One ranged read of a data object, and the items it holds."""

    key: str
    cid: str
    offset: int
    end: int
    items: list[tuple[ItemLocation, ReadItem]] = field(default_factory=list)


class O3StorageReader(O3Location, StorageReader):
    """Reads ``dcp.load(state_dict, storage_reader=O3StorageReader("o3://<bucket>/<dir>"))`` from O3.

    ``client`` defaults to one configured from ``O3ML_SERVICE`` and ``O3ML_TOKEN``; ``bucket`` to
    ``O3ML_BUCKET``. Reads checkpoints written by ``O3StorageWriter``.
    """

    def __init__(self, checkpoint_id: str | os.PathLike[str] | None = None, *, client: O3Client | None = None, bucket: str | None = None) -> None:
        super().__init__()
        self._client = client
        self.bucket = bucket or service_bucket()
        self.key: str | None = None
        self.storage_data: dict[MetadataIndex, ItemLocation] = {}
        self.reset(checkpoint_id)

    def reset(self, checkpoint_id: str | os.PathLike[str] | None = None) -> None:
        self.storage_data = {}
        if checkpoint_id is not None:
            self.key = checkpoint_key(checkpoint_id, self.bucket)
        self.load_id = uuid.uuid4().hex[:12]

    def read_metadata(self, *args: Any, **kwargs: Any) -> Metadata:
        key = metadata_key(self._folder(), kwargs.get("rank"))
        try:
            data = self.client.get(key)
        except NotFoundError:
            raise NotFoundError(
                f"there is no distributed checkpoint at {self.checkpoint_id}: {key} is missing (a save writes it last, "
                "so a save that did not finish leaves none)",
                {"key": key},
            ) from None
        metadata = pickle.loads(data)  # as torch's own readers do: load checkpoints you trust
        if not isinstance(metadata, Metadata):
            raise FailedPreconditionError(f"{key} holds a {type(metadata).__name__}, not the metadata of a distributed checkpoint", {"key": key})
        if metadata.storage_meta is None:
            metadata.storage_meta = StorageMeta()
        metadata.storage_meta.load_id = self.load_id
        return metadata

    def set_up_storage_reader(self, metadata: Metadata, is_coordinator: bool, *args: Any, **kwargs: Any) -> None:
        foreign = [type(v).__name__ for v in (metadata.storage_data or {}).values() if not isinstance(v, ItemLocation)]
        if foreign or metadata.storage_data is None:
            raise FailedPreconditionError(
                f"the checkpoint at {self.checkpoint_id} was not written by O3StorageWriter (its items are described by "
                f"{sorted(set(foreign)) or 'nothing'}); read it with the reader of the writer that saved it",
            )
        self.storage_data = metadata.storage_data

    def prepare_local_plan(self, plan: LoadPlan) -> LoadPlan:
        return plan

    def prepare_global_plan(self, plans: list[LoadPlan]) -> list[LoadPlan]:
        return plans

    def read_data(self, plan: LoadPlan, planner: LoadPlanner) -> Future[None]:
        for span, data in self._fetched(_spans([(self.storage_data[item.storage_index], item) for item in plan.items])):
            for location, item in span.items:
                view = memoryview(data)[location.offset - span.offset : location.offset - span.offset + location.length]
                if hashlib.sha256(view).hexdigest() != location.sha256:
                    raise IntegrityError(
                        f"item {item.storage_index.fqn} of the checkpoint at {self.checkpoint_id} ({location.key}, bytes "
                        f"{location.offset}-{location.offset + location.length}) does not hash to the digest its writer "
                        "recorded; nothing of it was loaded: run `o3ml ckpt verify` on that object",
                        {"key": location.key, "cid": location.cid},
                    )
                if item.type == LoadItemType.BYTE_IO:
                    planner.load_bytes(item, io.BytesIO(view))
                else:
                    _copy_tensor(planner, item, location, view)
        future: Future[None] = Future()
        future.set_result(None)
        return future

    # --- helpers ----------------------------------------------------------------------------

    def _folder(self) -> str:
        if self.key is None:
            raise error_for_code(
                "INVALID_ARGUMENT",
                "O3StorageReader has no checkpoint to read: give it o3://<bucket>/<dir>, or pass checkpoint_id to dcp.load",
            )
        return self.key

    def _fetched(self, spans: list[_Span]) -> Iterator[tuple[_Span, bytearray]]:
        """Each span with its bytes, in order, fetched a few spans ahead of the caller."""
        retrying = Retrying(self.client.address, lambda: None)
        with ThreadPoolExecutor(_READS_AHEAD, thread_name_prefix="o3ml-dcp-read") as pool:
            pending = [pool.submit(retrying.call, f"read {s.key}", lambda s=s: self._read(s)) for s in spans[:_READS_AHEAD]]
            for index, span in enumerate(spans):
                data = pending.pop(0).result()
                if index + _READS_AHEAD < len(spans):
                    ahead = spans[index + _READS_AHEAD]
                    pending.append(pool.submit(retrying.call, f"read {ahead.key}", lambda s=ahead: self._read(s)))
                yield span, data

    def _read(self, span: _Span) -> bytearray:
        """One try at the bytes of ``span``; raises ``grpc.RpcError`` for the caller to retry."""
        data = bytearray(span.end - span.offset)
        request = pb.GetRequest(key=span.key, offset=span.offset, length=len(data))
        conn = self.client.connection
        stream = conn.stub(object_service_pb2_grpc.ObjectServiceStub).Get(request, metadata=conn.metadata, timeout=conn.timeout)
        received = 0
        try:
            for message in stream:
                if message.WhichOneof("msg") == "info":
                    if message.info.cid != span.cid:
                        raise FailedPreconditionError(
                            f"{span.key} was saved over after the checkpoint at {self.checkpoint_id} was written (it is "
                            f"{message.info.cid} now, the checkpoint names {span.cid}); that checkpoint cannot be loaded any more",
                            {"key": span.key, "cid": span.cid},
                        )
                    continue
                chunk = message.data
                if received + len(chunk) > len(data):
                    raise IntegrityError(f"the service sent more of {span.key} than the {len(data)} bytes asked for", {"key": span.key})
                data[received : received + len(chunk)] = chunk
                received += len(chunk)
        except grpc.RpcError:
            raise
        except BaseException:
            stream.cancel()
            raise
        if received != len(data):
            raise IntegrityError(f"the service sent {received} of the {len(data)} bytes asked for of {span.key}", {"key": span.key})
        return data


def _spans(wanted: list[tuple[ItemLocation, ReadItem]]) -> list[_Span]:
    """The reads that fetch every wanted item: per object, neighbours merged up to ``SPAN_BYTES``."""
    spans: list[_Span] = []
    for location, item in sorted(wanted, key=lambda pair: (pair[0].key, pair[0].offset)):
        end = location.offset + location.length
        last = spans[-1] if spans else None
        if (
            last is not None
            and last.key == location.key
            and location.offset - last.end <= _GAP_BYTES
            and max(end, last.end) - last.offset <= SPAN_BYTES
        ):
            last.end = max(last.end, end)
        else:
            last = _Span(location.key, location.cid, location.offset, end)
            spans.append(last)
        last.items.append((location, item))
    return spans


def _copy_tensor(planner: LoadPlanner, item: ReadItem, location: ItemLocation, view: memoryview) -> None:
    dtype = getattr(torch, location.dtype, None)
    if not isinstance(dtype, torch.dtype) or location.shape is None:
        raise FailedPreconditionError(f"item {item.storage_index.fqn} names dtype {location.dtype!r}, which this torch does not know")
    saved = torch.frombuffer(view, dtype=dtype) if location.length else torch.empty(0, dtype=dtype)
    saved = narrow_tensor_by_index(saved.reshape(location.shape), item.storage_offsets, item.lengths)
    target = planner.resolve_tensor(item).detach()
    if target.size() != saved.size():
        raise FailedPreconditionError(
            f"item {item.storage_index.fqn}: the checkpoint holds a {tuple(saved.size())} part where the state dict "
            f"expects {tuple(target.size())}",
        )
    target.copy_(saved)
    planner.commit_tensor(item, target)
