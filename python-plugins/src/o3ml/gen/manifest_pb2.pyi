from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChunkRef(_message.Message):
    __slots__ = ("cid", "size")
    CID_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    cid: str
    size: int
    def __init__(self, cid: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class ObjectManifest(_message.Message):
    __slots__ = ("format_version", "size", "chunks", "content_type", "sha256", "labels")
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
    format_version: int
    size: int
    chunks: _containers.RepeatedCompositeFieldContainer[ChunkRef]
    content_type: str
    sha256: bytes
    labels: _containers.ScalarMap[str, str]
    def __init__(self, format_version: _Optional[int] = ..., size: _Optional[int] = ..., chunks: _Optional[_Iterable[_Union[ChunkRef, _Mapping]]] = ..., content_type: _Optional[str] = ..., sha256: _Optional[bytes] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

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
