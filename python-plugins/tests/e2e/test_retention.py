"""Retention in a real Lightning fit on CPU: the declared policy leaves exactly its checkpoints, and gc exactly their blobs.

Runs against moto, MinIO (the suite's ``s3`` servers) and the O3-profile layer (``o3ml serve
--standin``: moto behind the layer that behaves as Akave O3), each time through its own
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
from botocore.config import Config
from conftest import launch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning_models import Regressor, loader, seeded, service_env, trainer, unique_dir
from servers import Managed, S3Endpoint, Service, _await_listening, service_command

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


@pytest.fixture(scope="module", params=["moto", "minio", "o3-profile"])
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    if request.param == "o3-profile":
        svc = standin(tmp_path_factory)
    else:
        svc = launch(request.getfixturevalue(request.param), tmp_path_factory, name="o3ml-serve-retention")
    yield svc
    svc.stop()


def standin(factory: pytest.TempPathFactory) -> Service:
    """`o3ml serve --standin`: the service in front of the O3-profile layer it starts over moto."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("O3ML_", "AWS_"))}
    env["O3ML_HOME"] = str(factory.mktemp("o3ml-standin-home"))
    argv = [*service_command(), "--standin", "--listen", "127.0.0.1:0", "--json"]
    process = Managed.start("o3ml-serve-standin", argv, env, factory.mktemp("o3ml-standin-logs"), stdout_pipe=True)
    try:
        ready = _await_listening(process)
    except BaseException:
        process.stop()
        raise
    # The stand-in's moto keys (testing/standin/src/moto.ts); the layer forwards them unchanged.
    s3 = S3Endpoint("o3-profile", ready["endpoint"], "o3ml-local", "o3ml-local-secret", process)
    return Service(address=ready["address"], metrics_url="", bucket=ready["bucket"], s3=s3, process=process, ready=ready)


def bucket_client(service: Service) -> Any:
    """boto3 on the service's bucket, sending checksums only where S3 requires them (O3 refuses the others)."""
    import boto3

    s3 = service.s3
    config = Config(s3={"addressing_style": "path"}, request_checksum_calculation="when_required", response_checksum_validation="when_required")
    return boto3.client(
        "s3", endpoint_url=s3.endpoint, aws_access_key_id=s3.access_key, aws_secret_access_key=s3.secret_key, region_name=s3.region, config=config
    )


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
    bucket = bucket_client(service)
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
