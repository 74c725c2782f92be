"""Who may talk to the service, and what a client sees when the service is gone."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import launch
from servers import S3Endpoint, Service

from o3ml import O3Client, UnauthenticatedError, UnavailableError


@pytest.mark.parametrize("token", [None, "wrong-token", "right-token-but-longer"])
def test_a_missing_or_wrong_token_is_unauthenticated(
    token_service: Service, prefix: str, token: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("O3ML_TOKEN", raising=False)
    with O3Client(token_service.address, token=token) as client:
        calls: dict[str, Callable[[], object]] = {
            "put": lambda: client.put(f"{prefix}k", b"x"),
            "get": lambda: client.get(f"{prefix}k"),
            "stat": lambda: client.stat(f"{prefix}k"),
            "list": lambda: list(client.list(prefix)),
            "delete": lambda: client.delete(f"{prefix}k"),
        }
        for name, call in calls.items():
            with pytest.raises(UnauthenticatedError) as caught:
                call()
            assert "O3ML_TOKEN" in str(caught.value), f"{name}: {caught.value}"
            assert "right-token" not in str(caught.value), "the service's token leaked into an error"


def test_the_right_token_is_accepted(token_service: Service, prefix: str) -> None:
    with O3Client(token_service.address, token="right-token") as client:
        client.put(f"{prefix}k", b"authorised")
        assert client.get(f"{prefix}k") == b"authorised"


def test_a_stopped_service_is_unavailable_and_named(
    s3: S3Endpoint, tmp_path_factory: pytest.TempPathFactory, prefix: str
) -> None:
    svc = launch(s3, tmp_path_factory, name="o3ml-serve-stopped")
    try:
        with O3Client(svc.address) as client:
            client.put(f"{prefix}k", b"x")
            svc.stop()
            with pytest.raises(UnavailableError) as caught:
                client.stat(f"{prefix}k")
    finally:
        svc.stop()
    message = str(caught.value)
    assert svc.address in message and "`o3ml serve`" in message and "O3ML_SERVICE" in message


def test_an_http_url_reaches_the_service_as_its_host_and_port_do(service: Service, prefix: str) -> None:
    with O3Client(f"http://{service.address}") as client:
        client.put(f"{prefix}via-url", b"same service")
    with O3Client(service.address) as client:
        assert client.get(f"{prefix}via-url") == b"same service"
