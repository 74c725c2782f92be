"""torch.distributed.checkpoint on O3: 2 gloo ranks save sharded state dicts through
O3StorageWriter; they load back with 2 ranks resharded and with 1 rank whole; a re-save uploads
only the tensor that changed; a load whose read the connection breaks reads again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed.checkpoint as dcp
from cutting_proxy import CuttingProxy
from dcp_job import STEP, full_tensors
from lightning_models import moto_service, service_env
from servers import S3Endpoint, Service, free_port

from o3ml import O3Client, O3StorageReader, O3StorageWriter

JOB = Path(__file__).with_name("dcp_job.py")
ROW_BYTES = 4 * 4  # a row of emb: 4 float32


@pytest.fixture(scope="module")
def service(moto: S3Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with moto_service(moto, tmp_path_factory) as svc:
        yield svc


def run_ranks(service: Service, url: str, out: Path, world_size: int = 2) -> list[dict]:  # type: ignore[type-arg]
    env = {**os.environ, **service_env(service), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()), "WORLD_SIZE": str(world_size)}
    ranks = [
        subprocess.Popen(
            [sys.executable, str(JOB), "--url", url, "--out", str(out)],
            env={**env, "RANK": str(rank), "LOCAL_RANK": str(rank)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for rank in range(world_size)
    ]
    try:
        for rank, process in enumerate(ranks):
            output, _ = process.communicate(timeout=240)
            assert process.returncode == 0, f"rank {rank}:\n{output[-4000:]}"
    finally:
        for process in ranks:  # a rank left waiting for one that failed
            if process.poll() is None:
                process.kill()
                process.wait(30)
    return [json.loads((out / f"rank{rank}.json").read_text()) for rank in range(world_size)]


@pytest.mark.filterwarnings("ignore:torch.distributed is disabled")
def test_two_ranks_save_sharded_and_load_with_two_or_one_ranks(service: Service, tmp_path: Path) -> None:
    folder = f"tests/dcp-{uuid.uuid4().hex[:8]}"
    url = f"o3://{service.bucket}/{folder}"
    reports = run_ranks(service, url, tmp_path)

    assert all(r["resharded_load"] for r in reports), reports
    # Each rank uploaded its own shards as one o3ml checkpoint.
    assert all(r["A"]["uploaded"] > 0 for r in reports) and reports[0]["A"]["key"] != reports[1]["A"]["key"]
    # Saving again after one row of rank 1's shard changed: rank 0 uploads nothing, rank 1 that one
    # tensor's shard (its 8 rows) in the pack it shares with the rank's other small items (a few
    # hundred bytes here; docs/architecture.md, Checkpoints: packs), not all it holds.
    assert reports[0]["B"]["uploaded"] == 0
    assert 8 * ROW_BYTES <= reports[1]["B"]["uploaded"] < reports[1]["B"]["total"], reports[1]

    with O3Client(service.address) as client:
        for name, changed in (("A", False), ("B", True)):
            want = full_tensors(changed)
            target: dict[str, Any] = {"model": {k: torch.zeros_like(v) for k, v in want.items()}, "step": 0}
            dcp.load(target, storage_reader=O3StorageReader(f"{url}/{name}", client=client, bucket=service.bucket), no_dist=True)
            for key, tensor in want.items():
                assert torch.equal(target["model"][key], tensor), (name, key)
            assert target["step"] == STEP
        def objects(name: str) -> list[str]:
            return sorted(o.key.removeprefix(f"{folder}/{name}/") for o in client.list(f"{folder}/{name}/"))

        assert objects("A")[0] == ".metadata" and len([k for k in objects("A") if k.endswith(".distcp")]) == 2
        # Saving into a folder that holds a checkpoint replaces it, here from one process: the new
        # metadata names one rank's object, and the two objects of the replaced save are gone.
        plain: dict[str, Any] = {"model": full_tensors(changed=True), "step": STEP + 1}
        writer = O3StorageWriter(f"{url}/A", client=client, bucket=service.bucket)
        dcp.save(plain, storage_writer=writer, no_dist=True)
        assert writer.last_upload is not None
        assert objects("A") == [".metadata", writer.last_upload.key.removeprefix(f"{folder}/A/")]
        target = {"model": {k: torch.zeros_like(v) for k, v in plain["model"].items()}, "step": 0}
        dcp.load(target, storage_reader=O3StorageReader(f"{url}/A", client=client, bucket=service.bucket), no_dist=True)
        assert target["step"] == STEP + 1 and torch.equal(target["model"]["emb"], plain["model"]["emb"])


class CutOnFirstRead(O3StorageReader):
    """Breaks the connection under the first data read of a load (the metadata read goes through)."""

    def __init__(self, proxy: CuttingProxy, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.proxy = proxy

    def read_data(self, plan: Any, planner: Any) -> Any:
        self.proxy.cut_next()
        return super().read_data(plan, planner)


@pytest.mark.filterwarnings("ignore:torch.distributed is disabled")
def test_a_load_whose_read_the_connection_breaks_reads_again(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    url = f"o3://{service.bucket}/tests/dcp-cut-{uuid.uuid4().hex[:8]}"
    saved: dict[str, Any] = {"model": full_tensors(), "step": STEP}
    with O3Client(service.address) as client:
        dcp.save(saved, storage_writer=O3StorageWriter(url, client=client, bucket=service.bucket), no_dist=True)
    target: dict[str, Any] = {"model": {k: torch.zeros_like(v) for k, v in saved["model"].items()}, "step": 0}
    with CuttingProxy(service.address) as proxy, O3Client(proxy.address) as client:
        dcp.load(target, storage_reader=CutOnFirstRead(proxy, url, client=client, bucket=service.bucket), no_dist=True)
    assert proxy.cuts == 1 and proxy.connections == 2
    assert "failed with UNAVAILABLE" in caplog.text and "trying again" in caplog.text
    assert target["step"] == STEP and all(torch.equal(target["model"][k], v) for k, v in saved["model"].items())
