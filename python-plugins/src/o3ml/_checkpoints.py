"""Checkpoints through the service's CheckpointService: save, load, stat, list, verify, export.

A save streams the header, then each entry of the encoded checkpoint (see ``_checkpoint_codec``)
as an EntryHeader followed by its bytes in data messages of at most 4 MiB, sliced from the
tensor storages without copying, then a trailer. The service commits the checkpoint only after
a complete stream, so an interrupted save leaves nothing visible. A load receives each entry
straight into the memory of the storage it becomes and returns the checkpoint only once every
entry arrived whole: a failed load returns nothing half-built.

On the service's own host (``_colocation``) the bytes go through files instead: a save writes
every entry into one file of the service's staging directory and sends the same messages
without data; a load (``CheckpointService.Locate``) gets, per entry, the verified host-cache
files of its blobs and reads them straight into the storage. Anything that keeps the files from
being used (a full disk, a cache file evicted meanwhile) falls back to the streams.

The functions take an ``O3Client`` or its ``Connection`` (``o3ml._connection``) and call through
that connection; ``CheckpointMethods`` offers them as methods of the client it is mixed into.
This module does not import ``_client``, so ``O3Client`` can mix it in.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import IO, TYPE_CHECKING, Any, Union

import grpc

from . import _colocation
from ._checkpoint_info import CheckpointInfo, VerifyResult
from ._checkpoint_wire import SaveMessage, deserialize_load, serialize_save
from ._connection import MAX_DATA_MESSAGE_BYTES, Connection, connection_of
from ._errors import O3mlError, error_for_code, from_rpc_error
from .gen import checkpoint_service_pb2 as pb
from .gen import manifest_pb2

if TYPE_CHECKING:
    from ._checkpoint_codec import Entry, MapLocation
    from ._client import O3Client

ClientLike = Union["O3Client", Connection]
log = logging.getLogger("o3ml")

#: Largest data message of a save (the service's limit, from proto/o3ml/v1/limits.proto).
DATA_MESSAGE_BYTES = MAX_DATA_MESSAGE_BYTES
_SERVICE = "/o3ml.v1.CheckpointService/"
_LIVE_STATES = ("committed", "durable")


def codec() -> ModuleType:
    """The checkpoint codec; it needs torch, which the base install does not."""
    try:
        from . import _checkpoint_codec
    except ModuleNotFoundError as err:
        if err.name != "torch":
            raise
        raise ImportError("saving and loading checkpoints needs PyTorch: pip install o3ml[lightning]") from err
    return _checkpoint_codec


def checkpoint_header(
    key: str,
    *,
    run: str,
    step: int = 0,
    epoch: int = 0,
    metrics: Mapping[str, float] | None = None,
    dataset_cid: str = "",
    parent_cid: str = "",
    labels: Mapping[str, str] | None = None,
) -> pb.CheckpointHeader:
    """The header of a save; the service checks it (a run is required, step and epoch >= 0)."""
    if not isinstance(key, str):
        raise TypeError(f"checkpoint keys are str, not {type(key).__name__}")
    return pb.CheckpointHeader(
        key=key,
        run=run,
        step=int(step),
        epoch=int(epoch),
        metrics={name: float(value) for name, value in (metrics or {}).items()},
        dataset_cid=dataset_cid or "",
        parent_cid=parent_cid or "",
        labels=dict(labels or {}),
    )


def save_checkpoint(
    client: ClientLike,
    key: str,
    checkpoint: Any,
    *,
    run: str,
    step: int = 0,
    epoch: int = 0,
    metrics: Mapping[str, float] | None = None,
    dataset_cid: str = "",
    parent_cid: str = "",
    labels: Mapping[str, str] | None = None,
) -> CheckpointInfo:
    """Saves ``checkpoint`` (a dict of tensors and picklable objects) under ``key``, tensor-aware.

    Each tensor storage is stored on its own, so storages unchanged since an earlier save of any
    checkpoint cost no upload (``CheckpointInfo.bytes_uploaded`` says what was sent). Raises
    ``InvalidArgumentError`` naming the key path of an object that cannot be pickled.
    """
    header = checkpoint_header(
        key, run=run, step=step, epoch=epoch, metrics=metrics, dataset_cid=dataset_cid,
        parent_cid=parent_cid, labels=labels,
    )
    return upload_entries(client, header, codec().encode(checkpoint))


def upload_entries(client: ClientLike, header: pb.CheckpointHeader, entries: Iterable[Entry]) -> CheckpointInfo:
    """Saves already encoded entries as one Save call; returns the committed checkpoint's info."""
    conn = connection_of(client)
    entries = list(entries)
    host = _colocation.colocated(conn)
    if host is not None:
        digests = _chunk_digests(entries, host.chunk_size)
        known = _recall(conn, header.run, entries, digests)
        for reuse in ([True, False] if any(known) else [False]):
            info = _save_staged(conn, host.staging_dir, header, entries, digests, known if reuse else [False] * len(entries))
            if info is None:
                break  # nothing could be staged (a full disk, say), or not for this service: stream instead
            if info is not _RETRY:
                return info  # type: ignore[return-value]
    return _save(conn, header, _save_messages(header, entries, with_data=True))


_RETRY = object()


def _save_staged(
    conn: Connection, staging: str, header: pb.CheckpointHeader, entries: list[Entry], digests: list[list[bytes]], reused: list[bool]
) -> CheckpointInfo | object | None:
    """One staged save: the entries not reused are written to a staged file, the rest only named.

    ``_RETRY`` when the service no longer had an entry sent as reused (save again without reuse);
    None when nothing could be staged, or the staging directory turned out to be another
    service's (the caller streams).
    """
    name = _colocation.stage(staging, [e.data for e, r in zip(entries, reused, strict=True) if not r])
    if name is None:
        return None
    staged = pb.CheckpointHeader()
    staged.CopyFrom(header)
    staged.staged = name
    path = os.path.join(staging, name)
    try:
        return _save(conn, staged, _save_messages(staged, entries, with_data=False, digests=digests, reused=reused))
    except O3mlError as err:
        if any(reused) and err.code == "FAILED_PRECONDITION" and "reuse" in str(err):
            return _RETRY
        if _colocation.refused_elsewhere(conn, path, err):
            return None
        raise
    finally:
        _colocation.unlink(path)  # the service deletes it too; whoever is first


def _chunk_digests(entries: list[Entry], chunk_size: int) -> list[list[bytes]]:
    """XXH3-128 of each chunk of each entry, cut as the service cuts (see CheckpointService.Recall)."""
    try:
        import xxhash
    except ModuleNotFoundError:
        return [[] for _ in entries]  # no reuse without it: every entry is staged
    return [
        [xxhash.xxh3_128_digest(e.data[at : at + chunk_size]) for at in range(0, e.nbytes, chunk_size)] for e in entries
    ]


def _recall(conn: Connection, run: str, entries: list[Entry], digests: list[list[bytes]]) -> list[bool]:
    """Which entries the service has from the run's last staged save (all False when it cannot say)."""
    if not any(digests):
        return [False] * len(entries)
    request = pb.RecallRequest(
        run=run,
        entries=[pb.EntryHeader(name=e.name, kind=e.kind, dtype=e.dtype, nbytes=e.nbytes, chunk_digests=d) for e, d in zip(entries, digests, strict=True)],
    )
    try:
        response: pb.RecallResponse = checkpoint_call(conn, "Recall", request, pb.RecallResponse)
    except O3mlError as err:
        log.debug("o3ml: the service did not say which entries it has (%s); staging them all", err)
        return [False] * len(entries)
    if len(response.known) != len(entries):
        return [False] * len(entries)
    return list(response.known)


def _save(conn: Connection, header: pb.CheckpointHeader, messages: Iterator[SaveMessage]) -> CheckpointInfo:
    save = conn.channel.stream_unary(
        _SERVICE + "Save", request_serializer=serialize_save, response_deserializer=pb.CheckpointInfo.FromString
    )
    call = save.future(messages, metadata=conn.metadata, timeout=conn.timeout)
    try:
        return CheckpointInfo.from_proto(call.result())
    except grpc.RpcError as err:
        raise from_rpc_error(err, conn.address) from None
    except grpc.FutureCancelledError:
        raise error_for_code(
            "CANCELLED", f"the save of checkpoint {header.key!r} was cancelled; nothing was committed"
        ) from None
    except BaseException:
        call.cancel()  # interrupted (Ctrl-C): the service commits nothing without a complete stream
        raise


def _save_messages(
    header: pb.CheckpointHeader,
    entries: list[Entry],
    *,
    with_data: bool,
    digests: list[list[bytes]] | None = None,
    reused: list[bool] | None = None,
) -> Iterator[SaveMessage]:
    yield pb.SaveCheckpointRequest(header=header)
    for i, entry in enumerate(entries):
        announced = pb.EntryHeader(name=entry.name, kind=entry.kind, dtype=entry.dtype, nbytes=entry.nbytes)
        if digests is not None:
            announced.chunk_digests.extend(digests[i])
            announced.reused = bool(reused and reused[i])
        yield pb.SaveCheckpointRequest(entry=announced)
        if with_data:
            for start in range(0, entry.nbytes, DATA_MESSAGE_BYTES):
                yield entry.data[start : start + DATA_MESSAGE_BYTES]
    yield pb.SaveCheckpointRequest(trailer=pb.SaveTrailer(entry_count=len(entries)))


def load_checkpoint(
    client: ClientLike,
    key: str | None = None,
    *,
    cid: str | None = None,
    map_location: MapLocation = None,
    weights_only: bool | None = None,
) -> Any:
    """The checkpoint named by ``key`` (its current version) or by manifest ``cid``.

    ``map_location`` and ``weights_only`` work as in torch.load (``weights_only`` defaults to
    torch.load's default, True: pass False for checkpoints holding arbitrary objects you trust).
    """
    conn = connection_of(client)
    selector = checkpoint_selector(key, cid)
    received = None
    if _colocation.staging_dir(conn) is not None:
        received = _receive_located(conn, selector)
    if received is None:
        received = _receive(conn, selector)
    return codec().decode(
        received.skeleton, received.storages, map_location=map_location, weights_only=weights_only
    )


def export_checkpoint(
    client: ClientLike, target: str | os.PathLike[str] | IO[bytes], key: str | None = None, *, cid: str | None = None
) -> CheckpointInfo:
    """Writes the checkpoint as the zip torch.save writes, for tools that only know torch.load.

    The bytes are the service's archive view (``CheckpointService.ReadArchive``), the one writer of
    the project: ``o3ml ckpt export`` and ``o3://`` reads give the same file. A path is written
    beside itself and renamed into place once complete, so it never holds half an archive.
    """
    conn = connection_of(client)
    info = stat_checkpoint(client, key, cid=cid)
    # Pinned to the version just resolved, so a key overwritten meanwhile cannot mix two versions.
    request = pb.ReadArchiveRequest(checkpoint=pb.CheckpointSelector(cid=info.cid))
    call = conn.channel.unary_stream(
        _SERVICE + "ReadArchive", request_serializer=pb.ReadArchiveRequest.SerializeToString, response_deserializer=pb.ReadArchiveResponse.FromString
    )
    if isinstance(target, (str, os.PathLike)):
        final = os.fspath(target)
        partial = f"{final}.{os.getpid()}.partial"
        try:
            with open(partial, "wb") as out:
                _copy_archive(conn, call(request, metadata=conn.metadata, timeout=conn.timeout), out, info.cid)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, final)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
    else:
        _copy_archive(conn, call(request, metadata=conn.metadata, timeout=conn.timeout), target, info.cid)
    return info


def _copy_archive(conn: Connection, stream: Any, out: IO[bytes], cid: str) -> None:
    size = -1
    written = 0
    try:
        for message in stream:
            if message.WhichOneof("msg") == "info":
                size = message.info.size
            elif message.data:
                out.write(message.data)
                written += len(message.data)
    except grpc.RpcError as err:
        raise from_rpc_error(err, conn.address) from None
    if size < 0 or written != size:
        raise error_for_code(
            "INTEGRITY", f"the archive of checkpoint {cid} from {conn.address} ended after {written} of {size} bytes; export it again",
            {"cid": cid},
        )


def stat_checkpoint(client: ClientLike, key: str | None = None, *, cid: str | None = None) -> CheckpointInfo:
    """The info of one checkpoint; ``NotFoundError`` when there is none."""
    info: pb.CheckpointInfo = checkpoint_call(connection_of(client), "Stat", checkpoint_selector(key, cid), pb.CheckpointInfo)
    return CheckpointInfo.from_proto(info)


def list_checkpoints(client: ClientLike, run: str | None = None, prefix: str = "") -> list[CheckpointInfo]:
    """Checkpoints of ``run`` (every run when None) whose key starts with ``prefix``, as listed by the service."""
    request = pb.ListCheckpointsRequest(run=run or "", prefix=prefix)
    response: pb.ListCheckpointsResponse = checkpoint_call(connection_of(client), "List", request, pb.ListCheckpointsResponse)
    return [CheckpointInfo.from_proto(info) for info in response.checkpoints]


def latest_checkpoint(client: ClientLike, run: str, prefix: str = "") -> CheckpointInfo | None:
    """The most recently committed, not deleted checkpoint of ``run``; None when it has none."""
    live = [c for c in list_checkpoints(client, run, prefix) if c.state in _LIVE_STATES]
    return max(live, key=lambda c: (c.created, c.step), default=None)


def verify_checkpoint(client: ClientLike, key: str | None = None, *, cid: str | None = None) -> VerifyResult:
    """Makes the service re-read and re-hash every blob of the checkpoint; ``IntegrityError`` on a mismatch."""
    response: pb.VerifyCheckpointResponse = checkpoint_call(
        connection_of(client), "Verify", checkpoint_selector(key, cid), pb.VerifyCheckpointResponse
    )
    return VerifyResult(CheckpointInfo.from_proto(response.info), response.blobs_checked, response.bytes_checked)


class CheckpointMethods:
    """The checkpoint calls as methods of a client (``O3Client`` subclasses or mixes this in)."""

    def save_checkpoint(self, key: str, checkpoint: Any, *, run: str, **metadata: Any) -> CheckpointInfo:
        return save_checkpoint(self._client(), key, checkpoint, run=run, **metadata)

    def load_checkpoint(self, key: str | None = None, **options: Any) -> Any:
        return load_checkpoint(self._client(), key, **options)

    def stat_checkpoint(self, key: str | None = None, *, cid: str | None = None) -> CheckpointInfo:
        return stat_checkpoint(self._client(), key, cid=cid)

    def checkpoints(self, run: str | None = None, prefix: str = "") -> list[CheckpointInfo]:
        return list_checkpoints(self._client(), run, prefix)

    def latest_checkpoint(self, run: str, prefix: str = "") -> CheckpointInfo | None:
        return latest_checkpoint(self._client(), run, prefix)

    def verify_checkpoint(self, key: str | None = None, *, cid: str | None = None) -> VerifyResult:
        return verify_checkpoint(self._client(), key, cid=cid)

    def export_checkpoint(self, target: str | os.PathLike[str] | IO[bytes], key: str | None = None, *, cid: str | None = None) -> CheckpointInfo:
        return export_checkpoint(self._client(), target, key, cid=cid)

    def _client(self) -> ClientLike:
        return self  # type: ignore[return-value]


# Each method documents itself with its function's docstring, so help(O3Client) and IDEs show the
# same text as the functions, from one place.
for _method, _function in {
    "save_checkpoint": save_checkpoint,
    "load_checkpoint": load_checkpoint,
    "stat_checkpoint": stat_checkpoint,
    "checkpoints": list_checkpoints,
    "latest_checkpoint": latest_checkpoint,
    "verify_checkpoint": verify_checkpoint,
    "export_checkpoint": export_checkpoint,
}.items():
    getattr(CheckpointMethods, _method).__doc__ = _function.__doc__
del _method, _function


@dataclass
class _Received:
    info: CheckpointInfo
    skeleton: bytearray
    storages: dict[str, Any]


class _Sink:
    """The entry being received and the memory its bytes go to."""

    def __init__(self, header: pb.EntryHeader) -> None:
        self.header = header
        self.filled = 0
        if header.kind == manifest_pb2.STORAGE:
            self.storage, self.view = codec().new_storage(header.nbytes)
        else:
            self.storage = None
            self.skeleton = bytearray(header.nbytes)
            self.view = memoryview(self.skeleton)

    def write(self, data: memoryview | bytes) -> bool:
        end = self.filled + len(data)
        if end > self.header.nbytes:
            return False
        self.view[self.filled : end] = data
        self.filled = end
        return True

    @property
    def complete(self) -> bool:
        return self.filled == self.header.nbytes


def _receive(conn: Connection, selector: pb.CheckpointSelector) -> _Received:
    load = conn.channel.unary_stream(
        _SERVICE + "Load", request_serializer=pb.CheckpointSelector.SerializeToString, response_deserializer=deserialize_load
    )
    what = selector.key or selector.cid
    stream = load(selector, metadata=conn.metadata, timeout=conn.timeout)
    info: pb.CheckpointInfo | None = None
    sinks: list[_Sink] = []
    try:
        for message in stream:
            # A data message arrives as a view of its bytes (deserialize_load), any other parsed.
            if isinstance(message, memoryview) or message.WhichOneof("msg") == "data":
                data = message if isinstance(message, memoryview) else message.data
                if not sinks or not sinks[-1].write(data):
                    raise _bad_stream(conn, what, "data beyond what the entry header announced")
                continue
            kind = message.WhichOneof("msg")
            if kind == "info" and info is None and not sinks:
                info = message.info
            elif kind == "entry" and info is not None:
                if sinks and not sinks[-1].complete:
                    raise _bad_stream(conn, what, f"entry {sinks[-1].header.name!r} ended early")
                _add_sink(conn, what, message.entry, sinks)
            else:
                raise _bad_stream(conn, what, f"an unexpected {kind or 'empty'} message")
    except grpc.RpcError as err:
        raise from_rpc_error(err, conn.address) from None
    except BaseException:
        stream.cancel()
        raise
    return _received(conn, what, info, sinks)


#: Threads reading cache files into storages: reads release the GIL and overlap the stream.
_READERS = 4


def _read_files(view: memoryview, files: Iterable[Any]) -> None:
    at = 0
    for f in files:
        # A range of the file: all of it, or a packed entry's bytes in its pack (a cache file is
        # named by its CID and pinned, so one that was replaced meanwhile holds the same bytes).
        _colocation.read_into(f.path, view[at : at + f.size], f.offset)
        at += f.size


def _receive_located(conn: Connection, selector: pb.CheckpointSelector) -> _Received | None:
    """A co-located load: each entry read from the host-cache files the service verified.

    None when a file could not be read as announced (the caller streams the checkpoint instead).
    """
    locate = conn.channel.unary_stream(
        _SERVICE + "Locate", request_serializer=pb.CheckpointSelector.SerializeToString, response_deserializer=pb.LocateCheckpointResponse.FromString
    )
    what = selector.key or selector.cid
    stream = locate(selector, metadata=conn.metadata, timeout=conn.timeout)
    info: pb.CheckpointInfo | None = None
    sinks: list[_Sink] = []
    reads: list[Future[None]] = []
    with ThreadPoolExecutor(_READERS, thread_name_prefix="o3ml-load") as readers:
        try:
            for message in stream:
                kind = message.WhichOneof("msg")
                if kind == "info" and info is None:
                    info = message.info
                elif kind == "entry" and info is not None:
                    header = message.entry.entry
                    inline = message.entry.data
                    if inline and message.entry.files:
                        raise _bad_stream(conn, what, f"entry {header.name!r} came both inline and as files")
                    if sum(f.size for f in message.entry.files) + len(inline) != header.nbytes:
                        raise _bad_stream(conn, what, f"the files of entry {header.name!r} do not add up to its {header.nbytes} bytes")
                    sink = _add_sink(conn, what, header, sinks)
                    if inline:
                        sink.write(inline)
                    else:
                        sink.filled = header.nbytes
                        reads.append(readers.submit(_read_files, sink.view, list(message.entry.files)))
                else:
                    raise _bad_stream(conn, what, f"an unexpected {kind or 'empty'} message")
            for r in reads:
                r.result()
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.UNIMPLEMENTED:
                return None  # a service without Locate
            raise from_rpc_error(err, conn.address) from None
        except _colocation.StaleFile as stale:
            stream.cancel()
            log.debug("o3ml: cache file %s changed during the load of %r; streaming it instead", stale, what)
            return None
        except BaseException:
            stream.cancel()
            raise
        finally:
            for r in reads:
                r.cancel()
    return _received(conn, what, info, sinks)


def _add_sink(conn: Connection, what: str, header: pb.EntryHeader, sinks: list[_Sink]) -> _Sink:
    """The sink of the next entry; the skeleton comes first, then storages."""
    if header.kind != (manifest_pb2.STORAGE if sinks else manifest_pb2.SKELETON):
        raise _bad_stream(conn, what, f"entry {len(sinks)} has kind {header.kind}; the skeleton comes first, then storages")
    sinks.append(_Sink(header))
    return sinks[-1]


def _received(conn: Connection, what: str, info: pb.CheckpointInfo | None, sinks: list[_Sink]) -> _Received:
    """The checkpoint, once every entry arrived whole and as many as the info counts."""
    if info is None:
        raise _bad_stream(conn, what, "no info message")
    if sinks and not sinks[-1].complete:
        raise _bad_stream(conn, what, f"entry {sinks[-1].header.name!r} ended early")
    if not sinks or len(sinks) != info.entry_count:
        raise _bad_stream(conn, what, f"{len(sinks)} entries where its info counts {info.entry_count}")
    storages = {sink.header.name: sink.storage for sink in sinks[1:]}
    return _Received(CheckpointInfo.from_proto(info), sinks[0].skeleton, storages)


def _bad_stream(conn: Connection, what: str, problem: str) -> Exception:
    return error_for_code(
        "INTEGRITY",
        f"the load of checkpoint {what!r} from {conn.address} broke the stream contract ({problem}); "
        "nothing was loaded: retry, and report it with the service log if it persists",
    )


def checkpoint_selector(key: str | None, cid: str | None) -> pb.CheckpointSelector:
    if (key is None) == (cid is None):
        raise TypeError("name the checkpoint by exactly one of key or cid")
    return pb.CheckpointSelector(key=key or "", cid=cid or "")


def checkpoint_call(conn: Connection, method: str, request: Any, response_type: Any) -> Any:
    call = conn.channel.unary_unary(
        _SERVICE + method, request_serializer=type(request).SerializeToString, response_deserializer=response_type.FromString
    )
    try:
        return call(request, metadata=conn.metadata, timeout=conn.timeout)
    except grpc.RpcError as err:
        raise from_rpc_error(err, conn.address) from None
