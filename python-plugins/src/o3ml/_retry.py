"""Retrying a read from the service that the connection broke, a bounded number of times.

A call to the service can fail on the way without the service having refused anything: a stream
cut when a connection dropped, a service restarting, a proxy closing an idle connection. gRPC
reports all of these as UNAVAILABLE, as the service does when its store is briefly out of reach.
Such a call is tried again after a growing, jittered pause, at most ``ATTEMPTS`` times in all, so
a service that is really gone still fails the epoch or the load within seconds. Every other
status is an answer from the service (not found, integrity, permission, ...) and is raised at
once. Used by the dataset reader (shard fetches) and the distributed-checkpoint reader (ranged
object reads); only reads are retried, since trying one again changes nothing stored.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

import grpc

from ._errors import HOW_TO_START, O3mlError, error_for_code, from_rpc_error, service_code

__all__ = ["ATTEMPTS", "Retrying"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

#: Tries of one call in all, the first included.
ATTEMPTS = 5
#: Pause before the first retry; each further retry waits twice as long (±50 % jitter).
FIRST_PAUSE = 0.25
# What gRPC says when no connection could be made at all: then the service is not there, which
# is worth saying plainly; any other UNAVAILABLE is a connection that broke during the call.
_CONNECT_FAILURES = ("failed to connect", "connection refused", "connect failed", "dns resolution failed", "name resolution")


class Retrying:
    """Runs calls against the service at ``address``, retrying those the connection broke.

    ``reconnect`` is called before each retry, to drop the channel the failed call used when
    the caller owns it (the channel may be what broke); a caller on a shared client passes a
    no-op, and gRPC connects that channel again on the next call.
    """

    def __init__(self, address: str, reconnect: Callable[[], None]) -> None:
        self.address = address
        self._reconnect = reconnect

    def call(self, what: str, attempt: Callable[[], _T]) -> _T:
        """``attempt()``, tried up to ``ATTEMPTS`` times while it fails with UNAVAILABLE.

        ``what`` names the call in messages (``"fetch shard 3 of data@v1 (cid ...)"``). A
        ``grpc.RpcError`` that ends the tries is raised as the matching ``O3mlError``.
        """
        started = time.monotonic()
        for number in range(1, ATTEMPTS + 1):
            try:
                return attempt()
            except grpc.RpcError as err:
                if not _broken_connection(err):
                    raise from_rpc_error(err, self.address) from None
                if number == ATTEMPTS:
                    raise self._gave_up(what, err, number, time.monotonic() - started) from None
                pause = FIRST_PAUSE * 2 ** (number - 1) * random.uniform(0.5, 1.5)
                log.warning(
                    "%s: the call to the o3ml service at %s failed with UNAVAILABLE (%s); trying again in %.2f s (attempt %d of %d)",
                    what, self.address, _details(err), pause, number + 1, ATTEMPTS,
                )
                time.sleep(pause)
                self._reconnect()
        raise AssertionError("unreachable")  # the loop returns or raises

    def _gave_up(self, what: str, err: grpc.RpcError, attempts: int, elapsed: float) -> O3mlError:
        details = _details(err)
        tried = f"{attempts} attempts over {elapsed:.1f} s"
        if service_code(err) is not None:
            # The service itself answered UNAVAILABLE (its store is out of reach): its words stand.
            error = from_rpc_error(err, self.address)
            return type(error)(f"{what}: {error} ({tried})", {**error.details, "attempts": attempts})
        if any(marker in details.lower() for marker in _CONNECT_FAILURES):
            message = (
                f"{what}: cannot reach the o3ml service at {self.address} ({tried}; the last said: {details}); "
                + HOW_TO_START
            )
        else:
            message = (
                f"{what}: the connection to the o3ml service at {self.address} broke during the call on each of "
                f"{tried} (the last said: {details}); check the service log (did it restart?) and the network "
                "between this process and the service"
            )
        return error_for_code("UNAVAILABLE", message, {"address": self.address, "grpc_status": "UNAVAILABLE", "attempts": attempts})


def _broken_connection(err: grpc.RpcError) -> bool:
    code = getattr(err, "code", None)
    return callable(code) and code() is grpc.StatusCode.UNAVAILABLE


def _details(err: grpc.RpcError) -> str:
    details = getattr(err, "details", None)
    text = details() if callable(details) else None
    return text if isinstance(text, str) and text else "no details"
