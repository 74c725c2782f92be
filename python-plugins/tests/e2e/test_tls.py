"""The Python client over TLS and mutual TLS to a real `o3ml serve --tls-*`, certificates made by openssl."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from certs import Certs, make_certs
from servers import S3Endpoint, start_service

from o3ml import O3Client, O3mlError


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def mtls_service(moto: S3Endpoint, certs: Certs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tls = certs.mutual_tls_args()
    service = start_service(moto, tmp_path_factory.mktemp("tls-home"), tmp_path_factory.mktemp("tls-logs"), name="o3ml-serve-tls", extra_args=tls)
    try:
        assert service.ready["tls"] == "mutual"
        yield service.address
    finally:
        service.stop()


def test_mutual_tls_round_trip_with_a_signed_client_certificate(mtls_service: str, certs: Certs) -> None:
    client = O3Client(mtls_service, tls_ca=str(certs / "ca.pem"), tls_cert=str(certs / "client.pem"), tls_key=str(certs / "client.key"), timeout=30)
    try:
        assert client.tls
        client.put("tls/hello", b"over mutual tls")
        assert client.get("tls/hello") == b"over mutual tls"
    finally:
        client.close()


def test_the_environment_configures_tls(mtls_service: str, certs: Certs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("O3ML_TLS_CA", str(certs / "ca.pem"))
    monkeypatch.setenv("O3ML_TLS_CERT", str(certs / "client.pem"))
    monkeypatch.setenv("O3ML_TLS_KEY", str(certs / "client.key"))
    with O3Client(mtls_service, timeout=30) as client:
        client.put("tls/env", b"env")
        assert client.stat("tls/env").size == 3


@pytest.mark.parametrize("who", ["plaintext", "no-client-cert", "foreign-client-cert", "unknown-ca"])
def test_refused_without_the_right_credentials(mtls_service: str, certs: Certs, who: str) -> None:
    args: dict[str, str] = {
        "plaintext": {},
        "no-client-cert": {"tls_ca": str(certs / "ca.pem")},
        "foreign-client-cert": {"tls_ca": str(certs / "ca.pem"), "tls_cert": str(certs / "other-client.pem"), "tls_key": str(certs / "other-client.key")},
        "unknown-ca": {"tls_ca": str(certs / "other-ca.pem"), "tls_cert": str(certs / "client.pem"), "tls_key": str(certs / "client.key")},
    }[who]
    client = O3Client(mtls_service, timeout=10, **args)
    try:
        with pytest.raises(O3mlError) as caught:
            client.put(f"tls/{who}", b"must not be stored")
        assert caught.value.code == "UNAVAILABLE"
    finally:
        client.close()


def test_bad_tls_settings_fail_clearly(tmp_path: Path, certs: Certs) -> None:
    with pytest.raises(O3mlError, match="O3ML_TLS_KEY"):
        O3Client("127.0.0.1:1", tls_cert=str(certs / "client.pem"))
    with pytest.raises(O3mlError, match="missing.pem"):
        O3Client("127.0.0.1:1", tls_ca=str(tmp_path / "missing.pem"))
    junk = tmp_path / "junk.pem"
    junk.write_text("secret-looking junk")
    with pytest.raises(O3mlError) as caught:
        O3Client("127.0.0.1:1", tls_ca=str(junk))
    assert "secret-looking" not in str(caught.value)
