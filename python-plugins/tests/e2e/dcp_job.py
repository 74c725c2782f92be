"""One rank of the torch.distributed.checkpoint test: 2 gloo ranks (RANK, WORLD_SIZE, MASTER_* set
by the test) save sharded state dicts to O3 and load one back resharded.

The state dict: ``model.w`` and ``model.emb`` as DTensors sharded by rows over the 2 ranks,
``model.bias`` replicated (DCP writes it once), and ``step``, a plain value. The job saves it as
checkpoint A, changes one row of ``emb`` (in rank 1's shard) and nothing else, and saves
checkpoint B, then loads A
into tensors sharded by columns instead and checks them against the full tensors. Writes
``<out>/rank<r>.json``: the bytes each save uploaded and whether the resharded load matched.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.tensor import Shard, distribute_tensor

from o3ml import O3StorageReader, O3StorageWriter

STEP = 3


def full_tensors(changed: bool = False) -> dict[str, torch.Tensor]:
    """The whole tensors of the state dict: the same numbers in every process."""
    emb = torch.randn(16, 4, generator=torch.Generator().manual_seed(3))
    if changed:
        emb[15] += 1.0  # a row of rank 1's shard
    return {"w": torch.arange(8 * 6, dtype=torch.float32).reshape(8, 6), "emb": emb, "bias": torch.linspace(0, 1, 6)}


def state(mesh: Any, tensors: dict[str, torch.Tensor], dim: int, step: int) -> dict[str, Any]:
    return {
        "model": {
            "w": distribute_tensor(tensors["w"], mesh, [Shard(dim)]),
            "emb": distribute_tensor(tensors["emb"], mesh, [Shard(dim)]),
            "bias": tensors["bias"].clone(),
        },
        "step": step,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    mesh = init_device_mesh("cpu", (dist.get_world_size(),))
    report: dict[str, Any] = {"rank": rank}

    for name, changed in (("A", False), ("B", True)):
        writer = O3StorageWriter(f"{args.url}/{name}", run=f"{args.url}-run")
        dcp.save(state(mesh, full_tensors(changed), 0, STEP), storage_writer=writer)
        info = writer.last_upload
        report[name] = {"uploaded": info.bytes_uploaded, "total": info.bytes_total, "key": info.key} if info else None

    # Load A with the rows of every tensor split by column instead.
    target = state(mesh, {k: torch.zeros_like(v) for k, v in full_tensors().items()}, 1, 0)
    dcp.load(target, storage_reader=O3StorageReader(f"{args.url}/A"))
    want = full_tensors()
    model = target["model"]
    report["resharded_load"] = bool(
        torch.equal(model["w"].full_tensor(), want["w"])
        and torch.equal(model["emb"].full_tensor(), want["emb"])
        and torch.equal(model["bias"], want["bias"])
        and target["step"] == STEP
        and model["w"].to_local().shape == (8, 3)
    )
    Path(args.out, f"rank{rank}.json").write_text(json.dumps(report))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
