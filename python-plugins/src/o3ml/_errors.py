"""The o3ml error family: one ``O3mlError`` subclass per code of ``proto/o3ml/v1/errors.proto``.

The subclasses are generated at import time from the generated ``ErrorCode`` enum, so the Python
set cannot drift from the wire contract (nor from the TypeScript side, which is generated from the
same enum). The ``TYPE_CHECKING`` block declares the same classes for type checkers; a unit test
checks that the declarations and the generated classes agree.

Some codes also derive from the built-in exception that Python code already catches for the same
condition (``FileNotFoundError`` for NOT_FOUND, ...), because fsspec and Lightning test for those.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import grpc

from .gen import errors_pb2

#: Ends every "cannot reach the o3ml service" error: the ways to get one (o3ml/_autostart.py).
HOW_TO_START = (
    "start one with `o3ml serve`, set O3ML_SERVICE to the address of a running service, "
    "or leave O3ML_AUTOSTART unset so that o3ml starts one for O3ML_HOME"
)

#: Trailing metadata entry in which the service names the o3ml code (an ErrorCode enum name).
CODE_METADATA_KEY = "o3ml-code"

_UNSPECIFIED = "ERROR_CODE_UNSPECIFIED"


class O3mlError(Exception):
    """Base class of every error raised by o3ml.

    ``code`` is the name of the ``ErrorCode`` (for example ``"INTEGRITY"``); ``details`` holds
    machine-readable context such as the gRPC status or the service address. It is raised only as
    one of its subclasses, so ``except IntegrityError`` and ``err.code == "INTEGRITY"`` agree.
    """

    code: ClassVar[str] = "INTERNAL"

    def __init__(self, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details: dict[str, Any] = dict(details or {})

    def __reduce__(self) -> tuple[Any, ...]:
        # The built-in bases (OSError in particular) pickle their own constructor arguments;
        # rebuild from ours so errors survive being sent between processes (DataLoader workers).
        return (type(self), (str(self), self.details))


# Codes whose errors must also be caught by code written against the built-in exceptions.
_BUILTIN_BASES: dict[str, type[Exception]] = {
    "NOT_FOUND": FileNotFoundError,
    "ALREADY_EXISTS": FileExistsError,
    "PERMISSION_DENIED": PermissionError,
    "UNAVAILABLE": ConnectionError,
    "DEADLINE_EXCEEDED": TimeoutError,
}


def class_name_for(code: str) -> str:
    """``"INVALID_ARGUMENT"`` -> ``"InvalidArgumentError"``."""
    return "".join(part.capitalize() for part in code.split("_")) + "Error"


def _generate() -> dict[str, type[O3mlError]]:
    classes: dict[str, type[O3mlError]] = {}
    for code in errors_pb2.ErrorCode.keys():
        if code == _UNSPECIFIED:
            continue
        extra = _BUILTIN_BASES.get(code)
        bases: tuple[type[Exception], ...] = (O3mlError, extra) if extra else (O3mlError,)
        namespace = {"code": code, "__doc__": f"The o3ml error with code {code}.", "__module__": __name__}
        classes[code] = type(class_name_for(code), bases, namespace)
    return classes


#: Every error class, keyed by its code name.
ERROR_CLASSES: Mapping[str, type[O3mlError]] = _generate()
globals().update({cls.__name__: cls for cls in ERROR_CLASSES.values()})

if TYPE_CHECKING:

    class InvalidArgumentError(O3mlError): ...

    class NotFoundError(O3mlError, FileNotFoundError): ...

    class AlreadyExistsError(O3mlError, FileExistsError): ...

    class UnauthenticatedError(O3mlError): ...

    class PermissionDeniedError(O3mlError, PermissionError): ...

    class FailedPreconditionError(O3mlError): ...

    class IntegrityError(O3mlError): ...

    class UnavailableError(O3mlError, ConnectionError): ...

    class ResourceExhaustedError(O3mlError): ...

    class AbortedError(O3mlError): ...

    class CancelledError(O3mlError): ...

    class DeadlineExceededError(O3mlError, TimeoutError): ...

    class UnimplementedError(O3mlError): ...

    class InternalError(O3mlError): ...


# gRPC statuses whose name differs from the o3ml code they stand for; every other status has the
# name of its code. This is the inverse of the service's error table (packages/errors codes.ts).
_STATUS_TO_CODE: dict[grpc.StatusCode, str] = {
    grpc.StatusCode.DATA_LOSS: "INTEGRITY",
    grpc.StatusCode.UNKNOWN: "INTERNAL",
    grpc.StatusCode.OUT_OF_RANGE: "INVALID_ARGUMENT",
}


def code_for_status(status: grpc.StatusCode) -> str:
    """The o3ml code a gRPC status stands for when the peer did not name one."""
    code = _STATUS_TO_CODE.get(status, status.name)
    return code if code in ERROR_CLASSES else "INTERNAL"


def error_for_code(code: str, message: str, details: Mapping[str, Any] | None = None) -> O3mlError:
    """An instance of the class of ``code``; an unknown code gives an ``InternalError``."""
    return ERROR_CLASSES.get(code, ERROR_CLASSES["INTERNAL"])(message, details)


def from_rpc_error(err: grpc.RpcError, address: str | None = None) -> O3mlError:
    """Translates a failed gRPC call into the matching ``O3mlError``.

    The code comes from the ``o3ml-code`` trailing metadata entry when the service sent one it
    knows; otherwise from the gRPC status. A call that failed with UNAVAILABLE and no o3ml code
    never reached the service, so the message says where it looked and how to start one.
    """
    status = _status_of(err)
    message = _details_of(err) or f"gRPC call failed with status {status.name}"
    named = service_code(err)
    code = named if named is not None and named in ERROR_CLASSES else code_for_status(status)
    details: dict[str, Any] = {"grpc_status": status.name}
    if address is not None:
        details["address"] = address
    if named is None and status is grpc.StatusCode.UNAVAILABLE and address is not None:
        message = (
            f"cannot reach the o3ml service at {address} ({message}); "
            + HOW_TO_START
        )
    return error_for_code(code, message, details)


def _status_of(err: grpc.RpcError) -> grpc.StatusCode:
    code = getattr(err, "code", None)
    status = code() if callable(code) else None
    return status if isinstance(status, grpc.StatusCode) else grpc.StatusCode.UNKNOWN


def _details_of(err: grpc.RpcError) -> str:
    details = getattr(err, "details", None)
    text = details() if callable(details) else None
    return text if isinstance(text, str) else ""


def service_code(err: grpc.RpcError) -> str | None:
    """The o3ml code the service put in the call's trailer; None when the service did not answer."""
    trailing = getattr(err, "trailing_metadata", None)
    entries = trailing() if callable(trailing) else None
    for key, value in entries or ():
        if key == CODE_METADATA_KEY:
            return value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
    return None
