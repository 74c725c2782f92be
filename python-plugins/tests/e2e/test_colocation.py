"""Checkpoints through files on the service's host, and through gRPC streams everywhere else.

Every test here starts its own `o3ml serve` with a home of its own, so the staging directory and
the host cache it looks at belong to that service alone.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import torch
from servers import S3Endpoint, Service, start_service

from o3ml import IntegrityError, O3Client, _colocation
from o3ml._checkpoints import load_checkpoint, save_checkpoint
from o3ml.gen import admin_service_pb2 as admin_pb
from o3ml.gen import checkpoint_service_pb2 as pb

MiB = 1 << 20
BLOBS = "o3ml/v1/blobs/"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def own(s3: S3Endpoint, home: Path, tmp_path: Path) -> Iterator[Service]:
    svc = start_service(s3, home, tmp_path / "logs", name="o3ml-serve-colocated")
    yield svc
    svc.stop()


def model(seed: int) -> dict[str, object]:
    """Storages of several sizes: larger than one blob (the service cuts 8 MiB), tiny, empty, shared."""
    g = torch.Generator().manual_seed(seed)
    big = torch.randn(5 * MiB, generator=g)  # 20 MiB: three blobs
    return {
        "big": big,
        "view": big[10:1000],  # a view of the same storage
        "small": torch.randn(17, generator=g),
        "empty": torch.empty(0),
        "ints": torch.arange(1000, dtype=torch.int64),
        "note": "epoch 3",
    }


def same(a: dict[str, object], b: dict[str, object]) -> bool:
    return a.keys() == b.keys() and all(
        torch.equal(x, b[k]) if isinstance(x, torch.Tensor) else x == b[k] for k, x in a.items()
    )


def streaming(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("O3ML_COLOCATE", "0")


def staged_files(home: Path) -> list[str]:
    return sorted(p.name for p in (home / "staging").glob("*.stage"))


def test_the_handshake_proves_a_shared_filesystem(own: Service, home: Path) -> None:
    with O3Client(own.address) as c:
        assert _colocation.staging_dir(c._channel, c._metadata, c.address) == str(home / "staging")
        call = c._channel.unary_unary(
            "/o3ml.v1.AdminService/Colocate",
            request_serializer=admin_pb.ColocateRequest.SerializeToString,
            response_deserializer=admin_pb.ColocateResponse.FromString,
        )
        first = call(admin_pb.ColocateRequest())
        probe = Path(first.staging_dir) / first.probe
        assert probe.read_bytes() == first.challenge
        # An answer file that says something else than the call proves nothing.
        (probe.parent / f"{first.probe}.answer").write_bytes(os.urandom(32))
        second = call(admin_pb.ColocateRequest(probe=first.probe, challenge=first.challenge, answer=os.urandom(32)))
        assert not second.colocated
        assert not probe.exists() and not (probe.parent / f"{first.probe}.answer").exists()
        # A probe answered once cannot be answered again.
        again = call(admin_pb.ColocateRequest(probe=first.probe, challenge=first.challenge, answer=os.urandom(32)))
        assert not again.colocated


def test_files_and_streams_store_the_same_blobs_and_load_the_same_tensors(
    own: Service, home: Path, monkeypatch: pytest.MonkeyPatch, bucket  # type: ignore[no-untyped-def]
) -> None:
    state = model(1)
    run = f"r-{uuid.uuid4().hex[:8]}"
    with O3Client(own.address) as c:
        via_files = save_checkpoint(c, "co/files.ckpt", state, run=run + "-files")
        assert via_files.bytes_uploaded == via_files.bytes_total > 20 * MiB
        with monkeypatch.context() as m:
            streaming(m)
            via_stream = save_checkpoint(c, "co/stream.ckpt", state, run=run + "-stream")
        # The same blobs, cut at the same places: the streamed save found every one stored.
        assert via_stream.bytes_total == via_files.bytes_total
        assert via_stream.bytes_uploaded == 0
        assert via_stream.bytes_deduplicated == via_files.bytes_total
        assert staged_files(home) == []
        for key in ("co/files.ckpt", "co/stream.ckpt"):
            assert same(load_checkpoint(c, key), state)
            with monkeypatch.context() as m:
                streaming(m)
                assert same(load_checkpoint(c, key), state)
        # A load through files leaves the verified blobs in the host cache.
        cached = {p.name for p in (home / "cache" / "blobs").iterdir() if p.name.startswith("bafk")}
        stored = {item["Key"][len(BLOBS) :] for item in bucket.list_objects_v2(Bucket=own.bucket, Prefix=BLOBS).get("Contents", [])}
        assert cached and cached <= stored


def test_a_blob_damaged_in_the_bucket_is_an_integrity_error_on_both_paths(
    own: Service, monkeypatch: pytest.MonkeyPatch, bucket  # type: ignore[no-untyped-def]
) -> None:
    state = {"w": torch.randn(3 * MiB)}  # 12 MiB: two blobs
    with O3Client(own.address) as c:
        before = {i["Key"] for i in bucket.list_objects_v2(Bucket=own.bucket, Prefix=BLOBS).get("Contents", [])}
        save_checkpoint(c, "co/damaged.ckpt", state, run="damage")
        new = sorted({i["Key"] for i in bucket.list_objects_v2(Bucket=own.bucket, Prefix=BLOBS).get("Contents", [])} - before)
        victim = max(new, key=lambda k: bucket.head_object(Bucket=own.bucket, Key=k)["ContentLength"])
        body = bytearray(bucket.get_object(Bucket=own.bucket, Key=victim)["Body"].read())
        body[len(body) // 2] ^= 0x01
        bucket.put_object(Bucket=own.bucket, Key=victim, Body=bytes(body))
        cid = victim[len(BLOBS) :]
        for path in ("files", "stream"):
            with monkeypatch.context() as m:
                if path == "stream":
                    streaming(m)
                with pytest.raises(IntegrityError) as caught:
                    load_checkpoint(c, "co/damaged.ckpt")
            message = str(caught.value)
            assert "co/damaged.ckpt" in message and cid in message, f"{path}: {message}"


def test_a_cache_file_damaged_after_it_was_verified_is_fetched_again(own: Service, home: Path) -> None:
    state = model(2)
    with O3Client(own.address) as c:
        save_checkpoint(c, "co/cache.ckpt", state, run="cache")
        assert same(load_checkpoint(c, "co/cache.ckpt"), state)
        entries = sorted((p for p in (home / "cache" / "blobs").iterdir() if p.name.startswith("bafk")), key=lambda p: p.stat().st_size)
        victim = entries[-1]
        good = victim.read_bytes()
        damaged = bytearray(good)
        damaged[12345] ^= 0x80
        victim.write_bytes(bytes(damaged))
        # The service verified this file when it wrote it; it checks it again before naming it.
        assert same(load_checkpoint(c, "co/cache.ckpt"), state)
        assert victim.read_bytes() == good
    assert "no longer matches its CID" in own.process.output(limit=200_000)


def test_a_client_that_cannot_see_the_staging_directory_streams(own: Service, home: Path, tmp_path: Path) -> None:
    """The client runs in a mount namespace where the service's staging directory is an empty
    tmpfs: the same path, another filesystem, as for a client in another container."""
    if shutil.which("unshare") is None or subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"], capture_output=True
    ).returncode != 0:
        pytest.skip("this host cannot make a private mount namespace (unshare needs CAP_SYS_ADMIN)")
    job = tmp_path / "job.py"
    job.write_text(
        textwrap.dedent(
            f"""
            import logging, sys, torch
            logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format="%(name)s %(message)s")
            from o3ml import O3Client
            from o3ml._checkpoints import load_checkpoint, save_checkpoint
            c = O3Client({own.address!r})
            state = {{"w": torch.arange(3_000_000, dtype=torch.float32)}}
            info = save_checkpoint(c, "co/elsewhere.ckpt", state, run="elsewhere")
            back = load_checkpoint(c, "co/elsewhere.ckpt")
            save_checkpoint(c, "co/elsewhere2.ckpt", state, run="elsewhere")
            print("RESULT", torch.equal(back["w"], state["w"]), info.bytes_uploaded == info.bytes_total > 12_000_000)
            """
        )
    )
    staging = home / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    script = f"mount -t tmpfs none {staging} && exec {sys.executable} {job}"
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True, text=True, timeout=120, env={k: v for k, v in os.environ.items() if k != "O3ML_COLOCATE"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "RESULT True True" in done.stdout, done.stdout[-3000:]
    # Said once, at debug level, for the one channel.
    assert done.stdout.count("streaming bytes through gRPC") == 1, done.stdout[-3000:]


def test_the_staging_directory_is_empty_after_success_and_failure(own: Service, home: Path) -> None:
    with O3Client(own.address) as c:
        save_checkpoint(c, "co/ok.ckpt", {"w": torch.randn(1000)}, run="ok")
        assert staged_files(home) == []
        with pytest.raises(Exception, match="run"):
            save_checkpoint(c, "co/refused.ckpt", {"w": torch.randn(1000)}, run="")
        assert staged_files(home) == []


def test_a_trainer_killed_mid_save_leaves_nothing_staged_after_a_restart(
    s3: S3Endpoint, own: Service, home: Path, tmp_path: Path
) -> None:
    job = tmp_path / "killed.py"
    # The trainer stages its checkpoint and is killed before its Save call ends.
    job.write_text(
        textwrap.dedent(
            f"""
            import time, torch
            import o3ml._checkpoints as ck
            from o3ml import O3Client
            def stuck(*args, **kwargs):
                print("STAGED", flush=True)
                time.sleep(600)
            ck._save = stuck
            ck.save_checkpoint(O3Client({own.address!r}), "co/killed.ckpt", {{"w": torch.randn(2_000_000)}}, run="killed")
            """
        )
    )
    child = subprocess.Popen([sys.executable, str(job)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "STAGED"
        assert len(staged_files(home)) == 1
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    own.stop()
    again = start_service(s3, home, tmp_path / "logs-again", name="o3ml-serve-again")
    try:
        with O3Client(again.address) as c:
            # The handshake opens the staging directory, which sweeps files of dead writers.
            _colocation.staging_dir(c._channel, c._metadata, c.address)
        deadline = time.monotonic() + 10
        while staged_files(home) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert staged_files(home) == []
        with O3Client(again.address) as c, pytest.raises(Exception):
            c.stat("co/killed.ckpt")
    finally:
        again.stop()


def test_the_service_reads_only_its_own_staged_files(own: Service, home: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"not for the bucket" * 100)
    with O3Client(own.address) as c:
        staging = Path(_colocation.staging_dir(c._channel, c._metadata, c.address) or "")
        link = staging / f"{os.getpid()}-{'ab' * 8}.stage"
        link.symlink_to(secret)
        save = c._channel.stream_unary(
            "/o3ml.v1.CheckpointService/Save",
            request_serializer=pb.SaveCheckpointRequest.SerializeToString,
            response_deserializer=pb.CheckpointInfo.FromString,
        )

        def attempt(name: str) -> grpc.RpcError:
            header = pb.CheckpointHeader(key="co/stolen.ckpt", run="thief", staged=name)
            messages = [
                pb.SaveCheckpointRequest(header=header),
                pb.SaveCheckpointRequest(entry=pb.EntryHeader(name="data.pkl", kind=1, nbytes=1800)),
                pb.SaveCheckpointRequest(trailer=pb.SaveTrailer(entry_count=1)),
            ]
            with pytest.raises(grpc.RpcError) as caught:
                save(iter(messages))
            return caught.value

        assert "symbolic link" in attempt(link.name).details()
        escaped = attempt("../../secret.bin")
        assert escaped.code() == grpc.StatusCode.INVALID_ARGUMENT and "not the name of a staged file" in escaped.details()
        with pytest.raises(Exception):
            c.stat("co/stolen.ckpt")
