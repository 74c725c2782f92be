"""The o3ml demo: train on O3, kill the trainer twice, resume from O3, prove nothing was lost.

Run by ``scripts/demo.sh`` (``npm run demo``), which starts the service and exports
``O3ML_SERVICE`` and ``O3ML_BUCKET``. In order:

1. scikit-learn's digits are written as PNG files and pushed as a dataset version.
2. A reference run trains ``DigitsCNN`` from start to end with no interruption.
3. The demo run, same seed: killed with SIGKILL mid-epoch; resumed from its newest checkpoint on
   O3; killed again while a checkpoint upload is open (the trainer holds that stream and says so)
   and the half-sent checkpoint is checked to be invisible; resumed again and trained to the end.
4. Its final weights must equal the reference run's, tensor for tensor (``torch.equal``).
5. Every checkpoint and the dataset are re-read and re-hashed (``o3ml verify``).

The summary is printed and written as JSON to ``--summary``. Any failure exits non-zero with a
message naming the step that failed; the trainers' output is kept in the work folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "digits"))

import torch  # noqa: E402
from cli import o3ml  # noqa: E402
from export_images import export  # noqa: E402
from summary import print_summary  # noqa: E402
from trainer_process import DemoError, TrainerProcess, marker_fields  # noqa: E402
from upload_hold import HELD_MARKER  # noqa: E402
from verification import verify  # noqa: E402

from o3ml import CheckpointInfo, NotFoundError, O3Client, O3mlError, list_checkpoints, stat_checkpoint  # noqa: E402

DATASET = "digits"
EPOCHS = 3
EVERY_N_STEPS = 15
HOLD_UPLOAD = 2  # the resumed trainer commits one checkpoint, then is killed inside the next
TRAIN_TIMEOUT = 300.0


def checkpoint_row(info: CheckpointInfo) -> dict[str, Any]:
    return {
        "key": info.key, "cid": info.cid, "step": info.step, "epoch": info.epoch, "state": info.state,
        "bytes_total": info.bytes_total, "bytes_uploaded": info.bytes_uploaded, "bytes_deduplicated": info.bytes_deduplicated,
        "parent_cid": info.parent_cid, "dataset_cid": info.dataset_cid,
    }


def committed(client: O3Client, run_id: str) -> list[CheckpointInfo]:
    return sorted(list_checkpoints(client, run_id), key=lambda info: info.step)


def kill_mid_epoch(work: Path, common: list[str], every: int) -> dict[str, Any]:
    """Starts the demo run and kills it partway through its second epoch, away from a checkpoint."""
    first = TrainerProcess("demo-run-1", [*common, "--markers", "--weights", str(work / "never.pt")], work)
    step = marker_fields(first.wait_for(lambda line: line.startswith("O3ML-STEP"), TRAIN_TIMEOUT, "first training step"))
    per_epoch = int(step["of"])
    target = per_epoch + int(per_epoch * 0.4)
    if target % every == 0:
        target += 1  # just after a checkpoint would hide that the resume rewinds to it
    line = first.wait_for(lambda text: text.startswith("O3ML-STEP") and int(marker_fields(text)["step"]) >= target, TRAIN_TIMEOUT, f"step {target}")
    first.kill()
    last = marker_fields([text for text in first.lines if text.startswith("O3ML-STEP")][-1])
    if (work / "never.pt").exists():
        raise DemoError("the first demo trainer wrote its final weights although it was killed mid-run")
    return {
        "moment": "mid-epoch",
        "signal": "SIGKILL",
        "target_step": target,
        "kill_sent_after_step": int(marker_fields(line)["step"]),
        "last_step_reported": int(last["step"]),
        "epoch": int(last["epoch"]),
        "batch": int(last["batch"]),
        "batches_per_epoch": per_epoch,
    }


def kill_mid_upload(work: Path, common: list[str], client: O3Client, run_id: str) -> dict[str, Any]:
    """Resumes the demo run, kills it inside a checkpoint upload, checks that checkpoint is invisible."""
    second = TrainerProcess("demo-run-2", [*common, "--markers", "--hold-upload", str(HOLD_UPLOAD)], work)
    resumed = marker_fields(second.wait_for(lambda line: line.startswith("O3ML-RESUMED"), TRAIN_TIMEOUT, "the resume"))
    held = marker_fields(second.wait_for(lambda line: line.startswith(HELD_MARKER), TRAIN_TIMEOUT, "a held checkpoint upload"))
    second.kill()
    key, step = held["key"], int(held["step"])
    visible: list[str] = []
    try:
        stat_checkpoint(client, key)
        visible.append("o3ml ckpt stat found it")
    except NotFoundError:
        pass
    if any(info.key == key or info.step == step for info in list_checkpoints(client, run_id)):
        visible.append("it is listed among the run's checkpoints")
    if any(obj.key == key for obj in client.list(key.rsplit("/", 1)[0] + "/")):
        visible.append("its key is listed as an object")
    if o3ml("ckpt", "show", key, "--json", check=False).code == 0:
        visible.append("`o3ml ckpt show` shows it")
    if visible:
        raise DemoError(f"the checkpoint {key} whose upload was killed became visible: {'; '.join(visible)}")
    return {
        "moment": "mid-checkpoint-upload",
        "signal": "SIGKILL",
        "resumed_from": {"step": int(resumed["step"]), "epoch": int(resumed["epoch"]), "key": resumed["key"]} if "step" in resumed else None,
        "held_key": key,
        "held_step": step,
        "partial_checkpoint_visible": False,
        "checks": ["stat_checkpoint: not found", "not in the run's checkpoints", "no object under its key", "`o3ml ckpt show` fails"],
    }


def equal_weights(reference: Path, resumed: Path) -> dict[str, Any]:
    a, b = torch.load(reference, weights_only=True), torch.load(resumed, weights_only=True)
    if a.keys() != b.keys():
        raise DemoError(f"the runs' state_dicts name different tensors: {sorted(a.keys() ^ b.keys())}")
    different = [name for name in a if a[name].dtype != b[name].dtype or not torch.equal(a[name], b[name])]
    return {"equal": not different, "tensors": len(a), "different": different}


def wait_durable(client: O3Client, run_ids: list[str], seconds: float) -> None:
    """Gives the store a moment to report the newest checkpoints on the network (the stand-in takes ~1 s)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(info.state == "durable" for run in run_ids for info in list_checkpoints(client, run)):
            return
        time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="folder for the images, weights and trainer logs")
    parser.add_argument("--summary", type=Path, required=True, help="where to write the summary JSON")
    args = parser.parse_args(argv)
    started = time.monotonic()
    summary: dict[str, Any] = {"ok": False, "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    args.work.mkdir(parents=True, exist_ok=True)
    try:
        run(args.work, summary)
        summary["ok"] = True
    except (DemoError, O3mlError) as err:
        summary["error"] = str(err)
        print(f"\ndemo failed: {err}", file=sys.stderr)
    finally:
        TrainerProcess.kill_all()
        summary["seconds"] = round(time.monotonic() - started, 1)
        args.summary.parent.mkdir(parents=True, exist_ok=True)
        args.summary.write_text(json.dumps(summary, indent=2))
    if summary["ok"]:
        print_summary(summary)
        print(f"\nsummary JSON: {args.summary}")
    return 0 if summary["ok"] else 1


def step(text: str) -> None:
    print(f"\033[1m[demo]\033[0m {text}", flush=True)


def run(work: Path, summary: dict[str, Any]) -> None:
    service = json.loads((work / "service.json").read_text()) if (work / "service.json").exists() else {}
    summary["store"] = {
        "service": os.environ.get("O3ML_SERVICE", ""),
        "bucket": os.environ.get("O3ML_BUCKET", "o3ml"),
        "endpoint": service.get("endpoint", os.environ.get("O3ML_ENDPOINT", "")),
        "standin": bool(service.get("standin", False)),
        # Where the built-in default keeps its data (o3ml serve with no endpoint), else empty.
        "localDir": service.get("localDir", ""),
    }
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    reference_run, demo_run = f"digits-reference-{stamp}", f"digits-demo-{stamp}"

    step("writing scikit-learn's digits as PNG images")
    images = work / "digits"
    counts = export(images, val=0.1, test=0.1, seed=0)
    step(f"pushing {sum(counts.values())} images as dataset {DATASET}")
    # Small shards: the per-epoch shard shuffle is what mixes the classes of this tiny dataset.
    pushed = o3ml("dataset", "push", str(images), "--name", DATASET, "--shard-size", "64KiB", "--json").json()
    spec = f"{pushed['name']}@{pushed['version']}"
    summary["dataset"] = {k: pushed[k] for k in ("name", "version", "cid", "samples", "splits", "shards", "bytesTotal", "bytesUploaded")}

    common = ["--dataset", spec, "--epochs", str(EPOCHS), "--every-n-steps", str(EVERY_N_STEPS), "--seed", "0"]
    step(f"reference run {reference_run}: {EPOCHS} epochs without interruption")
    reference = TrainerProcess("reference", [*common, "--run", reference_run, "--weights", str(work / "reference.pt"), "--result", str(work / "reference.json")], work)
    reference.finish(TRAIN_TIMEOUT)
    reference_result = json.loads((work / "reference.json").read_text())

    client = O3Client()
    demo_common = [*common, "--run", demo_run]
    step(f"demo run {demo_run}: training, to be killed mid-epoch")
    first_kill = kill_mid_epoch(work, demo_common, EVERY_N_STEPS)
    run_id = client.run(demo_run).id
    after_first = committed(client, run_id)
    if not after_first:
        raise DemoError(f"no checkpoint of {demo_run} was committed before the kill at step {first_kill['last_step_reported']}")
    first_kill["latest_committed_step"] = after_first[-1].step
    step(f"killed (SIGKILL) after step {first_kill['last_step_reported']} (epoch {first_kill['epoch']}, batch {first_kill['batch']} of {first_kill['batches_per_epoch']}); newest checkpoint on O3: step {after_first[-1].step}")

    step("resuming from O3; the trainer will be killed inside its next checkpoint upload but one")
    second_kill = kill_mid_upload(work, demo_common, client, run_id)
    if second_kill["resumed_from"] is None or second_kill["resumed_from"]["step"] != after_first[-1].step:
        raise DemoError(f"the second trainer resumed from {second_kill['resumed_from']}, not from the newest checkpoint (step {after_first[-1].step})")
    after_second = committed(client, run_id)
    second_kill["latest_committed_step"] = after_second[-1].step
    step(f"killed (SIGKILL) inside the upload of {second_kill['held_key']}; it is not visible; newest checkpoint: step {after_second[-1].step}")

    step("resuming from O3 and training to the end")
    final = TrainerProcess("demo-run-3", [*demo_common, "--weights", str(work / "resumed.pt"), "--result", str(work / "resumed.json")], work)
    final.finish(TRAIN_TIMEOUT)
    final_result = json.loads((work / "resumed.json").read_text())
    resumed_at = final_result["resumed_from"]
    if resumed_at is None or resumed_at["step"] != after_second[-1].step:
        raise DemoError(f"the last trainer resumed from {resumed_at}, not from the newest checkpoint (step {after_second[-1].step})")
    summary["kills"] = [first_kill, second_kill]
    summary["resumes"] = [second_kill["resumed_from"], {k: resumed_at[k] for k in ("step", "epoch", "key")}]

    step("comparing the resumed run's final weights with the reference run's")
    weights = equal_weights(work / "reference.pt", work / "resumed.pt")
    summary["weights"] = weights

    wait_durable(client, [run_id, reference_result["run_id"]], 10.0)
    checkpoints = committed(client, run_id)
    reference_checkpoints = committed(client, reference_result["run_id"])
    summary["runs"] = {
        "reference": {**reference_result, "checkpoints": [checkpoint_row(i) for i in reference_checkpoints]},
        "demo": {**final_result, "checkpoints": [checkpoint_row(i) for i in checkpoints]},
    }
    summary["bytes"] = {
        run: {"total": sum(i.bytes_total for i in infos), "uploaded": sum(i.bytes_uploaded for i in infos), "deduplicated": sum(i.bytes_deduplicated for i in infos)}
        for run, infos in (("reference", reference_checkpoints), ("demo", checkpoints))
    }

    step("verifying everything stored: every checkpoint, the dataset, every object (re-read and re-hashed)")
    summary["verification"] = verify()
    summary["lineage"] = o3ml("lineage", checkpoints[-1].key, "--depth", "2").stdout.rstrip()

    if not weights["equal"]:
        raise DemoError(f"the resumed run's final weights differ from the reference run's in {weights['different']}")
    if not summary["verification"]["passed"]:
        raise DemoError(f"verification failed: {summary['verification']['failures']}")


if __name__ == "__main__":
    sys.exit(main())
