"""TLS for the channel to the o3ml service, mirroring the service's ``--tls-*`` options.

Plaintext unless a CA or a client certificate is configured: ``O3ML_TLS_CA`` is the PEM CA bundle
that signed the service's certificate; ``O3ML_TLS_CERT`` and ``O3ML_TLS_KEY`` are this client's own
certificate and key, needed when the service runs mutual TLS (``--tls-client-ca``). Errors name the
file and the variable, never the key's bytes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import grpc

from ._errors import error_for_code


@dataclass(frozen=True)
class TlsFiles:
    """Paths of PEM files; all None means plaintext."""

    ca: str | None = None
    cert: str | None = None
    key: str | None = None

    @classmethod
    def resolve(cls, ca: str | None, cert: str | None, key: str | None) -> TlsFiles:
        """Arguments first, then ``O3ML_TLS_CA`` / ``O3ML_TLS_CERT`` / ``O3ML_TLS_KEY``."""
        env = os.environ
        return cls(ca or env.get("O3ML_TLS_CA") or None, cert or env.get("O3ML_TLS_CERT") or None, key or env.get("O3ML_TLS_KEY") or None)

    @property
    def enabled(self) -> bool:
        return bool(self.ca or self.cert or self.key)

    def environment(self) -> dict[str, str]:
        """The variables ``resolve`` reads, set to these files: how a child process (the o3ml CLI)
        gets the same TLS settings."""
        named = {"O3ML_TLS_CA": self.ca, "O3ML_TLS_CERT": self.cert, "O3ML_TLS_KEY": self.key}
        return {var: path for var, path in named.items() if path}


def _read_pem(path: str, what: str, variable: str) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise error_for_code("FAILED_PRECONDITION", f"cannot read the {what} {path}: {err.strerror}; check {variable}") from None
    if b"-----BEGIN " not in data:
        raise error_for_code("INVALID_ARGUMENT", f"the {what} {path} is not PEM (no -----BEGIN line); check {variable}")
    return data


def channel_credentials(tls: TlsFiles) -> grpc.ChannelCredentials:
    """TLS credentials for ``tls`` (which must be enabled); a client certificate makes it mutual TLS."""
    if bool(tls.cert) != bool(tls.key):
        raise error_for_code(
            "INVALID_ARGUMENT", "a client certificate needs its key and the other way round: set both O3ML_TLS_CERT and O3ML_TLS_KEY, or neither"
        )
    return grpc.ssl_channel_credentials(
        root_certificates=_read_pem(tls.ca, "CA bundle", "O3ML_TLS_CA") if tls.ca else None,
        private_key=_read_pem(tls.key, "client key", "O3ML_TLS_KEY") if tls.key else None,
        certificate_chain=_read_pem(tls.cert, "client certificate", "O3ML_TLS_CERT") if tls.cert else None,
    )
