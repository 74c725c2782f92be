"""Shards through the o3ml service: DatasetService.Resolve for manifests, BlobService for bytes.

Two ways to get a shard's bytes (``cache``):

- ``"host"``: BlobService.Fetch makes the service put the shard in its host cache, verified
  against the CID and pinned, and returns the file's path; the shard is memory-mapped here and
  Released once its samples are read. No byte crosses gRPC, and every process on the host
  shares one cached copy. Only for a service on this host.
- ``"stream"``: BlobService.Get streams the bytes (the service verifies them before sending);
  they are hashed again here, since a broken service or proxy must not hand over bad bytes.
- ``"auto"`` (default): ``"host"`` when the service address is a loopback one, else
  ``"stream"``; and ``"stream"`` from the first Fetch whose file cannot be opened here (a
  service in another container behind a forwarded port).

Processes: the source calls through the client's ``Connection`` (address, token, TLS files,
deadline, message limit; ``o3ml._connection``), which pickles into a data-loader worker without
its channel and opens a channel of its own in any process it is used in, a forked one included.
That is not enough to make forked workers safe, though: gRPC's own state does not survive a
``fork`` made while another thread of the parent is inside a gRPC call (gRPC then skips its fork
handlers, and the child's calls fail, hang or abort), which is why ``fork_safe`` is False and
``O3DataLoader`` starts workers through a fork server instead. A call the connection broke
(UNAVAILABLE) is retried on a new channel, a bounded number of times (``o3ml._retry``).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import mmap
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from .._cid import digest_of, verify_blob
from .._client import O3Client
from .._connection import Connection
from .._errors import FailedPreconditionError, IntegrityError, InvalidArgumentError, O3mlError
from ..gen import blob_service_pb2 as pb
from ..gen import blob_service_pb2_grpc, manifest_pb2
from .._retry import Retrying
from ._split_index import DatasetVersion
from ._tar import BytesLike

__all__ = ["CacheMode", "ServiceShardSource"]

log = logging.getLogger(__name__)

CacheMode = Literal["auto", "host", "stream"]
_MODES = ("auto", "host", "stream")
_REMEDY = "run `o3ml dataset verify` to find every damaged shard, and push the dataset again"


class ServiceShardSource:
    """Dataset versions and shards from the o3ml service that ``client`` talks to.

    ``client`` defaults to one configured from ``O3ML_SERVICE``, ``O3ML_TOKEN`` and
    ``O3ML_TLS_*``. Its ``Connection`` is what workers connect with (see the module's notes).
    """

    #: Workers must not be forked from a process using this source (see the module's notes).
    fork_safe = False

    def __init__(self, client: O3Client | None = None, *, cache: CacheMode = "auto") -> None:
        if cache not in _MODES:
            raise InvalidArgumentError(f"cache must be one of {', '.join(_MODES)}, not {cache!r}")
        client = client if client is not None else O3Client()
        #: The client's connection, so its channel too, until a broken call makes the source reconnect.
        self.connection: Connection = client.connection
        self.address = self.connection.address
        self.cache: CacheMode = cache
        self._host = cache == "host" or (cache == "auto" and is_loopback(self.connection.target))
        self._local()

    def _local(self) -> None:
        """What stays in this process: the retrier, and who used which channel (see _reconnect)."""
        self._retrying = Retrying(self.address, self._reconnect)
        self._reconnecting = threading.Lock()
        self._used = threading.local()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for name in ("_retrying", "_reconnecting", "_used"):
            del state[name]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._local()

    @property
    def transport(self) -> str:
        """``"host"`` or ``"stream"``: how shards are read now."""
        return "host" if self._host else "stream"

    def describe(self) -> str:
        return f"the o3ml service at {self.address}"

    def resolve(self, spec: str) -> DatasetVersion:
        request = pb.ResolveDatasetRequest(spec=spec)
        response: pb.ResolveDatasetResponse = self._retrying.call(
            f"resolve dataset {spec}",
            lambda: self._call(blob_service_pb2_grpc.DatasetServiceStub, "Resolve", request),
        )
        info = response.info
        return DatasetVersion(info.name, info.version, info.cid, response.manifest)

    @contextmanager
    def open_shard(self, shard: manifest_pb2.ShardEntry, where: str) -> Iterator[BytesLike]:
        if self._host:
            fetched = self._fetch(shard, where)
            if fetched is not None:
                path, lease = fetched
                try:
                    with _mapped(path, shard, where) as data:
                        yield data
                finally:
                    self._release(lease)
                return
        yield self._get(shard, where)

    def _fetch(self, shard: manifest_pb2.ShardEntry, where: str) -> tuple[str, str] | None:
        """The cache file and lease of ``shard``; None (and stream from now on) if the file is not here."""
        request = pb.FetchBlobRequest(cid=shard.cid)
        try:
            response: pb.FetchBlobResponse = self._retrying.call(
                f"fetch {where} (cid {shard.cid})",
                lambda: self._call(blob_service_pb2_grpc.BlobServiceStub, "Fetch", request),
            )
        except O3mlError as err:
            raise _naming(err, where, shard.cid) from None
        if os.access(response.path, os.R_OK):
            return response.path, response.lease
        self._release(response.lease)
        if self.cache == "host":
            raise FailedPreconditionError(
                f"the service at {self.address} cached {where} at {response.path}, which this process "
                "cannot read: the service runs on another host or in another container; use cache='stream'",
                {"path": response.path, "cid": shard.cid},
            )
        log.warning(
            "the o3ml service at %s keeps its cache where this process cannot read it (%s); streaming shards over gRPC",
            self.address, response.path,
        )
        self._host = False
        return None

    def _release(self, lease: str) -> None:
        request = pb.ReleaseBlobRequest(lease=lease)
        try:
            self._retrying.call(
                f"release cache lease {lease}",
                lambda: self._call(blob_service_pb2_grpc.BlobServiceStub, "Release", request),
            )
        except O3mlError as err:
            # The pin ends with the service anyway; a failed release must not fail the epoch.
            log.warning("could not release cache lease %s at %s: %s", lease, self.address, err)

    def _get(self, shard: manifest_pb2.ShardEntry, where: str) -> bytearray:
        data = bytearray(shard.size)
        try:
            received, digest = self._retrying.call(f"read {where} (cid {shard.cid})", lambda: self._receive(shard, where, data))
        except O3mlError as err:
            raise _naming(err, where, shard.cid) from None
        if received != shard.size or digest != digest_of(shard.cid):
            verify_blob(shard.cid, memoryview(data)[:received], where, _REMEDY)
            raise IntegrityError(
                f"{where} (cid {shard.cid}): the service sent {received} bytes, the manifest says {shard.size}; {_REMEDY}",
                {"cid": shard.cid},
            )
        return data

    def _receive(self, shard: manifest_pb2.ShardEntry, where: str, data: bytearray) -> tuple[int, bytes]:
        """One try at streaming the shard into ``data``: the bytes received and their sha2-256."""
        conn = self._used.connection = self.connection
        digest = hashlib.sha256()
        received = 0
        stream = conn.stub(blob_service_pb2_grpc.BlobServiceStub).Get(pb.GetBlobRequest(cid=shard.cid), metadata=conn.metadata, timeout=conn.timeout)
        for message in stream:
            chunk = message.data
            end = received + len(chunk)
            if end > shard.size:
                raise IntegrityError(
                    f"{where} (cid {shard.cid}): the service sent more than the manifest's {shard.size} bytes; {_REMEDY}",
                    {"cid": shard.cid},
                )
            data[received:end] = chunk
            digest.update(chunk)
            received = end
        return received, digest.digest()

    def _reconnect(self) -> None:
        # The failed call's channel may be what broke: the next try gets a new one (the client
        # the source was made with keeps its own; see Connection.reconnected). Shards are fetched
        # by several threads at once, and one broken connection fails all their calls: only the
        # first thread to retry replaces it, the others retry on that replacement.
        failed = getattr(self._used, "connection", None)
        with self._reconnecting:
            if failed is None or failed is self.connection:
                self.connection = self.connection.reconnected()

    def _call(self, stub_type: Any, method: str, request: object) -> Any:
        conn = self._used.connection = self.connection
        return getattr(conn.stub(stub_type), method)(request, metadata=conn.metadata, timeout=conn.timeout)


@contextmanager
def _mapped(path: str, shard: manifest_pb2.ShardEntry, where: str) -> Iterator[BytesLike]:
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size != shard.size:
            raise IntegrityError(
                f"{where} (cid {shard.cid}): the service's cache file {path} has {size} bytes, the manifest "
                f"says {shard.size}; the cache was changed behind the service's back: delete the file and retry",
                {"cid": shard.cid, "path": path},
            )
        if size == 0:
            yield b""
            return
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield data


def _naming(error: O3mlError, where: str | None, cid: str | None) -> O3mlError:
    """The same error, its message prefixed with the shard it concerns."""
    if where is None or (cid and cid in str(error) and where in str(error)):
        return error
    details = {**error.details, "cid": cid}
    return type(error)(f"{where} (cid {cid}): {error}", details)


def is_loopback(address: str) -> bool:
    """True when a gRPC target names this host: a loopback IP, ``localhost`` or a unix socket."""
    if address.startswith(("unix:", "unix-abstract:")):
        return True
    host = address.rsplit(":", 1)[0] if address.count(":") == 1 or address.startswith("[") else address
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
