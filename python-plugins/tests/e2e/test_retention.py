"""Retention in a real Lightning fit on CPU: the declared policy leaves exactly its checkpoints, and gc exactly their blobs.

Runs against each S3 server of the suite (the ``s3`` fixture), each time through its own
``o3ml serve`` and bucket: ``o3ml gc --grace 0`` collects everything unreachable, which only a
bucket no other test writes to can allow.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from conftest import launch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning_models import Regressor, loader, seeded, service_env, trainer, unique_dir
from servers import S3Endpoint, Service, service_command

from o3ml import InvalidArgumentError, O3Client, Retention, list_checkpoints
from o3ml.gen import manifest_pb2
from o3ml.lightning import O3CheckpointIO

# Validation scores per epoch, set so that the best is not among the last two: keep_last=2 and
# keep_best=1 then keep three different checkpoints, and a rule that did nothing would show.
VAL_LOSS = [0.9, 0.2, 0.7, 0.8, 0.6, 0.5]
BLOBS = "o3ml/v1/blobs/"
MANIFESTS = "o3ml/v1/manifests/"


class Scored(Regressor):
    """The regressor, trained for real, with a validation loss that follows VAL_LOSS by epoch."""

    def validation_step(self, batch: Any, index: int) -> None:
        self.log("val_loss", torch.tensor(VAL_LOSS[self.current_epoch]), on_epoch=True)


@pytest.fixture(scope="module")
def service(s3: S3Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    svc = launch(s3, tmp_path_factory, name="o3ml-serve-retention")
    yield svc
    svc.stop()


@pytest.fixture
def env(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in service_env(service).items():
        monkeypatch.setenv(name, value)


def keys_under(bucket: Any, name: str, prefix: str) -> set[str]:
    found: set[str] = set()
    for page in bucket.get_paginator("list_objects_v2").paginate(Bucket=name, Prefix=prefix):
        found.update(o["Key"].removeprefix(prefix) for o in page.get("Contents", []))
    return found


def blobs_of(bucket: Any, name: str, manifest_cid: str) -> set[str]:
    manifest = manifest_pb2.ObjectManifest.FromString(bucket.get_object(Bucket=name, Key=MANIFESTS + manifest_cid)["Body"].read())
    return {chunk.cid for chunk in manifest.chunks}


def test_a_fit_with_a_retention_policy_keeps_exactly_its_checkpoints_and_gc_exactly_their_blobs(env: None, service: Service) -> None:
    seeded()
    dirpath, run = unique_dir(service, "retention")
    checkpoint = ModelCheckpoint(dirpath=dirpath, monitor="val_loss", mode="min", save_top_k=-1, every_n_epochs=1)
    plugin = O3CheckpointIO(retention=Retention(keep_last=2, keep_best=(1, "val_loss", "min")))
    fit = trainer(max_epochs=len(VAL_LOSS), plugins=[plugin], callbacks=[checkpoint], limit_val_batches=1)
    fit.fit(Scored(), loader(), val_dataloaders=loader(seed=1))

    with O3Client(service.address) as client:
        kept = list_checkpoints(client, run)
        assert sorted(c.epoch for c in kept) == [1, 4, 5]
        assert [c.metrics["val_loss"] for c in sorted(kept, key=lambda c: c.epoch)] == pytest.approx([0.2, 0.6, 0.5])
        # What was pruned is deleted, as `o3ml rm` deletes: no key of it reads any more.
        stored = {o.key for o in client.list(f"{run}/")}
        assert stored == {c.key for c in kept}
        # Five saves after the first each pruned; the decision of the last is what a dry run still says.
        decided = client.prune_checkpoints(run, keep_last=2, keep_best=(1, "val_loss", "min"), dry_run=True)
        assert {c.info.epoch: c.reasons for c in decided.kept} == {
            1: ("best 1 by val_loss (min)",),
            4: ("last 2",),
            5: ("newest", "last 2"),
        }
        assert decided.removed == []

    gc = subprocess.run(
        [*service_command()[:2], "gc", "--grace", "0", "--json"],
        env={**os.environ, "O3ML_SERVICE": service.address},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert gc.returncode == 0, gc.stderr
    bucket = service.s3.boto3()
    assert keys_under(bucket, service.bucket, MANIFESTS) == {c.cid for c in kept}
    assert keys_under(bucket, service.bucket, BLOBS) == set().union(*(blobs_of(bucket, service.bucket, c.cid) for c in kept))


def test_pins_and_rules_through_the_client(env: None, service: Service) -> None:
    seeded()
    dirpath, run = unique_dir(service, "pins")
    fit = trainer(max_epochs=4, plugins=[O3CheckpointIO()], callbacks=[ModelCheckpoint(dirpath=dirpath, save_top_k=-1, every_n_epochs=1)])
    fit.fit(Regressor(), loader())
    with O3Client(service.address) as client:
        saved = list_checkpoints(client, run)
        assert [c.epoch for c in saved] == [0, 1, 2, 3]
        assert client.pin_checkpoint(saved[0].key).cid == saved[0].cid
        with pytest.raises(InvalidArgumentError, match="keep_last=1"):
            client.prune_checkpoints(run)
        with pytest.raises(InvalidArgumentError, match="neither min"):
            client.prune_checkpoints(run, keep_best=(1, "val_loss", "lowest"))
        with pytest.raises(InvalidArgumentError, match="s, m, h, d"):
            client.prune_checkpoints(run, keep_within="2 weeks")
        pruned = client.prune_checkpoints(run, keep_every=(2, "epoch"))
        assert [c.epoch for c in pruned.removed] == [1]
        assert {c.info.epoch: c.reasons for c in pruned.kept} == {0: ("every 2 epochs", "pinned"), 2: ("every 2 epochs",), 3: ("newest",)}
        client.unpin_checkpoint(cid=saved[0].cid)
        pruned = client.prune_checkpoints(run, keep_last=1)
        assert [c.epoch for c in pruned.removed] == [0, 2]
        assert [c.epoch for c in list_checkpoints(client, run)] == [3]
