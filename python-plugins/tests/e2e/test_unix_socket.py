"""The Python client reaches an `o3ml serve --listen unix:/path`, the address it prints."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from servers import S3Endpoint, start_service

from o3ml import O3Client


def test_the_client_puts_and_reads_through_a_unix_socket(moto: S3Endpoint, tmp_path: Path) -> None:
    socket = tmp_path / "o3ml.sock"
    try:
        svc = start_service(moto, tmp_path / "home", tmp_path / "logs", extra_args=["--listen", f"unix:{socket}"])
    except RuntimeError as err:
        pytest.fail(f"the o3ml service could not be started on unix:{socket}: {err}")
    try:
        assert svc.address == f"unix:{socket}"
        assert stat.S_IMODE(socket.stat().st_mode) == 0o600
        body = bytes(range(256)) * 4096
        with O3Client(svc.address) as client:
            client.put("unix/from-python.bin", body)
            assert client.get("unix/from-python.bin") == body
            assert [o.key for o in client.list("unix/")] == ["unix/from-python.bin"]
    finally:
        svc.stop()
    assert not socket.exists(), "a stopped service leaves no socket behind"
