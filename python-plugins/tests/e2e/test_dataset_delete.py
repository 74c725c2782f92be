"""O3Client.delete_dataset against a real `o3ml serve`, with a version pushed by the real CLI:
refused while a kept checkpoint was trained on it, allowed with force, then gone."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import torch
from dataset_trees import image_folder, push
from servers import Service

from o3ml import FailedPreconditionError, NotFoundError, O3Client, O3ShardDataset, list_checkpoints


def test_delete_dataset_refused_while_a_kept_checkpoint_names_it_then_forced(service: Service, tmp_path: Path) -> None:
    image_folder(tmp_path, {"train": 8})
    name = f"tests/delete-{uuid.uuid4().hex[:8]}"
    first = push(service, tmp_path, name)
    second = push(service, tmp_path, name, extra=("--version", "kept"))
    with O3Client(service.address) as client:
        run = f"delete-{uuid.uuid4().hex[:8]}"
        run_id = client.register_run(run, capture=False)
        info = client.save_checkpoint(f"runs/{run}/step=1.ckpt", {"w": torch.zeros(4)}, run=run_id, dataset_cid=str(first["cid"]))

        with pytest.raises(FailedPreconditionError, match="--force") as refused:
            client.delete_dataset(name, str(first["version"]))
        assert info.cid in str(refused.value)

        deleted = client.delete_dataset(name, str(first["version"]), force=True)
        assert (deleted.name, deleted.version, deleted.cid) == (name, first["version"], first["cid"])
        with pytest.raises(NotFoundError):
            O3ShardDataset(f"{name}@{first['version']}", client=client)
        with pytest.raises(NotFoundError):
            client.delete_dataset(name, str(first["version"]))
        assert O3ShardDataset(f"{name}@kept", client=client).dataset_cid == second["cid"]
        # The checkpoint itself is untouched by the forced deletion.
        assert client.stat_checkpoint(f"runs/{run}/step=1.ckpt").cid == info.cid


def test_delete_run_deletes_its_checkpoints(service: Service) -> None:
    with O3Client(service.address) as client:
        run = f"delete-run-{uuid.uuid4().hex[:8]}"
        run_id = client.register_run(run, capture=False)
        saved = [
            client.save_checkpoint(f"runs/{run}/step={step}.ckpt", {"w": torch.full((4,), step)}, run=run_id, step=step)
            for step in (1, 2)
        ]
        assert sorted(client.delete_run(run)) == sorted(info.cid for info in saved)
        with pytest.raises(NotFoundError):
            client.run(run)
        with pytest.raises(NotFoundError):
            client.stat_checkpoint(f"runs/{run}/step=1.ckpt")
        assert all(info.run != run_id for info in list_checkpoints(client))
