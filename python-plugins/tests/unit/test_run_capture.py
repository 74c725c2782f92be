"""What ``register_run`` captures about a run: git commit and dirty flag, package versions, host;
and how hyperparameters become JSON. Against real git repositories in temporary folders, and an
in-process MetadataService that keeps the requests it receives."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_server import serving

from o3ml import O3Client
from o3ml._run_capture import capture_environment, package_versions, to_json_value
from o3ml.gen import metadata_service_pb2 as pb
from o3ml.gen import metadata_service_pb2_grpc

GIT = shutil.which("git")
needs_git = pytest.mark.skipif(GIT is None, reason="git is not installed")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "trainer@example.com")
    git(tmp_path, "config", "user.name", "Trainer")
    (tmp_path / "train.py").write_text("print('train')\n")
    git(tmp_path, "add", "train.py")
    git(tmp_path, "commit", "-q", "-m", "first")
    return tmp_path


@needs_git
def test_a_clean_checkout_records_its_commit_and_not_dirty(repo: Path) -> None:
    env = capture_environment(repo)
    assert env.code_commit == git(repo, "rev-parse", "HEAD")
    assert env.code_dirty is False


@needs_git
def test_a_modified_tracked_file_makes_it_dirty_but_untracked_files_do_not(repo: Path) -> None:
    (repo / "events.log").write_text("noise")
    assert capture_environment(repo).code_dirty is False
    (repo / "train.py").write_text("print('changed')\n")
    assert capture_environment(repo).code_dirty is True


def test_outside_a_repository_commit_and_dirty_are_unknown(tmp_path: Path) -> None:
    env = capture_environment(tmp_path)
    assert (env.code_commit, env.code_dirty) == (None, None)


def test_without_git_installed_commit_and_dirty_are_unknown(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(repo / "no-such-bin"))
    env = capture_environment(repo)
    assert (env.code_commit, env.code_dirty) == (None, None)
    assert env.host


def test_package_versions_name_python_and_what_is_installed() -> None:
    import importlib.metadata

    found = package_versions()
    assert found["python"].count(".") == 2
    assert found["torch"] == importlib.metadata.version("torch")
    assert found["o3ml"] == importlib.metadata.version("o3ml")
    assert set(found) <= {"python", "torch", "lightning", "numpy", "o3ml"}


def test_hyperparameters_become_plain_json() -> None:
    value = {
        "lr": np.float32(0.5),
        "layers": (64, 32),
        "path": Path("/data"),
        "bad": math.nan,
        3: {"b", "a"},
        "w": np.arange(3),
    }
    converted = to_json_value(value)
    assert converted == {"lr": 0.5, "layers": [64, 32], "path": "/data", "bad": "nan", "3": ["a", "b"], "w": [0, 1, 2]}
    json.dumps(converted, allow_nan=False)


class RecordingMetadataService(metadata_service_pb2_grpc.MetadataServiceServicer):
    def __init__(self) -> None:
        self.requests: list[pb.RegisterRunRequest] = []

    def RegisterRun(self, request: pb.RegisterRunRequest, context: grpc.ServicerContext) -> pb.RunInfo:
        self.requests.append(request)
        return pb.RunInfo(id=f"run-{len(self.requests)}", name=request.name)

    def GetRun(self, request: pb.GetRunRequest, context: grpc.ServicerContext) -> pb.RunInfo:
        context.set_trailing_metadata((("o3ml-code", "NOT_FOUND"),))
        context.abort(grpc.StatusCode.NOT_FOUND, f"no run {request.run} in the metadata index")


@pytest.fixture
def recording() -> Iterator[tuple[RecordingMetadataService, str]]:
    service = RecordingMetadataService()
    with serving(metadata_service_pb2_grpc.add_MetadataServiceServicer_to_server, service, workers=2) as address:
        yield service, address


@needs_git
def test_register_run_sends_what_it_captured(
    recording: tuple[RecordingMetadataService, str], repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, address = recording
    monkeypatch.chdir(repo)
    (repo / "train.py").write_text("print('changed')\n")
    with O3Client(address) as client:
        assert client.register_run("mnist", {"lr": 1e-3, "betas": (0.9, 0.99)}) == "run-1"
        assert client.register_run("bare", capture=False) == "run-2"
    captured, bare = service.requests
    assert captured.name == "mnist"
    assert json.loads(captured.hyperparameters_json) == {"lr": 1e-3, "betas": [0.9, 0.99]}
    assert captured.code_commit == git(repo, "rev-parse", "HEAD")
    assert (captured.has_code_dirty, captured.code_dirty) == (True, True)
    assert dict(captured.packages) == package_versions()
    assert captured.host
    assert json.loads(bare.hyperparameters_json) == {}
    assert (bare.code_commit, bare.has_code_dirty, dict(bare.packages), bare.host) == ("", False, {}, "")


def test_register_run_refuses_what_is_not_a_mapping(recording: tuple[RecordingMetadataService, str]) -> None:
    _, address = recording
    with O3Client(address) as client, pytest.raises(TypeError, match="mapping"):
        client.register_run("mnist", [("lr", 1)])  # type: ignore[arg-type]


def test_unknown_runs_raise_not_found(recording: tuple[RecordingMetadataService, str]) -> None:
    from o3ml import NotFoundError

    _, address = recording
    with O3Client(address) as client, pytest.raises(NotFoundError, match="no run ghost"):
        client.run("ghost")
