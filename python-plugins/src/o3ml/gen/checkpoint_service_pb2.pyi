from . import manifest_pb2 as _manifest_pb2
from . import object_service_pb2 as _object_service_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class KeepBest(_message.Message):
    __slots__ = ("count", "metric", "mode")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    count: int
    metric: str
    mode: str
    def __init__(self, count: _Optional[int] = ..., metric: _Optional[str] = ..., mode: _Optional[str] = ...) -> None: ...

class KeepEvery(_message.Message):
    __slots__ = ("every", "unit")
    EVERY_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    every: int
    unit: str
    def __init__(self, every: _Optional[int] = ..., unit: _Optional[str] = ...) -> None: ...

class PruneRequest(_message.Message):
    __slots__ = ("run", "keep_last", "keep_best", "keep_every", "keep_within", "dry_run")
    RUN_FIELD_NUMBER: _ClassVar[int]
    KEEP_LAST_FIELD_NUMBER: _ClassVar[int]
    KEEP_BEST_FIELD_NUMBER: _ClassVar[int]
    KEEP_EVERY_FIELD_NUMBER: _ClassVar[int]
    KEEP_WITHIN_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    run: str
    keep_last: int
    keep_best: _containers.RepeatedCompositeFieldContainer[KeepBest]
    keep_every: KeepEvery
    keep_within: str
    dry_run: bool
    def __init__(self, run: _Optional[str] = ..., keep_last: _Optional[int] = ..., keep_best: _Optional[_Iterable[_Union[KeepBest, _Mapping]]] = ..., keep_every: _Optional[_Union[KeepEvery, _Mapping]] = ..., keep_within: _Optional[str] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class PrunedCheckpoint(_message.Message):
    __slots__ = ("info", "removed", "reasons")
    INFO_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    info: CheckpointInfo
    removed: bool
    reasons: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, info: _Optional[_Union[CheckpointInfo, _Mapping]] = ..., removed: _Optional[bool] = ..., reasons: _Optional[_Iterable[str]] = ...) -> None: ...

class PruneResponse(_message.Message):
    __slots__ = ("run", "dry_run", "checkpoints")
    RUN_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    run: str
    dry_run: bool
    checkpoints: _containers.RepeatedCompositeFieldContainer[PrunedCheckpoint]
    def __init__(self, run: _Optional[str] = ..., dry_run: _Optional[bool] = ..., checkpoints: _Optional[_Iterable[_Union[PrunedCheckpoint, _Mapping]]] = ...) -> None: ...

class PinRequest(_message.Message):
    __slots__ = ("checkpoint",)
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    checkpoint: CheckpointSelector
    def __init__(self, checkpoint: _Optional[_Union[CheckpointSelector, _Mapping]] = ...) -> None: ...

class PinResponse(_message.Message):
    __slots__ = ("info", "pinned")
    INFO_FIELD_NUMBER: _ClassVar[int]
    PINNED_FIELD_NUMBER: _ClassVar[int]
    info: CheckpointInfo
    pinned: bool
    def __init__(self, info: _Optional[_Union[CheckpointInfo, _Mapping]] = ..., pinned: _Optional[bool] = ...) -> None: ...

class RecallRequest(_message.Message):
    __slots__ = ("run", "entries")
    RUN_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    run: str
    entries: _containers.RepeatedCompositeFieldContainer[EntryHeader]
    def __init__(self, run: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[EntryHeader, _Mapping]]] = ...) -> None: ...

class RecallResponse(_message.Message):
    __slots__ = ("known", "chunk_size")
    KNOWN_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    known: _containers.RepeatedScalarFieldContainer[bool]
    chunk_size: int
    def __init__(self, known: _Optional[_Iterable[bool]] = ..., chunk_size: _Optional[int] = ...) -> None: ...

class CheckpointHeader(_message.Message):
    __slots__ = ("key", "run", "step", "epoch", "metrics", "dataset_cid", "parent_cid", "labels", "staged")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    DATASET_CID_FIELD_NUMBER: _ClassVar[int]
    PARENT_CID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    STAGED_FIELD_NUMBER: _ClassVar[int]
    key: str
    run: str
    step: int
    epoch: int
    metrics: _containers.ScalarMap[str, float]
    dataset_cid: str
    parent_cid: str
    labels: _containers.ScalarMap[str, str]
    staged: str
    def __init__(self, key: _Optional[str] = ..., run: _Optional[str] = ..., step: _Optional[int] = ..., epoch: _Optional[int] = ..., metrics: _Optional[_Mapping[str, float]] = ..., dataset_cid: _Optional[str] = ..., parent_cid: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., staged: _Optional[str] = ...) -> None: ...

class EntryHeader(_message.Message):
    __slots__ = ("name", "kind", "dtype", "nbytes", "chunk_digests", "reused")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    NBYTES_FIELD_NUMBER: _ClassVar[int]
    CHUNK_DIGESTS_FIELD_NUMBER: _ClassVar[int]
    REUSED_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: _manifest_pb2.EntryKind
    dtype: str
    nbytes: int
    chunk_digests: _containers.RepeatedScalarFieldContainer[bytes]
    reused: bool
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[_manifest_pb2.EntryKind, str]] = ..., dtype: _Optional[str] = ..., nbytes: _Optional[int] = ..., chunk_digests: _Optional[_Iterable[bytes]] = ..., reused: _Optional[bool] = ...) -> None: ...

class SaveTrailer(_message.Message):
    __slots__ = ("entry_count",)
    ENTRY_COUNT_FIELD_NUMBER: _ClassVar[int]
    entry_count: int
    def __init__(self, entry_count: _Optional[int] = ...) -> None: ...

class SaveCheckpointRequest(_message.Message):
    __slots__ = ("header", "entry", "data", "trailer")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TRAILER_FIELD_NUMBER: _ClassVar[int]
    header: CheckpointHeader
    entry: EntryHeader
    data: bytes
    trailer: SaveTrailer
    def __init__(self, header: _Optional[_Union[CheckpointHeader, _Mapping]] = ..., entry: _Optional[_Union[EntryHeader, _Mapping]] = ..., data: _Optional[bytes] = ..., trailer: _Optional[_Union[SaveTrailer, _Mapping]] = ...) -> None: ...

class CheckpointSelector(_message.Message):
    __slots__ = ("key", "cid")
    KEY_FIELD_NUMBER: _ClassVar[int]
    CID_FIELD_NUMBER: _ClassVar[int]
    key: str
    cid: str
    def __init__(self, key: _Optional[str] = ..., cid: _Optional[str] = ...) -> None: ...

class CheckpointInfo(_message.Message):
    __slots__ = ("cid", "key", "run", "step", "epoch", "metrics", "dataset_cid", "parent_cid", "state", "bytes_total", "bytes_uploaded", "bytes_deduplicated", "created_unix_ms", "entry_count")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    CID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    DATASET_CID_FIELD_NUMBER: _ClassVar[int]
    PARENT_CID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    BYTES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    BYTES_UPLOADED_FIELD_NUMBER: _ClassVar[int]
    BYTES_DEDUPLICATED_FIELD_NUMBER: _ClassVar[int]
    CREATED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    ENTRY_COUNT_FIELD_NUMBER: _ClassVar[int]
    cid: str
    key: str
    run: str
    step: int
    epoch: int
    metrics: _containers.ScalarMap[str, float]
    dataset_cid: str
    parent_cid: str
    state: str
    bytes_total: int
    bytes_uploaded: int
    bytes_deduplicated: int
    created_unix_ms: int
    entry_count: int
    def __init__(self, cid: _Optional[str] = ..., key: _Optional[str] = ..., run: _Optional[str] = ..., step: _Optional[int] = ..., epoch: _Optional[int] = ..., metrics: _Optional[_Mapping[str, float]] = ..., dataset_cid: _Optional[str] = ..., parent_cid: _Optional[str] = ..., state: _Optional[str] = ..., bytes_total: _Optional[int] = ..., bytes_uploaded: _Optional[int] = ..., bytes_deduplicated: _Optional[int] = ..., created_unix_ms: _Optional[int] = ..., entry_count: _Optional[int] = ...) -> None: ...

class LoadCheckpointResponse(_message.Message):
    __slots__ = ("info", "entry", "data")
    INFO_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    info: CheckpointInfo
    entry: EntryHeader
    data: bytes
    def __init__(self, info: _Optional[_Union[CheckpointInfo, _Mapping]] = ..., entry: _Optional[_Union[EntryHeader, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class CachedFile(_message.Message):
    __slots__ = ("path", "size", "offset")
    PATH_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    path: str
    size: int
    offset: int
    def __init__(self, path: _Optional[str] = ..., size: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class LocatedEntry(_message.Message):
    __slots__ = ("entry", "files", "data")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    entry: EntryHeader
    files: _containers.RepeatedCompositeFieldContainer[CachedFile]
    data: bytes
    def __init__(self, entry: _Optional[_Union[EntryHeader, _Mapping]] = ..., files: _Optional[_Iterable[_Union[CachedFile, _Mapping]]] = ..., data: _Optional[bytes] = ...) -> None: ...

class LocateCheckpointResponse(_message.Message):
    __slots__ = ("info", "entry")
    INFO_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    info: CheckpointInfo
    entry: LocatedEntry
    def __init__(self, info: _Optional[_Union[CheckpointInfo, _Mapping]] = ..., entry: _Optional[_Union[LocatedEntry, _Mapping]] = ...) -> None: ...

class ListCheckpointsRequest(_message.Message):
    __slots__ = ("run", "prefix")
    RUN_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    run: str
    prefix: str
    def __init__(self, run: _Optional[str] = ..., prefix: _Optional[str] = ...) -> None: ...

class ListCheckpointsResponse(_message.Message):
    __slots__ = ("checkpoints",)
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    checkpoints: _containers.RepeatedCompositeFieldContainer[CheckpointInfo]
    def __init__(self, checkpoints: _Optional[_Iterable[_Union[CheckpointInfo, _Mapping]]] = ...) -> None: ...

class VerifyCheckpointResponse(_message.Message):
    __slots__ = ("info", "blobs_checked", "bytes_checked")
    INFO_FIELD_NUMBER: _ClassVar[int]
    BLOBS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    BYTES_CHECKED_FIELD_NUMBER: _ClassVar[int]
    info: CheckpointInfo
    blobs_checked: int
    bytes_checked: int
    def __init__(self, info: _Optional[_Union[CheckpointInfo, _Mapping]] = ..., blobs_checked: _Optional[int] = ..., bytes_checked: _Optional[int] = ...) -> None: ...

class ReadArchiveRequest(_message.Message):
    __slots__ = ("checkpoint", "offset", "length")
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    checkpoint: CheckpointSelector
    offset: int
    length: int
    def __init__(self, checkpoint: _Optional[_Union[CheckpointSelector, _Mapping]] = ..., offset: _Optional[int] = ..., length: _Optional[int] = ...) -> None: ...

class ReadArchiveResponse(_message.Message):
    __slots__ = ("info", "data")
    INFO_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    info: _object_service_pb2.ObjectInfo
    data: bytes
    def __init__(self, info: _Optional[_Union[_object_service_pb2.ObjectInfo, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...
