"""Clients shared by everything that is configured from the environment (fsspec, Lightning)."""

from __future__ import annotations

import os
import threading

from ._client import DEFAULT_ADDRESS, O3Client

_clients: dict[tuple[str, str, tuple[str, ...], int], O3Client] = {}
_lock = threading.Lock()


def shared_client(address: str | None = None, token: str | None = None) -> O3Client:
    """One client per (address, token) and process: channels are reused, and never cross ``fork``.

    Defaults are read now (``O3ML_SERVICE``, ``O3ML_TOKEN``, ``O3ML_TLS_*``), so a changed environment gets a
    client of its own rather than one configured for the old values.
    """
    address = address or os.environ.get("O3ML_SERVICE") or DEFAULT_ADDRESS
    token = token if token is not None else os.environ.get("O3ML_TOKEN", "")
    tls = tuple(os.environ.get(f"O3ML_TLS_{part}", "") for part in ("CA", "CERT", "KEY"))
    key = (address, token, tls, os.getpid())
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = O3Client(address, token)
        return client
