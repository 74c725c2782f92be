"""Service addresses as ``O3ML_SERVICE`` and ``O3Client(address)`` take them.

The same forms, and the same refusals, as the CLI's parser
(``packages/client/src/service-address.ts``): ``host:port``, ``[v6]:port``, ``http://host:port``
(plaintext), ``https://host:port`` (TLS) and ``unix:/path`` (or ``unix:///path``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from ._errors import O3mlError, error_for_code

FORMS = "host:port, http://host:port, https://host:port (TLS) or unix:/path/to/socket"

_HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?):(\d{1,5})$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


@dataclass(frozen=True)
class ServiceAddress:
    """What gRPC dials (``host:port`` or ``unix:path``) and what the address says about TLS:
    ``on`` (https://), ``off`` (http://) or ``from-settings`` (the TLS files decide)."""

    target: str
    tls: Literal["on", "off", "from-settings"]


def parse_service_address(value: str, source: str = "O3ML_SERVICE") -> ServiceAddress:
    """``value`` in one of ``FORMS``; anything else is INVALID_ARGUMENT naming ``source``."""

    def bad(why: str) -> O3mlError:
        return error_for_code("INVALID_ARGUMENT", f"{source} is {value!r}: not a service address ({why}); give {FORMS}")

    text = value.strip()
    if text.startswith("unix:"):
        path = text[len("unix://") :] if text.startswith("unix://") else text[len("unix:") :]
        if not path or (text.startswith("unix://") and not path.startswith("/")):
            raise bad("a unix socket is unix:/path/to/socket")
        return ServiceAddress(f"unix:{path}", "from-settings")
    scheme_match = _SCHEME.match(text)
    if scheme_match is None:
        m = _HOST_PORT.match(text)
        if m is None:
            raise bad("expected host:port")
        return ServiceAddress(_with_port(m.group(1), m.group(2), bad), "from-settings")
    scheme = scheme_match.group(1).lower()
    if scheme not in ("http", "https"):
        raise bad(f"{scheme}:// is not a scheme the service speaks")
    try:
        url = urlsplit(text)
        port_text = str(url.port) if url.port is not None else ("443" if scheme == "https" else "80")
    except ValueError as err:
        raise bad(str(err)) from None
    if not url.hostname:
        raise bad("the URL names no host")
    if url.username or url.password or url.query or url.fragment or url.path not in ("", "/"):
        raise bad("a service URL is scheme://host:port, with no path, query or credentials")
    host = f"[{url.hostname}]" if ":" in url.hostname else url.hostname
    return ServiceAddress(_with_port(host, port_text, bad), "on" if scheme == "https" else "off")


def _with_port(host: str, port: str, bad: Callable[[str], O3mlError]) -> str:
    n = int(port)
    if not 1 <= n <= 65535:
        raise bad(f"port {port} is not from 1 to 65535")
    return f"{host}:{n}"
