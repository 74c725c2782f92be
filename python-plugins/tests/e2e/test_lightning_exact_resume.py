"""Exact resume by run name, across several crashes in a row: SIGKILL right after checkpoints
(some saved on an epoch's last batch), each time resumed from O3 by a new process with
``O3ResumeCallback(run=NAME)``; the last one ends bitwise equal to an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from lightning_models import moto_service, service_env
from servers import S3Endpoint, Service

from o3ml import O3Client, latest_checkpoint, list_checkpoints

JOB = Path(__file__).with_name("resume_chain_job.py")
EPOCHS = 4  # 184 steps
TIMEOUT = 300.0


@pytest.fixture(scope="module")
def service(moto: S3Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with moto_service(moto, tmp_path_factory) as svc:
        yield svc


class ChainJob:
    def __init__(self, service: Service, run: str, out: Path, *extra: str) -> None:
        dirpath = f"o3://{service.bucket}/tests/exact/{run}"
        argv = [sys.executable, str(JOB), "--dirpath", dirpath, "--run", run, "--epochs", str(EPOCHS), "--out", str(out), *extra]
        env = {**os.environ, **service_env(service), "PYTHONUNBUFFERED": "1"}
        self.lines: list[str] = []
        self.process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def until(self, prefix: str) -> str | None:
        assert self.process.stdout is not None
        deadline = time.monotonic() + TIMEOUT
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            if line.startswith(prefix):
                return line.rstrip()
            if time.monotonic() > deadline:
                break
        return None

    def positions(self) -> list[tuple[int, int, int]]:
        return [(int(a), int(b), int(c)) for _, a, b, c in (line.split() for line in self.lines if line.startswith("AT "))]

    def output(self) -> str:
        return "\n".join(self.lines[-80:])

    def kill_after(self, step: int) -> None:
        assert self.until(f"COMMITTED {step}") is not None, self.output()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def finish(self) -> None:
        self.until("never")
        assert self.process.wait(TIMEOUT) == 0, self.output()


def test_resumes_by_name_bitwise_exactly_after_kills_right_after_end_of_epoch_checkpoints(service: Service, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    reference = ChainJob(service, f"reference-{tag}", tmp_path / "reference.pt")
    reference.finish()
    expected = dict(((step, (epoch, batch)) for step, epoch, batch in reference.positions()))
    assert len(expected) == 46 * EPOCHS

    run = f"exact-{tag}"
    jobs = []
    # Step 92 ends epoch 1; the process resumed from it (Lightning's counters lag there, and
    # --lag keeps them so) saves step 115 mid-epoch; step 138 ends epoch 2 again.
    for stop, extra in ((92, ()), (115, ("--lag",)), (138, ())):
        job = ChainJob(service, run, tmp_path / "never.pt", "--stop-after", str(stop), *extra)
        job.kill_after(stop)
        jobs.append(job)
    last = ChainJob(service, run, tmp_path / "resumed.pt")
    last.finish()
    jobs.append(last)

    for job, first_step in zip(jobs, (0, 92, 115, 138), strict=True):
        seen = job.positions()
        assert seen and seen[0][0] == first_step, job.output()
        assert all(expected[step] == (epoch, batch) for step, epoch, batch in seen), job.output()
    assert last.lines[-1] == f"DONE {46 * EPOCHS}", last.output()
    resumed, uninterrupted = torch.load(tmp_path / "resumed.pt"), torch.load(tmp_path / "reference.pt")
    assert resumed.keys() == uninterrupted.keys()
    assert all(torch.equal(resumed[k], uninterrupted[k]) for k in resumed)

    # One run across four processes, found by name; starting fresh was said once, at WARNING,
    # and a resume into its own folder does not warn that the folder is not empty.
    with O3Client(service.address) as client:
        assert [r.name for r in client.runs()].count(run) == 1
        steps = sorted(info.step for info in list_checkpoints(client, run))
        assert steps == list(range(23, 46 * EPOCHS + 1, 23))
        assert latest_checkpoint(client, run).step == 46 * EPOCHS  # type: ignore[union-attr]
    first_output = "\n".join(jobs[0].lines)
    assert first_output.count("training starts fresh") == 1 and "no last checkpoint available" not in first_output
    for job in jobs[1:]:
        assert "exists and is not empty" not in "\n".join(job.lines), job.output()
