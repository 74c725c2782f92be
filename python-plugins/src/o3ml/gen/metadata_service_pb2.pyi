from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegisterRunRequest(_message.Message):
    __slots__ = ("name", "hyperparameters_json", "code_commit", "code_dirty", "has_code_dirty", "packages", "host", "must_be_new")
    class PackagesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    HYPERPARAMETERS_JSON_FIELD_NUMBER: _ClassVar[int]
    CODE_COMMIT_FIELD_NUMBER: _ClassVar[int]
    CODE_DIRTY_FIELD_NUMBER: _ClassVar[int]
    HAS_CODE_DIRTY_FIELD_NUMBER: _ClassVar[int]
    PACKAGES_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    MUST_BE_NEW_FIELD_NUMBER: _ClassVar[int]
    name: str
    hyperparameters_json: str
    code_commit: str
    code_dirty: bool
    has_code_dirty: bool
    packages: _containers.ScalarMap[str, str]
    host: str
    must_be_new: bool
    def __init__(self, name: _Optional[str] = ..., hyperparameters_json: _Optional[str] = ..., code_commit: _Optional[str] = ..., code_dirty: _Optional[bool] = ..., has_code_dirty: _Optional[bool] = ..., packages: _Optional[_Mapping[str, str]] = ..., host: _Optional[str] = ..., must_be_new: _Optional[bool] = ...) -> None: ...

class RunInfo(_message.Message):
    __slots__ = ("id", "name", "created_unix_ms", "hyperparameters_json", "code_commit", "code_dirty", "has_code_dirty", "packages", "host", "existing")
    class PackagesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    HYPERPARAMETERS_JSON_FIELD_NUMBER: _ClassVar[int]
    CODE_COMMIT_FIELD_NUMBER: _ClassVar[int]
    CODE_DIRTY_FIELD_NUMBER: _ClassVar[int]
    HAS_CODE_DIRTY_FIELD_NUMBER: _ClassVar[int]
    PACKAGES_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    EXISTING_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    created_unix_ms: int
    hyperparameters_json: str
    code_commit: str
    code_dirty: bool
    has_code_dirty: bool
    packages: _containers.ScalarMap[str, str]
    host: str
    existing: bool
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., created_unix_ms: _Optional[int] = ..., hyperparameters_json: _Optional[str] = ..., code_commit: _Optional[str] = ..., code_dirty: _Optional[bool] = ..., has_code_dirty: _Optional[bool] = ..., packages: _Optional[_Mapping[str, str]] = ..., host: _Optional[str] = ..., existing: _Optional[bool] = ...) -> None: ...

class ListRunsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListRunsResponse(_message.Message):
    __slots__ = ("runs",)
    RUNS_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[RunInfo]
    def __init__(self, runs: _Optional[_Iterable[_Union[RunInfo, _Mapping]]] = ...) -> None: ...

class GetRunRequest(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: str
    def __init__(self, run: _Optional[str] = ...) -> None: ...

class ListRunCheckpointsRequest(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: str
    def __init__(self, run: _Optional[str] = ...) -> None: ...

class ListRunCheckpointsResponse(_message.Message):
    __slots__ = ("checkpoints",)
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    checkpoints: _containers.RepeatedCompositeFieldContainer[CheckpointRecord]
    def __init__(self, checkpoints: _Optional[_Iterable[_Union[CheckpointRecord, _Mapping]]] = ...) -> None: ...

class GetCheckpointRecordRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class CheckpointRecord(_message.Message):
    __slots__ = ("id", "run_id", "step", "epoch", "metrics", "manifest_cid", "parent_id", "dataset_version_cid", "state", "bytes_total", "bytes_uploaded", "bytes_deduplicated", "network_root_cid", "committed_unix_ms", "durable_unix_ms", "deleted_unix_ms")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_CID_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    DATASET_VERSION_CID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    BYTES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    BYTES_UPLOADED_FIELD_NUMBER: _ClassVar[int]
    BYTES_DEDUPLICATED_FIELD_NUMBER: _ClassVar[int]
    NETWORK_ROOT_CID_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    DURABLE_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    DELETED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    id: str
    run_id: str
    step: int
    epoch: int
    metrics: _containers.ScalarMap[str, float]
    manifest_cid: str
    parent_id: str
    dataset_version_cid: str
    state: str
    bytes_total: int
    bytes_uploaded: int
    bytes_deduplicated: int
    network_root_cid: str
    committed_unix_ms: int
    durable_unix_ms: int
    deleted_unix_ms: int
    def __init__(self, id: _Optional[str] = ..., run_id: _Optional[str] = ..., step: _Optional[int] = ..., epoch: _Optional[int] = ..., metrics: _Optional[_Mapping[str, float]] = ..., manifest_cid: _Optional[str] = ..., parent_id: _Optional[str] = ..., dataset_version_cid: _Optional[str] = ..., state: _Optional[str] = ..., bytes_total: _Optional[int] = ..., bytes_uploaded: _Optional[int] = ..., bytes_deduplicated: _Optional[int] = ..., network_root_cid: _Optional[str] = ..., committed_unix_ms: _Optional[int] = ..., durable_unix_ms: _Optional[int] = ..., deleted_unix_ms: _Optional[int] = ...) -> None: ...

class LineageRequest(_message.Message):
    __slots__ = ("id", "format", "depth")
    ID_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    id: str
    format: str
    depth: int
    def __init__(self, id: _Optional[str] = ..., format: _Optional[str] = ..., depth: _Optional[int] = ...) -> None: ...

class LineageResponse(_message.Message):
    __slots__ = ("focus", "format", "rendered")
    FOCUS_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    RENDERED_FIELD_NUMBER: _ClassVar[int]
    focus: str
    format: str
    rendered: str
    def __init__(self, focus: _Optional[str] = ..., format: _Optional[str] = ..., rendered: _Optional[str] = ...) -> None: ...

class RecordArtifactRequest(_message.Message):
    __slots__ = ("run", "name", "cid", "bytes", "media_type", "checkpoint_id")
    RUN_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CID_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    run: str
    name: str
    cid: str
    bytes: int
    media_type: str
    checkpoint_id: str
    def __init__(self, run: _Optional[str] = ..., name: _Optional[str] = ..., cid: _Optional[str] = ..., bytes: _Optional[int] = ..., media_type: _Optional[str] = ..., checkpoint_id: _Optional[str] = ...) -> None: ...

class ArtifactInfo(_message.Message):
    __slots__ = ("id", "run_id", "name", "cid", "bytes", "media_type", "checkpoint_id", "created_unix_ms")
    ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CID_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    id: str
    run_id: str
    name: str
    cid: str
    bytes: int
    media_type: str
    checkpoint_id: str
    created_unix_ms: int
    def __init__(self, id: _Optional[str] = ..., run_id: _Optional[str] = ..., name: _Optional[str] = ..., cid: _Optional[str] = ..., bytes: _Optional[int] = ..., media_type: _Optional[str] = ..., checkpoint_id: _Optional[str] = ..., created_unix_ms: _Optional[int] = ...) -> None: ...

class RebuildIndexRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class IndexRecordCounts(_message.Message):
    __slots__ = ("events", "runs", "datasets", "dataset_versions", "checkpoints", "artifacts", "edges")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    DATASETS_FIELD_NUMBER: _ClassVar[int]
    DATASET_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINTS_FIELD_NUMBER: _ClassVar[int]
    ARTIFACTS_FIELD_NUMBER: _ClassVar[int]
    EDGES_FIELD_NUMBER: _ClassVar[int]
    events: int
    runs: int
    datasets: int
    dataset_versions: int
    checkpoints: int
    artifacts: int
    edges: int
    def __init__(self, events: _Optional[int] = ..., runs: _Optional[int] = ..., datasets: _Optional[int] = ..., dataset_versions: _Optional[int] = ..., checkpoints: _Optional[int] = ..., artifacts: _Optional[int] = ..., edges: _Optional[int] = ...) -> None: ...

class RebuildIndexResponse(_message.Message):
    __slots__ = ("objects", "applied", "skipped", "caught_up", "warnings", "warnings_omitted", "counts", "duration_ms", "location", "unlanded")
    OBJECTS_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_OMITTED_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    UNLANDED_FIELD_NUMBER: _ClassVar[int]
    objects: int
    applied: int
    skipped: int
    caught_up: int
    warnings: _containers.RepeatedScalarFieldContainer[str]
    warnings_omitted: int
    counts: IndexRecordCounts
    duration_ms: int
    location: str
    unlanded: int
    def __init__(self, objects: _Optional[int] = ..., applied: _Optional[int] = ..., skipped: _Optional[int] = ..., caught_up: _Optional[int] = ..., warnings: _Optional[_Iterable[str]] = ..., warnings_omitted: _Optional[int] = ..., counts: _Optional[_Union[IndexRecordCounts, _Mapping]] = ..., duration_ms: _Optional[int] = ..., location: _Optional[str] = ..., unlanded: _Optional[int] = ...) -> None: ...

class DeleteRunRequest(_message.Message):
    __slots__ = ("run", "force")
    RUN_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    run: str
    force: bool
    def __init__(self, run: _Optional[str] = ..., force: _Optional[bool] = ...) -> None: ...

class DeleteRunResponse(_message.Message):
    __slots__ = ("run", "checkpoint_ids")
    RUN_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_IDS_FIELD_NUMBER: _ClassVar[int]
    run: RunInfo
    checkpoint_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, run: _Optional[_Union[RunInfo, _Mapping]] = ..., checkpoint_ids: _Optional[_Iterable[str]] = ...) -> None: ...
