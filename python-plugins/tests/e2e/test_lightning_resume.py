"""Resuming from O3: a job killed with SIGKILL resumes bitwise-exactly; a killed upload never shows."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning_models import Regressor, loader, moto_service, seeded, service_env, trainer, unique_dir
from servers import S3Endpoint, Service

from o3ml import O3Client, list_checkpoints
from o3ml.lightning import O3CheckpointIO, O3ResumeCallback, resolve_ckpt_path

JOB = Path(__file__).with_name("lightning_job.py")
MAX_STEPS = 240  # 15 epochs of 16 steps, a checkpoint at the end of each
JOB_TIMEOUT = 300.0


@pytest.fixture(scope="module")
def service(moto: S3Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with moto_service(moto, tmp_path_factory) as svc:
        yield svc


@pytest.fixture
def env(service: Service, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = service_env(service)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


class Job:
    """``lightning_job.py`` in a subprocess, read line by line."""

    def __init__(self, service: Service, dirpath: str, run: str, out: Path, *extra: str) -> None:
        argv = [sys.executable, str(JOB), "--dirpath", dirpath, "--run", run, "--max-steps", str(MAX_STEPS), "--out", str(out), *extra]
        env = {**os.environ, **service_env(service), "PYTHONUNBUFFERED": "1"}
        self.lines: list[str] = []
        self.process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def wait_for(self, predicate: Any) -> str | None:
        """Reads output until a line satisfies ``predicate`` (returned) or the job exits (None)."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + JOB_TIMEOUT
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            if predicate(line):
                return line.rstrip()
            if time.monotonic() > deadline:
                break
        return None

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def finish(self) -> str:
        self.wait_for(lambda line: False)
        code = self.process.wait(JOB_TIMEOUT)
        assert code == 0, "\n".join(self.lines[-60:])
        return next(line for line in reversed(self.lines) if line.startswith("RESUMED_FROM"))


def step_of(line: str) -> int:
    return int(line.split()[1])


def assert_bitwise_equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].dtype == b[name].dtype and torch.equal(a[name].view(torch.uint8), b[name].view(torch.uint8)), name


def test_a_job_killed_at_a_random_step_resumes_to_the_same_weights(service: Service, tmp_path: Path) -> None:
    target = random.Random(20261128).randint(40, MAX_STEPS - 40)
    reference_dir, reference_run = unique_dir(service, "reference")
    reference = Job(service, reference_dir, reference_run, tmp_path / "reference.pt")
    assert reference.finish() == "RESUMED_FROM none"

    dirpath, run = unique_dir(service, "killed")
    first = Job(service, dirpath, run, tmp_path / "never.pt", "--resume")
    reached = first.wait_for(lambda line: line.startswith("STEP ") and step_of(line) >= target)
    assert reached is not None, "\n".join(first.lines[-60:])
    first.kill()
    assert not (tmp_path / "never.pt").exists()
    committed = max(info.step for info in list_checkpoints(O3Client(service.address), run))
    assert 0 < committed <= step_of(reached)

    second = Job(service, dirpath, run, tmp_path / "resumed.pt", "--resume")
    assert second.finish() == f"RESUMED_FROM {committed}"
    assert_bitwise_equal(torch.load(tmp_path / "resumed.pt"), torch.load(tmp_path / "reference.pt"))


def test_a_job_killed_during_an_upload_never_shows_that_checkpoint(service: Service, tmp_path: Path) -> None:
    dirpath, run = unique_dir(service, "killed-upload")
    job = Job(service, dirpath, run, tmp_path / "never.pt", "--hang-at-save", "3")
    hanging = job.wait_for(lambda line: line.startswith("HANGING "))
    assert hanging is not None, "\n".join(job.lines[-60:])
    job.kill()
    half_saved = hanging.split()[1]
    with O3Client(service.address) as client:
        infos = list_checkpoints(client, run)
        assert [info.step for info in sorted(infos, key=lambda i: i.step)] == [16, 32]
        assert half_saved not in {info.key for info in infos} and half_saved.endswith("step=48.ckpt")
        assert not any(o.key == half_saved for o in client.list(run))
    resumed = Job(service, dirpath, run, tmp_path / "resumed.pt", "--resume")
    assert resumed.finish() == "RESUMED_FROM 32"


def test_the_resume_callback_starts_fresh_without_checkpoints(env: Any, service: Service) -> None:
    seeded()
    dirpath, run = unique_dir(service, "fresh")
    callback = O3ResumeCallback(run)
    checkpoint = ModelCheckpoint(dirpath=dirpath, every_n_train_steps=8)
    fit = trainer(max_steps=3, plugins=[O3CheckpointIO()], callbacks=[checkpoint, callback])
    fit.fit(Regressor(), loader())
    assert callback.resumed_from is None and fit.global_step == 3
    assert resolve_ckpt_path(run) is None


def test_resolve_ckpt_path_names_the_newest_checkpoint_for_fit(env: Any, service: Service) -> None:
    seeded()
    dirpath, run = unique_dir(service, "resolve")
    checkpoint = ModelCheckpoint(dirpath=dirpath, every_n_train_steps=8, save_top_k=-1)
    trainer(max_steps=24, plugins=[O3CheckpointIO()], callbacks=[checkpoint]).fit(Regressor(), loader())
    path = resolve_ckpt_path(run)
    assert path == f"o3://{service.bucket}/{run}/epoch=1-step=24.ckpt"
    fit = trainer(max_steps=32, plugins=[O3CheckpointIO()])
    fit.fit(Regressor(), loader(), ckpt_path=path)
    assert fit.global_step == 32


def test_ckpt_path_last_resumes_from_the_newest_checkpoint_under_the_dirpath(env: Any, service: Service) -> None:
    """Lightning's own ModelCheckpoint on o3:// and fit(ckpt_path="last"), with O3ResumeCallback."""
    seeded()
    dirpath, _ = unique_dir(service, "last")

    def callbacks() -> list[Callback]:
        return [ModelCheckpoint(dirpath=dirpath, every_n_train_steps=8, save_last=True), O3ResumeCallback(dirpath=dirpath)]

    trainer(max_steps=16, plugins=[O3CheckpointIO()], callbacks=callbacks()).fit(Regressor(), loader())
    fit = trainer(max_steps=24, plugins=[O3CheckpointIO()], callbacks=callbacks())
    fit.fit(Regressor(), loader(), ckpt_path="last")
    assert fit.ckpt_path == f"{dirpath}/last.ckpt" and fit.global_step == 24


def test_ckpt_path_last_without_the_resume_callback_says_why_it_started_fresh(
    env: Any, service: Service, caplog: pytest.LogCaptureFixture
) -> None:
    seeded()
    dirpath, _ = unique_dir(service, "last-plain")

    def callbacks() -> list[Callback]:
        return [ModelCheckpoint(dirpath=dirpath, every_n_train_steps=8, save_last=True)]

    trainer(max_steps=8, plugins=[O3CheckpointIO()], callbacks=callbacks()).fit(Regressor(), loader())
    assert not [r for r in caplog.records if "#18261" in r.getMessage()]
    fit = trainer(max_steps=8, plugins=[O3CheckpointIO()], callbacks=callbacks())
    fit.fit(Regressor(), loader(), ckpt_path="last")
    assert fit.ckpt_path is None and fit.global_step == 8  # Lightning started fresh...
    (said,) = [r for r in caplog.records if "#18261" in r.getMessage()]  # ...and o3ml said why, once
    assert said.levelname == "WARNING" and "O3ResumeCallback" in said.getMessage() and dirpath in said.getMessage()


def test_ckpt_path_last_works_once_lightning_keeps_the_scheme(env: Any, service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the fix proposed upstream for #18261, 'last' resolves through o3:// (exists, ls, modified)."""

    def keep_scheme(self: ModelCheckpoint, trainer: Any) -> set[str]:
        # The remote branch of the upstream fix: list the dirpath, keep the scheme on what it finds.
        if not self._fs.exists(self.dirpath):
            return set()
        names = self._fs.ls(self.dirpath, detail=False)
        return {self._fs.unstrip_protocol(p) for p in names if re.match(r"^last(-\d+)?\.ckpt$", Path(p).name)}

    monkeypatch.setattr(ModelCheckpoint, "_find_last_checkpoints", keep_scheme)
    seeded()
    dirpath, _ = unique_dir(service, "last-fixed")

    def callbacks() -> list[Callback]:
        return [ModelCheckpoint(dirpath=dirpath, every_n_train_steps=8, save_last=True)]

    trainer(max_steps=16, plugins=[O3CheckpointIO()], callbacks=callbacks()).fit(Regressor(), loader())
    fit = trainer(max_steps=24, plugins=[O3CheckpointIO()], callbacks=callbacks())
    fit.fit(Regressor(), loader(), ckpt_path="last")
    assert fit.ckpt_path == f"{dirpath}/last.ckpt" and fit.global_step == 24
