"""The demo's summary as text: what was stored, where the trainer died, what came back."""

from __future__ import annotations

from typing import Any


def _bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def print_summary(s: dict[str, Any]) -> None:
    store, data, kills, resumes = s["store"], s["dataset"], s["kills"], s["resumes"]
    demo, reference = s["runs"]["demo"], s["runs"]["reference"]
    where = (
        "embedded local stand-in (in memory)"
        if store["standin"]
        else f"the local folder {store['localDir']}"
        if store.get("localDir")
        else store["endpoint"]
    )
    print("\no3ml demo summary")
    print(f"  store            bucket {store['bucket']} on {where}, service {store['service']}")
    print(f"  dataset          {data['name']}@{data['version']}  cid {data['cid']}")
    print(f"                   {data['samples']} images, splits {data['splits']}, {data['shards']} shards, {_bytes(data['bytesTotal'])}")
    print(f"  reference run    {reference['run']}  ({reference['steps']} steps, never interrupted)")
    print(f"  demo run         {demo['run']}  (same seed, killed twice)")
    first, second = kills
    print(f"  kill 1           SIGKILL mid-epoch after step {first['last_step_reported']} (epoch {first['epoch']}, batch {first['batch']} of {first['batches_per_epoch']})")
    print(f"  resume 1         from step {resumes[0]['step']} (epoch {resumes[0]['epoch']}), {resumes[0]['key']}")
    print(f"  kill 2           SIGKILL inside the upload of {second['held_key']} (step {second['held_step']}): never visible")
    print(f"  resume 2         from step {resumes[1]['step']} (epoch {resumes[1]['epoch']}), {resumes[1]['key']}")
    print(f"  finished         step {demo['steps']}, test accuracy {demo['test_acc']:.4f} (reference {reference['test_acc']:.4f})")
    weights = s["weights"]
    print(f"  final weights    {'EQUAL to the reference run' if weights['equal'] else 'DIFFERENT from the reference run'} ({weights['tensors']} tensors, torch.equal)")
    print("  checkpoints of the demo run")
    print(f"    {'step':>5} {'epoch':>5}  {'state':<9} {'uploaded':>10} {'deduplicated':>12}  cid")
    for c in demo["checkpoints"]:
        print(f"    {c['step']:>5} {c['epoch']:>5}  {c['state']:<9} {_bytes(c['bytes_uploaded']):>10} {_bytes(c['bytes_deduplicated']):>12}  {c['cid']}")
    held = [c for c in demo["checkpoints"] if c["step"] == second["held_step"]]
    if held:
        print(f"    (step {second['held_step']} is the last trainer's complete save; the killed upload of it never committed)")
    for run, b in s["bytes"].items():
        print(f"  bytes ({run + ')':<10} {_bytes(b['uploaded'])} uploaded, {_bytes(b['deduplicated'])} deduplicated of {_bytes(b['total'])}")
    if s["bytes"]["demo"]["deduplicated"] > s["bytes"]["demo"]["total"] // 2:
        print("                   (the demo run's tensors were identical to the reference run's, step for step, so they were already stored)")
    v = s["verification"]
    print(f"  verification     {'PASSED' if v['passed'] else 'FAILED'}  ({v['command']}: {v.get('checkpoints', 0)} checkpoints, "
          f"{v.get('dataset_versions', 0)} dataset versions, {v.get('objects', 0)} objects, {_bytes(v.get('bytes_checked', 0))} re-hashed)")
    print("  lineage of the final checkpoint")
    for line in s["lineage"].splitlines():
        print(f"    {line}")
    print(f"  wall time        {s['seconds']:.0f} s")
