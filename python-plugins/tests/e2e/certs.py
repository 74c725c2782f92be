"""Throw-away certificates for the TLS tests, made by openssl at test time (no key is committed):
a CA that signs the service's certificate (for 127.0.0.1) and a client certificate, and another CA
that signs a client certificate the service must refuse."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


def _openssl(cwd: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _ca(cwd: Path, name: str) -> None:
    _openssl(cwd, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
             "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.pem")


def _leaf(cwd: Path, ca: str, name: str, ext: str) -> None:
    (cwd / f"{name}.ext").write_text(ext)
    _openssl(cwd, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", f"/CN={name}",
             "-keyout", f"{name}.key", "-out", f"{name}.csr")
    _openssl(cwd, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial", "-days", "2",
             "-extfile", f"{name}.ext", "-out", f"{name}.pem")


@dataclass(frozen=True)
class Certs:
    folder: Path

    def __truediv__(self, name: str) -> Path:
        return self.folder / name

    def mutual_tls_args(self) -> list[str]:
        """`o3ml serve` flags for mutual TLS: its certificate, and the CA its clients' must chain to."""
        return ["--tls-cert", str(self / "server.pem"), "--tls-key", str(self / "server.key"), "--tls-client-ca", str(self / "ca.pem")]

    def client_tls(self) -> dict[str, str]:
        """The O3Client arguments of a client the service accepts."""
        return {"tls_ca": str(self / "ca.pem"), "tls_cert": str(self / "client.pem"), "tls_key": str(self / "client.key")}


def make_certs(folder: Path) -> Certs:
    _ca(folder, "ca")
    _ca(folder, "other-ca")
    _leaf(folder, "ca", "server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    _leaf(folder, "ca", "client", "extendedKeyUsage=clientAuth\n")
    _leaf(folder, "other-ca", "other-client", "extendedKeyUsage=clientAuth\n")
    return Certs(folder)
