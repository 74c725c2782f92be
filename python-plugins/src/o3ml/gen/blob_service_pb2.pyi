from . import manifest_pb2 as _manifest_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PutBlobHeader(_message.Message):
    __slots__ = ("cid", "size")
    CID_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    cid: str
    size: int
    def __init__(self, cid: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class PutBlobRequest(_message.Message):
    __slots__ = ("header", "data")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    header: PutBlobHeader
    data: bytes
    def __init__(self, header: _Optional[_Union[PutBlobHeader, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class PutBlobResponse(_message.Message):
    __slots__ = ("cid", "deduplicated")
    CID_FIELD_NUMBER: _ClassVar[int]
    DEDUPLICATED_FIELD_NUMBER: _ClassVar[int]
    cid: str
    deduplicated: bool
    def __init__(self, cid: _Optional[str] = ..., deduplicated: _Optional[bool] = ...) -> None: ...

class GetBlobRequest(_message.Message):
    __slots__ = ("cid", "from_store")
    CID_FIELD_NUMBER: _ClassVar[int]
    FROM_STORE_FIELD_NUMBER: _ClassVar[int]
    cid: str
    from_store: bool
    def __init__(self, cid: _Optional[str] = ..., from_store: _Optional[bool] = ...) -> None: ...

class GetBlobResponse(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class HasBlobsRequest(_message.Message):
    __slots__ = ("cids",)
    CIDS_FIELD_NUMBER: _ClassVar[int]
    cids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, cids: _Optional[_Iterable[str]] = ...) -> None: ...

class HasBlobsResponse(_message.Message):
    __slots__ = ("present",)
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    present: _containers.RepeatedScalarFieldContainer[bool]
    def __init__(self, present: _Optional[_Iterable[bool]] = ...) -> None: ...

class FetchBlobRequest(_message.Message):
    __slots__ = ("cid",)
    CID_FIELD_NUMBER: _ClassVar[int]
    cid: str
    def __init__(self, cid: _Optional[str] = ...) -> None: ...

class FetchBlobResponse(_message.Message):
    __slots__ = ("path", "size", "lease")
    PATH_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    LEASE_FIELD_NUMBER: _ClassVar[int]
    path: str
    size: int
    lease: str
    def __init__(self, path: _Optional[str] = ..., size: _Optional[int] = ..., lease: _Optional[str] = ...) -> None: ...

class ReleaseBlobRequest(_message.Message):
    __slots__ = ("lease",)
    LEASE_FIELD_NUMBER: _ClassVar[int]
    lease: str
    def __init__(self, lease: _Optional[str] = ...) -> None: ...

class ReleaseBlobResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CommitDatasetRequest(_message.Message):
    __slots__ = ("manifest",)
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    manifest: _manifest_pb2.DatasetManifest
    def __init__(self, manifest: _Optional[_Union[_manifest_pb2.DatasetManifest, _Mapping]] = ...) -> None: ...

class DatasetVersionInfo(_message.Message):
    __slots__ = ("name", "version", "cid", "parent_cid", "samples", "bytes", "shards", "created_unix_ms")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CID_FIELD_NUMBER: _ClassVar[int]
    PARENT_CID_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    SHARDS_FIELD_NUMBER: _ClassVar[int]
    CREATED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    cid: str
    parent_cid: str
    samples: int
    bytes: int
    shards: int
    created_unix_ms: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., cid: _Optional[str] = ..., parent_cid: _Optional[str] = ..., samples: _Optional[int] = ..., bytes: _Optional[int] = ..., shards: _Optional[int] = ..., created_unix_ms: _Optional[int] = ...) -> None: ...

class ResolveDatasetRequest(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: str
    def __init__(self, spec: _Optional[str] = ...) -> None: ...

class ResolveDatasetResponse(_message.Message):
    __slots__ = ("info", "manifest")
    INFO_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    info: DatasetVersionInfo
    manifest: _manifest_pb2.DatasetManifest
    def __init__(self, info: _Optional[_Union[DatasetVersionInfo, _Mapping]] = ..., manifest: _Optional[_Union[_manifest_pb2.DatasetManifest, _Mapping]] = ...) -> None: ...

class ListDatasetsRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListDatasetsResponse(_message.Message):
    __slots__ = ("versions",)
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[DatasetVersionInfo]
    def __init__(self, versions: _Optional[_Iterable[_Union[DatasetVersionInfo, _Mapping]]] = ...) -> None: ...

class DeleteDatasetRequest(_message.Message):
    __slots__ = ("name", "version", "force")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    force: bool
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., force: _Optional[bool] = ...) -> None: ...

class PushDatasetRequest(_message.Message):
    __slots__ = ("staged",)
    STAGED_FIELD_NUMBER: _ClassVar[int]
    staged: str
    def __init__(self, staged: _Optional[str] = ...) -> None: ...

class PushDatasetOptions(_message.Message):
    __slots__ = ("path", "name", "version", "shard_size", "split", "seed", "no_shuffle", "kind")
    PATH_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SHARD_SIZE_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    NO_SHUFFLE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    path: str
    name: str
    version: str
    shard_size: str
    split: str
    seed: str
    no_shuffle: bool
    kind: str
    def __init__(self, path: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., shard_size: _Optional[str] = ..., split: _Optional[str] = ..., seed: _Optional[str] = ..., no_shuffle: _Optional[bool] = ..., kind: _Optional[str] = ...) -> None: ...

class DatasetPushProgress(_message.Message):
    __slots__ = ("phase", "done_bytes", "total_bytes")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    DONE_BYTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    phase: str
    done_bytes: int
    total_bytes: int
    def __init__(self, phase: _Optional[str] = ..., done_bytes: _Optional[int] = ..., total_bytes: _Optional[int] = ...) -> None: ...

class PushDatasetResponse(_message.Message):
    __slots__ = ("progress", "summary_json")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_JSON_FIELD_NUMBER: _ClassVar[int]
    progress: DatasetPushProgress
    summary_json: str
    def __init__(self, progress: _Optional[_Union[DatasetPushProgress, _Mapping]] = ..., summary_json: _Optional[str] = ...) -> None: ...
