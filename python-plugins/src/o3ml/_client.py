"""``O3Client``: named objects of any size through the o3ml storage service (gRPC).

The service stores each object in O3 as content-addressed blobs, a manifest and a ref; this client
only streams bytes and translates failures into ``O3mlError`` subclasses. One client may be shared
by threads, and used after a fork: it reaches the service through its ``Connection``
(``o3ml._connection``), which opens a channel of its own in each process.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import BinaryIO, Callable, TypeVar

import grpc

from . import _colocation
from . import _located_objects as _located
from ._errors import error_for_code, from_rpc_error
from ._checkpoints import CheckpointMethods
from ._connection import MAX_DATA_MESSAGE_BYTES, Connection
from ._dataset_methods import DatasetMethods
from ._metadata import MetadataMethods
from ._object_info import ObjectInfo
from ._put_source import PutData, open_source
from ._reader import ObjectReader
from ._retention import RetentionMethods
from ._storage_usage import StorageUsage
from .gen import admin_service_pb2, admin_service_pb2_grpc
from .gen import object_service_pb2 as pb
from .gen import object_service_pb2_grpc

# Data messages carry at most MAX_DATA_MESSAGE_BYTES (the service's limit); 2 MiB keeps both sides'
# buffers small while still amortising the per-message cost.
CHUNK_SIZE = min(2 * 1024 * 1024, MAX_DATA_MESSAGE_BYTES)
_READ_BUFFER = 1024 * 1024
# How long a failing put source waits for the call handle it must cancel; the handle is attached
# right after the call starts, so this only bounds a failure that should not happen.
_ATTACH_TIMEOUT = 30.0

_T = TypeVar("_T")


class O3Client(MetadataMethods, CheckpointMethods, RetentionMethods, DatasetMethods):
    """Client of the o3ml storage service.

    ``address`` defaults to ``$O3ML_SERVICE`` or ``127.0.0.1:7433``; ``token`` to ``$O3ML_TOKEN``
    (sent as ``authorization: Bearer <token>``); ``timeout`` is the deadline in seconds of each
    call, streams included (None: no deadline). ``tls_ca``, ``tls_cert`` and ``tls_key`` (PEM paths,
    defaults ``$O3ML_TLS_CA``, ``$O3ML_TLS_CERT``, ``$O3ML_TLS_KEY``) turn on TLS, mutual with a client
    certificate; without any of them the channel is plaintext. Every failure raises an ``O3mlError`` subclass.
    """

    def __init__(
        self,
        address: str | None = None,
        token: str | None = None,
        *,
        timeout: float | None = None,
        tls_ca: str | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
    ) -> None:
        connection = Connection.resolve(address, token, timeout=timeout, tls_ca=tls_ca, tls_cert=tls_cert, tls_key=tls_key)
        self._use(connection)

    @classmethod
    def from_connection(cls, connection: Connection) -> O3Client:
        """A client of ``connection`` exactly (no environment defaults applied), sharing its channel."""
        client = cls.__new__(cls)
        client._use(connection)
        return client

    def _use(self, connection: Connection) -> None:
        #: How this client reaches the service; every API given this client uses it, and it pickles,
        #: so other processes connect alike (see ``o3ml._connection``).
        self.connection = connection
        self.address: str = connection.address
        self.tls: bool = connection.tls.enabled
        _ = connection.channel  # opened now, so that unreadable TLS files fail here, not at the first call

    @property
    def _objects(self) -> object_service_pb2_grpc.ObjectServiceStub:
        return self.connection.stub(object_service_pb2_grpc.ObjectServiceStub)

    def put(
        self,
        key: str,
        data: PutData,
        *,
        content_type: str | None = None,
        labels: Mapping[str, str] | None = None,
        if_absent: bool = False,
    ) -> ObjectInfo:
        """Stores ``data`` under ``key`` and returns the committed object's info.

        ``data`` is bytes-like, a path, a binary file object (read in chunks from its current
        position, left open) or an iterable of byte chunks. Nothing becomes visible unless the
        whole stream arrives: if reading ``data`` raises, the upload is cancelled and that
        exception propagates. With ``if_absent`` the put only creates: ``AlreadyExistsError``
        (a ``FileExistsError``) when ``key`` already holds an object.
        """
        header = pb.PutHeader(
            key=_check_key(key), content_type=content_type or "", labels=dict(labels or {}), if_absent=if_absent
        )
        if isinstance(data, (bytes, bytearray, memoryview)) and memoryview(data).nbytes >= _located.STAGE_MIN_BYTES:
            staging = _colocation.staging_dir(self.connection)
            if staging is not None:
                staged = _located.put_staged(self.connection, staging, header, memoryview(data).cast("B"))
                if staged is not None:
                    return ObjectInfo.from_proto(staged.info)
        with open_source(data, CHUNK_SIZE) as source:
            if source.size is not None:
                header.expected_size = source.size
                header.has_expected_size = True
            stream = _PutStream(header, source.chunks)
            call = self._objects.Put.future(stream.requests(), metadata=self.connection.metadata, timeout=self.connection.timeout)
            stream.attach(call)
            try:
                response: pb.PutResponse = call.result()
            except (grpc.RpcError, grpc.FutureCancelledError) as err:
                if stream.source_error is not None:
                    raise stream.source_error from None
                if isinstance(err, grpc.RpcError):
                    raise from_rpc_error(err, self.address) from None
                raise error_for_code(
                    "CANCELLED", f"the put of {key!r} to {self.address} was cancelled; nothing was stored"
                ) from None
            except BaseException:
                call.cancel()  # interrupted (Ctrl-C): stop the upload; nothing is committed
                raise
        return ObjectInfo.from_proto(response.info)

    def get(self, key: str) -> bytes:
        """The whole object, verified end to end against its size and sha2-256.

        On the service's host the bytes come from the host cache, every blob verified against its
        CID by the service right before; elsewhere they stream and are hashed here as they arrive.
        """
        if _colocation.staging_dir(self.connection) is not None:
            located = _located.get_located(self.connection, _check_key(key))
            if located is not None:
                return located
        with self._reader(key) as reader:
            return reader.readall()

    def open(self, key: str) -> BinaryIO:
        """A buffered, seekable binary file streaming the object; close it to stop the stream."""
        return io.BufferedReader(self._reader(key), buffer_size=_READ_BUFFER)

    def stat(self, key: str) -> ObjectInfo:
        """The info of ``key``; ``NotFoundError`` when there is no such object."""
        request = pb.StatRequest(key=_check_key(key))
        return ObjectInfo.from_proto(self._unary(self._objects.Stat, request))

    def copy(self, source: str, destination: str) -> ObjectInfo:
        """Gives ``destination`` the value ``source`` has now, on the service's side.

        The copy names the same stored manifest, so no byte is transferred or stored again;
        ``NotFoundError`` when there is no ``source``.
        """
        request = pb.CopyRequest(source=_check_key(source), destination=_check_key(destination))
        return ObjectInfo.from_proto(self._unary(self._objects.Copy, request))

    def delete(self, key: str) -> bool:
        """Removes ``key`` from the namespace; True when it existed."""
        response: pb.DeleteResponse = self._unary(self._objects.Delete, pb.DeleteRequest(key=_check_key(key)))
        return response.existed

    def list(self, prefix: str = "", *, page_size: int = 0) -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, fetched page by page as iterated.

        ``page_size`` is how many objects to ask for per call (0: the service's default).
        """
        token = ""
        while True:
            request = pb.ListRequest(prefix=prefix, page_size=page_size, page_token=token)
            response: pb.ListResponse = self._unary(self._objects.List, request)
            for info in response.objects:
                yield ObjectInfo.from_proto(info)
            token = response.next_page_token
            if not token:
                return

    def storage_usage(self, run: str | None = None, dataset: str | None = None) -> StorageUsage:
        """Storage accounting, as ``o3ml du`` gives it: of the whole bucket, or of one selection.

        ``run`` (a run id or name) selects that run's checkpoints; ``dataset`` (``"name"`` for every
        version, or ``"name@version"``) one dataset; at most one of them. The service reads the
        whole bucket (a listing, the gc mark phase and, on a versioned store, a version listing), so
        this takes about as long as ``o3ml gc --dry-run``. ``NotFoundError`` when the run or dataset
        has nothing stored; ``InvalidArgumentError`` for both at once or a malformed dataset name.
        """
        if run is not None and dataset is not None:
            raise error_for_code("INVALID_ARGUMENT", "storage_usage: give run or dataset, not both (or neither for the whole bucket)")
        request = admin_service_pb2.StorageUsageRequest(run=run or "", dataset=dataset or "")
        stub = self.connection.stub(admin_service_pb2_grpc.AdminServiceStub)
        return StorageUsage.from_proto(self._unary(stub.StorageUsage, request))

    def close(self) -> None:
        """Closes this process's channel of the client's connection; calls in flight are cancelled."""
        self.connection.close()

    def __enter__(self) -> O3Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"O3Client(address={self.address!r})"

    def _reader(self, key: str) -> ObjectReader:
        key = _check_key(key)

        def opener(offset: int) -> Iterator[pb.GetResponse]:
            request = pb.GetRequest(key=key, offset=offset)
            return self._objects.Get(request, metadata=self.connection.metadata, timeout=self.connection.timeout)  # type: ignore[no-any-return]

        return ObjectReader(key, opener, self.address)

    def _unary(self, method: Callable[..., _T], request: object) -> _T:
        try:
            return method(request, metadata=self.connection.metadata, timeout=self.connection.timeout)
        except grpc.RpcError as err:
            raise from_rpc_error(err, self.address) from None


class _PutStream:
    """The request messages of one put: header, data chunks, trailer with the sha2-256.

    gRPC consumes the requests on its own thread. When reading the source fails, the call is
    cancelled rather than half-closed, so the service discards what it received instead of
    committing a truncated object; the source's exception is kept for ``put`` to raise.
    """

    def __init__(self, header: pb.PutHeader, chunks: Iterator[bytes]) -> None:
        self._header = header
        self._chunks = chunks
        self._call: grpc.Future[pb.PutResponse] | None = None
        self._attached = threading.Event()
        self.source_error: BaseException | None = None

    def attach(self, call: grpc.Future[pb.PutResponse]) -> None:
        self._call = call
        self._attached.set()

    def requests(self) -> Iterator[pb.PutRequest]:
        yield pb.PutRequest(header=self._header)
        digest = hashlib.sha256()
        try:
            for chunk in self._chunks:
                digest.update(chunk)
                yield pb.PutRequest(data=chunk)
        except Exception as err:  # the caller's source failed: report it, commit nothing
            self.source_error = err
            self._attached.wait(_ATTACH_TIMEOUT)
            if self._call is None:
                raise  # gRPC cancels a call whose request iterator raises
            self._call.cancel()
            return
        yield pb.PutRequest(trailer=pb.PutTrailer(sha256=digest.hexdigest()))


def _check_key(key: str) -> str:
    # Only the type is checked here: what makes a key valid is the service's rule, and it answers
    # INVALID_ARGUMENT with the reason.
    if not isinstance(key, str):
        raise TypeError(f"object keys are str, not {type(key).__name__}")
    return key
