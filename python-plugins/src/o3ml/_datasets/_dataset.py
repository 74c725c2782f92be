"""``O3ShardDataset``: the samples of one split of a dataset version, streamed shard by shard.

The epoch order and its partition across ranks and workers are worked out from the manifest
before any byte is read (see ``_order``); shards are then fetched lazily, a few ahead of the
reader in a background thread, and only the samples the reader needs are cut out of each.
"""

from __future__ import annotations

import os
from bisect import bisect_right
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

import torch.distributed as dist
from torch.utils.data import IterableDataset, get_worker_info

from .._client import O3Client
from .._errors import FailedPreconditionError, InvalidArgumentError
from ._decode import Decode, make_decoder
from ._order import Layout, batches_of, resume_point, stream_lengths, stream_sequence
from ._prefetch import Prefetcher
from ._service_source import CacheMode, ServiceShardSource
from ._source import ShardSource
from ._split_index import DatasetVersion, SplitIndex
from ._tar import read_members

__all__ = ["O3ShardDataset"]

Sample = dict[str, Any]
_STATE_FORMAT = 1


@dataclass(frozen=True)
class Iteration:
    """What the next ``__iter__`` reads: set by ``O3DataLoader`` in the main process before its
    workers start, so every worker derives its share from the same numbers.

    ``consumed`` batches of ``batch_size`` samples of epoch ``epoch`` were already delivered.
    """

    epoch: int
    consumed: int
    batch_size: int
    drop_last: bool
    rank: int
    world_size: int


class O3ShardDataset(IterableDataset):  # type: ignore[type-arg]
    """The samples of split ``split`` of ``dataset`` (``"name@version"``; ``"name"`` for the newest).

    Each sample is a dict in WebDataset's convention: ``__key__`` (the sample's path without
    extension) and one entry per member extension, holding bytes, except ``cls`` (an ``int``);
    ``decode`` and ``transform`` (applied in that order) turn it into what the model needs (see
    ``o3ml._datasets._decode`` for ``decode="auto"``).

    Order: ``shuffle_seed=None`` keeps the manifest's order; a seed shuffles shards and then
    samples through a buffer of ``shuffle_buffer``, the same way for the same (seed, epoch) — call
    ``set_epoch`` each epoch. Ranks (``rank``/``world_size``, default from ``torch.distributed``)
    and data-loader workers read disjoint parts: one epoch yields each sample of the split once.

    Bytes: ``cache`` picks how shards arrive (``"auto"``, ``"host"``, ``"stream"``; see
    ``ServiceShardSource``); ``prefetch_shards`` shards are loaded ahead of the reader, up to
    ``prefetch_threads`` of them at once (each load is mostly waiting on the service). ``source``
    replaces the service (e.g. a ``LocalShardSource``); ``client`` configures the default one.

    For exact mid-epoch resume with a ``DataLoader``, iterate through ``O3DataLoader``;
    ``state_dict``/``load_state_dict`` here cover iterating the dataset directly.
    """

    def __init__(
        self,
        dataset: str | DatasetVersion,
        split: str | None = "train",
        *,
        client: O3Client | None = None,
        shuffle_seed: int | None = None,
        shuffle_buffer: int = 1000,
        decode: Decode = None,
        transform: Callable[[Sample], Any] | None = None,
        cache: CacheMode = "auto",
        source: ShardSource | None = None,
        rank: int | None = None,
        world_size: int | None = None,
        prefetch_shards: int = 2,
        prefetch_threads: int = 4,
    ) -> None:
        if shuffle_buffer < 1:
            raise InvalidArgumentError(f"shuffle_buffer must be at least 1, not {shuffle_buffer}")
        if prefetch_shards < 0:
            raise InvalidArgumentError(f"prefetch_shards must be 0 or more, not {prefetch_shards}")
        if prefetch_threads < 1:
            raise InvalidArgumentError(f"prefetch_threads must be 1 or more, not {prefetch_threads}")
        if (rank is None) != (world_size is None):
            raise InvalidArgumentError("give both rank and world_size, or neither (they then come from torch.distributed)")
        self.source: ShardSource = source if source is not None else ServiceShardSource(client, cache=cache)
        self.version = dataset if isinstance(dataset, DatasetVersion) else self.source.resolve(dataset)
        self.index = SplitIndex.of(self.version, split)
        self.shuffle_seed = shuffle_seed
        self.shuffle_buffer = shuffle_buffer
        self.transform = transform
        self.prefetch_shards = prefetch_shards
        self.prefetch_threads = prefetch_threads
        self._decode = make_decoder(decode, self.version.manifest.schema.fields)
        self._explicit = Layout(rank, world_size) if rank is not None and world_size is not None else None
        self._at_init = _distributed_layout()
        self._counts = self.index.counts()
        self.epoch = 0
        # Direct iteration: samples of `epoch` already delivered, and where the next one starts.
        self._delivered = 0
        self._skip = 0
        self._next: Iteration | None = None

    @property
    def dataset_cid(self) -> str:
        """Manifest CID of the dataset version: what a run records to say what it trained on."""
        return self.version.cid

    @property
    def spec(self) -> str:
        """``name@version`` of the resolved version."""
        return self.version.spec

    @property
    def split(self) -> str | None:
        return self.index.split

    @property
    def classes(self) -> list[str]:
        """Class names of an ImageFolder dataset, index = ``cls``."""
        return list(self.version.manifest.schema.classes)

    @property
    def fields(self) -> list[str]:
        """The member extensions samples have (e.g. ``["cls", "png"]``)."""
        return list(self.version.manifest.schema.fields)

    def set_epoch(self, epoch: int) -> None:
        """Selects the epoch whose order the next iteration follows."""
        if epoch < 0:
            raise InvalidArgumentError(f"epochs are numbered from 0, not {epoch}")
        if epoch != self.epoch:
            self.epoch, self._delivered, self._skip = epoch, 0, 0

    def plan_next_iteration(self, plan: Iteration | None) -> None:
        """The plan (epoch, position, batching, rank) the next iteration follows; None: the dataset's own.

        ``O3DataLoader`` sets it before its workers start, which take it with their copy of the dataset.
        """
        self._next = plan

    def layout(self, streams: int = 1) -> Layout:
        """This process's rank and world size, with ``streams`` readers."""
        ranks = self._explicit or _distributed_layout() or self._at_init or Layout()
        return Layout(ranks.rank, ranks.world_size, streams)

    def __len__(self) -> int:
        """Samples this rank reads in an epoch (all of the split when not distributed)."""
        return sum(stream_lengths(self.index.total, self.layout()))

    def state_dict(self) -> dict[str, Any]:
        """Where direct iteration stands: the epoch and how many of its samples were yielded."""
        return {"format": _STATE_FORMAT, "dataset_cid": self.dataset_cid, "split": self.split, "epoch": self.epoch, "samples": self._delivered}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Makes the next direct iteration yield the rest of the saved epoch, in the same order."""
        if state.get("format") != _STATE_FORMAT:
            raise FailedPreconditionError(f"this is not an O3ShardDataset state of format {_STATE_FORMAT}: {sorted(state)}")
        epoch, samples = int(state["epoch"]), int(state["samples"])
        if samples >= len(self):
            epoch, samples = epoch + 1, 0
        elif state.get("dataset_cid") != self.dataset_cid or state.get("split") != self.split:
            raise FailedPreconditionError(
                f"the saved position is in the middle of an epoch of {state.get('dataset_cid')} split "
                f"{state.get('split')!r}, not of {self.dataset_cid} split {self.split!r}; resume with the "
                "same dataset version, or from a state saved at the end of an epoch"
            )
        self.epoch, self._delivered, self._skip = epoch, samples, samples

    def __iter__(self) -> Generator[Any, None, None]:
        worker = get_worker_info()
        streams, index = (worker.num_workers, worker.id) if worker is not None else (1, 0)
        plan, direct = self._next, self._next is None and worker is None
        if worker is None:
            self._next = None  # a loader's plan is for one iteration
        if plan is None:
            layout = self.layout(streams)
            plan = Iteration(self.epoch, self._skip, 1, False, layout.rank, layout.world_size)
        layout = Layout(plan.rank, plan.world_size, streams)
        lengths = stream_lengths(self.index.total, layout)
        done, first = resume_point([batches_of(n, plan.batch_size, plan.drop_last) for n in lengths], plan.consumed)
        stream = (first + index) % streams
        order = stream_sequence(self._counts, self.shuffle_seed, plan.epoch, self.shuffle_buffer, layout, stream)
        if direct:
            self._delivered = self._skip
        for sample in self._read(order[done[stream] * plan.batch_size :]):
            if direct:
                self._delivered += 1
            yield sample
        if direct:
            self._skip = 0

    def _read(self, order: list[int]) -> Iterator[Any]:
        starts = self.index.starts
        shard_of = [bisect_right(starts, g) - 1 for g in order]
        wanted: dict[int, list[int]] = {}
        for g, k in zip(order, shard_of, strict=True):
            wanted.setdefault(k, []).append(g - starts[k])

        def load(k: int) -> dict[int, dict[str, bytes]]:
            shard = self.index.shards[k]
            where = self.index.describe(k)
            with self.source.open_shard(shard, where) as data:
                return {i: read_members(data, shard.samples[i].offset, shard.samples[i].size, shard.samples[i].key, where) for i in wanted[k]}

        loaded: dict[int, dict[int, dict[str, bytes]]] = {}
        name = f"o3ml-prefetch-{os.getpid()}"
        with Prefetcher(load, list(wanted), self.prefetch_shards, name=name, threads=self.prefetch_threads) as ahead:
            for g, k in zip(order, shard_of, strict=True):
                members = loaded.get(k)
                if members is None:
                    members = loaded[k] = ahead.take(k)
                i = g - starts[k]
                sample: Sample = {"__key__": self.index.shards[k].samples[i].key, **members.pop(i)}
                if not members:
                    del loaded[k]
                sample = self._decode(sample)
                yield self.transform(sample) if self.transform is not None else sample

    def __repr__(self) -> str:
        return f"O3ShardDataset({self.spec!r}, split={self.split!r}, samples={self.index.total}, cid={self.dataset_cid})"


def _distributed_layout() -> Layout | None:
    if dist.is_available() and dist.is_initialized():
        return Layout(dist.get_rank(), dist.get_world_size())
    return None
