"""Distributed data parallel on O3: a 2-process DDP job (CPU, gloo, Lightning's strategy="ddp")
reading an O3DataModule with 2 workers per rank, killed with SIGKILL mid-epoch and resumed.

Only rank 0 saves checkpoints, every rank resumes from the same one, the 2 x 2 readers read
disjoint parts of each epoch, and across the kill and the resume every sample of the epoch is
trained on exactly once (the batches trained after the last checkpoint are trained again, as
the resume goes back to that checkpoint). Ranks resolve a dataset named without a version on
their own: when a newer version is pushed between rank 0's resolve and rank 1's, both still read
the one rank 0 resolved."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dataset_trees import image_folder, push
from lightning_models import moto_service, service_env
from servers import S3Endpoint, Service

JOB = Path(__file__).with_name("ddp_job.py")
SAMPLES = 48  # 2 ranks x 2 workers x 4 batches of 3: 8 steps per epoch
EVERY = 3  # checkpoints after steps 3 and 6 of epoch 0
STALL_AT = 7  # mid-epoch 0, one step after the checkpoint the resume goes back to
TIMEOUT = 300.0


@pytest.fixture(scope="module")
def service(moto: S3Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with moto_service(moto, tmp_path_factory) as svc:
        yield svc


class Job:
    """``ddp_job.py`` in a session of its own (so its process group is the whole job), read line by line."""

    def __init__(self, service: Service, workdir: Path, label: str, *args: str) -> None:
        env = {**os.environ, **service_env(service), "PYTHONUNBUFFERED": "1"}
        for name in ("MASTER_ADDR", "MASTER_PORT", "LOCAL_RANK", "NODE_RANK", "WORLD_SIZE", "RANK"):
            env.pop(name, None)  # Lightning picks a free port and sets the rest for rank 1
        self.lines: list[str] = []
        self._seen = threading.Condition()
        self.process = subprocess.Popen(
            [sys.executable, str(JOB), "--label", label, *args],
            env=env, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._seen:
                self.lines.append(line.rstrip())
                self._seen.notify_all()

    def wait_for(self, *wanted: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        with self._seen:
            while not all(any(w in line for line in self.lines) for w in wanted):
                if self.process.poll() is not None or not self._seen.wait(max(0.0, deadline - time.monotonic())):
                    raise AssertionError(f"the job never printed {wanted}:\n" + "\n".join(self.lines[-80:]))

    def kill_group(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        deadline = time.monotonic() + 30
        while _group_alive(self.process.pid):  # ranks, fork servers and workers alike
            assert time.monotonic() < deadline, "processes of the killed job are still alive"
            time.sleep(0.1)

    def finish(self) -> None:
        code = self.process.wait(TIMEOUT)
        assert code == 0, "\n".join(self.lines[-80:])


@pytest.fixture
def jobs() -> Iterator[list[Job]]:
    """The jobs a test starts; any still running when it ends (a failed wait) is killed with its group."""
    started: list[Job] = []
    yield started
    for job in started:
        if _group_alive(job.process.pid):
            job.kill_group()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def records(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for rank in (0, 1) for line in (folder / f"rank{rank}.jsonl").read_text().splitlines()]


def test_ddp_job_killed_mid_epoch_resumes_with_every_sample_seen_once(service: Service, tmp_path: Path, jobs: list[Job]) -> None:
    tree = tmp_path / "tree"
    expected = sorted(image_folder(tree, {"train": SAMPLES}, size=5000))
    summary = push(service, tree, f"tests/ddp-{uuid.uuid4().hex[:8]}")
    assert summary["shards"] >= 4
    run = f"tests/ddp-run-{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "records"
    folder.mkdir()
    common = [
        "--dataset", summary["name"], "--dirpath", f"o3://{service.bucket}/{run}", "--run", run,
        "--records", str(folder), "--every", str(EVERY),
    ]

    killed = Job(service, tmp_path, "killed", *common, "--stall-at", str(STALL_AT))
    jobs.append(killed)
    killed.wait_for("STALLED 0", "STALLED 1")
    killed.kill_group()
    resumed = Job(service, tmp_path, "resumed", *common)
    jobs.append(resumed)
    resumed.wait_for("DONE 0", "DONE 1")
    resumed.finish()

    lines = records(folder)
    starts = {(r["job"], r["rank"]): r for r in lines if r["event"] == "start"}
    assert starts[("killed", 0)]["resumed_from"] is None and starts[("killed", 1)]["resumed_from"] is None
    # Every rank resumed from the one checkpoint rank 0 had committed last before the kill.
    assert starts[("resumed", 0)]["resumed_from"] == starts[("resumed", 1)]["resumed_from"] is not None
    assert starts[("resumed", 0)]["resumed_step"] == starts[("resumed", 1)]["resumed_step"] == 2 * EVERY

    # Only rank 0 writes checkpoints.
    ends = {r["rank"]: r["saved"] for r in lines if r["event"] == "end"}
    assert ends[0] is not None and ends[1] is None

    batches = [r for r in lines if r["event"] == "batch"]
    # The killed job's batches up to the checkpoint count; those after it are trained again.
    kept = [b for b in batches if b["job"] == "resumed" or b["step"] < 2 * EVERY]
    for epoch in (0, 1):
        seen = Counter(key for b in kept if b["epoch"] == epoch for key in b["keys"])
        assert sorted(seen) == expected and set(seen.values()) == {1}, f"epoch {epoch}: {seen.most_common(3)}"

    # Ranks x workers read disjoint quarters of an epoch.
    for job, epoch in (("killed", 0), ("resumed", 1)):
        parts: dict[tuple[int, int], set[str]] = {}
        for b in batches:
            if b["job"] == job and b["epoch"] == epoch:
                for key, worker in zip(b["keys"], b["workers"], strict=True):
                    parts.setdefault((b["rank"], worker), set()).add(key)
        assert sorted(parts) == [(0, 0), (0, 1), (1, 0), (1, 1)], (job, epoch, sorted(parts))
        every = [key for part in parts.values() for key in part]
        assert len(every) == len(set(every)), f"{job} epoch {epoch}: readers overlap"
    assert all(len(part) == SAMPLES // 4 for part in parts.values())


def test_ranks_read_the_version_rank_0_resolved_when_a_newer_one_is_pushed_meanwhile(
    service: Service, tmp_path: Path, jobs: list[Job]
) -> None:
    name = f"tests/ddp-version-{uuid.uuid4().hex[:8]}"
    expected = sorted(image_folder(tmp_path / "v1", {"train": SAMPLES}, size=5000))
    first = push(service, tmp_path / "v1", name)
    # As many samples (so both versions take as many steps), under keys v1 does not have.
    newer = sorted(image_folder(tmp_path / "v2", {"train": SAMPLES}, size=5000, classes=4, seed=1))
    assert set(newer) - set(expected)
    run = f"tests/ddp-version-run-{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "records"
    folder.mkdir()
    hold = tmp_path / "pushed"
    job = Job(
        service, tmp_path, "version", "--dataset", name, "--dirpath", f"o3://{service.bucket}/{run}", "--run", run,
        "--records", str(folder), "--epochs", "1", "--every", "100", "--hold", str(hold),
    )
    jobs.append(job)
    job.wait_for(f"RESOLVED {first['cid']}")
    second = push(service, tmp_path / "v2", name)
    assert second["cid"] != first["cid"]
    hold.touch()
    job.wait_for("DONE 0", "DONE 1")
    job.finish()
    # Rank 1 started after the push and resolved the newer version itself; it was pinned to rank 0's.
    assert any(f"the version rank 0 resolved, not {name}@{second['version']}" in line for line in job.lines), "\n".join(job.lines[-40:])

    lines = records(folder)
    assert {r["rank"]: r["dataset_cid"] for r in lines if r["event"] == "start"} == {0: first["cid"], 1: first["cid"]}
    seen = Counter(key for r in lines if r["event"] == "batch" for key in r["keys"])
    assert sorted(seen) == expected and set(seen.values()) == {1}
