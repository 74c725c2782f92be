"""The error family: one class per ErrorCode, and the mapping of gRPC failures onto it."""

from __future__ import annotations

import ast
import inspect
import pickle

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st

import o3ml
from o3ml import _errors
from o3ml._errors import ERROR_CLASSES, class_name_for, code_for_status, from_rpc_error
from o3ml.gen import errors_pb2

CODES = [name for name in errors_pb2.ErrorCode.keys() if name != "ERROR_CODE_UNSPECIFIED"]

BUILTIN_BASES = {
    "NOT_FOUND": FileNotFoundError,
    "ALREADY_EXISTS": FileExistsError,
    "PERMISSION_DENIED": PermissionError,
    "UNAVAILABLE": ConnectionError,
    "DEADLINE_EXCEEDED": TimeoutError,
}


class FakeRpcError(grpc.RpcError):
    def __init__(self, status: grpc.StatusCode, details: str | None, trailing: tuple[tuple[str, str | bytes], ...] = ()) -> None:
        self._status, self._details, self._trailing = status, details, trailing

    def code(self) -> grpc.StatusCode:
        return self._status

    def details(self) -> str | None:
        return self._details

    # The stubs type it as tuples of a _Metadatum class they say may be inaccurate; grpc returns (key, value) pairs.
    def trailing_metadata(self) -> tuple[tuple[str, str | bytes], ...]:  # type: ignore[override]
        return self._trailing


def test_every_code_has_exactly_one_class() -> None:
    assert sorted(ERROR_CLASSES) == sorted(CODES)
    for code in CODES:
        cls = ERROR_CLASSES[code]
        assert cls.__name__ == class_name_for(code)
        assert issubclass(cls, o3ml.O3mlError) and cls.code == code


def test_every_class_is_exported_from_the_package() -> None:
    for cls in ERROR_CLASSES.values():
        assert cls.__name__ in o3ml.__all__
        assert getattr(o3ml, cls.__name__) is cls
    assert {"O3Client", "ObjectInfo", "O3mlError"} <= set(o3ml.__all__)
    assert len(o3ml.__all__) == len(set(o3ml.__all__))


def test_the_names_the_contract_promises() -> None:
    assert o3ml.IntegrityError.code == "INTEGRITY"
    assert o3ml.InvalidArgumentError.code == "INVALID_ARGUMENT"
    assert o3ml.DeadlineExceededError.code == "DEADLINE_EXCEEDED"


@pytest.mark.parametrize("code", CODES)
def test_builtin_bases(code: str) -> None:
    cls = ERROR_CLASSES[code]
    expected = BUILTIN_BASES.get(code)
    if expected is not None:
        assert issubclass(cls, expected)
    else:
        assert not issubclass(cls, OSError)
    assert set(BUILTIN_BASES) <= set(CODES)


def test_type_checking_declarations_match_the_generated_classes() -> None:
    tree = ast.parse(inspect.getsource(_errors))
    declared: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ClassDef):
                    declared[stmt.name] = [ast.unparse(base) for base in stmt.bases]
    generated = {cls.__name__: [b.__name__ for b in cls.__bases__] for cls in ERROR_CLASSES.values()}
    assert declared == generated


@pytest.mark.parametrize("code", CODES)
def test_errors_carry_message_and_details_and_pickle(code: str) -> None:
    err = ERROR_CLASSES[code]("object 'a' is missing", {"key": "a"})
    assert str(err) == "object 'a' is missing" and err.details == {"key": "a"} and err.code == code
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is type(err) and str(copy) == str(err) and copy.details == err.details


def test_status_mapping() -> None:
    assert code_for_status(grpc.StatusCode.DATA_LOSS) == "INTEGRITY"
    assert code_for_status(grpc.StatusCode.UNKNOWN) == "INTERNAL"
    assert code_for_status(grpc.StatusCode.OUT_OF_RANGE) == "INVALID_ARGUMENT"
    assert code_for_status(grpc.StatusCode.OK) == "INTERNAL"
    for status in grpc.StatusCode:
        if status.name in ERROR_CLASSES:
            assert code_for_status(status) == status.name


@pytest.mark.parametrize("code", CODES)
def test_the_trailer_names_the_class(code: str) -> None:
    err = from_rpc_error(FakeRpcError(grpc.StatusCode.UNKNOWN, "what happened", (("o3ml-code", code),)))
    assert type(err) is ERROR_CLASSES[code] and str(err) == "what happened"
    assert err.details["grpc_status"] == "UNKNOWN"


def test_an_unknown_trailer_falls_back_to_the_status() -> None:
    err = from_rpc_error(FakeRpcError(grpc.StatusCode.DATA_LOSS, "bad", (("o3ml-code", "FROM_THE_FUTURE"),)))
    assert isinstance(err, o3ml.IntegrityError)
    err = from_rpc_error(FakeRpcError(grpc.StatusCode.NOT_FOUND, "gone", (("other", "x"),)))
    assert isinstance(err, o3ml.NotFoundError)
    err = from_rpc_error(FakeRpcError(grpc.StatusCode.ABORTED, "x", (("o3ml-code", b"INTEGRITY"),)))
    assert isinstance(err, o3ml.IntegrityError)


def test_a_missing_message_still_says_something() -> None:
    err = from_rpc_error(FakeRpcError(grpc.StatusCode.INTERNAL, None))
    assert isinstance(err, o3ml.InternalError) and "INTERNAL" in str(err)


def test_unreachable_service_message() -> None:
    refused = FakeRpcError(grpc.StatusCode.UNAVAILABLE, "failed to connect to all addresses")
    err = from_rpc_error(refused, "127.0.0.1:7433")
    assert isinstance(err, o3ml.UnavailableError) and isinstance(err, ConnectionError)
    message = str(err)
    assert "127.0.0.1:7433" in message and "`o3ml serve`" in message and "O3ML_AUTOSTART" in message and "O3ML_SERVICE" in message
    assert err.details["address"] == "127.0.0.1:7433"


def test_an_unavailable_store_keeps_the_service_message() -> None:
    from_store = FakeRpcError(grpc.StatusCode.UNAVAILABLE, "O3 endpoint timed out", (("o3ml-code", "UNAVAILABLE"),))
    assert str(from_rpc_error(from_store, "127.0.0.1:7433")) == "O3 endpoint timed out"


@given(
    status=st.sampled_from(list(grpc.StatusCode)),
    trailer=st.one_of(st.none(), st.sampled_from(CODES), st.text(max_size=20)),
    details=st.one_of(st.none(), st.text(max_size=50)),
)
def test_any_failure_maps_to_exactly_one_known_class(status: grpc.StatusCode, trailer: str | None, details: str | None) -> None:
    trailing = (("o3ml-code", trailer),) if trailer is not None else ()
    err = from_rpc_error(FakeRpcError(status, details, trailing), "127.0.0.1:1")
    assert type(err) is ERROR_CLASSES[err.code]
    if trailer in ERROR_CLASSES:
        assert err.code == trailer
    else:
        assert err.code == code_for_status(status)


def test_dir_lists_every_public_name_including_the_lazily_loaded_ones() -> None:
    assert set(o3ml.__all__) <= set(dir(o3ml))


def test_every_public_method_of_the_client_has_a_docstring() -> None:
    import inspect

    undocumented = [
        name
        for name, member in inspect.getmembers(o3ml.O3Client, inspect.isfunction)
        if not name.startswith("_") and not (member.__doc__ or "").strip()
    ]
    assert undocumented == []
