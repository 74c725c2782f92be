"""Fixtures of the end-to-end tests: every test runs once against moto and once against MinIO,
each time through a real `o3ml serve` over loopback, with a unique key prefix per test."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from servers import S3Endpoint, Service, minio_binary, start_minio, start_moto, start_service

from o3ml import O3Client


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Endpoint]:
    try:
        server = start_moto(tmp_path_factory.mktemp("moto-logs"))
    except RuntimeError as err:
        pytest.fail(f"moto could not be started (it is installed into .venv by `npm run setup`): {err}")
    yield server
    server.process.stop()


@pytest.fixture(scope="session")
def minio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Endpoint]:
    binary, reason = minio_binary()
    if binary is None:
        message = f"MinIO is not available: {reason}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        server = start_minio(binary, tmp_path_factory.mktemp("minio-data"), tmp_path_factory.mktemp("minio-logs"))
    except RuntimeError as err:
        pytest.fail(f"MinIO ({binary}) could not be started: {err}")
    yield server
    server.process.stop()


@pytest.fixture(scope="session", params=["moto", "minio"])
def s3(request: pytest.FixtureRequest) -> S3Endpoint:
    """The S3 server behind the service; tests are grouped per server so each starts once."""
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def launch(s3: S3Endpoint, factory: pytest.TempPathFactory, token: str | None = None, name: str = "o3ml-serve") -> Service:
    try:
        return start_service(s3, factory.mktemp(f"{name}-home"), factory.mktemp(f"{name}-logs"), token=token, name=name)
    except RuntimeError as err:
        pytest.fail(f"the o3ml service could not be started in front of {s3.kind}: {err}")


def service_of_its_own(name: str) -> Any:
    """A module's own `service` fixture (assign it to `service` in the module): one service per
    server on a fresh bucket, in place of the session's shared one. For modules that list whole
    buckets or store thousands of keys: moto's LISTs read every key of a bucket, so on the shared
    bucket such a module's requests cost more the more other modules had stored, and what it
    stored slowed every later module."""

    @pytest.fixture(scope="module")
    def service(s3: S3Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
        svc = launch(s3, tmp_path_factory, name=name)
        yield svc
        svc.stop()

    return service


@pytest.fixture(scope="session")
def service(s3: S3Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    svc = launch(s3, tmp_path_factory)
    yield svc
    svc.stop()


@pytest.fixture(scope="session")
def token_service(s3: S3Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A second service that requires the bearer token `right-token`."""
    svc = launch(s3, tmp_path_factory, token="right-token", name="o3ml-serve-token")
    yield svc
    svc.stop()


@pytest.fixture
def client(service: Service) -> Iterator[O3Client]:
    with O3Client(service.address) as c:
        yield c


@pytest.fixture
def prefix(request: pytest.FixtureRequest) -> str:
    """A key prefix no other test uses."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", request.node.name).strip("-")[:80]
    return f"tests/{name}-{uuid.uuid4().hex[:8]}/"


@pytest.fixture
def bucket(service: Service) -> Any:
    """A boto3 S3 client of the service's bucket, for looking behind the service's back."""
    return service.s3.boto3()
