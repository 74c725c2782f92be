"""`npm run demo` end to end: scripts/demo.sh (set-up skipped) with its own service and embedded
stand-in, asserted on the summary JSON it writes.

The demo trains a CNN on the digits dataset it pushes, kills the trainer with SIGKILL mid-epoch
and inside a checkpoint upload, resumes twice from O3, and compares the final weights with an
uninterrupted run. A few minutes on two cores.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from typing import Any

import pytest
from servers import REPO_ROOT

DEMO = REPO_ROOT / "scripts" / "demo.sh"
TIMEOUT = 600.0


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("demo")
    # The demo must start its own service and stand-in, not use whatever the shell configures.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("O3ML_", "AWS_"))}
    env.update(O3ML_DEMO_SUMMARY=str(out / "summary.json"), TMPDIR=str(out))
    with open(out / "demo.log", "wb") as log:
        process = subprocess.Popen(
            ["bash", str(DEMO), "--skip-setup"], env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        try:
            code = process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the demo, its service and its trainers
            process.wait()
            pytest.fail(f"the demo did not finish within {TIMEOUT:.0f} s:\n{(out / 'demo.log').read_text()[-6000:]}")
    output = (out / "demo.log").read_text()
    assert code == 0, f"the demo failed with status {code}:\n{output[-6000:]}"
    assert "o3ml demo summary" in output
    result: dict[str, Any] = json.loads((out / "summary.json").read_text())
    result["_output"] = output
    return result


def test_demo_succeeds_and_its_resumed_weights_equal_the_uninterrupted_runs(summary: dict[str, Any]) -> None:
    assert summary["ok"] is True and "error" not in summary
    # With no endpoint set, the demo runs on o3ml serve's default: a folder under its O3ML_HOME.
    assert summary["store"]["standin"] is False and summary["store"]["localDir"]
    weights = summary["weights"]
    assert weights["equal"] is True and weights["different"] == [] and weights["tensors"] > 0
    demo, reference = summary["runs"]["demo"], summary["runs"]["reference"]
    assert demo["steps"] == reference["steps"] > 0
    assert demo["test_acc"] == reference["test_acc"] and demo["test_acc"] > 0.8


def test_demo_kills_the_trainer_mid_epoch_and_resumes_from_the_checkpoint_before(summary: dict[str, Any]) -> None:
    kill, resumed = summary["kills"][0], summary["resumes"][0]
    assert kill["moment"] == "mid-epoch" and kill["signal"] == "SIGKILL"
    assert 1 <= kill["batch"] < kill["batches_per_epoch"] and kill["epoch"] >= 1  # inside an epoch, not at its end
    assert kill["last_step_reported"] >= kill["target_step"]
    assert resumed["step"] == kill["latest_committed_step"] < kill["last_step_reported"]


def test_demo_kills_the_trainer_inside_an_upload_and_that_checkpoint_never_shows(summary: dict[str, Any]) -> None:
    kill, resumed = summary["kills"][1], summary["resumes"][1]
    assert kill["moment"] == "mid-checkpoint-upload" and kill["partial_checkpoint_visible"] is False
    assert kill["latest_committed_step"] < kill["held_step"]
    assert resumed["step"] == kill["latest_committed_step"] > summary["resumes"][0]["step"]
    assert resumed["epoch"] >= 1


def test_demo_checkpoints_are_committed_verified_and_trained_on_the_pushed_dataset(summary: dict[str, Any]) -> None:
    dataset = summary["dataset"]
    assert dataset["samples"] == 1797 and dataset["cid"].startswith("bafk")
    checkpoints = summary["runs"]["demo"]["checkpoints"]
    steps = [c["step"] for c in checkpoints]
    assert steps == sorted(set(steps)) and steps == [c["step"] for c in summary["runs"]["reference"]["checkpoints"]]
    assert {c["state"] for c in checkpoints} <= {"committed", "durable"}
    assert {c["dataset_cid"] for c in checkpoints} == {dataset["cid"]}
    for c in checkpoints:
        assert c["bytes_uploaded"] + c["bytes_deduplicated"] == c["bytes_total"] > 0
    # Step for step the same tensors as the reference run's, which stored them first.
    assert summary["bytes"]["demo"]["deduplicated"] > summary["bytes"]["demo"]["total"] * 0.5
    assert summary["verification"]["passed"] is True and summary["verification"]["failures"] == []
    # o3ml verify walked the whole bucket: both runs' checkpoints and the dataset.
    stored = len(checkpoints) + len(summary["runs"]["reference"]["checkpoints"])
    assert summary["verification"]["checkpoints"] >= stored and summary["verification"]["dataset_versions"] >= 1
    assert checkpoints[-1]["cid"] in summary["lineage"] and dataset["cid"] in summary["lineage"]
    assert summary["runs"]["demo"]["run"] in summary["lineage"]
