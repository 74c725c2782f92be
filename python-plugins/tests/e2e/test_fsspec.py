"""The o3:// fsspec filesystem against the real service: what ModelCheckpoint and users rely on."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest
from payloads import MiB, random_bytes
from servers import Service

from o3ml import InvalidArgumentError, NotFoundError, O3Client
from o3ml._fsspec import O3FileSystem


@pytest.fixture
def fs(service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[O3FileSystem]:
    monkeypatch.setenv("O3ML_SERVICE", service.address)
    monkeypatch.setenv("O3ML_BUCKET", service.bucket)
    filesystem = fsspec.filesystem("o3")
    assert isinstance(filesystem, O3FileSystem)
    yield filesystem


@pytest.fixture
def root(service: Service, prefix: str) -> str:
    return f"o3://{service.bucket}/{prefix.rstrip('/')}"


def test_the_o3_protocol_resolves_through_the_entry_point(fs: O3FileSystem, root: str) -> None:
    opened, path = fsspec.core.url_to_fs(f"{root}/x.bin")
    assert isinstance(opened, O3FileSystem)
    assert path == root.removeprefix("o3://") + "/x.bin"


def test_write_then_read_stream_and_ranges(fs: O3FileSystem, root: str, client: O3Client, prefix: str) -> None:
    data = random_bytes(9 * MiB + 123, seed=1)
    with fs.open(f"{root}/a/b.bin", "wb") as f:
        for start in range(0, len(data), MiB):
            f.write(data[start : start + MiB])
        assert not fs.exists(f"{root}/a/b.bin"), "nothing is visible before close"
    assert client.get(f"{prefix}a/b.bin") == data
    with fs.open(f"{root}/a/b.bin", "rb") as f:
        f.seek(5 * MiB)
        assert f.read(100) == data[5 * MiB : 5 * MiB + 100]
    assert fs.cat(f"{root}/a/b.bin") == data
    assert fs.cat_file(f"{root}/a/b.bin", start=10, end=20) == data[10:20]
    assert fs.cat_file(f"{root}/a/b.bin", start=-7) == data[-7:]


def test_text_mode_writes_and_reads(fs: O3FileSystem, root: str) -> None:
    with fs.open(f"{root}/best_k_models.yaml", "w") as f:
        f.write("a: 1.0\n")
    with fs.open(f"{root}/best_k_models.yaml", "r") as f:
        assert f.read() == "a: 1.0\n"


def test_an_exception_inside_the_with_block_stores_nothing(fs: O3FileSystem, root: str) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        with fs.open(f"{root}/half.bin", "wb") as f:
            f.write(b"x" * 1000)
            raise RuntimeError("boom")
    assert not fs.exists(f"{root}/half.bin")


def test_listing_infers_directories_from_keys(fs: O3FileSystem, root: str) -> None:
    for name in ("top.bin", "d1/x.bin", "d1/y.bin", "d1/deep/z.bin", "d2/w.bin"):
        fs.pipe_file(f"{root}/{name}", name.encode())
    base = root.removeprefix("o3://")
    assert fs.ls(root, detail=False) == [f"{base}/d1", f"{base}/d2", f"{base}/top.bin"]
    entries = {e["name"]: e for e in fs.ls(f"{root}/d1")}
    assert entries[f"{base}/d1/deep"]["type"] == "directory"
    assert entries[f"{base}/d1/x.bin"]["type"] == "file" and entries[f"{base}/d1/x.bin"]["size"] == len(b"d1/x.bin")
    assert fs.ls(f"{root}/top.bin", detail=False) == [f"{base}/top.bin"]
    assert fs.isdir(f"{root}/d1") and fs.isdir(f"{root}/d1/deep") and not fs.isdir(f"{root}/top.bin")
    assert fs.isfile(f"{root}/top.bin") and not fs.isfile(f"{root}/d1")
    assert sorted(fs.find(root)) == sorted(
        f"{base}/{n}" for n in ("top.bin", "d1/x.bin", "d1/y.bin", "d1/deep/z.bin", "d2/w.bin")
    )
    assert fs.info(f"{root}/d1/x.bin")["sha256"]
    assert fs.modified(f"{root}/d1/x.bin").tzinfo is not None
    with pytest.raises(FileNotFoundError):
        fs.ls(f"{root}/nothing-here")
    with pytest.raises(FileNotFoundError):
        fs.info(f"{root}/nothing-here")
    assert not fs.exists(f"{root}/nothing-here") and not fs.exists(f"{root}/d1/x")


def test_rm_single_and_recursive(fs: O3FileSystem, root: str) -> None:
    for name in ("keep.bin", "gone/a.bin", "gone/b/c.bin", "one.bin"):
        fs.pipe_file(f"{root}/{name}", b"x" * 200)
    fs.rm(f"{root}/one.bin")
    assert not fs.exists(f"{root}/one.bin")
    fs.rm(f"{root}/gone", recursive=True)
    assert not fs.exists(f"{root}/gone") and fs.exists(f"{root}/keep.bin")
    with pytest.raises(FileNotFoundError):
        fs.rm(f"{root}/one.bin")


def test_makedirs_is_a_no_op(fs: O3FileSystem, root: str) -> None:
    fs.makedirs(f"{root}/new/dir", exist_ok=True)
    fs.mkdir(f"{root}/new/other")
    assert not fs.exists(f"{root}/new")


def test_get_and_put_files_and_trees(fs: O3FileSystem, root: str, tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    (source / "a.bin").write_bytes(random_bytes(3 * MiB, seed=2))
    (source / "sub" / "b.bin").write_bytes(b"b" * 300)
    fs.put(str(source), f"{root}/tree", recursive=True)
    fs.get(f"{root}/tree", str(tmp_path / "back"), recursive=True)
    assert (tmp_path / "back" / "a.bin").read_bytes() == (source / "a.bin").read_bytes()
    assert (tmp_path / "back" / "sub" / "b.bin").read_bytes() == b"b" * 300
    fs.get_file(f"{root}/tree/a.bin", str(tmp_path / "single.bin"))
    assert (tmp_path / "single.bin").read_bytes() == (source / "a.bin").read_bytes()


def test_another_bucket_is_refused_with_a_clear_error(fs: O3FileSystem, service: Service) -> None:
    with pytest.raises(InvalidArgumentError, match=f"serves bucket '{service.bucket}'"):
        fs.exists("o3://some-other-bucket/x.bin")
    with pytest.raises(InvalidArgumentError, match="some-other-bucket"):
        with fsspec.open("o3://some-other-bucket/x.bin", "wb") as f:
            f.write(b"x")


def test_a_missing_object_opens_as_file_not_found(fs: O3FileSystem, root: str) -> None:
    with pytest.raises(NotFoundError):
        fs.open(f"{root}/missing.bin", "rb")
    with pytest.raises(FileNotFoundError):
        fs.cat(f"{root}/missing.bin")


def test_append_is_refused(fs: O3FileSystem, root: str) -> None:
    with pytest.raises(ValueError, match="written whole"):
        fs.open(f"{root}/x.bin", "ab")


def test_writes_inside_a_transaction_land_only_when_it_commits(fs: O3FileSystem, root: str) -> None:
    # Lightning's TorchCheckpointIO writes `with fs.transaction, fs.open(path, "wb")`.
    with fs.transaction:
        with fs.open(f"{root}/t.bin", "wb") as f:
            f.write(b"committed")
        assert not fs.exists(f"{root}/t.bin")
    assert fs.cat(f"{root}/t.bin") == b"committed"
    with pytest.raises(RuntimeError):
        with fs.transaction:
            with fs.open(f"{root}/u.bin", "wb") as f:
                f.write(b"dropped")
            raise RuntimeError("the transaction fails")
    assert not fs.exists(f"{root}/u.bin")


def test_cp_and_mv_copy_on_the_service_side(fs: O3FileSystem, root: str, service: Service, tmp_path: Path) -> None:
    data = random_bytes(3 * MiB, seed=3)
    fs.pipe_file(f"{root}/big.bin", data)
    fs.pipe_file(f"{root}/tree/a.txt", b"a")
    fs.pipe_file(f"{root}/tree/sub/b.txt", b"b")
    written = service.metric("o3ml_store_bytes_written_total")
    fs.cp(f"{root}/big.bin", f"{root}/copy/big.bin")
    assert service.metric("o3ml_store_bytes_written_total") - written < 4096, "only a ref is written"
    assert fs.cat(f"{root}/copy/big.bin") == data
    assert fs.info(f"{root}/copy/big.bin")["cid"] == fs.info(f"{root}/big.bin")["cid"]
    fs.mv(f"{root}/tree", f"{root}/moved", recursive=True)
    assert not fs.exists(f"{root}/tree")
    assert fs.cat(f"{root}/moved/sub/b.txt") == b"b" and fs.cat(f"{root}/moved/a.txt") == b"a"
    with pytest.raises(FileNotFoundError):
        fs.cp_file(f"{root}/nothing.bin", f"{root}/copy/nothing.bin")


def test_exclusive_create_refuses_an_existing_key_even_in_a_race(fs: O3FileSystem, root: str) -> None:
    with fs.open(f"{root}/once.bin", "xb") as f:
        f.write(b"first")
    with pytest.raises(FileExistsError):
        fs.open(f"{root}/once.bin", "xb")
    with pytest.raises(FileExistsError):
        fs.pipe_file(f"{root}/once.bin", b"again", mode="create")
    assert fs.cat(f"{root}/once.bin") == b"first"
    # Writers that all found the key absent: the conditional put lets exactly one of them commit.
    files = [fs.open(f"{root}/race.bin", "xb") for _ in range(4)]
    outcomes: list[str] = []

    def close(index: int) -> None:
        files[index].write(f"writer {index}".encode())
        try:
            files[index].close()
            outcomes.append(f"writer {index}")
        except FileExistsError:
            outcomes.append("refused")

    threads = [threading.Thread(target=close, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [o for o in outcomes if o != "refused"]
    assert len(winners) == 1 and outcomes.count("refused") == 3
    assert fs.cat(f"{root}/race.bin").decode() == winners[0]


def test_get_makes_the_local_folders_it_needs(fs: O3FileSystem, root: str, tmp_path: Path) -> None:
    fs.pipe_file(f"{root}/deep/file.bin", b"payload")
    fs.get(f"{root}/deep/file.bin", str(tmp_path / "new" / "folder" / "file.bin"))
    assert (tmp_path / "new" / "folder" / "file.bin").read_bytes() == b"payload"
