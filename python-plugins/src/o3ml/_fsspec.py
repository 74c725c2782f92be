"""``O3FileSystem``: the ``o3://`` fsspec protocol over the o3ml storage service.

``o3://<bucket>/<key>`` names the object ``<key>`` of the service's bucket. One service serves one
bucket (``O3ML_BUCKET``, default ``o3ml``, as the service reads it); a URL naming another bucket is
refused rather than silently written to the wrong place. Objects are flat keys: a directory is
inferred from the ``/`` in the keys below it, so ``makedirs`` does nothing and an empty
directory does not exist. Files open for reading stream from the service (seekable); files open
for writing are buffered in a temporary file and stored in one put when closed (inside an fsspec
transaction: when it commits), so a reader never sees half an object. ``"xb"`` creates only: the
put is conditional (``AlreadyExistsError``, a ``FileExistsError``, when the key holds an object).
``cp_file`` (so ``copy`` and ``mv``) copies on the service's side: no byte is transferred.

A checkpoint saved through the CheckpointService (``O3CheckpointIO``) reads as the torch archive
(the zip torch.save writes) the service lays out from it: ``open``, ``cat``, ``get``, ``info`` and
``ls`` all see that file, so ``torch.load``, ``load_from_checkpoint("o3://...")`` and ``fsspec.get``
of a ``.ckpt`` work as on a local disk. o3ml's own ``load_checkpoint`` keeps its faster path, which
receives each tensor straight into its storage.

Registered for fsspec through the ``fsspec.specs`` entry point, so ``fsspec.open("o3://...")``,
Lightning's ``ModelCheckpoint(dirpath="o3://...")`` and the like find it without an import.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from datetime import datetime
from glob import has_magic
from types import TracebackType
from typing import Any

from fsspec.spec import AbstractFileSystem

from ._checkpoint_archive import copy_archive, open_archive, read_archive
from ._client import O3Client
from ._errors import error_for_code
from ._o3_url import SCHEME, object_key, service_bucket
from ._object_info import ObjectInfo
from ._shared_client import shared_client

__all__ = ["O3FileSystem"]

_COPY_BUFFER = 4 * 1024 * 1024


class O3FileSystem(AbstractFileSystem):
    """fsspec filesystem of ``o3://`` URLs.

    ``bucket`` is the bucket the service serves (default ``$O3ML_BUCKET`` or ``o3ml``);
    ``address`` and ``token`` reach the service (default ``$O3ML_SERVICE``, ``$O3ML_TOKEN``);
    ``client`` replaces both with a client of your own.
    """

    protocol = "o3"
    root_marker = ""
    # Instances are cheap (clients are shared) and must follow the environment, which fsspec's
    # instance cache would not.
    cachable = False

    def __init__(
        self,
        bucket: str | None = None,
        *,
        address: str | None = None,
        token: str | None = None,
        client: O3Client | None = None,
        **storage_options: Any,
    ) -> None:
        super().__init__(**storage_options)
        self.bucket = bucket or service_bucket()
        self.client = client if client is not None else shared_client(address, token)

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = str(path)
        return path.removeprefix(SCHEME).strip("/")

    def key(self, path: str) -> str:
        """The object key of ``path`` (``o3://bucket/key`` or ``bucket/key``) in the service's bucket."""
        return object_key(SCHEME + self._strip_protocol(path), self.bucket, f"the o3ml service at {self.client.address}")

    def _path(self, key: str) -> str:
        return f"{self.bucket}/{key}" if key else self.bucket

    def _file_entry(self, info: ObjectInfo) -> dict[str, Any]:
        entry = {
            "name": self._path(info.key),
            "size": info.size,
            "type": "file",
            "created": info.created,
            "cid": info.cid,
            "sha256": info.sha256,
            "content_type": info.content_type,
            **({"problem": info.problem} if info.problem else {}),
        }
        if info.archive_size:
            # A checkpoint reads as its torch archive: report that file's size. The stored bytes'
            # size stays visible; their sha256 would not describe what a read gives, so it goes.
            del entry["sha256"]
            entry.update(size=info.archive_size, stored_size=info.size, checkpoint=True)
        return entry

    def _dir_entry(self, key: str) -> dict[str, Any]:
        return {"name": self._path(key), "size": 0, "type": "directory"}

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        key = self.key(path)
        prefix = f"{key}/" if key else ""
        entries: dict[str, dict[str, Any]] = {}
        for info in self.client.list(prefix):
            child, slash, _ = info.key[len(prefix) :].partition("/")
            if slash:
                entries.setdefault(prefix + child, self._dir_entry(prefix + child))
            else:
                entries[info.key] = self._file_entry(info)
        if not entries and key:
            entries[key] = self._file_entry(self.client.stat(key))  # a file lists as itself
        found = [entries[k] for k in sorted(entries)]
        return found if detail else [e["name"] for e in found]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        key = self.key(path)
        if not key:
            return self._dir_entry("")
        try:
            return self._file_entry(self.client.stat(key))
        except FileNotFoundError:
            if self._has_children(key):
                return self._dir_entry(key)
            raise

    def find(
        self, path: str, maxdepth: int | None = None, withdirs: bool = False, detail: bool = False, **kwargs: Any
    ) -> Any:
        """Everything below ``path`` from one flat listing of its prefix (fsspec's default walks
        level by level, a listing per directory); directories are inferred from the keys."""
        if maxdepth is not None and maxdepth < 1:
            raise ValueError("maxdepth must be at least 1")
        key = self.key(path)
        prefix = f"{key}/" if key else ""
        found: dict[str, dict[str, Any]] = {}
        for info in self.client.list(prefix):
            parts = info.key[len(prefix) :].split("/")
            if withdirs:
                for depth in range(1, len(parts) if maxdepth is None else min(len(parts), maxdepth + 1)):
                    directory = prefix + "/".join(parts[:depth])
                    found.setdefault(directory, self._dir_entry(directory))
            if maxdepth is None or len(parts) <= maxdepth:
                found[info.key] = self._file_entry(info)
        if found and withdirs and key:
            found[key] = self._dir_entry(key)  # as fsspec's find: the directory itself comes too
        if not found and key:
            try:
                info = self.client.stat(key)  # a file finds itself
            except FileNotFoundError:
                pass
            else:
                found[key] = self._file_entry(info)
        names = sorted(found)
        return {self._path(k): found[k] for k in names} if detail else [self._path(k) for k in names]

    def isdir(self, path: str) -> bool:
        key = self.key(path)
        return not key or self._has_children(key)

    def isfile(self, path: str) -> bool:
        try:
            self.client.stat(self.key(path))
        except FileNotFoundError:
            return False
        return True

    def exists(self, path: str, **kwargs: Any) -> bool:
        # fsspec's default swallows every error; only absence means False here, so a wrong
        # bucket or an unreachable service is reported instead of read as "missing".
        try:
            self.info(path)
        except FileNotFoundError:
            return False
        return True

    def modified(self, path: str) -> datetime:
        """When the current version of the object was committed (objects are never modified in place)."""
        created: datetime = self.info(path)["created"]
        return created

    def created(self, path: str) -> datetime:
        return self.modified(path)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        self.key(path)  # directories are implied by keys; only check the bucket

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        self.key(path)

    def rmdir(self, path: str) -> None:
        self.key(path)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
        if recursive and not any(has_magic(str(p)) for p in paths):
            # Directories are no objects: only the files below them need deleting.
            names = sorted({name for p in paths for name in self.find(str(p), maxdepth=maxdepth)})
            if not names:
                what = ", ".join(map(str, paths))
                raise error_for_code("NOT_FOUND", f"cannot remove {what}: there is no such object or directory")
        else:
            names = self.expand_path(path, recursive=recursive, maxdepth=maxdepth)
        # The directories expand_path also returns are not objects: deleting their names does
        # nothing, which only a non-recursive rm reports.
        for name in names:
            if not self.client.delete(self.key(name)) and not recursive:
                raise error_for_code(
                    "NOT_FOUND",
                    f"cannot remove o3://{name}: there is no such object (pass recursive=True for a directory)",
                )

    def rm_file(self, path: str) -> None:
        key = self.key(path)
        if not self.client.delete(key):
            raise error_for_code("NOT_FOUND", f"cannot remove o3://{self._path(key)}: there is no such object")

    def _rm(self, path: str) -> None:
        self.rm_file(path)

    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        key = self.key(path)
        info = self.client.stat(key)
        if info.archive_size:
            size = info.archive_size
            last = size if end is None else _resolve(end, size)
            return read_archive(self.client, info, _resolve(start or 0, size), last)
        if start is None and end is None:
            return self.client.get(key)
        with self.client.open(key) as file:
            size = file.seek(0, io.SEEK_END)
            first = _resolve(start or 0, size)
            last = size if end is None else _resolve(end, size)
            file.seek(first)
            return file.read(max(0, last - first))

    def get_file(self, rpath: str, lpath: str, callback: Any = None, outfile: Any = None, **kwargs: Any) -> None:
        key = self.key(rpath)
        try:
            info = self.client.stat(key) if key else None
        except FileNotFoundError:
            info = None
        if info is None:
            if not key or self._has_children(key):
                os.makedirs(lpath, exist_ok=True)
                return
            raise error_for_code("NOT_FOUND", f"cannot get o3://{self._path(key)}: there is no such object or directory")
        if outfile is not None:
            self._copy_out(info, outfile)
            return
        # Like fsspec's own filesystems: the local folder the file goes into is made as needed.
        parent = os.path.dirname(os.path.abspath(lpath))
        os.makedirs(parent, exist_ok=True)
        with open(lpath, "wb") as target:
            self._copy_out(info, target)

    def put_file(self, lpath: str, rpath: str, callback: Any = None, mode: str = "overwrite", **kwargs: Any) -> None:
        if os.path.isdir(lpath):
            self.key(rpath)
            return
        self.client.put(self.key(rpath), lpath, if_absent=_create_only(mode))

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        self.client.put(self.key(path), value, if_absent=_create_only(mode))

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Copies on the service's side: ``path2`` names the same stored data, no byte moves.

        A directory (a prefix with objects below it) copies as nothing, as ``makedirs`` makes
        nothing: its files are copied one by one by ``copy(..., recursive=True)``.
        """
        source, destination = self.key(path1), self.key(path2)
        try:
            self.client.copy(source, destination)
        except FileNotFoundError:
            if source and self._has_children(source):
                return
            raise

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: Any = None,
        autocommit: bool = True,
        cache_options: Any = None,
        **kwargs: Any,
    ) -> Any:
        key = self.key(path)
        if mode == "rb":
            info = self.client.stat(key)
            return open_archive(self.client, info) if info.archive_size else self.client.open(key)
        if mode in ("wb", "xb"):
            create = mode == "xb"
            if create and self.exists(path):
                # Checked now so the caller learns before writing; the put checks again, atomically.
                raise error_for_code(
                    "ALREADY_EXISTS", f"cannot create o3://{self._path(key)}: it already exists", {"key": key}
                )
            return _UploadOnClose(self.client, key, self.unstrip_protocol(self._path(key)), autocommit, create)
        raise ValueError(
            f"o3:// files open as 'rb', 'wb' or 'xb', not {mode!r}: objects are written whole, never appended"
        )

    def _has_children(self, key: str) -> bool:
        return next(iter(self.client.list(f"{key}/", page_size=1)), None) is not None

    def _copy_out(self, info: ObjectInfo, target: Any) -> None:
        if info.archive_size:
            copy_archive(self.client, info, target)
            return
        with self.client.open(info.key) as source:
            shutil.copyfileobj(source, target, _COPY_BUFFER)


class _UploadOnClose(io.RawIOBase):
    """A write-only file buffered on local disk and stored as one object.

    It is stored when closed, or, inside an fsspec transaction (Lightning writes through one),
    when the transaction commits. Leaving a ``with`` block by an exception, or a transaction
    that fails, discards what was written: the object keeps its previous version (or stays
    absent) instead of becoming a truncated one.
    """

    def __init__(self, client: O3Client, key: str, path: str, autocommit: bool, create: bool = False) -> None:
        super().__init__()
        self._client = client
        self._key = key
        self.path = path
        self._autocommit = autocommit
        self._create = create
        self._buffer = tempfile.TemporaryFile(prefix="o3ml-upload-")

    @property
    def name(self) -> str:
        return self.path

    @property
    def mode(self) -> str:
        return "xb" if self._create else "wb"

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self._buffer.write(data)

    def tell(self) -> int:
        return self._buffer.tell()

    def close(self) -> None:
        if self.closed:
            return
        super().close()
        if self._autocommit:
            self.commit()

    def commit(self) -> None:
        """Stores what was written (called by ``close``, or by the transaction that holds the file)."""
        if self._buffer.closed:
            return
        try:
            self._buffer.seek(0)
            self._client.put(self._key, self._buffer, if_absent=self._create)
        finally:
            self._buffer.close()

    def discard(self) -> None:
        """Drops what was written; nothing is stored."""
        self._buffer.close()
        super().close()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self.discard()
        else:
            self.close()


def _create_only(mode: str) -> bool:
    if mode not in ("overwrite", "create"):
        raise ValueError(f"mode must be 'overwrite' or 'create', not {mode!r}")
    return mode == "create"


def _resolve(offset: int, size: int) -> int:
    return max(0, size + offset) if offset < 0 else min(offset, size)
