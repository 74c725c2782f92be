from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StorageUsageRequest(_message.Message):
    __slots__ = ("run", "dataset")
    RUN_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    run: str
    dataset: str
    def __init__(self, run: _Optional[str] = ..., dataset: _Optional[str] = ...) -> None: ...

class StorageUsageReport(_message.Message):
    __slots__ = ("selection", "items", "logical_bytes", "blobs", "manifests", "refs", "stored_bytes", "shared", "reclaimable_blobs", "reclaimable_manifests", "reclaimable_refs", "reclaimable_bytes", "versioned", "noncurrent_versions", "delete_markers", "log", "other", "total_bytes")
    SELECTION_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    LOGICAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    BLOBS_FIELD_NUMBER: _ClassVar[int]
    MANIFESTS_FIELD_NUMBER: _ClassVar[int]
    REFS_FIELD_NUMBER: _ClassVar[int]
    STORED_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHARED_FIELD_NUMBER: _ClassVar[int]
    RECLAIMABLE_BLOBS_FIELD_NUMBER: _ClassVar[int]
    RECLAIMABLE_MANIFESTS_FIELD_NUMBER: _ClassVar[int]
    RECLAIMABLE_REFS_FIELD_NUMBER: _ClassVar[int]
    RECLAIMABLE_BYTES_FIELD_NUMBER: _ClassVar[int]
    VERSIONED_FIELD_NUMBER: _ClassVar[int]
    NONCURRENT_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    DELETE_MARKERS_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    OTHER_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    selection: str
    items: int
    logical_bytes: int
    blobs: GcCounts
    manifests: GcCounts
    refs: GcCounts
    stored_bytes: int
    shared: GcCounts
    reclaimable_blobs: GcCounts
    reclaimable_manifests: GcCounts
    reclaimable_refs: GcCounts
    reclaimable_bytes: int
    versioned: bool
    noncurrent_versions: GcCounts
    delete_markers: int
    log: GcCounts
    other: GcCounts
    total_bytes: int
    def __init__(self, selection: _Optional[str] = ..., items: _Optional[int] = ..., logical_bytes: _Optional[int] = ..., blobs: _Optional[_Union[GcCounts, _Mapping]] = ..., manifests: _Optional[_Union[GcCounts, _Mapping]] = ..., refs: _Optional[_Union[GcCounts, _Mapping]] = ..., stored_bytes: _Optional[int] = ..., shared: _Optional[_Union[GcCounts, _Mapping]] = ..., reclaimable_blobs: _Optional[_Union[GcCounts, _Mapping]] = ..., reclaimable_manifests: _Optional[_Union[GcCounts, _Mapping]] = ..., reclaimable_refs: _Optional[_Union[GcCounts, _Mapping]] = ..., reclaimable_bytes: _Optional[int] = ..., versioned: _Optional[bool] = ..., noncurrent_versions: _Optional[_Union[GcCounts, _Mapping]] = ..., delete_markers: _Optional[int] = ..., log: _Optional[_Union[GcCounts, _Mapping]] = ..., other: _Optional[_Union[GcCounts, _Mapping]] = ..., total_bytes: _Optional[int] = ...) -> None: ...

class ColocateRequest(_message.Message):
    __slots__ = ("probe", "challenge", "answer")
    PROBE_FIELD_NUMBER: _ClassVar[int]
    CHALLENGE_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    probe: str
    challenge: bytes
    answer: bytes
    def __init__(self, probe: _Optional[str] = ..., challenge: _Optional[bytes] = ..., answer: _Optional[bytes] = ...) -> None: ...

class ColocateResponse(_message.Message):
    __slots__ = ("staging_dir", "probe", "challenge", "colocated", "chunk_size")
    STAGING_DIR_FIELD_NUMBER: _ClassVar[int]
    PROBE_FIELD_NUMBER: _ClassVar[int]
    CHALLENGE_FIELD_NUMBER: _ClassVar[int]
    COLOCATED_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SIZE_FIELD_NUMBER: _ClassVar[int]
    staging_dir: str
    probe: str
    challenge: bytes
    colocated: bool
    chunk_size: int
    def __init__(self, staging_dir: _Optional[str] = ..., probe: _Optional[str] = ..., challenge: _Optional[bytes] = ..., colocated: _Optional[bool] = ..., chunk_size: _Optional[int] = ...) -> None: ...

class CollectGarbageRequest(_message.Message):
    __slots__ = ("dry_run", "grace_seconds", "has_grace_seconds")
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    GRACE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    HAS_GRACE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    grace_seconds: int
    has_grace_seconds: bool
    def __init__(self, dry_run: _Optional[bool] = ..., grace_seconds: _Optional[int] = ..., has_grace_seconds: _Optional[bool] = ...) -> None: ...

class GcCounts(_message.Message):
    __slots__ = ("count", "bytes")
    COUNT_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    count: int
    bytes: int
    def __init__(self, count: _Optional[int] = ..., bytes: _Optional[int] = ...) -> None: ...

class GcReport(_message.Message):
    __slots__ = ("dry_run", "grace_seconds", "live_blobs", "live_manifests", "deleted_blobs", "deleted_manifests", "deleted_refs", "pending_blobs", "pending_manifests", "broken_names", "live_refs", "log_events", "duration_ms")
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    GRACE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LIVE_BLOBS_FIELD_NUMBER: _ClassVar[int]
    LIVE_MANIFESTS_FIELD_NUMBER: _ClassVar[int]
    DELETED_BLOBS_FIELD_NUMBER: _ClassVar[int]
    DELETED_MANIFESTS_FIELD_NUMBER: _ClassVar[int]
    DELETED_REFS_FIELD_NUMBER: _ClassVar[int]
    PENDING_BLOBS_FIELD_NUMBER: _ClassVar[int]
    PENDING_MANIFESTS_FIELD_NUMBER: _ClassVar[int]
    BROKEN_NAMES_FIELD_NUMBER: _ClassVar[int]
    LIVE_REFS_FIELD_NUMBER: _ClassVar[int]
    LOG_EVENTS_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    grace_seconds: int
    live_blobs: GcCounts
    live_manifests: GcCounts
    deleted_blobs: GcCounts
    deleted_manifests: GcCounts
    deleted_refs: int
    pending_blobs: GcCounts
    pending_manifests: GcCounts
    broken_names: _containers.RepeatedScalarFieldContainer[str]
    live_refs: int
    log_events: int
    duration_ms: int
    def __init__(self, dry_run: _Optional[bool] = ..., grace_seconds: _Optional[int] = ..., live_blobs: _Optional[_Union[GcCounts, _Mapping]] = ..., live_manifests: _Optional[_Union[GcCounts, _Mapping]] = ..., deleted_blobs: _Optional[_Union[GcCounts, _Mapping]] = ..., deleted_manifests: _Optional[_Union[GcCounts, _Mapping]] = ..., deleted_refs: _Optional[int] = ..., pending_blobs: _Optional[_Union[GcCounts, _Mapping]] = ..., pending_manifests: _Optional[_Union[GcCounts, _Mapping]] = ..., broken_names: _Optional[_Iterable[str]] = ..., live_refs: _Optional[int] = ..., log_events: _Optional[int] = ..., duration_ms: _Optional[int] = ...) -> None: ...

class GcProgress(_message.Message):
    __slots__ = ("phase", "done_bytes", "total_bytes")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    DONE_BYTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    phase: str
    done_bytes: int
    total_bytes: int
    def __init__(self, phase: _Optional[str] = ..., done_bytes: _Optional[int] = ..., total_bytes: _Optional[int] = ...) -> None: ...

class CollectGarbageResponse(_message.Message):
    __slots__ = ("progress", "report")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    progress: GcProgress
    report: GcReport
    def __init__(self, progress: _Optional[_Union[GcProgress, _Mapping]] = ..., report: _Optional[_Union[GcReport, _Mapping]] = ...) -> None: ...
