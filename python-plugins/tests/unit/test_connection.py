"""``Connection``: one per client, shared by every API given the client, pickled without its
channel, a channel of its own in a forked child (token included), interceptors for this process
only, and the message limit of proto/o3ml/v1/limits.proto. Over TLS against the real service:
tests/e2e/test_connection_fork.py."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_server import serving

from o3ml import Connection, O3Client, UnavailableError
from o3ml.gen import limits_pb2
from o3ml.gen import object_service_pb2 as pb
from o3ml.gen import object_service_pb2_grpc


class RecordingObjects(object_service_pb2_grpc.ObjectServiceServicer):
    """Answers Stat, recording who asked (process id in the key) and with what token."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | bytes]] = []
        self.lock = threading.Lock()

    def Stat(self, request: pb.StatRequest, context: grpc.ServicerContext) -> pb.ObjectInfo:
        with self.lock:
            self.calls.append((request.key, dict(context.invocation_metadata()).get("authorization", "")))
        return pb.ObjectInfo(key=request.key, size=len(request.key))


@pytest.fixture
def objects() -> Iterator[tuple[RecordingObjects, str]]:
    service = RecordingObjects()
    with serving(object_service_pb2_grpc.add_ObjectServiceServicer_to_server, service) as address:
        yield service, address


def test_the_message_limit_is_the_one_of_the_proto() -> None:
    connection = Connection.resolve("127.0.0.1:1")
    assert connection.max_message == limits_pb2.MAX_MESSAGE_BYTES > 8 * 1024 * 1024


def test_the_environment_is_read_once_when_the_connection_is_resolved(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pem = tmp_path / "ca.pem"
    monkeypatch.setenv("O3ML_SERVICE", "10.0.0.2:7433")
    monkeypatch.setenv("O3ML_TOKEN", "t0k")
    monkeypatch.setenv("O3ML_TLS_CA", str(pem))
    connection = Connection.resolve(timeout=5)
    assert (connection.address, connection.token, connection.tls.ca, connection.timeout) == ("10.0.0.2:7433", "t0k", str(pem), 5)
    assert connection.metadata == (("authorization", "Bearer t0k"),)
    assert "t0k" not in repr(connection)
    with pytest.raises(ValueError, match="printable ASCII"):
        Connection("127.0.0.1:1", "two words")


def test_a_client_shares_its_connection_and_a_copy_opens_a_channel_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pem = tmp_path / "any.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")  # read, never used to connect
    client = O3Client("10.0.0.2:7433", "t0k", timeout=12, tls_ca=str(pem), tls_cert=str(pem), tls_key=str(pem))
    assert O3Client.from_connection(client.connection).connection.channel is client.connection.channel
    # Another process sees the environment it started with, not this one's: the settings travel.
    for name in ("O3ML_SERVICE", "O3ML_TOKEN", "O3ML_TLS_CA", "O3ML_TLS_CERT", "O3ML_TLS_KEY"):
        monkeypatch.setenv(name, "elsewhere")
    copy = pickle.loads(pickle.dumps(client))
    assert copy.connection == client.connection and copy.tls
    assert copy.connection.channel is not client.connection.channel
    assert client.connection.reconnected() == client.connection
    assert client.connection.reconnected().channel is not client.connection.channel


def test_a_closed_connection_says_so() -> None:
    client = O3Client("127.0.0.1:1")
    client.close()
    with pytest.raises(ValueError, match="closed"):
        client.stat("any")


class Recording(grpc.UnaryUnaryClientInterceptor):
    def __init__(self) -> None:
        self.methods: list[str] = []

    def intercept_unary_unary(self, continuation: Any, details: grpc.ClientCallDetails, request: Any) -> Any:
        self.methods.append(details.method)
        return continuation(details, request)


def test_interceptors_carry_this_process_s_calls_only() -> None:
    client = O3Client("127.0.0.1:1")  # nothing listens: every call fails, after the interceptor saw it
    recording = Recording()
    client.connection.intercept(recording)  # as examples/digits/upload_hold.py does
    with pytest.raises(UnavailableError):
        client.stat("any")
    assert recording.methods == ["/o3ml.v1.ObjectService/Stat"]
    elsewhere = pickle.loads(pickle.dumps(client))  # as in another process: a plain channel
    with pytest.raises(UnavailableError):
        elsewhere.stat("any")
    assert recording.methods == ["/o3ml.v1.ObjectService/Stat"]


FORK = """
import os, sys
from o3ml import O3Client
client = O3Client(sys.argv[1], "t0k", timeout=20)
assert client.stat("parent-before").size == len("parent-before")
inherited = client.connection.channel
pid = os.fork()
if pid == 0:
    ok = client.connection.channel is not inherited and client.stat(f"child-{os.getpid()}").key == f"child-{os.getpid()}"
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
assert client.connection.channel is inherited and client.stat("parent-after").size == len("parent-after")
print(pid)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_calls_on_a_channel_of_its_own_with_the_token(objects: tuple[RecordingObjects, str]) -> None:
    service, address = objects
    # A fresh interpreter forks: this one runs other tests' gRPC threads, whose state a child
    # forked here would inherit (see o3ml._datasets._service_source).
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(FORK), address], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    child = int(done.stdout)
    assert service.calls == [
        ("parent-before", "Bearer t0k"),
        (f"child-{child}", "Bearer t0k"),
        ("parent-after", "Bearer t0k"),
    ]
