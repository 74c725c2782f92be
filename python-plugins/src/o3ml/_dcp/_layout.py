"""Where a distributed checkpoint lives on O3, and what its metadata says about each item.

A checkpoint saved as ``o3://<bucket>/<dir>`` (or the key ``<dir>``) is

- ``<dir>/__<rank>_<save>.distcp``: one object per rank and save, each an o3ml checkpoint saved
  through the CheckpointService (so each tensor is chunked on its own and an unchanged tensor
  costs no upload). Its entries are a skeleton (a dict from item name to tensor, so the object
  also loads with ``load_checkpoint`` or reads through ``o3://`` as a torch archive) and then one
  storage per item, in the order of the rank's plan. ``<save>`` is new for every save: a save
  into a folder that already holds a checkpoint never changes an object the old ``.metadata``
  names, so the old checkpoint stays whole until the new ``.metadata`` replaces it.
- ``<dir>/.metadata``: DCP's ``Metadata``, pickled, written by the coordinator after every rank's
  object is committed. It is the commit point: no ``.metadata``, no checkpoint. Without
  collectives each rank writes ``<dir>/__<rank>.metadata`` instead, as torch's own writers do.

``Metadata.storage_data`` maps each item to an ``ItemLocation``: which object (key and manifest
CID), where in the object's bytes, its dtype and shape, and the sha2-256 of its bytes, which the
reader checks, since a ranged read has no whole-object hash to check against.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass

from .._errors import error_for_code
from .._o3_url import SCHEME, object_key, service_bucket

__all__ = ["DATA_SUFFIX", "ItemLocation", "checkpoint_key", "data_key", "is_o3_id", "metadata_key"]

METADATA_NAME = ".metadata"
DATA_SUFFIX = ".distcp"


@dataclass(frozen=True)
class ItemLocation:
    """Where one item of a distributed checkpoint is: ``length`` bytes at ``offset`` of object ``key``.

    ``cid`` is the manifest CID of the version of ``key`` the item was written to; ``dtype`` and
    ``shape`` describe the tensor those bytes are (``shape`` None: the bytes of a non-tensor
    value, as the planner serialised it); ``sha256`` is the hex digest of the bytes.
    """

    key: str
    cid: str
    offset: int
    length: int
    dtype: str
    shape: tuple[int, ...] | None
    sha256: str


def checkpoint_key(checkpoint_id: str | os.PathLike[str], bucket: str | None = None) -> str:
    """The folder key of ``o3://<bucket>/<dir>`` or ``<dir>``; the bucket must be the service's."""
    key = object_key(checkpoint_id, bucket or service_bucket()).strip("/")
    if not key:
        raise error_for_code("INVALID_ARGUMENT", f"{os.fspath(checkpoint_id)!r} names no folder: give o3://<bucket>/<dir>")
    return key


def is_o3_id(checkpoint_id: str | os.PathLike[str]) -> bool:
    return os.fspath(checkpoint_id).startswith(SCHEME)


def metadata_key(folder: str, rank: int | None = None) -> str:
    return posixpath.join(folder, METADATA_NAME if rank is None else f"__{rank}{METADATA_NAME}")


def data_key(folder: str, prefix: str) -> str:
    return posixpath.join(folder, f"{prefix}{DATA_SUFFIX}")
