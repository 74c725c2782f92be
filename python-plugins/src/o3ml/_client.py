"""``O3Client``: named objects of any size through the o3ml storage service (gRPC).

The service stores each object in O3 as content-addressed blobs, a manifest and a ref; this client
only streams bytes and translates failures into ``O3mlError`` subclasses. One client may be shared
by threads. A gRPC channel must not be used in a process forked after it was made, so a client
opens a new channel from its ``Connection`` (address, token, TLS files, deadline, message limit)
the first time it is used in another process; the inherited channel is left alone.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import BinaryIO, Callable, TypeVar

import grpc

from . import _colocation
from . import _located_objects as _located
from ._errors import error_for_code, from_rpc_error
from ._checkpoints import CheckpointMethods
from ._metadata import MetadataMethods
from ._object_info import ObjectInfo
from ._put_source import PutData, open_source
from ._reader import ObjectReader
from ._tls import TlsFiles, channel_credentials
from .gen import object_service_pb2 as pb
from .gen import object_service_pb2_grpc

DEFAULT_ADDRESS = "127.0.0.1:7433"
# Data messages carry at most 4 MiB (the service's limit); 2 MiB keeps both sides' buffers small
# while still amortising the per-message cost.
CHUNK_SIZE = 2 * 1024 * 1024
_MAX_MESSAGE = 8 * 1024 * 1024
_READ_BUFFER = 1024 * 1024
# How long a failing put source waits for the call handle it must cancel; the handle is attached
# right after the call starts, so this only bounds a failure that should not happen.
_ATTACH_TIMEOUT = 30.0

_T = TypeVar("_T")


@dataclass(frozen=True)
class Connection:
    """How to reach the service: what another process (a data-loader worker) opens its own channel from.

    Resolved once, environment defaults included, so every process of a job connects the same way
    whatever its own environment says (forkserver workers inherit the environment the fork server
    started with, not the trainer's).
    """

    address: str
    token: str = field(default="", repr=False)
    tls: TlsFiles = TlsFiles()
    timeout: float | None = None
    max_message: int = _MAX_MESSAGE

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()

    def open_channel(self) -> grpc.Channel:
        options = [
            ("grpc.max_receive_message_length", self.max_message),
            ("grpc.max_send_message_length", self.max_message),
        ]
        if self.tls.enabled:
            return grpc.secure_channel(self.address, channel_credentials(self.tls), options=options)
        return grpc.insecure_channel(self.address, options=options)


class O3Client(MetadataMethods, CheckpointMethods):
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
        self.address: str = address or os.environ.get("O3ML_SERVICE") or DEFAULT_ADDRESS
        token = token if token is not None else os.environ.get("O3ML_TOKEN", "")
        if token and not (token.isascii() and token.isprintable() and not any(c.isspace() for c in token)):
            raise ValueError("the o3ml token must be printable ASCII without spaces; check O3ML_TOKEN")
        self._attach(Connection(self.address, token, TlsFiles.resolve(tls_ca, tls_cert, tls_key), timeout))

    @classmethod
    def from_connection(cls, connection: Connection) -> O3Client:
        """A client of ``connection`` exactly, with no environment defaults applied."""
        client = cls.__new__(cls)
        client.address = connection.address
        client._attach(connection)
        return client

    def _attach(self, connection: Connection) -> None:
        #: How this client reaches the service; picklable, so other processes can connect alike.
        self.connection = connection
        self._metadata: tuple[tuple[str, str], ...] = connection.metadata
        self._timeout = connection.timeout
        self.tls: bool = connection.tls.enabled
        self._reopen_lock = threading.Lock()
        self._pid = os.getpid()
        self._own_channel = connection.open_channel()
        self._own_stub = object_service_pb2_grpc.ObjectServiceStub(self._own_channel)

    @property
    def _channel(self) -> grpc.Channel:
        if self._pid != os.getpid():
            self._reopen()
        return self._own_channel

    @_channel.setter
    def _channel(self, channel: grpc.Channel) -> None:
        # A wrapped channel (gRPC interceptors, as examples/digits/upload_hold.py installs) carries
        # every call of this process; a process the client is used in later opens a plain channel
        # from the connection, as it would anyway.
        with self._reopen_lock:
            self._own_channel = channel
            self._own_stub = object_service_pb2_grpc.ObjectServiceStub(channel)
            self._pid = os.getpid()

    @property
    def _stub(self) -> object_service_pb2_grpc.ObjectServiceStub:
        if self._pid != os.getpid():
            self._reopen()
        return self._own_stub

    def _reopen(self) -> None:
        # In a forked child the inherited channel belongs to the parent's gRPC state: never call,
        # close or even touch it here; a channel of this process's own replaces it.
        with self._reopen_lock:
            if self._pid != os.getpid():
                self._own_channel = self.connection.open_channel()
                self._own_stub = object_service_pb2_grpc.ObjectServiceStub(self._own_channel)
                self._pid = os.getpid()

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
            staging = _colocation.staging_dir(self._channel, self._metadata, self.address)
            if staging is not None:
                staged = _located.put_staged(self._stub, self._metadata, self._timeout, self.address, staging, header, memoryview(data).cast("B"))
                if staged is not None:
                    return ObjectInfo.from_proto(staged.info)
        with open_source(data, CHUNK_SIZE) as source:
            if source.size is not None:
                header.expected_size = source.size
                header.has_expected_size = True
            stream = _PutStream(header, source.chunks)
            call = self._stub.Put.future(stream.requests(), metadata=self._metadata, timeout=self._timeout)
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
        if _colocation.staging_dir(self._channel, self._metadata, self.address) is not None:
            located = _located.get_located(self._stub, self._metadata, self._timeout, self.address, _check_key(key))
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
        return ObjectInfo.from_proto(self._unary(self._stub.Stat, request))

    def copy(self, source: str, destination: str) -> ObjectInfo:
        """Gives ``destination`` the value ``source`` has now, on the service's side.

        The copy names the same stored manifest, so no byte is transferred or stored again;
        ``NotFoundError`` when there is no ``source``.
        """
        request = pb.CopyRequest(source=_check_key(source), destination=_check_key(destination))
        return ObjectInfo.from_proto(self._unary(self._stub.Copy, request))

    def delete(self, key: str) -> bool:
        """Removes ``key`` from the namespace; True when it existed."""
        response: pb.DeleteResponse = self._unary(self._stub.Delete, pb.DeleteRequest(key=_check_key(key)))
        return response.existed

    def list(self, prefix: str = "", *, page_size: int = 0) -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, fetched page by page as iterated.

        ``page_size`` is how many objects to ask for per call (0: the service's default).
        """
        token = ""
        while True:
            request = pb.ListRequest(prefix=prefix, page_size=page_size, page_token=token)
            response: pb.ListResponse = self._unary(self._stub.List, request)
            for info in response.objects:
                yield ObjectInfo.from_proto(info)
            token = response.next_page_token
            if not token:
                return

    def close(self) -> None:
        """Closes the channel; calls in flight are cancelled."""
        if self._pid == os.getpid():
            self._own_channel.close()

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
            return self._stub.Get(request, metadata=self._metadata, timeout=self._timeout)  # type: ignore[no-any-return]

        return ObjectReader(key, opener, self.address)

    def _unary(self, method: Callable[..., _T], request: object) -> _T:
        try:
            return method(request, metadata=self._metadata, timeout=self._timeout)
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
        self._call: grpc.Future | None = None
        self._attached = threading.Event()
        self.source_error: BaseException | None = None

    def attach(self, call: grpc.Future) -> None:
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
