"""Dataset versions built locally in the layout `o3ml dataset push` writes: WebDataset tar shards
(written with Python's tarfile) named by CID, and a DatasetManifest with per-sample offsets."""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from o3ml._cid import cid_of
from o3ml._datasets import DatasetVersion, LocalShardSource
from o3ml.gen import manifest_pb2


@dataclass(frozen=True)
class Sample:
    key: str
    members: Mapping[str, bytes]
    split: str = ""


def tar_shard(samples: Iterable[Sample], format: int = tarfile.USTAR_FORMAT) -> tuple[bytes, list[manifest_pb2.SampleEntry]]:
    """A tar archive (ustar unless told) of the samples' members `<key>.<ext>`, and each sample's byte range."""
    out = io.BytesIO()
    entries: list[manifest_pb2.SampleEntry] = []
    with tarfile.open(fileobj=out, mode="w", format=format) as tar:
        for sample in samples:
            start = tar.offset
            for ext in sorted(sample.members):
                data = sample.members[ext]
                info = tarfile.TarInfo(f"{sample.key}.{ext}")
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
            entries.append(manifest_pb2.SampleEntry(key=sample.key, offset=start, size=tar.offset - start))
    data = out.getvalue()
    for entry in entries:
        entry.sha256 = hashlib.sha256(data[entry.offset : entry.offset + entry.size]).digest()
    return data, entries


def build_version(
    directory: Path,
    samples: list[Sample],
    *,
    name: str = "toy",
    version: str = "v1",
    per_shard: int = 10,
    classes: list[str] | None = None,
) -> DatasetVersion:
    """Writes the shards (per_shard samples each, one split per shard) and returns the version."""
    directory.mkdir(parents=True, exist_ok=True)
    by_split: dict[str, list[Sample]] = {}
    for sample in samples:
        by_split.setdefault(sample.split, []).append(sample)
    manifest = manifest_pb2.DatasetManifest(format_version=1, name=name, version=version)
    fields = sorted({ext for s in samples for ext in s.members})
    manifest.schema.CopyFrom(manifest_pb2.DatasetSchema(source_kind="files", fields=fields, classes=classes or []))
    for split, members in by_split.items():
        for i in range(0, len(members), per_shard):
            data, entries = tar_shard(members[i : i + per_shard])
            cid = cid_of(data)
            (directory / cid).write_bytes(data)
            manifest.shards.append(manifest_pb2.ShardEntry(cid=cid, size=len(data), split=split, samples=entries))
            manifest.bytes += len(data)
    manifest.samples = len(samples)
    return DatasetVersion(name, version, cid_of(manifest.SerializeToString(deterministic=True)), manifest)


def numbered(count: int, split: str = "", classes: int = 3, payload: int = 40) -> list[Sample]:
    """Samples `s00000`...: a `bin` member whose bytes name the sample, and a `cls` member."""
    return [
        Sample(
            key=f"{split or 'all'}/s{i:05d}",
            members={"bin": f"sample {split} {i} ".encode().ljust(payload, b"."), "cls": str(i % classes).encode()},
            split=split,
        )
        for i in range(count)
    ]


def local_source(directory: Path, *versions: DatasetVersion) -> LocalShardSource:
    return LocalShardSource(directory, versions)
