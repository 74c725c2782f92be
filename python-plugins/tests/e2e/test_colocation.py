"""Checkpoints through files on the service's host, and through gRPC streams everywhere else.

Every test here starts its own `o3ml serve` with a home of its own, so the staging directory and
the host cache it looks at belong to that service alone.
"""

from __future__ import annotations

import logging
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
from typing import Any

import grpc
import pytest
import torch
from dataset_trees import image_folder
from servers import S3Endpoint, Service, start_service

from o3ml import IntegrityError, NotFoundError, O3Client, O3ShardDataset, _colocation, push_dataset
from o3ml._checkpoint_codec import SKELETON
from o3ml._checkpoints import load_checkpoint, save_checkpoint
from o3ml.gen import admin_service_pb2 as admin_pb
from o3ml.gen import checkpoint_service_pb2 as pb

MiB = 1 << 20
BLOBS = "o3ml/v1/blobs/"


@pytest.fixture
def s3(minio: S3Endpoint) -> S3Endpoint:
    """MinIO alone behind these services, in place of conftest's moto-and-MinIO pair: what differs
    between the co-located path and the streamed one happens on the service's host (the staging
    directory, the host cache, the hand-over of a path), not in the store, and the streamed path is
    tested on both servers elsewhere. On both, this module's recorded test durations were 298 s,
    172 s of them on moto."""
    return minio


@pytest.fixture
def bucket(s3: S3Endpoint) -> Any:
    """A boto3 client of that MinIO, for looking behind the services' backs (conftest's is the
    session service's, on either server)."""
    return s3.boto3()


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


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(
        torch.equal(x, b[k]) if isinstance(x, torch.Tensor) else x == b[k] for k, x in a.items()
    )


def streaming(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("O3ML_COLOCATE", "0")


def staged_files(home: Path) -> list[str]:
    return sorted(p.name for p in (home / "staging").glob("*.stage"))


def test_the_handshake_proves_a_shared_filesystem(own: Service, home: Path) -> None:
    with O3Client(own.address) as c:
        assert _colocation.staging_dir(c.connection) == str(home / "staging")
        call = c.connection.channel.unary_unary(
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
    own: Service, home: Path, monkeypatch: pytest.MonkeyPatch, bucket: Any
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
            # As a plain object, both ways: its entries' bytes in order, though the small ones share
            # a pack (so no one file holds them in order, and the co-located get sends bytes).
            whole = c.get(key)
            with monkeypatch.context() as m:
                streaming(m)
                assert c.get(key) == whole
            assert len(whole) == via_files.bytes_total == c.stat(key).size
            ints, small = (bytes(t.numpy()) for t in (state["ints"], state["small"]) if isinstance(t, torch.Tensor))
            assert whole.index(small) + len(small) == whole.index(ints)  # one after the other, as saved
        # A load through files leaves the verified blobs in the host cache.
        cached = {p.name for p in (home / "cache" / "blobs").iterdir() if p.name.startswith("bafk")}
        stored = {item["Key"][len(BLOBS) :] for item in bucket.list_objects_v2(Bucket=own.bucket, Prefix=BLOBS).get("Contents", [])}
        assert cached and cached <= stored


def test_a_blob_damaged_in_the_bucket_is_an_integrity_error_on_both_paths(
    own: Service, monkeypatch: pytest.MonkeyPatch, bucket: Any
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


@pytest.mark.parametrize("keep", ["1", "0"])
def test_with_cache_saved_what_a_colocated_save_uploaded_loads_from_the_host_cache(
    s3: S3Endpoint, home: Path, tmp_path: Path, keep: str, request: pytest.FixtureRequest, bucket: Any
) -> None:
    state = model(4)
    data = os.urandom(9 * MiB)
    own = start_service(s3, home, tmp_path / "logs", name="o3ml-serve-cache-saved", extra_env={"O3ML_CACHE_SAVED": keep})
    request.addfinalizer(own.stop)
    with O3Client(own.address) as c:
        before = {i["Key"] for i in bucket.list_objects_v2(Bucket=own.bucket, Prefix=BLOBS).get("Contents", [])}
        save_checkpoint(c, "co/kept.ckpt", state, run="kept")
        of_checkpoint = {i["Key"] for i in bucket.list_objects_v2(Bucket=own.bucket, Prefix=BLOBS).get("Contents", [])} - before
        c.put("co/kept.bin", data)
        new = {i["Key"] for i in bucket.list_objects_v2(Bucket=own.bucket, Prefix=BLOBS).get("Contents", [])} - before
        cache = home / "cache" / "blobs"
        cached = {p.name for p in cache.iterdir() if "." not in p.name} if cache.exists() else set()
        # Every blob the saves uploaded that is not sent inline (over 256 KiB) is a cache entry already
        # with O3ML_CACHE_SAVED=1; by default none is (a load reads the bucket, and sees damage there).
        large = {k for k in new if bucket.head_object(Bucket=own.bucket, Key=k)["ContentLength"] > 256 * 1024}
        assert large
        if keep == "0":
            assert not cached & {k[len(BLOBS) :] for k in large}
            return
        assert {k[len(BLOBS) :] for k in large} <= cached
        # So a load on this host reads them there: gone from the bucket, they still load.
        for k in large:
            bucket.delete_object(Bucket=own.bucket, Key=k)
        assert same(load_checkpoint(c, "co/kept.ckpt"), state)
        assert c.get("co/kept.bin") == data
        # A damaged copy is still caught before use; with the bucket's gone, that is data loss.
        victim = max((home / "cache" / "blobs" / k[len(BLOBS) :] for k in large & of_checkpoint), key=lambda p: p.stat().st_size)
        damaged = bytearray(victim.read_bytes())
        damaged[100] ^= 0x01
        victim.write_bytes(bytes(damaged))
        with pytest.raises(IntegrityError) as caught:
            load_checkpoint(c, "co/kept.ckpt")
        assert victim.name in str(caught.value)


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


def test_entries_packed_in_a_large_pack_load_as_ranges_of_its_cache_file(
    own: Service, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 48 entries of 64 KiB: packed (at most 1 MiB each), in packs larger than what rides inline.
    g = torch.Generator().manual_seed(9)
    state = {f"layer{i}.weight": torch.randn(16 * 1024, generator=g) for i in range(48)}
    with O3Client(own.address) as c:
        save_checkpoint(c, "co/packed.ckpt", state, run="packed")
        locate = c.connection.channel.unary_stream(
            "/o3ml.v1.CheckpointService/Locate",
            request_serializer=pb.CheckpointSelector.SerializeToString,
            response_deserializer=pb.LocateCheckpointResponse.FromString,
        )
        located = [m.entry for m in locate(pb.CheckpointSelector(key="co/packed.ckpt")) if m.WhichOneof("msg") == "entry"]
        storages = [e for e in located if e.entry.kind != SKELETON]
        # Each entry as its range of one file, or inline when its pack is small (packs also end at
        # names, so some hold a few entries only).
        assert len(storages) == 48
        assert all((not e.data and len(e.files) == 1) or (len(e.data) == 64 * 1024 and not e.files) for e in storages)
        ranges = [(e.files[0].path, e.files[0].offset, e.files[0].size) for e in storages if e.files]
        assert len(ranges) >= 24 and all(size == 64 * 1024 for _, _, size in ranges)
        packs = {path for path, _, _ in ranges}
        assert 1 < len(packs) < len(ranges)  # several entries to a pack, several packs
        for path in packs:
            offsets = sorted(at for p, at, _ in ranges if p == path)
            assert offsets == [i * 64 * 1024 for i in range(len(offsets))]  # back to back, in table order
            assert os.path.getsize(path) >= offsets[-1] + 64 * 1024
        # Read as ranges, each entry is its own tensor, the same as streamed.
        assert same(load_checkpoint(c, "co/packed.ckpt"), state)
        with monkeypatch.context() as m:
            streaming(m)
            assert same(load_checkpoint(c, "co/packed.ckpt"), state)
        # A pack file damaged after it was verified is checked again before it is named.
        victim = Path(sorted(packs)[0])
        good = victim.read_bytes()
        victim.write_bytes(good[:100] + bytes([good[100] ^ 0x80]) + good[101:])
        assert same(load_checkpoint(c, "co/packed.ckpt"), state)
        assert victim.read_bytes() == good
    assert "no longer matches its CID" in own.process.output(limit=200_000)


def test_a_client_that_cannot_see_the_staging_directory_streams(own: Service, home: Path, tmp_path: Path) -> None:
    """The client runs in a mount namespace where the service's staging directory is an empty
    tmpfs: the same path, another filesystem, as for a client in another container."""
    if not can_unshare():
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


def can_unshare() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"], capture_output=True
    ).returncode == 0


def test_a_save_that_cannot_be_staged_for_want_of_space_streams(s3: S3Endpoint, tmp_path: Path) -> None:
    """Service and trainer share a staging directory on a 1 MiB filesystem (a private mount
    namespace): a larger checkpoint cannot be staged, so it streams, and is saved whole."""
    if not can_unshare():
        pytest.skip("this host cannot make a private mount namespace (unshare needs CAP_SYS_ADMIN)")
    home = tmp_path / "home"
    (home / "staging").mkdir(parents=True)
    job = tmp_path / "full_disk.py"
    job.write_text(
        textwrap.dedent(
            f"""
            import sys, torch
            sys.path.insert(0, {str(Path(__file__).parent)!r})
            from servers import S3Endpoint, start_service
            from o3ml import O3Client
            from o3ml._checkpoints import load_checkpoint, save_checkpoint
            s3 = S3Endpoint({s3.kind!r}, {s3.endpoint!r}, {s3.access_key!r}, {s3.secret_key!r}, None, {s3.region!r})
            svc = start_service(s3, __import__("pathlib").Path({str(home)!r}), __import__("pathlib").Path({str(tmp_path / "logs")!r}))
            try:
                with O3Client(svc.address) as c:
                    small = {{"w": torch.arange(1000, dtype=torch.float32)}}
                    big = {{"w": torch.randn(1_000_000)}}
                    a = save_checkpoint(c, "full/small.ckpt", small, run="full")
                    b = save_checkpoint(c, "full/big.ckpt", big, run="full")
                    ok = torch.equal(load_checkpoint(c, "full/big.ckpt")["w"], big["w"])
                    print("RESULT", ok, b.bytes_total > 4_000_000, a.bytes_total > 0, flush=True)
            finally:
                svc.stop()
            """
        )
    )
    script = f"mount -t tmpfs -o size=1m none {home / 'staging'} && exec {sys.executable} {job}"
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True, text=True, timeout=180, env={k: v for k, v in os.environ.items() if k != "O3ML_COLOCATE"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "RESULT True True True" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]


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
            _colocation.staging_dir(c.connection)
        deadline = time.monotonic() + 10
        while staged_files(home) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert staged_files(home) == []
        with O3Client(again.address) as c, pytest.raises(NotFoundError):
            c.stat("co/killed.ckpt")
    finally:
        again.stop()


def test_a_service_restarted_on_the_same_address_with_another_home_is_shaken_hands_with_again(
    s3: S3Endpoint, own: Service, home: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The channel reconnects to the new service on its own; the staging directory this process
    learnt in the handshake is the old service's, where the new one cannot see a file. Each kind of
    staged call (a checkpoint save, an object put, a dataset push) made right after such a restart
    must still succeed (streamed), store what a call to the new service alone stores, leave nothing
    in either directory, and make the next call shake hands again, with the new service."""
    caplog.set_level(logging.DEBUG, logger="o3ml")
    weights = {"w": torch.randn(MiB), "note": "moved"}
    data = os.urandom(2 * MiB + 3)
    image_folder(tmp_path / "images", {"train": 6})

    def save(c: O3Client) -> None:
        save_checkpoint(c, "co/moved.ckpt", weights, run="moved")
        assert same(load_checkpoint(c, "co/moved.ckpt", weights_only=False), weights)

    def put(c: O3Client) -> None:
        c.put("co/moved.bin", data)
        assert c.get("co/moved.bin") == data

    def push(c: O3Client) -> None:
        pushed = push_dataset(tmp_path / "images", "tests/moved-images", shard_size="64KiB", client=c)
        assert pushed.samples == 6
        assert len(O3ShardDataset(f"{pushed.name}@{pushed.version}", split=None, client=c).version.manifest.shards) == pushed.shards

    running, homes = own, [home]
    with O3Client(own.address) as c:
        try:
            for n, call in enumerate((save, put, push)):
                kind = call.__name__
                assert _colocation.staging_dir(c.connection) == str(homes[-1] / "staging")
                running.stop()
                homes.append(tmp_path / f"home-{kind}")
                running = start_service(s3, homes[-1], tmp_path / f"logs-{kind}", name=f"o3ml-serve-{kind}", listen=own.address)
                call(c)
                assert all(staged_files(h) == [] for h in homes), kind
                stale = [r.getMessage() for r in caplog.records if "no longer reaches the service" in r.getMessage()]
                assert len(stale) == n + 1 and str(homes[-2] / "staging") in stale[-1], (kind, stale)
                assert _colocation.staging_dir(c.connection) == str(homes[-1] / "staging"), kind
        finally:
            running.stop()


def test_a_handshake_no_service_answered_is_asked_again(s3: S3Endpoint, own: Service, tmp_path: Path) -> None:
    """A trainer that starts before its service (or while it restarts) uses files once it runs."""
    own.stop()
    with O3Client(own.address) as c:
        assert _colocation.staging_dir(c.connection) is None
        home = tmp_path / "home-later"
        later = start_service(s3, home, tmp_path / "logs-later", name="o3ml-serve-later", listen=own.address)
        try:
            # The channel retries its connection with a backoff of about a second.
            deadline = time.monotonic() + 20
            while _colocation.staging_dir(c.connection) is None and time.monotonic() < deadline:
                time.sleep(0.2)
            assert _colocation.staging_dir(c.connection) == str(home / "staging")
        finally:
            later.stop()


def test_the_service_reads_only_its_own_staged_files(own: Service, home: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"not for the bucket" * 100)
    with O3Client(own.address) as c:
        staging = Path(_colocation.staging_dir(c.connection) or "")
        link = staging / f"{os.getpid()}-{'ab' * 8}.stage"
        link.symlink_to(secret)
        save = c.connection.channel.stream_unary(
            "/o3ml.v1.CheckpointService/Save",
            request_serializer=pb.SaveCheckpointRequest.SerializeToString,
            response_deserializer=pb.CheckpointInfo.FromString,
        )

        def attempt(name: str) -> grpc.RpcError:
            header = pb.CheckpointHeader(key="co/stolen.ckpt", run="thief", staged=name)
            messages = [
                pb.SaveCheckpointRequest(header=header),
                pb.SaveCheckpointRequest(entry=pb.EntryHeader(name="data.pkl", kind=SKELETON, nbytes=1800)),
                pb.SaveCheckpointRequest(trailer=pb.SaveTrailer(entry_count=1)),
            ]
            with pytest.raises(grpc.RpcError) as caught:
                save(iter(messages))
            return caught.value

        assert "symbolic link" in (attempt(link.name).details() or "")
        escaped = attempt("../../secret.bin")
        assert escaped.code() == grpc.StatusCode.INVALID_ARGUMENT and "not the name of a staged file" in (escaped.details() or "")
        with pytest.raises(NotFoundError):
            c.stat("co/stolen.ckpt")


def test_objects_through_files_and_streams_are_the_same(own: Service, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = os.urandom(17 * MiB + 5)  # three blobs, the last one small (sent inline)
    with O3Client(own.address) as c:
        via_files = c.put("co/object.bin", data, labels={"kind": "test"})
        assert staged_files(home) == []
        with monkeypatch.context() as m:
            streaming(m)
            via_stream = c.put("co/object-streamed.bin", data, labels={"kind": "test"})
            assert c.get("co/object.bin") == data
        # The same manifest: same blobs, size, digest, labels.
        assert via_files.cid == via_stream.cid and via_files.sha256 == via_stream.sha256 == __import__("hashlib").sha256(data).hexdigest()
        assert c.get("co/object-streamed.bin") == data
        assert c.get("co/object.bin") == data
        # A small object and an empty one take the stream both ways and come back whole.
        c.put("co/small.bin", b"tiny")
        assert c.get("co/small.bin") == b"tiny"
        c.put("co/empty.bin", b"")
        assert c.get("co/empty.bin") == b""
        with pytest.raises(FileExistsError):
            c.put("co/object.bin", data, if_absent=True)
        assert staged_files(home) == []


def test_an_object_blob_damaged_in_the_bucket_is_an_integrity_error_on_both_paths(
    own: Service, monkeypatch: pytest.MonkeyPatch, bucket: Any
) -> None:
    data = os.urandom(9 * MiB)
    with O3Client(own.address) as c:
        before = {i["Key"] for i in bucket.list_objects_v2(Bucket=own.bucket, Prefix=BLOBS).get("Contents", [])}
        c.put("co/damaged.bin", data)
        new = sorted({i["Key"] for i in bucket.list_objects_v2(Bucket=own.bucket, Prefix=BLOBS).get("Contents", [])} - before)
        for victim in new:  # both blobs: the large one (a cache file) and the small one (inline)
            body = bytearray(bucket.get_object(Bucket=own.bucket, Key=victim)["Body"].read())
            body[0] ^= 0x01
            bucket.put_object(Bucket=own.bucket, Key=victim, Body=bytes(body))
        for path in ("files", "stream"):
            with monkeypatch.context() as m:
                if path == "stream":
                    streaming(m)
                with pytest.raises(IntegrityError) as caught:
                    c.get("co/damaged.bin")
            message = str(caught.value)
            assert "co/damaged.bin" in message and any(v[len(BLOBS) :] in message for v in new), f"{path}: {message}"


def test_an_unchanged_tensor_is_neither_staged_nor_hashed_again(
    s3: S3Endpoint, own: Service, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged_bytes: list[int] = []
    real_stage = _colocation.stage

    def counting_stage(staging: str, views: list[memoryview]) -> str | None:
        staged_bytes.append(sum(v.nbytes for v in views))
        return real_stage(staging, views)

    monkeypatch.setattr(_colocation, "stage", counting_stage)
    state = model(3)
    big = state["big"]
    assert isinstance(big, torch.Tensor)
    original = big.clone()
    with O3Client(own.address) as c:
        first = save_checkpoint(c, "co/r1.ckpt", state, run="recall")
        assert staged_bytes[-1] == first.bytes_total
        second = save_checkpoint(c, "co/r2.ckpt", state, run="recall")
        # Only the skeleton (a few hundred bytes) went through the staging file.
        assert staged_bytes[-1] < 4096 and second.bytes_uploaded <= 4096
        big.add_(1.0)
        third = save_checkpoint(c, "co/r3.ckpt", state, run="recall")
        assert big.nbytes <= staged_bytes[-1] < big.nbytes + 4096
        assert third.bytes_uploaded >= big.nbytes
        # Another run knows nothing of this one: everything is staged (and found stored).
        other = save_checkpoint(c, "co/o1.ckpt", state, run="another")
        assert staged_bytes[-1] == other.bytes_total and other.bytes_uploaded <= 4096
        for key in ("co/r2.ckpt", "co/r3.ckpt", "co/o1.ckpt"):
            assert c.verify_checkpoint(key).bytes_checked > 0
        assert same(load_checkpoint(c, "co/r3.ckpt"), state)
        with monkeypatch.context() as m:
            streaming(m)
            assert same(load_checkpoint(c, "co/r3.ckpt"), state)
        big.copy_(original)
        assert same(load_checkpoint(c, "co/r2.ckpt"), state)
    # A restarted service remembers nothing: the next save stages everything again and succeeds.
    own.stop()
    again = start_service(s3, home, tmp_path / "logs-again", name="o3ml-serve-again")
    try:
        with O3Client(again.address) as c:
            fourth = save_checkpoint(c, "co/r4.ckpt", state, run="recall")
            assert staged_bytes[-1] == fourth.bytes_total
            assert same(load_checkpoint(c, "co/r4.ckpt"), state)
    finally:
        again.stop()


def test_an_entry_sent_as_reused_that_the_service_does_not_know_commits_nothing(own: Service, home: Path) -> None:
    with O3Client(own.address) as c:
        staging = _colocation.staging_dir(c.connection)
        assert staging is not None
        name = _colocation.stage(staging, [memoryview(b"")])
        save = c.connection.channel.stream_unary(
            "/o3ml.v1.CheckpointService/Save",
            request_serializer=pb.SaveCheckpointRequest.SerializeToString,
            response_deserializer=pb.CheckpointInfo.FromString,
        )
        forged = pb.EntryHeader(name="data.pkl", kind=SKELETON, nbytes=100, chunk_digests=[os.urandom(16)], reused=True)
        messages = [
            pb.SaveCheckpointRequest(header=pb.CheckpointHeader(key="co/forged.ckpt", run="forger", staged=name)),
            pb.SaveCheckpointRequest(entry=forged),
            pb.SaveCheckpointRequest(trailer=pb.SaveTrailer(entry_count=1)),
        ]
        with pytest.raises(grpc.RpcError) as caught:
            save(iter(messages))
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "without reuse" in (caught.value.details() or "")
        with pytest.raises(NotFoundError):
            c.stat("co/forged.ckpt")
        # A streamed save cannot claim reuse at all.
        streamed = [messages[0], messages[1], messages[2]]
        streamed[0] = pb.SaveCheckpointRequest(header=pb.CheckpointHeader(key="co/forged.ckpt", run="forger"))
        with pytest.raises(grpc.RpcError) as caught:
            save(iter(streamed))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert staged_files(home) == []
