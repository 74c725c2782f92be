"""``O3DataModule``: the splits of a dataset version on O3 as Lightning dataloaders.

Mid-epoch resume goes through Lightning's own machinery: the fit loop saves the training
dataloader's ``state_dict`` in every checkpoint and hands it back to ``load_state_dict`` before
iterating again (``O3DataLoader``). Lightning fetches one batch ahead of the step it runs, so
the position saved is the trainer's count of batches it finished, not the loader's.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.loops.progress import _ProcessedTracker
from lightning.pytorch.trainer.states import TrainerFn

from .._client import O3Client
from .._datasets import O3DataLoader, O3ShardDataset, ServiceShardSource, ShardSource
from .._datasets._decode import Decode
from .._datasets._service_source import CacheMode
from .._datasets._split_index import DatasetVersion, splits_of
from .._errors import FailedPreconditionError

__all__ = ["O3DataModule"]

log = logging.getLogger(__name__)

_LATEST = "latest"

# Lightning warns about every IterableDataset with a length, since a naive one yields duplicates
# from each worker. O3ShardDataset partitions by worker and O3DataLoader counts each worker's
# partial batch, so the length Lightning sees is exact.
# (Lightning raises it as a plain UserWarning, of which PossibleUserWarning is a subclass.)
warnings.filterwarnings("ignore", message="Your `IterableDataset` has `__len__` defined", category=UserWarning)


class O3DataModule(pl.LightningDataModule):
    """Train, val and test dataloaders of ``dataset`` (``"name@version"``; ``"name"`` for the newest).

    The training split is shuffled with ``shuffle_seed`` (``None``: manifest order) and resumes
    mid-epoch exactly from a Lightning checkpoint; val and test keep the manifest order. A split
    the version lacks gives no dataloader (Lightning then skips that loop); a version pushed
    without splits is all training data. Samples are decoded with ``decode`` (``"auto"``: images
    and ``npy`` to tensors, ``cls`` to int, ``json`` parsed) and then ``transform``
    (``eval_transform`` for val and test, when given). ``dataset_cid`` is the manifest CID of the
    version in use; an ``O3CheckpointIO`` without a dataset CID records it with each checkpoint.
    Resuming a run of ``"name"`` or ``"name@latest"`` reads the version the run started on.
    Under DDP every rank reads the version rank 0 resolved, and its own part of each epoch.
    """

    def __init__(
        self,
        dataset: str,
        batch_size: int = 32,
        num_workers: int = 0,
        transform: Callable[[dict[str, Any]], Any] | None = None,
        shuffle_seed: int | None = 0,
        *,
        eval_transform: Callable[[dict[str, Any]], Any] | None = None,
        decode: Decode = "auto",
        shuffle_buffer: int = 1000,
        drop_last: bool = False,
        cache: CacheMode = "auto",
        client: O3Client | None = None,
        source: ShardSource | None = None,
        prefetch_shards: int = 2,
        prefetch_threads: int = 4,
        train_split: str = "train",
        val_split: str = "val",
        test_split: str = "test",
        **loader_options: Any,
    ) -> None:
        super().__init__()
        self.dataset = dataset
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.transform = transform
        self.eval_transform = eval_transform
        self.shuffle_seed = shuffle_seed
        self.decode = decode
        self.shuffle_buffer = shuffle_buffer
        self.drop_last = drop_last
        self.prefetch_shards = prefetch_shards
        self.prefetch_threads = prefetch_threads
        self.splits = {"train": train_split, "val": val_split, "test": test_split}
        # pin_memory, collate_fn, multiprocessing_context, timeout, ...: passed to every DataLoader.
        self.loader_options = loader_options
        self._source = source if source is not None else ServiceShardSource(client, cache=cache)
        self._version: DatasetVersion | None = None
        self._recorded_in: Any = None

    @property
    def version(self) -> DatasetVersion:
        """The resolved dataset version (resolved on first use)."""
        if self._version is None:
            self._version = self._source.resolve(self.dataset)
            log.info("dataset %s is %s (manifest %s)", self.dataset, self._version.spec, self._version.cid)
        return self._version

    @property
    def dataset_cid(self) -> str:
        """Manifest CID of the dataset version the dataloaders read."""
        return self.version.cid

    def setup(self, stage: str) -> None:
        self._agree_on_version()
        cid = self.dataset_cid
        checkpoint_io = getattr(getattr(self.trainer, "strategy", None), "checkpoint_io", None)
        if checkpoint_io is not None and getattr(checkpoint_io, "dataset_cid", None) == "":
            checkpoint_io.dataset_cid = cid
            self._recorded_in = checkpoint_io

    def train_dataloader(self) -> O3DataLoader:
        dataset = self._dataset(self.splits["train"], self.shuffle_seed, self.transform)
        return O3DataLoader(
            dataset,
            self.batch_size,
            num_workers=self.num_workers,
            drop_last=self.drop_last,
            epoch_source=self._current_epoch,
            progress=self._finished_batches,
            **self.loader_options,
        )

    def val_dataloader(self) -> O3DataLoader | list[Any]:
        return self._eval_loader("val")

    def test_dataloader(self) -> O3DataLoader | list[Any]:
        return self._eval_loader("test")

    def state_dict(self) -> dict[str, Any]:
        return {"dataset": self.version.spec, "dataset_cid": self.dataset_cid}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Pins the version the checkpoint's run read, unless this module names a version itself."""
        saved_cid, saved_spec = state_dict.get("dataset_cid", ""), state_dict.get("dataset", "")
        if not saved_cid or saved_cid == self.dataset_cid:
            return
        name, _, version = self.dataset.partition("@")
        if version not in ("", _LATEST):
            log.warning(
                "the checkpoint was trained on %s (manifest %s); this run reads %s (manifest %s) as asked",
                saved_spec, saved_cid, self.version.spec, self.dataset_cid,
            )
            return
        pinned = self._source.resolve(f"{name}@{saved_cid}")
        if pinned.cid != saved_cid:
            raise FailedPreconditionError(f"dataset {name} resolved {saved_cid} to manifest {pinned.cid}")
        log.info("resuming on %s (manifest %s), the version the checkpoint's run read", pinned.spec, pinned.cid)
        self._version = pinned
        if self._recorded_in is not None:
            self._recorded_in.dataset_cid = pinned.cid

    def _agree_on_version(self) -> None:
        """Makes every rank read the version rank 0 resolved.

        Each rank resolves ``dataset`` on its own; a version pushed in between would give ranks
        different versions, and their partitions of different sample lists would overlap and miss
        samples. Rank 0's choice is broadcast and the others pin to it.
        """
        trainer = self.trainer
        if trainer is None or trainer.world_size <= 1:
            return
        chosen = trainer.strategy.broadcast(self.dataset_cid, src=0)
        if chosen != self.dataset_cid:
            name = self.dataset.partition("@")[0]
            log.info("rank %d reads %s@%s, the version rank 0 resolved, not %s", trainer.global_rank, name, chosen, self.version.spec)
            self._version = self._source.resolve(f"{name}@{chosen}")

    def _dataset(self, split: str, seed: int | None, transform: Callable[[dict[str, Any]], Any] | None) -> O3ShardDataset:
        return O3ShardDataset(
            self.version,
            split,
            source=self._source,
            shuffle_seed=seed,
            shuffle_buffer=self.shuffle_buffer,
            decode=self.decode,
            transform=transform,
            prefetch_shards=self.prefetch_shards,
            prefetch_threads=self.prefetch_threads,
        )

    def _eval_loader(self, stage: str) -> O3DataLoader | list[Any]:
        split = self.splits[stage]
        if split not in splits_of(self.version.manifest):
            return []
        dataset = self._dataset(split, None, self.eval_transform or self.transform)
        return O3DataLoader(dataset, self.batch_size, num_workers=self.num_workers, **self.loader_options)

    def _current_epoch(self) -> int | None:
        trainer = self.trainer
        return trainer.current_epoch if trainer is not None else None

    def _finished_batches(self) -> int | None:
        # Lightning's fetcher holds one batch ahead of the step that runs; the position to resume
        # from is the number of batches the fit loop processed in this epoch.
        trainer = self.trainer
        if trainer is None or trainer.state.fn != TrainerFn.FITTING:
            return None
        current = trainer.fit_loop.epoch_loop.batch_progress.current
        # Lightning declares the base tracker; the fit loop's is the one that counts processed batches.
        if not isinstance(current, _ProcessedTracker):
            raise FailedPreconditionError(
                f"this Lightning's fit loop counts batches with a {type(current).__name__}, which has no count of "
                "processed batches to resume from; install a Lightning release o3ml supports (lightning>=2.5)"
            )
        return current.processed
