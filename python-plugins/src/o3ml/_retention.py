"""Retention of checkpoints: prune a run by rules, pin checkpoints (``CheckpointService.Prune``, ``Pin``, ``Unpin``).

The service decides and deletes (services/storage/src/checkpoints/retention.ts owns the rules and
their checks), so ``o3ml ckpt prune``, these functions and ``O3CheckpointIO(retention=...)`` keep
exactly the same checkpoints. This module only shapes the request and the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Union

from ._checkpoint_info import CheckpointInfo
from ._checkpoints import checkpoint_selector, checkpoint_call
from ._connection import connection_of
from ._errors import error_for_code
from .gen import checkpoint_service_pb2 as pb

if TYPE_CHECKING:
    from ._checkpoints import ClientLike

#: One best-by-metric rule: (count, metric, "min" or "max"), e.g. ``(2, "val_loss", "min")``.
KeepBest = tuple[int, str, str]
#: One every-N rule: (N, "step" or "epoch"), e.g. ``(5, "epoch")``.
KeepEvery = tuple[int, str]
Duration = Union[str, timedelta]


@dataclass(frozen=True)
class Retention:
    """Which checkpoints of a run to keep; a checkpoint stays when ANY rule keeps it.

    ``keep_last``: the newest N. ``keep_best``: the best K by a metric recorded with each
    checkpoint, ``(K, metric, "min" | "max")``, or a list of such rules. ``keep_every``: the first
    checkpoint of each span of N steps or epochs, ``(N, "step" | "epoch")``. ``keep_within``: what
    was committed less than this long ago, ``"24h"`` (a whole number and s, m, h or d) or a
    ``timedelta`` of whole seconds. Whatever the rules, the run's newest checkpoint, pinned
    checkpoints and those another run's kept checkpoint was resumed from always stay. At least one
    rule must be given: pruning all but the newest is said explicitly, ``keep_last=1``.
    """

    keep_last: int = 0
    keep_best: KeepBest | Sequence[KeepBest] = ()
    keep_every: KeepEvery | None = None
    keep_within: Duration | None = None
    _best: tuple[KeepBest, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        best = self.keep_best
        rules = [best] if isinstance(best, tuple) and len(best) == 3 and isinstance(best[1], str) else list(best)
        for rule in rules:
            if not (isinstance(rule, tuple) and len(rule) == 3 and isinstance(rule[0], int) and isinstance(rule[1], str)):
                raise error_for_code(
                    "INVALID_ARGUMENT", f"keep_best={best!r}: give (count, metric, 'min' or 'max'), e.g. (2, 'val_loss', 'min'), or a list of them"
                )
        if self.keep_every is not None and not (
            isinstance(self.keep_every, tuple) and len(self.keep_every) == 2 and isinstance(self.keep_every[0], int)
        ):
            raise error_for_code("INVALID_ARGUMENT", f"keep_every={self.keep_every!r}: give (N, 'step') or (N, 'epoch'), e.g. (5, 'epoch')")
        object.__setattr__(self, "_best", tuple(rules))
        # Also checked by the service; here too, so a Trainer fails at its start, not after its first save.
        if not (self.keep_last or rules or self.keep_every is not None or self.keep_within is not None):
            raise error_for_code(
                "INVALID_ARGUMENT",
                "Retention() without a rule would remove everything but the newest checkpoint; give keep_last, keep_best, "
                "keep_every or keep_within (to keep only the newest, say so: keep_last=1)",
            )

    def apply(self, client: ClientLike, run: str, *, dry_run: bool = False) -> PruneResult:
        """Prunes ``run`` by these rules (``prune_checkpoints``)."""
        return _prune(client, self.request(run, dry_run=dry_run))

    def request(self, run: str, *, dry_run: bool = False) -> pb.PruneRequest:
        """The PruneRequest of these rules for ``run``.

        Only what the wire cannot carry (a negative count) is refused here; the service checks
        the rest (modes, units, durations, that a rule is given) for every client alike.
        """
        if isinstance(self.keep_last, bool) or not isinstance(self.keep_last, int) or self.keep_last < 0:
            raise error_for_code("INVALID_ARGUMENT", f"keep_last={self.keep_last!r}: give a whole number >= 1 (0: no such rule)")
        for count, metric, _mode in self._best:
            if count < 1:
                raise error_for_code("INVALID_ARGUMENT", f"keep_best count {count} for {metric!r}: give a whole number >= 1")
        if self.keep_every is not None and self.keep_every[0] < 1:
            raise error_for_code("INVALID_ARGUMENT", f"keep_every={self.keep_every!r}: N must be a whole number >= 1")
        return pb.PruneRequest(
            run=run,
            keep_last=self.keep_last,
            keep_best=[pb.KeepBest(count=count, metric=metric, mode=mode) for count, metric, mode in self._best],
            keep_every=pb.KeepEvery(every=self.keep_every[0], unit=self.keep_every[1]) if self.keep_every else None,
            keep_within=_duration(self.keep_within),
            dry_run=dry_run,
        )


def _duration(value: Duration | None) -> str:
    if value is None:
        return ""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        if seconds != int(seconds) or seconds < 0:
            raise error_for_code("INVALID_ARGUMENT", f"keep_within={value!r}: give a whole, non-negative number of seconds")
        return f"{int(seconds)}s"
    return value


@dataclass(frozen=True)
class PrunedCheckpoint:
    """One checkpoint a prune looked at: ``removed`` (or, in a dry run, would be), else ``reasons`` it stays."""

    info: CheckpointInfo
    removed: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class PruneResult:
    """What a prune decided for every checkpoint of ``run`` (its id) not deleted before, in commit order."""

    run: str
    dry_run: bool
    checkpoints: tuple[PrunedCheckpoint, ...]

    @property
    def kept(self) -> list[PrunedCheckpoint]:
        return [c for c in self.checkpoints if not c.removed]

    @property
    def removed(self) -> list[CheckpointInfo]:
        return [c.info for c in self.checkpoints if c.removed]


def prune_checkpoints(
    client: ClientLike,
    run: str,
    *,
    keep_last: int = 0,
    keep_best: KeepBest | Sequence[KeepBest] = (),
    keep_every: KeepEvery | None = None,
    keep_within: Duration | None = None,
    dry_run: bool = False,
) -> PruneResult:
    """Deletes the checkpoints of ``run`` (an id, or a registered run's name) that no rule keeps.

    The rules are those of ``Retention`` (a checkpoint stays when any keeps it; the newest, pinned
    checkpoints and those another run resumed from always stay), e.g.
    ``prune_checkpoints(client, "my-run", keep_last=2, keep_best=(1, "val_loss", "min"))``.
    Each checkpoint goes as ``O3Client.delete`` deletes its key (a tombstone); ``o3ml gc``
    reclaims the data only it named. ``dry_run`` decides and deletes nothing. Raises
    ``InvalidArgumentError`` when no rule is given or a rule is malformed, ``NotFoundError`` when
    the run has no checkpoints.
    """
    retention = Retention(keep_last=keep_last, keep_best=keep_best, keep_every=keep_every, keep_within=keep_within)
    return retention.apply(client, run, dry_run=dry_run)


def _prune(client: ClientLike, request: pb.PruneRequest) -> PruneResult:
    response: pb.PruneResponse = checkpoint_call(connection_of(client), "Prune", request, pb.PruneResponse)
    return PruneResult(
        run=response.run,
        dry_run=response.dry_run,
        checkpoints=tuple(
            PrunedCheckpoint(CheckpointInfo.from_proto(c.info), c.removed, tuple(c.reasons)) for c in response.checkpoints
        ),
    )


def pin_checkpoint(client: ClientLike, key: str | None = None, *, cid: str | None = None) -> CheckpointInfo:
    """Pins a committed checkpoint (by key or by id): every prune keeps it until it is unpinned.

    Pins are stored in the bucket, so every service on it sees them and an index rebuild keeps
    them. ``FailedPreconditionError`` when the checkpoint was deleted.
    """
    response: pb.PinResponse = checkpoint_call(connection_of(client), "Pin", pb.PinRequest(checkpoint=checkpoint_selector(key, cid)), pb.PinResponse)
    return CheckpointInfo.from_proto(response.info)


def unpin_checkpoint(client: ClientLike, key: str | None = None, *, cid: str | None = None) -> CheckpointInfo:
    """Unpins a checkpoint (by key or by id): the prune rules alone then decide whether it stays."""
    response: pb.PinResponse = checkpoint_call(connection_of(client), "Unpin", pb.PinRequest(checkpoint=checkpoint_selector(key, cid)), pb.PinResponse)
    return CheckpointInfo.from_proto(response.info)


class RetentionMethods:
    """Pruning and pins as methods of a client (``O3Client`` mixes this in)."""

    def prune_checkpoints(
        self,
        run: str,
        *,
        keep_last: int = 0,
        keep_best: KeepBest | Sequence[KeepBest] = (),
        keep_every: KeepEvery | None = None,
        keep_within: Duration | None = None,
        dry_run: bool = False,
    ) -> PruneResult:
        return prune_checkpoints(
            self._client(), run, keep_last=keep_last, keep_best=keep_best, keep_every=keep_every, keep_within=keep_within, dry_run=dry_run
        )

    def pin_checkpoint(self, key: str | None = None, *, cid: str | None = None) -> CheckpointInfo:
        return pin_checkpoint(self._client(), key, cid=cid)

    def unpin_checkpoint(self, key: str | None = None, *, cid: str | None = None) -> CheckpointInfo:
        return unpin_checkpoint(self._client(), key, cid=cid)

    def _client(self) -> ClientLike:
        return self  # type: ignore[return-value]


# As CheckpointMethods: help(O3Client) shows the functions' docstrings, kept in one place.
RetentionMethods.prune_checkpoints.__doc__ = prune_checkpoints.__doc__
RetentionMethods.pin_checkpoint.__doc__ = pin_checkpoint.__doc__
RetentionMethods.unpin_checkpoint.__doc__ = unpin_checkpoint.__doc__
