"""``O3DataLoader``: a torch ``DataLoader`` of an ``O3ShardDataset`` that resumes mid-epoch exactly.

Its state is (epoch, batches consumed). Resuming needs nothing else because the order is a
function of the epoch and the layout (batch size, workers, ranks), and a ``DataLoader`` takes
batches from its workers in a fixed round-robin: each worker re-derives how many batches it had
delivered and carries on from there, with the workers rotated so that the round-robin continues
where it stopped (``_order.resume_point``). Works with a plain ``DataLoader`` iterator, any
``num_workers``, and Lightning, which saves ``state_dict()`` of a training dataloader that has
one in its checkpoints and calls ``load_state_dict`` before iterating again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from torch.utils.data import DataLoader

from .._errors import FailedPreconditionError, InvalidArgumentError
from ._dataset import Iteration, O3ShardDataset
from ._order import batches_of, stream_lengths

__all__ = ["O3DataLoader"]

_STATE_FORMAT = 1
# State fields that fix the order of an epoch: a mid-epoch resume needs them unchanged.
_ORDER_FIELDS = ("dataset_cid", "split", "shuffle_seed", "shuffle_buffer", "batch_size", "drop_last", "num_workers", "world_size")


class O3DataLoader(DataLoader):  # type: ignore[type-arg]
    """Batches of ``dataset`` with ``state_dict``/``load_state_dict`` for exact mid-epoch resume.

    Takes ``DataLoader``'s arguments except the sampler ones (the dataset orders itself) and
    ``persistent_workers`` (workers must start from the dataset's state each epoch). Call
    ``set_epoch`` before each epoch, or pass ``epoch_source`` (a function returning the current
    epoch, or None). ``progress`` returns the batches of the current epoch the consumer has
    finished with, when that differs from what this loader handed out (a trainer that fetches
    batches ahead); by default every batch handed out counts as consumed.
    """

    dataset: O3ShardDataset

    def __init__(
        self,
        dataset: O3ShardDataset,
        batch_size: int | None = 1,
        *,
        num_workers: int = 0,
        drop_last: bool = False,
        epoch_source: Callable[[], int | None] | None = None,
        progress: Callable[[], int | None] | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(dataset, O3ShardDataset):
            raise InvalidArgumentError(f"O3DataLoader reads an O3ShardDataset, not {type(dataset).__name__}")
        if kwargs.get("persistent_workers"):
            raise InvalidArgumentError(
                "O3DataLoader cannot keep workers between epochs (persistent_workers=True): each epoch's "
                "workers must start from the dataset's epoch and position"
            )
        super().__init__(dataset, batch_size=batch_size, num_workers=num_workers, drop_last=drop_last, **kwargs)
        self.epoch = dataset.epoch
        self._epoch_source = epoch_source
        self._progress = progress
        self._pending: dict[str, Any] | None = None
        self._base = 0
        self._handed_out = 0

    def set_epoch(self, epoch: int) -> None:
        if epoch < 0:
            raise InvalidArgumentError(f"epochs are numbered from 0, not {epoch}")
        self.epoch = epoch

    @property
    def _per_batch(self) -> int:
        return self.batch_size or 1

    def __len__(self) -> int:
        """Batches this rank yields in an epoch: each worker batches its own share of the samples."""
        layout = self.dataset.layout(max(1, self.num_workers))
        return sum(batches_of(n, self._per_batch, self.drop_last) for n in stream_lengths(self.dataset.index.total, layout))

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        return self._batches()

    def _batches(self) -> Iterator[Any]:
        # Runs from the first next(), not from iter(): Lightning makes the iterator of a resumed
        # run before it moves its epoch counter past the epoch the checkpoint ended, so the epoch
        # (and with it the workers' plan) is only known for sure when the first batch is asked for.
        epoch, consumed = self._start()
        self.epoch, self._base, self._handed_out = epoch, consumed, 0
        self.dataset.set_epoch(epoch)
        layout = self.dataset.layout()
        self.dataset._next = Iteration(epoch, consumed, self._per_batch, self.drop_last, layout.rank, layout.world_size)
        inner = super().__iter__()
        if self.num_workers > 0:
            # The workers took their copy of the plan when they started; the main process's copy is spent.
            self.dataset._next = None
        for batch in inner:
            self._handed_out += 1
            yield batch

    def _start(self) -> tuple[int, int]:
        """The epoch this iteration reads and the batches of it already consumed."""
        pending, self._pending = self._pending, None
        current = self._epoch_source() if self._epoch_source is not None else None
        if pending is None:
            return (current if current is not None else self.epoch), 0
        saved = int(pending["epoch"])
        if pending["complete"]:
            # The saved epoch is over; a trainer may still report it while it sets up the next.
            return max(saved + 1, current or 0), 0
        if current is None or current == saved:
            return saved, int(pending["batches"])
        # The trainer is past the saved epoch (it ended that one early, e.g. limit_train_batches).
        return current, 0

    def state_dict(self) -> dict[str, Any]:
        """The epoch, the batches of it consumed so far, and the settings that fix its order."""
        if self._pending is not None:
            return dict(self._pending)  # restored but not iterated yet: still the same position
        consumed = self._base + self._handed_out
        reported = self._progress() if self._progress is not None else None
        if reported is not None:
            consumed = reported
        return {
            "format": _STATE_FORMAT,
            **self._settings(),
            "epoch": self.epoch,
            "batches": consumed,
            "complete": consumed >= len(self),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Makes the next iteration yield the rest of the saved epoch, in the uninterrupted order.

        A state saved at the end of an epoch resumes at the start of the next one, whatever the
        settings. Mid-epoch, the settings that fix the order must match, or a
        ``FailedPreconditionError`` says which differ.
        """
        if not isinstance(state, dict) or state.get("format") != _STATE_FORMAT:
            raise FailedPreconditionError(
                f"this is not an O3DataLoader state of format {_STATE_FORMAT} (keys: {sorted(state) if isinstance(state, dict) else type(state).__name__})"
            )
        if not state["complete"]:
            now = self._settings()
            differ = [f"{name} {state.get(name)!r} then, {now[name]!r} now" for name in _ORDER_FIELDS if state.get(name) != now[name]]
            if differ:
                raise FailedPreconditionError(
                    f"cannot resume epoch {state['epoch']} after batch {state['batches']}: the order of an epoch "
                    f"depends on settings that changed since the state was saved ({'; '.join(differ)}); resume with "
                    "the same settings, or from a checkpoint saved at the end of an epoch",
                    {"differ": differ},
                )
        self._pending = dict(state)
        self.epoch = int(state["epoch"])

    def _settings(self) -> dict[str, Any]:
        return {
            "dataset_cid": self.dataset.dataset_cid,
            "split": self.dataset.split,
            "shuffle_seed": self.dataset.shuffle_seed,
            "shuffle_buffer": self.dataset.shuffle_buffer,
            "batch_size": self._per_batch,
            "drop_last": self.drop_last,
            "num_workers": self.num_workers,
            "world_size": self.dataset.layout().world_size,
        }
