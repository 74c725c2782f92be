from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class MessageLimit(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_LIMIT_UNSPECIFIED: _ClassVar[MessageLimit]
    MAX_MESSAGE_BYTES: _ClassVar[MessageLimit]
    MAX_DATA_MESSAGE_BYTES: _ClassVar[MessageLimit]
MESSAGE_LIMIT_UNSPECIFIED: MessageLimit
MAX_MESSAGE_BYTES: MessageLimit
MAX_DATA_MESSAGE_BYTES: MessageLimit
