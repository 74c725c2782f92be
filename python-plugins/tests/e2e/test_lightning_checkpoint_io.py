"""O3CheckpointIO in real Lightning fits on CPU: ModelCheckpoint on o3://, dedup, async, hostile input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch
from blobs import entry_blob_key
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import AsyncCheckpointIO
from lightning_models import Regressor, loader, moto_service, seeded, service_env, trainer, unique_dir
from servers import S3Endpoint, Service

from o3ml import (
    IntegrityError,
    InvalidArgumentError,
    NotFoundError,
    O3Client,
    UnavailableError,
    list_checkpoints,
    load_checkpoint,
)
from o3ml._fsspec import O3FileSystem
from o3ml.lightning import O3CheckpointIO
from o3ml.lightning._checkpoint_io import _monitored_metrics


@pytest.fixture(scope="module")
def service(moto: S3Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with moto_service(moto, tmp_path_factory) as svc:
        yield svc


@pytest.fixture
def env(service: Service, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = service_env(service)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def client(service: Service) -> Iterator[O3Client]:
    with O3Client(service.address) as c:
        yield c


def keys_on_o3(client: O3Client, run: str) -> set[str]:
    return {info.key for info in list_checkpoints(client, run)}


def url_keys(service: Service, urls: Any) -> set[str]:
    return {str(u).removeprefix(f"o3://{service.bucket}/") for u in urls if u}


def test_top_k_pruning_leaves_exactly_what_model_checkpoint_kept(env: Any, service: Service, client: O3Client) -> None:
    seeded()
    dirpath, run = unique_dir(service, "topk")
    checkpoint = ModelCheckpoint(
        dirpath=dirpath, monitor="train_loss", mode="min", save_top_k=2, every_n_train_steps=10, save_last=True
    )
    fit = trainer(max_steps=200, plugins=[O3CheckpointIO()], callbacks=[checkpoint])
    fit.fit(Regressor(), loader())
    kept = url_keys(service, [*checkpoint.best_k_models, checkpoint.last_model_path])
    assert len(kept) == 3 and f"{run}/last.ckpt" in kept
    assert keys_on_o3(client, run) == kept
    fs = O3FileSystem()
    assert url_keys(service, (f"o3://{p}" for p in fs.ls(dirpath, detail=False))) == kept
    best = list_checkpoints(client, prefix=str(checkpoint.best_model_path).removeprefix(f"o3://{service.bucket}/"))
    assert best[0].metrics["train_loss"] == pytest.approx(float(checkpoint.best_model_score or 0))
    assert best[0].step > 0 and best[0].run == run


def test_fit_resumes_from_an_o3_url(env: Any, service: Service) -> None:
    seeded()
    dirpath, _ = unique_dir(service, "resume-url")
    checkpoint = ModelCheckpoint(dirpath=dirpath, every_n_train_steps=20, save_top_k=-1)
    first = Regressor()
    trainer(max_steps=40, plugins=[O3CheckpointIO()], callbacks=[checkpoint]).fit(first, loader())
    url = "o3://" + next(p for p in O3FileSystem().ls(dirpath, detail=False) if p.endswith("-step=40.ckpt"))
    resumed = Regressor()
    fit = trainer(max_steps=60, plugins=[O3CheckpointIO()])
    fit.fit(resumed, loader(), ckpt_path=url)
    assert fit.global_step == 60 and fit.ckpt_path == url
    # The optimizer and scheduler states came back too: 20 more steps, not 60.
    assert fit.lr_scheduler_configs[0].scheduler.last_epoch == 60


def test_a_torch_save_file_put_through_fsspec_also_loads(env: Any, service: Service) -> None:
    seeded()
    dirpath, _ = unique_dir(service, "plain")
    model = Regressor()
    fit = trainer(max_steps=5)
    fit.fit(model, loader())
    fit.save_checkpoint(f"{dirpath}/plain.ckpt")  # TorchCheckpointIO writes torch.save bytes via fsspec
    loaded = O3CheckpointIO().load_checkpoint(f"{dirpath}/plain.ckpt")
    assert torch.equal(loaded["state_dict"]["head.weight"], model.state_dict()["head.weight"])


def test_fine_tuning_uploads_only_what_changed(env: Any, service: Service, client: O3Client) -> None:
    seeded()
    dirpath, run = unique_dir(service, "finetune")
    model = Regressor(width=256, depth=4, frozen=True)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable / sum(p.numel() for p in model.parameters()) < 0.10
    checkpoint = ModelCheckpoint(dirpath=dirpath, every_n_train_steps=5, save_top_k=-1)
    trainer(max_steps=30, plugins=[O3CheckpointIO()], callbacks=[checkpoint]).fit(model, loader(width=256))
    infos = sorted(list_checkpoints(client, run), key=lambda i: i.step)
    assert [i.step for i in infos] == [5, 10, 15, 20, 25, 30]
    previous = load_checkpoint(client, infos[0].key)
    for info in infos[1:]:
        current = load_checkpoint(client, info.key)
        changed = changed_bytes(previous, current)
        assert info.bytes_uploaded <= changed + 0.05 * info.bytes_total, (info, changed)
        assert info.bytes_deduplicated >= 0.9 * info.bytes_total
        previous = current


def changed_bytes(before: Any, after: Any) -> int:
    """Bytes of the tensors of ``after`` that are not equal to the tensor at the same place in ``before``."""
    if isinstance(after, torch.Tensor):
        same = isinstance(before, torch.Tensor) and before.shape == after.shape and torch.equal(before, after)
        return 0 if same else after.untyped_storage().nbytes()
    if isinstance(after, dict):
        old = before if isinstance(before, dict) else {}
        return sum(changed_bytes(old.get(k), v) for k, v in after.items())
    if isinstance(after, (list, tuple)):
        earlier = before if isinstance(before, (list, tuple)) else ()
        return sum(changed_bytes(earlier[i] if i < len(earlier) else None, v) for i, v in enumerate(after))
    return 0


def test_async_save_keeps_training_and_lands_every_kept_checkpoint(env: Any, service: Service, client: O3Client) -> None:
    seeded()
    dirpath, run = unique_dir(service, "async")
    checkpoint = ModelCheckpoint(dirpath=dirpath, monitor="train_loss", save_top_k=2, every_n_train_steps=10, save_last=True)
    plugin = O3CheckpointIO(async_save=True)
    model = Regressor()
    trainer(max_steps=100, plugins=[plugin], callbacks=[checkpoint]).fit(model, loader())
    kept = url_keys(service, [*checkpoint.best_k_models, checkpoint.last_model_path])
    assert keys_on_o3(client, run) == kept  # teardown waited for every upload and removal
    last = load_checkpoint(client, f"{run}/last.ckpt")
    assert torch.equal(last["state_dict"]["head.weight"], model.state_dict()["head.weight"])


def test_wrapped_by_lightnings_async_checkpoint_io(env: Any, service: Service, client: O3Client) -> None:
    seeded()
    dirpath, run = unique_dir(service, "wrapped")
    checkpoint = ModelCheckpoint(dirpath=dirpath, every_n_train_steps=10, save_top_k=-1)
    trainer(max_steps=50, plugins=[AsyncCheckpointIO(O3CheckpointIO())], callbacks=[checkpoint]).fit(Regressor(), loader())
    assert keys_on_o3(client, run) == {f"{run}/epoch={(s - 1) // 16}-step={s}.ckpt" for s in (10, 20, 30, 40, 50)}


def dead_address() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def test_an_async_upload_failure_is_raised_by_the_next_save() -> None:
    with O3Client(dead_address(), timeout=10) as dead:
        plugin = O3CheckpointIO(dead, async_save=True, bucket="b")
        state = {"w": torch.randn(10), "global_step": 1}
        plugin.save_checkpoint(state, "o3://b/runs/x/1.ckpt")  # returns before the upload fails
        plugin._uploads.wait()  # type: ignore[union-attr]
        with pytest.raises(UnavailableError, match="cannot reach the o3ml service"):
            plugin.save_checkpoint(state, "o3://b/runs/x/2.ckpt")
        plugin.teardown()  # raised once: the failed save started no upload


def test_an_async_upload_failure_is_raised_at_teardown() -> None:
    with O3Client(dead_address(), timeout=10) as dead:
        plugin = O3CheckpointIO(dead, async_save=True, bucket="b")
        plugin.save_checkpoint({"w": torch.randn(10)}, "o3://b/runs/x/1.ckpt")
        with pytest.raises(UnavailableError):
            plugin.teardown()
        plugin.teardown()  # raised once, then clean


def test_an_async_failure_stops_the_fit(env: Any, service: Service) -> None:
    seeded()
    dirpath, _ = unique_dir(service, "async-fail")
    with O3Client(dead_address(), timeout=10) as dead:
        checkpoint = ModelCheckpoint(dirpath=dirpath, every_n_train_steps=5, save_top_k=-1)
        fit = trainer(max_steps=400, plugins=[O3CheckpointIO(dead, async_save=True)], callbacks=[checkpoint])
        with pytest.raises(UnavailableError):
            fit.fit(Regressor(), loader())
        assert fit.global_step < 400, "the error surfaced at a later save, not only at the end"


def test_ckpt_path_to_a_missing_checkpoint_is_a_clear_error_and_loads_nothing(env: Any, service: Service) -> None:
    seeded()
    dirpath, run = unique_dir(service, "missing")
    model = Regressor()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(NotFoundError, match=f"{run}/nope.ckpt"):
        trainer(max_steps=5, plugins=[O3CheckpointIO()]).fit(model, loader(), ckpt_path=f"{dirpath}/nope.ckpt")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_ckpt_path_to_a_corrupted_checkpoint_is_an_integrity_error_and_loads_nothing(env: Any, service: Service, client: O3Client) -> None:
    seeded()
    dirpath, run = unique_dir(service, "corrupt")
    first = Regressor()
    checkpoint = ModelCheckpoint(dirpath=dirpath, every_n_train_steps=5, save_top_k=-1)
    trainer(max_steps=5, plugins=[O3CheckpointIO()], callbacks=[checkpoint]).fit(first, loader())
    s3 = service.s3.boto3()
    saved = client.stat(f"{run}/epoch=0-step=5.ckpt")
    key = entry_blob_key(s3, service.bucket, saved.cid, first.state_dict()["backbone.0.weight"].numpy().tobytes())
    blob = bytearray(s3.get_object(Bucket=service.bucket, Key=key)["Body"].read())
    blob[-1] ^= 0x80
    s3.put_object(Bucket=service.bucket, Key=key, Body=bytes(blob))
    model = Regressor()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(IntegrityError):
        trainer(max_steps=10, plugins=[O3CheckpointIO()]).fit(model, loader(), ckpt_path=f"{dirpath}/epoch=0-step=5.ckpt")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_a_path_in_another_bucket_is_refused(env: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="serves bucket"):
        O3CheckpointIO().save_checkpoint({"w": torch.zeros(1)}, "o3://not-the-service-bucket/x.ckpt")


def test_an_unpicklable_object_fails_the_save_naming_it(env: Any, service: Service, client: O3Client) -> None:
    seeded()
    dirpath, run = unique_dir(service, "unpicklable")
    model = Regressor()
    model.on_save_checkpoint = lambda checkpoint: checkpoint.update(extra={"transform": lambda x: x})  # type: ignore[method-assign]
    checkpoint = ModelCheckpoint(dirpath=dirpath, every_n_train_steps=5, save_top_k=-1)
    with pytest.raises(InvalidArgumentError, match=r"checkpoint\['extra'\]\['transform'\]"):
        trainer(max_steps=5, plugins=[O3CheckpointIO()], callbacks=[checkpoint]).fit(model, loader())
    assert keys_on_o3(client, run) == set()


def test_storage_options_set_the_run_metadata(env: Any, service: Service, client: O3Client) -> None:
    _, run = unique_dir(service, "options")
    plugin = O3CheckpointIO()
    plugin.save_checkpoint({"w": torch.zeros(3)}, f"{run}/x.ckpt", storage_options={"run": f"{run}/r", "step": 9, "metrics": {"acc": 0.5}})
    (info,) = list_checkpoints(client, f"{run}/r")
    assert (info.step, dict(info.metrics)) == (9, {"acc": 0.5})
    with pytest.raises(InvalidArgumentError, match="storage_options"):
        plugin.save_checkpoint({"w": torch.zeros(3)}, f"{run}/y.ckpt", storage_options={"colour": "red"})


def test_monitored_metrics_come_from_model_checkpoint_states() -> None:
    state = {"callbacks": {"ModelCheckpoint{...}": {"monitor": "val_loss", "current_score": torch.tensor(0.5)}, "Other": {"x": 1}}}
    assert _monitored_metrics(state) == {"val_loss": 0.5}
    assert _monitored_metrics({"callbacks": {"M": {"monitor": "val_loss", "current_score": None}}}) == {}
