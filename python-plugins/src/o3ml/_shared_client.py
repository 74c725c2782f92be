"""Clients shared by everything that is configured from the environment (fsspec, Lightning)."""

from __future__ import annotations

import threading

from ._client import O3Client
from ._connection import Connection

_clients: dict[Connection, O3Client] = {}
_lock = threading.Lock()


def shared_client(address: str | None = None, token: str | None = None) -> O3Client:
    """One client per connection settings: channels are reused (one per process, see ``o3ml._connection``).

    Defaults are read now (``O3ML_SERVICE``, ``O3ML_TOKEN``, ``O3ML_TLS_*``), so a changed environment gets a
    client of its own rather than one configured for the old values.
    """
    connection = Connection.resolve(address, token)
    with _lock:
        client = _clients.get(connection)
        if client is None:
            client = _clients[connection] = O3Client.from_connection(connection)
        return client
