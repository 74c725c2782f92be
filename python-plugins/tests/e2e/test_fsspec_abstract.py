"""fsspec's own conformance suite (``fsspec.tests.abstract``) run against ``o3://`` and a real service.

The suite is what fsspec runs against its own filesystems (memory, local), subclassed here with the
fixtures it asks for. Its files are a few bytes each, so it checks semantics, not throughput; it
makes about nine thousand calls, so it runs once, behind MinIO (the faster of the two S3 servers,
moto where MinIO is not available): it exercises the Python filesystem, and both S3 servers behind
the service are covered by the other end-to-end tests.

o3 keys are flat: a directory exists only while some object sits below it, so the suite runs
with ``supports_empty_directories`` False, which it provides for exactly this kind of store.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fsspec.tests.abstract import (
    AbstractCopyTests,
    AbstractFixtures,
    AbstractGetTests,
    AbstractOpenTests,
    AbstractPipeTests,
    AbstractPutTests,
)
from servers import S3Endpoint, Service, start_service

from o3ml._fsspec import O3FileSystem


@pytest.fixture(scope="module")
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    try:
        s3: S3Endpoint = request.getfixturevalue("minio")
    except pytest.skip.Exception:
        s3 = request.getfixturevalue("moto")
    svc = start_service(s3, tmp_path_factory.mktemp("o3ml-fsspec-home"), tmp_path_factory.mktemp("o3ml-fsspec-logs"))
    yield svc
    svc.stop()


class O3Fixtures(AbstractFixtures):
    @pytest.fixture
    def fs(self, service: Service) -> O3FileSystem:
        return O3FileSystem(service.bucket, address=service.address)

    @pytest.fixture
    def fs_path(self, service: Service, prefix: str) -> str:
        return f"{service.bucket}/{prefix.rstrip('/')}"

    @pytest.fixture
    def fs_join(self):  # type: ignore[no-untyped-def]
        return lambda *parts: "/".join(parts)

    @pytest.fixture
    def supports_empty_directories(self) -> bool:
        return False


class TestO3Copy(AbstractCopyTests, O3Fixtures):
    pass


class TestO3Get(AbstractGetTests, O3Fixtures):
    pass


class TestO3Put(AbstractPutTests, O3Fixtures):
    pass


class TestO3Open(AbstractOpenTests, O3Fixtures):
    pass


class TestO3Pipe(AbstractPipeTests, O3Fixtures):
    pass
