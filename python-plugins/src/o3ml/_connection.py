"""``Connection``: how every o3ml API reaches the service, and this process's channel to it.

The settings (address, token, TLS files, deadline, message limit) are resolved once, environment
defaults included, so every process of a job connects the same way whatever its own environment
says (forkserver workers inherit the environment the fork server started with, not the trainer's).
They pickle; the channel does not. ``O3Client``, the checkpoint functions, the metadata calls,
``o3://`` and the dataset source all take or share one ``Connection``, and none reaches into
another's channel.

A gRPC channel must not be used in a process forked after it was made: a connection used in
another process (a forked child, an unpickled copy) opens a channel of its own there from all its
settings, TLS included, the first time it is used. The inherited channel is left alone: never
called, closed or freed, since it belongs to the parent's gRPC state.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

import grpc

from . import _autostart
from ._errors import error_for_code
from ._service_address import ServiceAddress, parse_service_address
from ._tls import TlsFiles, channel_credentials
from .gen import limits_pb2

DEFAULT_ADDRESS = "127.0.0.1:7433"
#: Largest gRPC message either way: the service's limit, from proto/o3ml/v1/limits.proto (a dataset
#: manifest travels whole in one message).
MAX_MESSAGE_BYTES = int(limits_pb2.MAX_MESSAGE_BYTES)
#: Largest data message the service takes, from the same file.
MAX_DATA_MESSAGE_BYTES = int(limits_pb2.MAX_DATA_MESSAGE_BYTES)

_S = TypeVar("_S")

# Held only while a channel is opened or replaced. A child forked while another thread held it
# would wait forever, so every child starts with a new one (only the forking thread runs then).
_lock = threading.Lock()


def _new_lock_in_child() -> None:
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX; elsewhere there is no fork
    os.register_at_fork(after_in_child=_new_lock_in_child)


class _ProcessChannel:
    """The channel a connection opened in this process, with the stubs made on it."""

    def __init__(self) -> None:
        self.pid = -1
        # Replaced as a whole, so a stub is always cached with the channel it was made on.
        self.current: tuple[grpc.Channel, dict[Any, Any]] | None = None
        self.closed = False
        # Channels of the process this one was forked from: kept referenced so that they are never
        # freed here (freeing one would call into the parent's gRPC state).
        self.inherited: list[grpc.Channel] = []

    def __reduce__(self) -> tuple[Any, ...]:
        # A copy of a connection (pickled into a worker, deep-copied) opens a channel of its own.
        return (_ProcessChannel, ())


@dataclass(frozen=True)
class Connection:
    """How to reach the o3ml service, and this process's channel to it.

    Equal connections have equal settings; each connection object opens one channel per process
    and shares it among the APIs given it. ``Connection.resolve`` applies the environment's
    defaults; the constructor takes the settings as they are.
    """

    address: str
    token: str = field(default="", repr=False)
    tls: TlsFiles = TlsFiles()
    timeout: float | None = None
    max_message: int = MAX_MESSAGE_BYTES
    _live: _ProcessChannel = field(default_factory=_ProcessChannel, init=False, repr=False, compare=False)
    _parsed: ServiceAddress = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parsed = parse_service_address(self.address, "the o3ml service address")
        # Read once here; the channel and the loopback check use it (frozen: set through object).
        object.__setattr__(self, "_parsed", parsed)
        if parsed.tls == "off" and self.tls.enabled:
            raise error_for_code(
                "INVALID_ARGUMENT",
                f"{self.address} asks for plaintext (http://), but TLS files are given (O3ML_TLS_CA, O3ML_TLS_CERT, "
                "O3ML_TLS_KEY or tls_* arguments): write https:// for TLS, or leave them out",
            )
        if self.token and not (self.token.isascii() and self.token.isprintable() and not any(c.isspace() for c in self.token)):
            raise ValueError("the o3ml token must be printable ASCII without spaces; check O3ML_TOKEN")

    @classmethod
    def resolve(
        cls,
        address: str | None = None,
        token: str | None = None,
        *,
        timeout: float | None = None,
        tls_ca: str | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
    ) -> Connection:
        """Arguments first, then ``$O3ML_SERVICE``, ``$O3ML_TOKEN`` and ``$O3ML_TLS_*``.

        Without an address or ``$O3ML_SERVICE``: ``127.0.0.1:7433`` when a service answers there or
        ``O3ML_AUTOSTART=0``, else the local service of ``$O3ML_HOME``, started when none runs
        (o3ml/_autostart.py).
        """
        return cls(
            address or os.environ.get("O3ML_SERVICE") or _autostart.service_address(DEFAULT_ADDRESS),
            token if token is not None else os.environ.get("O3ML_TOKEN", ""),
            TlsFiles.resolve(tls_ca, tls_cert, tls_key),
            timeout,
        )

    @property
    def target(self) -> str:
        """What gRPC dials: ``host:port`` or ``unix:path``, without the address's scheme."""
        return self._parsed.target

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        """What every call sends: the bearer token, when there is one."""
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()

    @property
    def channel(self) -> grpc.Channel:
        """This process's channel, opened on first use here (after a fork: in the child)."""
        return self._current()[0]

    def stub(self, stub_type: Callable[[grpc.Channel], _S]) -> _S:
        """A ``*Stub`` of the generated code on this process's channel, made once per channel."""
        channel, stubs = self._current()
        made = stubs.get(stub_type)
        if made is None:
            made = stubs.setdefault(stub_type, stub_type(channel))
        return made  # type: ignore[no-any-return]

    def intercept(self, *interceptors: Any) -> None:
        """Sends this process's calls through gRPC client ``interceptors`` (``grpc.intercept_channel``).

        Only this process's: another process the connection is used in opens a plain channel.
        """
        self._live.current = (grpc.intercept_channel(self.channel, *interceptors), {})

    def reconnected(self) -> Connection:
        """The same settings with a channel of their own, for a retry after the channel broke.

        The old channel is not closed: other threads, or other APIs sharing this connection, may
        still be using it.
        """
        return dataclasses.replace(self)

    def close(self) -> None:
        """Closes this process's channel (calls in flight are cancelled); later calls fail."""
        live = self._live
        with _lock:
            if live.pid == os.getpid() and live.current is not None and not live.closed:
                live.current[0].close()
                live.closed = True

    def _current(self) -> tuple[grpc.Channel, dict[Any, Any]]:
        live = self._live
        if live.pid != os.getpid():
            with _lock:
                if live.pid != os.getpid():
                    if live.current is not None:
                        live.inherited.append(live.current[0])
                    live.current, live.closed = (self._open(), {}), False
                    live.pid = os.getpid()
        if live.closed or live.current is None:
            raise ValueError(f"the connection to {self.address} was closed in this process")
        return live.current

    def _open(self) -> grpc.Channel:
        options = [
            ("grpc.max_receive_message_length", self.max_message),
            ("grpc.max_send_message_length", self.max_message),
            # gRPC shares the TCP connections of equal channels process-wide: a channel opened in a
            # forked child would take over the parent's connection, whose socket the child cannot
            # use ("Wrong file descriptor generation"). A pool of the channel's own prevents that,
            # and lets a channel opened to retry a broken call connect anew.
            ("grpc.use_local_subchannel_pool", 1),
        ]
        parsed = self._parsed
        if self.tls.enabled:
            return grpc.secure_channel(parsed.target, channel_credentials(self.tls), options=options)
        if parsed.tls == "on":
            # https:// without a CA file trusts the system's roots, as the CLI does.
            return grpc.secure_channel(parsed.target, grpc.ssl_channel_credentials(), options=options)
        return grpc.insecure_channel(parsed.target, options=options)


def connection_of(target: Any) -> Connection:
    """The connection of ``target``: a ``Connection``, or anything carrying one (``O3Client``)."""
    if isinstance(target, Connection):
        return target
    connection = getattr(target, "connection", None)
    if isinstance(connection, Connection):
        return connection
    raise TypeError(f"expected an O3Client or an o3ml Connection, not {type(target).__name__}")
