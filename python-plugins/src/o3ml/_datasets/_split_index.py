"""A resolved dataset version and the shards of one of its splits.

Splits are per shard (a shard holds the samples of one split). A version pushed without splits
has only the unnamed split ``""``; asking it for ``"train"`` gives every sample, since an unsplit
dataset is all training data. Any other split it lacks is a ``NotFoundError`` that lists the
splits it has.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate

from .._errors import FailedPreconditionError, NotFoundError
from ..gen import manifest_pb2

__all__ = ["DATASET_FORMAT", "DatasetVersion", "SplitIndex", "splits_of"]

#: Newest dataset manifest format_version this reader understands.
DATASET_FORMAT = 1
_UNSPLIT = ""
_TRAIN = "train"


@dataclass(frozen=True)
class DatasetVersion:
    """One committed version of a dataset: its name, version, manifest CID and manifest."""

    name: str
    version: str
    cid: str
    manifest: manifest_pb2.DatasetManifest

    def __post_init__(self) -> None:
        found = self.manifest.format_version
        if found == 0 or found > DATASET_FORMAT:
            raise FailedPreconditionError(
                f"dataset {self.spec} (manifest {self.cid}) has format_version {found}; this o3ml reads "
                f"1 to {DATASET_FORMAT}: upgrade o3ml (pip install -U o3ml)",
                {"cid": self.cid, "format_version": found},
            )

    @property
    def spec(self) -> str:
        """``name@version``: resolves to this version again."""
        return f"{self.name}@{self.version}"

    def __reduce__(self) -> tuple[object, ...]:
        # Generated messages name a module that cannot be imported (o3ml.v1.manifest_pb2), so they
        # do not pickle; data-loader workers started by spawn or forkserver get the bytes instead.
        return (_version_from_bytes, (self.name, self.version, self.cid, self.manifest.SerializeToString()))


def _version_from_bytes(name: str, version: str, cid: str, manifest: bytes) -> DatasetVersion:
    return DatasetVersion(name, version, cid, manifest_pb2.DatasetManifest.FromString(manifest))


def splits_of(manifest: manifest_pb2.DatasetManifest) -> list[str]:
    """The splits the manifest's shards name, in manifest order."""
    return list(dict.fromkeys(shard.split for shard in manifest.shards))


@dataclass(frozen=True)
class SplitIndex:
    """The shards of ``split`` (``None``: every shard) in manifest order, with prefix sums of samples.

    Samples are numbered globally in that order: sample ``i`` of shard ``k`` is ``starts[k] + i``.
    """

    version: DatasetVersion
    split: str | None
    shards: tuple[manifest_pb2.ShardEntry, ...]
    starts: tuple[int, ...]

    @classmethod
    def of(cls, version: DatasetVersion, split: str | None) -> SplitIndex:
        shards = tuple(_select(version, split))
        starts = tuple(accumulate((len(s.samples) for s in shards), initial=0))
        return cls(version, split, shards, starts)

    def __reduce__(self) -> tuple[object, ...]:
        return (SplitIndex.of, (self.version, self.split))

    @property
    def total(self) -> int:
        """Samples in the split."""
        return self.starts[-1]

    def counts(self) -> list[int]:
        return [len(shard.samples) for shard in self.shards]

    def describe(self, shard: int) -> str:
        """Names shard ``shard`` for messages: dataset, split, position, CID."""
        split = f" split {self.split!r}" if self.split else ""
        return f"shard {shard} of {self.version.spec}{split}"


def _select(version: DatasetVersion, split: str | None) -> list[manifest_pb2.ShardEntry]:
    shards = list(version.manifest.shards)
    if split is None:
        return shards
    chosen = [s for s in shards if s.split == split]
    if chosen:
        return chosen
    present = splits_of(version.manifest)
    if split == _TRAIN and present == [_UNSPLIT]:
        return shards
    named = ", ".join(repr(s) for s in present if s) or "none (it was pushed without splits: ask for 'train' or None)"
    raise NotFoundError(
        f"dataset {version.spec} has no split {split!r}; its splits are {named}. Push it with "
        "train/ val/ test/ folders or --split train=0.8,val=0.1,test=0.1 to have splits",
        {"dataset": version.spec, "split": split},
    )
