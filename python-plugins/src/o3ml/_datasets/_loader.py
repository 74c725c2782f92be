"""``O3DataLoader``: a torch ``DataLoader`` of an ``O3ShardDataset`` that resumes mid-epoch exactly.

Its state is (epoch, batches consumed). Resuming needs nothing else because the order is a
function of the epoch and the layout (batch size, workers, ranks), and a ``DataLoader`` takes
batches from its workers in a fixed round-robin: each worker re-derives how many batches it had
delivered and carries on from there, with the workers rotated so that the round-robin continues
where it stopped (``_order.resume_point``). Works with a plain ``DataLoader`` iterator, any
``num_workers``, and Lightning, which saves ``state_dict()`` of a training dataloader that has
one in its checkpoints and calls ``load_state_dict`` before iterating again.

Under DDP every rank must run the same number of steps: a rank with one batch more than the
others waits forever in its extra gradient all-reduce. The ranks' shares of a split differ by at
most one sample, and so their batch counts by at most one per worker; every rank works out the
batch count of each rank from the same numbers, and with ``even_batches`` (the default) stops the
epoch at the smallest, leaving the few samples beyond it unread that epoch (a warning says how
many). Workers start through a fork server when the dataset reads from the service (``_workers``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from torch.utils.data import DataLoader

from .._errors import FailedPreconditionError, InvalidArgumentError
from ._dataset import Iteration, O3ShardDataset
from ._order import Layout, batches_of, stream_lengths
from ._workers import explain_unpicklable, worker_context

__all__ = ["O3DataLoader"]

log = logging.getLogger(__name__)

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

    With several ranks, ``even_batches`` ends each rank's epoch at the batch count of the
    rank with the fewest, so DDP ranks step together (see the module's notes). Workers of a
    dataset read from the service start through a fork server unless ``multiprocessing_context``
    says otherwise: functions the workers need must then pickle.
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
        even_batches: bool = True,
        **kwargs: Any,
    ) -> None:
        if not isinstance(dataset, O3ShardDataset):
            raise InvalidArgumentError(f"O3DataLoader reads an O3ShardDataset, not {type(dataset).__name__}")
        if kwargs.get("persistent_workers"):
            raise InvalidArgumentError(
                "O3DataLoader cannot keep workers between epochs (persistent_workers=True): each epoch's "
                "workers must start from the dataset's epoch and position"
            )
        given = kwargs.pop("multiprocessing_context", None)
        context = worker_context(dataset.source, num_workers, given)
        self._fork_server = given is None and context is not None
        super().__init__(
            dataset, batch_size=batch_size, num_workers=num_workers, drop_last=drop_last, multiprocessing_context=context, **kwargs
        )
        self.even_batches = even_batches
        self._warned_uneven = False
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
        """Batches this rank yields in an epoch: each worker batches its own share of the samples.

        With ``even_batches`` and several ranks, the count of the rank with the fewest.
        """
        layout = self.dataset.layout(max(1, self.num_workers))
        if not self.even_batches or layout.world_size == 1:
            return self._batches_of(layout)
        return min(self._batches_of(Layout(rank, layout.world_size, layout.streams)) for rank in range(layout.world_size))

    def _batches_of(self, layout: Layout) -> int:
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
        limit = len(self)
        self._warn_if_uneven(limit)
        self.dataset.plan_next_iteration(Iteration(epoch, consumed, self._per_batch, self.drop_last, layout.rank, layout.world_size))
        try:
            inner = super().__iter__()
        except Exception as err:
            clearer = explain_unpicklable(err) if self._fork_server else None
            if clearer is not None:
                raise clearer from err
            raise
        finally:
            if self.num_workers > 0:
                # The workers took their copy of the plan when they started; the main process's copy is spent.
                self.dataset.plan_next_iteration(None)
        # With even_batches this rank may have more batches than it may yield: stop at the limit,
        # before asking the workers for one more.
        remaining = limit - consumed
        for batch in inner if remaining > 0 else ():
            self._handed_out += 1
            yield batch
            if self._handed_out >= remaining:
                break

    def _warn_if_uneven(self, limit: int) -> None:
        layout = self.dataset.layout(max(1, self.num_workers))
        mine = self._batches_of(layout)
        if mine > limit and not self._warned_uneven:
            self._warned_uneven = True
            log.warning(
                "rank %d of %d ends each epoch of %s after %d of its %d batches, so that every rank runs the same "
                "number of steps (a DDP rank with more would wait forever); the samples of its last %d batches "
                "are not read that epoch. A split of a multiple of ranks x workers x batch size samples loses none",
                layout.rank, layout.world_size, self.dataset.spec, limit, mine, mine - limit,
            )

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
