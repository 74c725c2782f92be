"""Shards from a local folder: each shard a tar file named by its CID, versions given as manifests.

It serves datasets without a service (tests, or shards copied to local disk) through the same
reader as the service. Nothing vouches for local files, so every shard is hashed on open.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .._cid import verify_blob
from .._errors import FailedPreconditionError, NotFoundError
from ..gen import manifest_pb2
from ._split_index import DatasetVersion
from ._tar import BytesLike

__all__ = ["LocalShardSource"]

_LATEST = "latest"


class LocalShardSource:
    """Versions from ``versions`` (later ones newer), shards from ``<directory>/<cid>[.tar]``."""

    def __init__(self, directory: str | os.PathLike[str], versions: Iterable[DatasetVersion]) -> None:
        self.directory = Path(directory)
        self.versions = tuple(versions)

    def resolve(self, spec: str) -> DatasetVersion:
        name, _, version = spec.partition("@")
        mine = [v for v in self.versions if v.name == name]
        if not mine:
            known = ", ".join(sorted({v.name for v in self.versions})) or "none"
            raise NotFoundError(f"no dataset {name!r} in {self.describe()}; it has {known}", {"name": name})
        if version in ("", _LATEST):
            return mine[-1]
        for v in mine:
            if version in (v.version, v.cid):
                return v
        have = ", ".join(v.version for v in reversed(mine))
        raise NotFoundError(
            f"dataset {name} has no version {version!r} in {self.describe()}; its versions, newest first: {have}",
            {"name": name, "version": version},
        )

    @contextmanager
    def open_shard(self, shard: manifest_pb2.ShardEntry, where: str) -> Iterator[BytesLike]:
        path = self._path(shard.cid, where)
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size != shard.size:
                raise FailedPreconditionError(
                    f"{where} (cid {shard.cid}) at {path} has {size} bytes, the manifest says {shard.size}; "
                    "replace the file with the shard the manifest names",
                    {"cid": shard.cid, "path": str(path)},
                )
            if size == 0:
                yield b""
                return
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                verify_blob(shard.cid, mapped, f"{where} at {path}", "replace the file with an intact copy of the shard")
                yield mapped

    def describe(self) -> str:
        return f"local folder {self.directory}"

    def _path(self, cid: str, where: str) -> Path:
        for candidate in (self.directory / cid, self.directory / f"{cid}.tar"):
            if candidate.is_file():
                return candidate
        raise NotFoundError(
            f"{where} (cid {cid}) is not in {self.directory} (looked for {cid} and {cid}.tar); copy the shard there",
            {"cid": cid},
        )
