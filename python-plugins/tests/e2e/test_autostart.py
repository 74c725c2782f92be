"""Autostart from a checkout (o3ml/_autostart.py): with no address and none answering at the
default, processes starting together make one service for their O3ML_HOME and all use it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from autostarted import stop_recorded_service

from o3ml import Connection, O3Client
from o3ml._connection import DEFAULT_ADDRESS
from o3ml._errors import UnavailableError
from o3ml import _autostart

#: A default address nothing listens at (port 1 is never served here), standing in for 127.0.0.1:7433,
#: which another o3ml serve on this machine may hold.
UNANSWERED = "127.0.0.1:1"
RESOLVE = (
    "import logging, sys\n"
    "logging.basicConfig(level=logging.INFO)\n"
    "from o3ml import _autostart\n"
    "print(_autostart.service_address(sys.argv[1]), flush=True)\n"
)


def user_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("O3ML_", "AWS_"))}
    return {**env, "O3ML_HOME": str(home), "O3ML_LOG_LEVEL": "error", **extra}


def test_processes_starting_together_share_one_service(tmp_path: Path) -> None:
    home = tmp_path / "home"
    starts = [
        subprocess.Popen([sys.executable, "-c", RESOLVE, UNANSWERED], env=user_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    results = [(p.communicate(), p.returncode) for p in starts]
    try:
        failed = [f"process {i} exited {code}:\n{err}" for i, ((_, err), code) in enumerate(results) if code != 0]
        # Whole, not as an assertion's repr (which pytest cuts short): the cause is in the middle.
        if failed:
            pytest.fail("\n\n".join(failed) + f"\n\nservice log:\n{_log_of(home)}", pytrace=False)
        addresses = {out.strip() for (out, _), _ in results}
        assert len(addresses) == 1, addresses
        (address,) = addresses
        started = [err for (_, err), _ in results if "started a local o3ml service" in err]
        assert len(started) == 1, started
        assert address in started[0] and str(home / "store") in started[0]
        assert json.loads((home / "service.json").read_text())["address"] == address
        with O3Client(address) as client:
            client.put("autostart/probe", b"kept in O3ML_HOME")
        assert any((home / "store").rglob("*")), "the autostarted service keeps its data under O3ML_HOME/store"
        # A later process finds it through the record and starts nothing.
        again = subprocess.run([sys.executable, "-c", RESOLVE, UNANSWERED], env=user_env(home), capture_output=True, text=True, check=True)
        assert again.stdout.strip() == address and "started" not in again.stderr
    finally:
        stop_recorded_service(home)


def _log_of(home: Path) -> str:
    try:
        return (home / "service.log").read_text(errors="replace")
    except OSError as err:
        return f"(none: {err})"


def test_autostart_off_keeps_the_default_address(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("O3ML_AUTOSTART", "0")
    monkeypatch.setenv("O3ML_HOME", str(tmp_path))
    monkeypatch.delenv("O3ML_SERVICE", raising=False)
    assert Connection.resolve().address == DEFAULT_ADDRESS
    assert _autostart.service_address(UNANSWERED) == UNANSWERED
    assert not (tmp_path / "service.json").exists()


def test_a_service_that_cannot_start_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.startswith(("O3ML_", "AWS_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("O3ML_HOME", str(tmp_path))
    monkeypatch.setenv("O3ML_ENDPOINT", "ftp://not-an-s3-endpoint")
    with pytest.raises(UnavailableError) as caught:
        _autostart.service_address(UNANSWERED)
    message = str(caught.value)
    assert "could not start a local service" in message and "ftp://not-an-s3-endpoint" in message and "o3ml serve" in message
    assert not (tmp_path / "service.json").exists()
