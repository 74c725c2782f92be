"""Checkpoint codec: a checkpoint (any picklable structure holding tensors) <-> entries.

The scheme is torch.save's own: the structure is pickled with a ``persistent_id`` that replaces
every tensor storage by ``("storage", storage_type, key, location, numel)``. Tensors pickle through
their own ``__reduce_ex__`` (``torch._utils._rebuild_tensor_v2``), so views, strides, storage
offsets and storages shared between tensors survive as they do with torch.save. The result is

- one SKELETON entry named ``data.pkl``: the pickled structure, byte for byte what torch.save
  writes as ``data.pkl``;
- one STORAGE entry per distinct storage, named by its key (``"0"``, ``"1"``...), whose bytes
  are the storage's own memory: a read-only view, not a copy.

Because the layout is torch.save's, the service lays the entries out as a torch.load-able zip
(its archive view; see ``_checkpoint_archive``). Loading builds each storage in memory this module allocates for it (the
bytes are received straight into it) and places it like torch.load does for ``map_location``.
"""

from __future__ import annotations

import io
import pickle
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

import torch
import torch.serialization as ts

from ._errors import O3mlError, error_for_code
from .gen import manifest_pb2

SKELETON_NAME = "data.pkl"
SKELETON = manifest_pb2.SKELETON
STORAGE = manifest_pb2.STORAGE
# torch.save's protocol: torch.load's weights-only unpickler is written for it.
PICKLE_PROTOCOL = ts.DEFAULT_PROTOCOL

# What torch.load takes as map_location, as torch types it.
MapLocation = ts.MAP_LOCATION


@dataclass(frozen=True)
class Entry:
    """One entry of an encoded checkpoint; ``data`` is a flat, read-only byte view."""

    name: str
    kind: manifest_pb2.EntryKind
    dtype: str
    data: memoryview

    @property
    def nbytes(self) -> int:
        return self.data.nbytes


def encode(checkpoint: Any, *, snapshot: bool = False) -> list[Entry]:
    """The entries of ``checkpoint``: the skeleton first, then one entry per distinct storage.

    Storages on a device are copied to host memory (the only copy sync saving makes). With
    ``snapshot`` CPU storages are copied too, so the entries stay valid while training goes on
    changing the tensors in place: asynchronous saving needs that, synchronous saving does not.
    An object that cannot be pickled raises ``InvalidArgumentError`` naming where it sits.
    """
    if sys.byteorder != "little":
        raise error_for_code(
            "UNIMPLEMENTED", "o3ml stores tensor bytes little-endian and cannot save from a big-endian host"
        )
    buffer = io.BytesIO()
    pickler = _StoragePickler(buffer)
    try:
        pickler.dump(checkpoint)
    except Exception as err:
        raise _unpicklable_error(checkpoint, err) from err
    entries = [Entry(SKELETON_NAME, SKELETON, "", buffer.getbuffer().toreadonly())]
    for key, (storage, dtype) in pickler.storages.items():
        entries.append(Entry(key, STORAGE, dtype_name(dtype), _host_bytes(storage, snapshot)))
    return entries


def decode(
    skeleton: bytes | bytearray | memoryview,
    storages: Mapping[str, torch.UntypedStorage],
    *,
    map_location: MapLocation = None,
    weights_only: bool | None = None,
) -> Any:
    """Rebuilds the checkpoint from its skeleton and its CPU storages (keyed by entry name).

    ``map_location`` works as in torch.load (device string, ``torch.device``, dict of location
    tags, or callable). ``weights_only`` restricts unpickling to tensors and plain types like
    torch.load's; None means torch.load's default (True).
    """
    restore_location = ts._get_restore_location(map_location)
    loaded: dict[str, torch.storage.TypedStorage] = {}

    def persistent_load(saved_id: Any) -> torch.storage.TypedStorage:
        if not isinstance(saved_id, tuple) or len(saved_id) != 5 or ts._maybe_decode_ascii(saved_id[0]) != "storage":
            raise _malformed(f"it names an unknown persistent object {saved_id!r}")
        _, storage_type, key, location, numel = saved_id
        key, location = ts._maybe_decode_ascii(key), ts._maybe_decode_ascii(location)
        if key in loaded:
            return loaded[key]
        dtype = torch.uint8 if storage_type is torch.UntypedStorage else storage_type.dtype
        storage = storages.get(key)
        expected = numel * torch._utils._element_size(dtype)
        if storage is None:
            raise _malformed(f"its skeleton refers to storage {key!r}, which it does not contain")
        if storage.nbytes() != expected:
            raise _malformed(f"storage {key!r} has {storage.nbytes()} bytes where its tensors need {expected}")
        try:
            placed = restore_location(storage, location)
        except (RuntimeError, ValueError) as err:
            raise error_for_code(
                "FAILED_PRECONDITION",
                f"cannot place storage {key!r} saved on {location!r}: {err}; "
                "pass map_location (for example map_location='cpu')",
            ) from err
        typed = torch.storage.TypedStorage(wrap_storage=placed, dtype=dtype, _internal=True)
        loaded[key] = typed
        return typed

    if weights_only is None:
        weights_only = True
    file = io.BytesIO(skeleton)
    unpickler = torch._weights_only_unpickler.Unpickler(file, encoding="utf-8") if weights_only else _Unpickler(file)
    unpickler.persistent_load = persistent_load  # type: ignore[method-assign]
    # torch.load publishes the map_location to tensor subclasses rebuilt without a storage.
    ts._serialization_tls.map_location = map_location
    try:
        # torch's Unpickler.load is unannotated; mypy applies untyped_calls_exclude (pyproject.toml) to
        # a call on one class but not to this call on a union of two.
        return unpickler.load()  # type: ignore[no-untyped-call]
    except pickle.UnpicklingError as err:
        if not weights_only:
            raise _malformed(f"its skeleton does not unpickle ({err})") from err
        raise error_for_code(
            "INVALID_ARGUMENT",
            f"the checkpoint holds objects that weights_only loading refuses ({err}); load it with "
            "weights_only=False if you trust where it comes from, or allow those classes with "
            "torch.serialization.add_safe_globals",
        ) from err
    except (ImportError, AttributeError) as err:
        raise error_for_code(
            "FAILED_PRECONDITION",
            f"the checkpoint refers to code that cannot be imported here ({err}); install or import "
            "the module that defined it before loading",
        ) from err
    finally:
        ts._serialization_tls.map_location = None


def new_storage(nbytes: int) -> tuple[torch.UntypedStorage, memoryview]:
    """A CPU storage of ``nbytes`` and a writable view of its memory to receive the bytes into.

    torch allocates it (aligned as torch expects); the view writes straight into it, so the
    received bytes are copied once, from the message into the storage.
    """
    tensor = torch.empty(nbytes, dtype=torch.uint8)
    # numpy's stubs declare ndarray's __buffer__ only for Python 3.12+, where the method exists; the
    # buffer protocol itself is there on every version.
    view = memoryview(tensor.numpy()) if nbytes else memoryview(bytearray())  # type: ignore[arg-type]
    return tensor.untyped_storage(), view


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.bfloat16`` -> ``"bfloat16"``: the dtype as the manifest names it."""
    return str(dtype).removeprefix("torch.")


class _StoragePickler(pickle.Pickler):
    """torch.save's pickler: storages leave the pickle stream as persistent ids (serialization.py ``_save``)."""

    def __init__(self, file: IO[bytes]) -> None:
        super().__init__(file, protocol=PICKLE_PROTOCOL)
        self.storages: dict[str, tuple[torch.UntypedStorage, torch.dtype]] = {}
        self._keys: dict[int, str] = {}
        self._dtypes: dict[int, torch.dtype] = {}

    def persistent_id(self, obj: Any) -> tuple[Any, ...] | None:
        if isinstance(obj, torch.storage.TypedStorage):
            storage, dtype = obj._untyped_storage, obj.dtype
            storage_type: Any = getattr(torch, obj._pickle_storage_type())
            numel = obj._size()
        elif type(obj) is torch.UntypedStorage:  # torch.is_storage's other classes are TypedStorages
            storage, dtype = obj, torch.uint8
            storage_type, numel = ts.normalize_storage_type(type(obj)), obj.nbytes()
        else:
            return None
        # As in torch.save: one storage read back as two dtypes cannot be rebuilt.
        if storage.device.type != "meta" and storage.data_ptr() != 0:
            seen = self._dtypes.setdefault(storage.data_ptr(), dtype)
            if seen != dtype:
                raise error_for_code(
                    "INVALID_ARGUMENT",
                    f"two tensors share one storage as {seen} and as {dtype}; torch cannot load that "
                    "back: clone one of them before saving",
                )
        key = self._keys.setdefault(storage._cdata, str(len(self._keys)))
        self.storages.setdefault(key, (storage, dtype))
        return ("storage", storage_type, key, ts.location_tag(storage), numel)


class _Unpickler(pickle.Unpickler):
    """torch.load's full unpickler: legacy ``*Storage`` globals resolve to their dtype."""

    def find_class(self, module: str, name: str) -> Any:
        if type(name) is str and "Storage" in name:
            try:
                return ts.StorageType(name)
            except KeyError:
                pass
        return super().find_class("torch._tensor" if module == "torch.tensor" else module, name)


def _host_bytes(storage: torch.UntypedStorage, snapshot: bool) -> memoryview:
    if storage.device.type != "cpu":
        storage = storage.cpu()
    elif snapshot:
        storage = storage.clone()
    if storage.nbytes() == 0:
        return memoryview(b"")
    # A uint8 tensor over the storage's memory; numpy exports it as a buffer without copying,
    # and the view keeps the storage alive for as long as it is used.
    flat = torch.empty(0, dtype=torch.uint8).set_(storage)
    return memoryview(flat.numpy()).toreadonly()  # type: ignore[arg-type]  # numpy's stubs: see new_storage


def _malformed(what: str) -> Exception:
    return error_for_code(
        "INTEGRITY",
        f"the checkpoint is malformed: {what}; it was not written by o3ml or its manifest is damaged "
        "(run `o3ml ckpt verify`)",
    )


def _unpicklable_error(checkpoint: Any, err: Exception) -> Exception:
    if isinstance(err, O3mlError):
        return err
    path, culprit = _locate_unpicklable(checkpoint)
    return error_for_code(
        "INVALID_ARGUMENT",
        f"cannot save the checkpoint: {path} is a {type(culprit).__module__}.{type(culprit).__qualname__} "
        f"that cannot be pickled ({type(err).__name__}: {err}); remove it from the checkpoint or make it picklable",
        {"path": path},
    )


class _Discard(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return memoryview(data).nbytes


class _ProbePickler(pickle.Pickler):
    """Pickles into nothing; storages become a placeholder so probing copies no tensor bytes."""

    def persistent_id(self, obj: Any) -> str | None:
        return "storage" if isinstance(obj, torch.storage.TypedStorage) or torch.is_storage(obj) else None


def _picklable(obj: Any) -> bool:
    try:
        _ProbePickler(_Discard(), protocol=PICKLE_PROTOCOL).dump(obj)
    except Exception:
        return False
    return True


def _children(obj: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(obj, torch.Tensor):
        return iter(())
    if isinstance(obj, Mapping):
        return ((f"[{key!r}]", value) for key, value in obj.items())
    if isinstance(obj, (list, tuple)):
        return ((f"[{index}]", value) for index, value in enumerate(obj))
    if isinstance(obj, (set, frozenset)):
        return (("{...}", value) for value in obj)
    state = getattr(obj, "__dict__", None)
    if isinstance(state, dict):
        return ((f".{name}", value) for name, value in state.items())
    return iter(())


def _locate_unpicklable(checkpoint: Any) -> tuple[str, Any]:
    """The path (``checkpoint['a'][0].b``) of the innermost object that does not pickle.

    Runs only after a save has failed: it pickles sub-trees again to find the culprit.
    """
    path, node, seen = "checkpoint", checkpoint, set()
    while id(node) not in seen:
        seen.add(id(node))
        for suffix, child in _children(node):
            if not _picklable(child):
                path, node = path + suffix, child
                break
        else:
            break
    return path, node
