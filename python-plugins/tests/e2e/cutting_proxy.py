"""A TCP proxy on loopback that can break one connection on demand, as a network fault would.

Every connection to the proxy is relayed to the target byte for byte. After ``cut_next()``, the
next answer the target sends on any connection is not delivered: that connection is reset in both
directions instead (SO_LINGER 0), so the call it carried fails the way a dropped connection fails
it. Later connections are relayed normally again. An "answer" is a read of more than
``min_bytes``: HTTP/2's own small frames (a PING's acknowledgement, a window update) may arrive on
an idle connection at any time and are let through, since cutting one would break no call.
"""

from __future__ import annotations

import socket
import struct
import threading

_CHUNK = 64 * 1024


class CuttingProxy:
    """Relays ``127.0.0.1:<port>`` to ``target`` (``host:port``)."""

    def __init__(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        self._target = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._armed = False
        self._min_bytes = 0
        self._sockets: list[socket.socket] = []
        #: Connections accepted, and connections cut.
        self.connections = 0
        self.cuts = 0
        threading.Thread(target=self._accept, name="cutting-proxy", daemon=True).start()

    def cut_next(self, min_bytes: int = 64) -> None:
        with self._lock:
            self._armed, self._min_bytes = True, min_bytes

    def close(self) -> None:
        """Stops listening (connecting to ``address`` is then refused) and resets every connection."""
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept below, which close() alone would not
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            for s in self._sockets:
                _reset(s)

    def __enter__(self) -> CuttingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection(self._target)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self.connections += 1
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_target: bool) -> None:
        try:
            while data := source.recv(_CHUNK):
                if from_target and self._take_cut(len(data)):
                    _reset(source)
                    _reset(sink)
                    return
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _take_cut(self, size: int) -> bool:
        with self._lock:
            if not self._armed or size <= self._min_bytes:
                return False
            self._armed = False
            self.cuts += 1
            return True


def _reset(s: socket.socket) -> None:
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # close() alone would wait for the other pump thread's recv on this socket to return;
        # shutdown wakes it at once, and the last close then resets the connection.
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()
