"""What every checkpoint records (through Lightning's AsyncCheckpointIO too), choosing one to
restore by step, epoch, CID or best metric from Python and the CLI, and run names that keep
their identity when registered again."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import lightning.pytorch as pl
import pytest
import torch
from dataset_trees import CLI, image_folder, push
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import AsyncCheckpointIO
from lightning_models import moto_service, seeded, service_env, trainer
from servers import S3Endpoint, Service
from torch import nn

from o3ml import AlreadyExistsError, NotFoundError, O3Client, latest_checkpoint, list_checkpoints, select_checkpoint
from o3ml.lightning import O3CheckpointIO, O3DataModule, O3ResumeCallback


@pytest.fixture(scope="module")
def service(moto: S3Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with moto_service(moto, tmp_path_factory) as svc:
        yield svc


@pytest.fixture
def client(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[O3Client]:
    for name, value in service_env(service).items():
        monkeypatch.setenv(name, value)
    with O3Client(service.address) as c:
        yield c


def as_example(sample: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    label = float(sample["cls"])
    return torch.full((4,), label), torch.tensor([label / 2])


class Fitter(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(4, 1)

    def training_step(self, batch: Any, index: int) -> torch.Tensor:
        loss = nn.functional.mse_loss(self.net(batch[0]), batch[1])
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: Any, index: int) -> None:
        self.log("val_loss", nn.functional.mse_loss(self.net(batch[0]), batch[1]))

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.05)


@pytest.fixture(scope="module")
def trained(service: Service, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of 3 epochs (4 steps each) on a pushed dataset, saved through AsyncCheckpointIO."""
    os.environ.update(service_env(service))
    tree = tmp_path_factory.mktemp("records-tree")
    image_folder(tree, {"train": 32, "val": 8}, size=64)
    dataset = push(service, tree, f"records-{uuid.uuid4().hex[:8]}")
    run = f"records-{uuid.uuid4().hex[:8]}"
    dirpath = f"o3://{service.bucket}/tests/records/{run}"
    seeded()
    data = O3DataModule(f"{dataset['name']}@{dataset['version']}", batch_size=8, transform=as_example, shuffle_seed=0)
    checkpoint = ModelCheckpoint(dirpath=dirpath, monitor="val_loss", mode="min", save_top_k=-1, filename="{epoch}-{step}")
    fit = trainer(max_epochs=3, plugins=[AsyncCheckpointIO(O3CheckpointIO())], callbacks=[checkpoint, O3ResumeCallback(run=run)])
    fit.fit(Fitter(), datamodule=data)
    return {"run": run, "dirpath": dirpath, "dataset": dataset, "scores": {k: float(v) for k, v in checkpoint.best_k_models.items()}}


def test_every_checkpoint_records_metrics_monitor_mode_and_dataset_through_async_checkpoint_io(
    trained: dict[str, Any], client: O3Client
) -> None:
    infos = sorted(list_checkpoints(client, trained["run"]), key=lambda i: i.step)
    assert [(i.epoch, i.step) for i in infos] == [(0, 4), (1, 8), (2, 12)]
    dataset = trained["dataset"]
    for info in infos:
        assert info.dataset_cid == dataset["cid"]
        assert {"train_loss", "val_loss"} <= set(info.metrics)
        labels = client.stat(info.key).labels
        assert labels["o3ml.monitor"] == "val_loss" and labels["o3ml.mode"] == "min"
        assert labels["o3ml.dataset"] == f"{dataset['name']}@{dataset['version']}"
        scores = {k.removeprefix(f"o3://{os.environ['O3ML_BUCKET']}/"): v for k, v in trained["scores"].items()}
        assert info.metrics["val_loss"] == pytest.approx(scores[info.key]), info.key


def test_select_checkpoint_by_step_epoch_cid_and_best_metric_and_resume_from_it(trained: dict[str, Any], client: O3Client) -> None:
    run = trained["run"]
    infos = list_checkpoints(client, run)
    best = min(infos, key=lambda i: i.metrics["val_loss"])
    assert select_checkpoint(run, best="val_loss", mode="min").info.cid == best.cid
    assert select_checkpoint(run, best="val_loss", mode="max").info.cid == max(infos, key=lambda i: i.metrics["val_loss"]).cid
    assert select_checkpoint(run, step=8).info.step == 8
    assert select_checkpoint(run, epoch=0).info.step == 4
    assert select_checkpoint(run).info.step == 12
    chosen = select_checkpoint(cid=best.cid)
    assert chosen == f"{trained['dirpath']}/{best.key.rsplit('/', 1)[1]}" and chosen.info.cid == best.cid
    with pytest.raises(NotFoundError, match="steps 4, 8, 12"):
        select_checkpoint(run, step=5)
    with pytest.raises(NotFoundError, match="val_loss"):
        select_checkpoint(run, best="val_acc")

    seeded()
    model = Fitter()
    steps: list[int] = []
    model.on_train_batch_start = lambda batch, batch_idx: steps.append(model.global_step)  # type: ignore[method-assign]
    fit = trainer(max_epochs=3, plugins=[O3CheckpointIO()])
    data = O3DataModule(f"{trained['dataset']['name']}@{trained['dataset']['version']}", batch_size=8, transform=as_example)
    path = select_checkpoint(run, step=4)
    fit.fit(model, datamodule=data, ckpt_path=path)
    assert fit.ckpt_path == path and steps == list(range(4, 12))  # resumed at step 4


def cli(service: Service, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "O3ML_SERVICE": service.address}
    return subprocess.run(["node", str(CLI), *args], env=env, capture_output=True, text=True, timeout=120)


def test_cli_lists_a_runs_checkpoints_sorted_by_a_metric(trained: dict[str, Any], service: Service) -> None:
    done = cli(service, "ckpt", "ls", "--run", trained["run"], "--sort", "val_loss", "--json")
    assert done.returncode == 0, done.stderr
    losses = [c["metrics"]["val_loss"] for c in json.loads(done.stdout)]
    assert len(losses) == 3 and losses == sorted(losses)
    table = cli(service, "ckpt", "ls", "--run", trained["run"], "--sort", "val_loss", "--desc")
    assert table.returncode == 0 and table.stdout.splitlines()[0].split()[0] == "val_loss"
    typo = cli(service, "ckpt", "ls", "--run", trained["run"], "--sort", "val_los")
    assert typo.returncode != 0 and "val_loss" in typo.stderr


def test_registering_a_name_again_continues_its_run(client: O3Client, service: Service) -> None:
    name = f"again-{uuid.uuid4().hex[:8]}"
    first = client.register_run(name, {"lr": 0.1}, capture=False)
    client.save_checkpoint(f"tests/again/{name}/a.ckpt", {"w": torch.zeros(2)}, run=first, step=5)
    second = client.register_run(name, {"lr": 0.1}, capture=False)
    assert second == first and client.run(name).id == first
    assert latest_checkpoint(client, name).step == 5  # type: ignore[union-attr]
    listed = cli(service, "ckpt", "ls", "--run", name, "--json")
    assert [c["step"] for c in json.loads(listed.stdout)] == [5], listed.stderr
    with pytest.raises(AlreadyExistsError, match=name):
        client.register_run(name, new=True)
