"""Python harness of the parity benchmark, driven by benchmarks/parity/src/python-harness.ts.

``python harness.py``: imports torch and Lightning at once (10 s and more on a loaded host, so
the process is started early), then answers one JSON command per stdin line with one JSON line:

- ``{"cmd": "parity", "target": {...}}``: the Python parity checks on that target's service.
- ``{"cmd": "measure", "target": {...}, "plan": {...}}``: o3ml beside each requested peer on
  the same endpoint and data: objects, checkpoints (save, restore, re-save, asynchronous save)
  and dataset epochs, each cell a warm-up plus ``repeats`` rounds (see repeats.py).

Answers go to the original stdout; everything else the libraries print goes to stderr (the run
keeps it in its log), so no library can garble an answer.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peer_base import Endpoint, Fixture, Peer, Unsupported  # noqa: E402
from repeats import Recorder, describe  # noqa: E402

def make_peer(name: str, ep: Endpoint) -> Peer:
    if name == "o3ml":
        from peer_o3ml import O3mlPeer

        return O3mlPeer(ep)
    if name == "boto3":
        from peer_boto3 import Boto3Peer

        return Boto3Peer(ep)
    if name == "s3fs":
        from peer_s3fs import S3fsPeer

        return S3fsPeer(ep)
    if name == "s3torchconnector":
        from peer_s3torch import S3TorchPeer

        return S3TorchPeer(ep)
    if name == "litdata":
        from peer_shard_formats import LitdataPeer

        return LitdataPeer(ep)
    if name == "mosaicml-streaming":
        from peer_shard_formats import MosaicPeer

        return MosaicPeer(ep)
    if name == "local-disk":
        from peer_local_disk import LocalDiskPeer

        return LocalDiskPeer()
    raise Unsupported(f"unknown peer {name!r}")


def say(message: str) -> None:
    print(f"[harness] {message}", file=sys.stderr, flush=True)


def fixture_of(target: dict[str, Any]) -> Fixture:
    f = target["fixture"]
    return Fixture(Path(f["dir"]), target["spec"], f["samples"], f["sampleBytes"])


def parity(target: dict[str, Any]) -> dict[str, Any]:
    from parity_python import run_checks

    say(f"{target['name']}: parity checks")
    return {"parity": run_checks(Endpoint(**target["endpoint"]), fixture_of(target))}


def measure(target: dict[str, Any], plan: dict[str, Any]) -> dict[str, Any]:
    import checkpoint_cells
    import epoch_cells
    import objects_cells
    from cleaner import Cleaner

    ep = Endpoint(**target["endpoint"])
    rec = Recorder()
    rounds = (plan["warmup"], plan["repeats"])
    workflows = ([objects_cells.WORKFLOW] if plan.get("objects") else []) + (checkpoint_cells.workflows(plan["checkpoints"]) if plan.get("checkpoints") else [])
    workflows += epoch_cells.WORKFLOWS if plan.get("epoch") else []
    peers: list[Peer] = []
    for name in plan["peers"]:
        try:
            peers.append(make_peer(name, ep))
        except Exception as err:  # noqa: BLE001 - a peer that cannot start is a red row in every workflow
            traceback.print_exc()
            for workflow in workflows:
                rec.missing(name, workflow, "start", err)
    cleaner = Cleaner(ep, bool(target.get("local")))
    try:
        if plan.get("objects"):
            say(f"{target['name']}: objects")
            objects_cells.run(rec, peers, ep, plan["objects"], rounds, cleaner)
        if plan.get("checkpoints"):
            say(f"{target['name']}: checkpoints")
            checkpoint_cells.run(rec, peers, ep, plan["checkpoints"], rounds, cleaner)
        if plan.get("epoch"):
            say(f"{target['name']}: dataset epochs")
            fixture = fixture_of(target)
            shards_dir = Path(target["shardsDir"]) if target.get("shardsDir") else None
            shards = epoch_cells.upload_shards(ep, shards_dir) if shards_dir else []
            local = sorted(shards_dir.rglob("*.tar")) if shards_dir else []
            fixture = Fixture(fixture.dir, fixture.spec, fixture.samples, fixture.sample_bytes, shards, local)
            epoch_cells.run(rec, peers, ep, fixture, rounds)
    finally:
        for peer in peers:
            try:
                peer.close()
            except Exception:  # noqa: BLE001
                traceback.print_exc()
    return {"results": rec.results(), "unavailable": rec.unavailable}


def main() -> None:
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # library output (and that of processes they start) goes to the log, not the answers
    sys.stdout = sys.stderr
    import lightning.pytorch  # noqa: F401
    import o3ml.lightning  # noqa: F401
    import torch  # noqa: F401

    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        try:
            if command["cmd"] == "parity":
                answer = parity(command["target"])
            elif command["cmd"] == "measure":
                answer = measure(command["target"], command["plan"])
            else:
                raise ValueError(f"unknown command {command['cmd']!r}")
        except Exception as err:  # noqa: BLE001 - the run reports it and goes on with the next step
            traceback.print_exc()
            answer = {"error": describe(err)}
        answers.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    main()
