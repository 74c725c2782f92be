from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EntryKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENTRY_KIND_UNSPECIFIED: _ClassVar[EntryKind]
    SKELETON: _ClassVar[EntryKind]
    STORAGE: _ClassVar[EntryKind]
ENTRY_KIND_UNSPECIFIED: EntryKind
SKELETON: EntryKind
STORAGE: EntryKind

class ChunkRef(_message.Message):
    __slots__ = ("cid", "size")
    CID_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    cid: str
    size: int
    def __init__(self, cid: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class ObjectManifest(_message.Message):
    __slots__ = ("format_version", "size", "chunks", "content_type", "sha256", "labels", "checkpoint")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    FORMAT_VERSION_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    format_version: int
    size: int
    chunks: _containers.RepeatedCompositeFieldContainer[ChunkRef]
    content_type: str
    sha256: bytes
    labels: _containers.ScalarMap[str, str]
    checkpoint: CheckpointTable
    def __init__(self, format_version: _Optional[int] = ..., size: _Optional[int] = ..., chunks: _Optional[_Iterable[_Union[ChunkRef, _Mapping]]] = ..., content_type: _Optional[str] = ..., sha256: _Optional[bytes] = ..., labels: _Optional[_Mapping[str, str]] = ..., checkpoint: _Optional[_Union[CheckpointTable, _Mapping]] = ...) -> None: ...

class CheckpointEntry(_message.Message):
    __slots__ = ("name", "kind", "dtype", "nbytes", "first_chunk", "chunk_count", "crc32", "packed", "offset")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    NBYTES_FIELD_NUMBER: _ClassVar[int]
    FIRST_CHUNK_FIELD_NUMBER: _ClassVar[int]
    CHUNK_COUNT_FIELD_NUMBER: _ClassVar[int]
    CRC32_FIELD_NUMBER: _ClassVar[int]
    PACKED_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: EntryKind
    dtype: str
    nbytes: int
    first_chunk: int
    chunk_count: int
    crc32: int
    packed: bool
    offset: int
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[EntryKind, str]] = ..., dtype: _Optional[str] = ..., nbytes: _Optional[int] = ..., first_chunk: _Optional[int] = ..., chunk_count: _Optional[int] = ..., crc32: _Optional[int] = ..., packed: _Optional[bool] = ..., offset: _Optional[int] = ...) -> None: ...

class CheckpointTable(_message.Message):
    __slots__ = ("entries", "run", "step", "epoch", "metrics", "dataset_cid", "parent_cid", "key")
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    DATASET_CID_FIELD_NUMBER: _ClassVar[int]
    PARENT_CID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[CheckpointEntry]
    run: str
    step: int
    epoch: int
    metrics: _containers.ScalarMap[str, float]
    dataset_cid: str
    parent_cid: str
    key: str
    def __init__(self, entries: _Optional[_Iterable[_Union[CheckpointEntry, _Mapping]]] = ..., run: _Optional[str] = ..., step: _Optional[int] = ..., epoch: _Optional[int] = ..., metrics: _Optional[_Mapping[str, float]] = ..., dataset_cid: _Optional[str] = ..., parent_cid: _Optional[str] = ..., key: _Optional[str] = ...) -> None: ...

class ShardEntry(_message.Message):
    __slots__ = ("cid", "size", "split", "samples")
    CID_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    cid: str
    size: int
    split: str
    samples: _containers.RepeatedCompositeFieldContainer[SampleEntry]
    def __init__(self, cid: _Optional[str] = ..., size: _Optional[int] = ..., split: _Optional[str] = ..., samples: _Optional[_Iterable[_Union[SampleEntry, _Mapping]]] = ...) -> None: ...

class SampleEntry(_message.Message):
    __slots__ = ("key", "offset", "size", "sha256")
    KEY_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    key: str
    offset: int
    size: int
    sha256: bytes
    def __init__(self, key: _Optional[str] = ..., offset: _Optional[int] = ..., size: _Optional[int] = ..., sha256: _Optional[bytes] = ...) -> None: ...

class DatasetSchema(_message.Message):
    __slots__ = ("source_kind", "fields", "classes", "columns")
    SOURCE_KIND_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    CLASSES_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    source_kind: str
    fields: _containers.RepeatedScalarFieldContainer[str]
    classes: _containers.RepeatedScalarFieldContainer[str]
    columns: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, source_kind: _Optional[str] = ..., fields: _Optional[_Iterable[str]] = ..., classes: _Optional[_Iterable[str]] = ..., columns: _Optional[_Iterable[str]] = ...) -> None: ...

class DatasetManifest(_message.Message):
    __slots__ = ("format_version", "name", "version", "parent_cid", "shards", "schema", "samples", "bytes", "created_unix_ms", "split_seed", "shuffled", "shuffle_seed")
    FORMAT_VERSION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PARENT_CID_FIELD_NUMBER: _ClassVar[int]
    SHARDS_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    CREATED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    SPLIT_SEED_FIELD_NUMBER: _ClassVar[int]
    SHUFFLED_FIELD_NUMBER: _ClassVar[int]
    SHUFFLE_SEED_FIELD_NUMBER: _ClassVar[int]
    format_version: int
    name: str
    version: str
    parent_cid: str
    shards: _containers.RepeatedCompositeFieldContainer[ShardEntry]
    schema: DatasetSchema
    samples: int
    bytes: int
    created_unix_ms: int
    split_seed: int
    shuffled: bool
    shuffle_seed: int
    def __init__(self, format_version: _Optional[int] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., parent_cid: _Optional[str] = ..., shards: _Optional[_Iterable[_Union[ShardEntry, _Mapping]]] = ..., schema: _Optional[_Union[DatasetSchema, _Mapping]] = ..., samples: _Optional[int] = ..., bytes: _Optional[int] = ..., created_unix_ms: _Optional[int] = ..., split_seed: _Optional[int] = ..., shuffled: _Optional[bool] = ..., shuffle_seed: _Optional[int] = ...) -> None: ...

class Ref(_message.Message):
    __slots__ = ("format_version", "kind", "name", "manifest_cid", "deleted", "created_unix_ms", "size")
    FORMAT_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_CID_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    CREATED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    format_version: int
    kind: str
    name: str
    manifest_cid: str
    deleted: bool
    created_unix_ms: int
    size: int
    def __init__(self, format_version: _Optional[int] = ..., kind: _Optional[str] = ..., name: _Optional[str] = ..., manifest_cid: _Optional[str] = ..., deleted: _Optional[bool] = ..., created_unix_ms: _Optional[int] = ..., size: _Optional[int] = ...) -> None: ...
