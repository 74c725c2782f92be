"""Python harness of the parity benchmark, run once per target by benchmarks/parity/src.

``python harness.py <plan.json> <out.json>``: runs the Python parity checks (when asked) and
measures the training paths of o3ml and each requested peer on the same endpoint and data, in
one process, one peer after the other: object put/get by size and concurrency, checkpoint save
and restore, and one dataset epoch. A peer that cannot be imported or fails is reported with
its reason; no number is ever made up for it.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402

from peer_base import Endpoint, Fixture, Peer, Unsupported  # noqa: E402
from timing import measure  # noqa: E402

MiB = 1 << 20


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
    raise Unsupported(f"unknown peer {name!r}")


class Recorder:
    def __init__(self) -> None:
        self.results: list[dict[str, Any]] = []
        self.unavailable: list[dict[str, str]] = []

    def add(self, peer: str, metric: str, unit: str, higher: bool, value: float) -> None:
        self.results.append({"peer": peer, "metric": metric, "unit": unit, "higherIsBetter": higher, "value": value})

    def attempt(self, peer: Peer | str, what: str, work: Any) -> Any:
        name = peer if isinstance(peer, str) else peer.name
        try:
            return work()
        except Unsupported as err:
            self.unavailable.append({"peer": name, "what": what, "reason": str(err)})
        except Exception as err:  # noqa: BLE001 - a peer failing is a finding, reported with its reason
            traceback.print_exc()
            self.unavailable.append({"peer": name, "what": what, "reason": f"failed: {type(err).__name__}: {str(err)[:300]}"})
        return None


def objects(rec: Recorder, peer: Peer, ep: Endpoint, plan: dict[str, Any]) -> None:
    for size in plan["objectSizes"]:
        ops = max(2, int(plan["objectBytes"] // size))
        payload = os.urandom(size)
        base = f"{ep.prefix}/py/{peer.name.split()[0]}/{size}"
        for conc in plan["concurrency"]:
            label = f"{size // MiB} MiB, c={conc}"

            def run_put(conc: int = conc) -> None:
                m = measure(lambda i: peer.put(f"{base}/c{conc}-{i}", payload), ops, size, conc)
                f = m.figures()
                rec.add(peer.name, f"py put {label}", "MiB/s", True, f["mibps"])
                rec.add(peer.name, f"py put {label} p50", "ms", False, f["p50_ms"])
                rec.add(peer.name, f"py put {label} p99", "ms", False, f["p99_ms"])

            def run_get(conc: int = conc) -> None:
                def get(i: int) -> None:
                    if len(peer.get(f"{base}/c{conc}-{i % ops}")) != size:
                        raise AssertionError("short read")

                m = measure(get, ops, size, conc)
                f = m.figures()
                rec.add(peer.name, f"py get {label}", "MiB/s", True, f["mibps"])
                rec.add(peer.name, f"py get {label} p50", "ms", False, f["p50_ms"])
                rec.add(peer.name, f"py get {label} p99", "ms", False, f["p99_ms"])

            if rec.attempt(peer, f"put {label}", lambda: (run_put(), True)[1]):
                rec.attempt(peer, f"get {label}", run_get)


def checkpoint_state(mib: int) -> dict[str, Any]:
    """A model-shaped state: 16 float32 tensors adding up to ``mib`` MiB, plus counters."""
    per = mib * MiB // 16 // 4
    generator = torch.Generator().manual_seed(7)
    return {"state_dict": {f"block{i}.weight": torch.randn(per, generator=generator) for i in range(16)}, "global_step": 100, "epoch": 1}


def checkpoints(rec: Recorder, peer: Peer, ep: Endpoint, plan: dict[str, Any], state: dict[str, Any]) -> None:
    mib = plan["checkpointMiB"]
    key = f"{ep.prefix}/py-ckpt/{peer.name.split()[0]}/{random.randrange(1 << 30)}.ckpt"
    start = time.perf_counter()
    peer.save_checkpoint(key, state)
    saved = time.perf_counter() - start
    start = time.perf_counter()
    back = peer.load_checkpoint(key)
    restored = time.perf_counter() - start
    if not torch.equal(back["state_dict"]["block3.weight"], state["state_dict"]["block3.weight"]):
        raise AssertionError("the restored checkpoint differs")
    rec.add(peer.name, f"checkpoint save {mib} MiB", "s", False, saved)
    rec.add(peer.name, f"checkpoint restore {mib} MiB", "s", False, restored)


def epoch(rec: Recorder, peer: Peer, fixture: Fixture) -> None:
    peer.prepare_epoch(fixture)
    start = time.perf_counter()
    samples, payload = peer.read_epoch()
    wall = time.perf_counter() - start
    if samples != fixture.samples:
        raise AssertionError(f"one epoch yielded {samples} samples, {fixture.samples} were written")
    rec.add(peer.name, f"dataset epoch ({fixture.samples} x {fixture.sample_bytes // 1024} KiB, cold)", "samples/s", True, samples / wall)
    rec.add(peer.name, f"dataset epoch ({fixture.samples} x {fixture.sample_bytes // 1024} KiB, cold) MiB/s", "MiB/s", True, payload / MiB / wall)


def offers(peer: Peer, method: str) -> bool:
    return getattr(type(peer), method) is not getattr(Peer, method)


def run_target(plan: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    ep = Endpoint(**target["endpoint"])
    f = plan["fixture"]
    fixture = Fixture(Path(f["dir"]), target["spec"], f["samples"], f["sampleBytes"])
    out: dict[str, Any] = {"parity": [], "results": [], "unavailable": []}
    if plan.get("parity"):
        from parity_python import run_checks

        print(f"[harness] {target['name']}: parity checks", file=sys.stderr, flush=True)
        out["parity"] = run_checks(ep, fixture)
    rec = Recorder()
    state = checkpoint_state(plan["checkpointMiB"]) if plan.get("checkpointMiB") else None
    for name in plan.get("peers", []):
        peer = rec.attempt(name, "start", lambda name=name: make_peer(name, ep))
        if peer is None:
            continue
        print(f"[harness] {target['name']}: {peer.name}", file=sys.stderr, flush=True)
        # A family the peer has no natural way to do (litdata has no object put) is skipped, not failed.
        if plan.get("objectSizes") and offers(peer, "put"):
            objects(rec, peer, ep, plan)
        if state is not None and offers(peer, "save_checkpoint"):
            rec.attempt(peer, "checkpoint save/restore", lambda: checkpoints(rec, peer, ep, plan, state))
        if plan.get("epoch") and offers(peer, "read_epoch"):
            rec.attempt(peer, "dataset epoch", lambda: epoch(rec, peer, fixture))
        rec.attempt(peer, "close", peer.close)
    out["results"], out["unavailable"] = rec.results, rec.unavailable
    return out


def main() -> None:
    """One process for every target: importing torch and Lightning costs 10 s and more on a loaded
    host, so the process is started early, imports, then waits for ``go`` on stdin (the plan file
    is complete by then)."""
    import lightning.pytorch  # noqa: F401
    import o3ml.lightning  # noqa: F401

    if sys.stdin.readline().strip() != "go":
        return  # the benchmark gave up before the Python side was needed
    plan = json.loads(Path(sys.argv[1]).read_text())
    results = {target["name"]: run_target(plan, target) for target in plan["targets"]}
    Path(sys.argv[2]).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
