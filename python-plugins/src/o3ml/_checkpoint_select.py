"""Choosing the checkpoint of a run to restore: by step, epoch, CID, best metric, or the newest.

``select_checkpoint`` returns a ``CheckpointPath``: the ``o3://`` URL of the checkpoint's key,
so it can be passed to ``trainer.fit(ckpt_path=...)`` as it is, carrying the checkpoint's info;
``O3CheckpointIO`` then loads exactly that checkpoint (by its CID), even if the key has been
saved over since.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from ._checkpoint_info import CheckpointInfo
from ._checkpoints import list_checkpoints, stat_checkpoint
from ._errors import error_for_code
from ._o3_url import service_bucket, url_of

if TYPE_CHECKING:
    from ._checkpoints import ClientLike

_LIVE_STATES = ("committed", "durable")


class CheckpointPath(str):
    """``o3://<bucket>/<key>`` of one checkpoint; ``info`` says which (its ``cid`` is its identity)."""

    info: CheckpointInfo

    def __new__(cls, url: str, info: CheckpointInfo) -> CheckpointPath:
        path = super().__new__(cls, url)
        path.info = info
        return path

    def __reduce__(self) -> tuple[object, ...]:
        return (CheckpointPath, (str(self), self.info))


def select_checkpoint(
    run: str | None = None,
    *,
    step: int | None = None,
    epoch: int | None = None,
    cid: str | None = None,
    best: str | None = None,
    mode: Literal["min", "max"] = "min",
    prefix: str = "",
    client: ClientLike | None = None,
    bucket: str | None = None,
) -> CheckpointPath:
    """One committed checkpoint of ``run`` (a run name or id), as a path for ``ckpt_path``.

    ``step`` and ``epoch`` keep the checkpoints saved at that step or in that epoch; ``cid``
    names one checkpoint; ``best`` takes the checkpoint with the lowest (``mode="min"``) or
    highest (``"max"``) recorded value of that metric; ``prefix`` keeps keys under it. Of what
    is left, the most recently committed wins. ``NotFoundError`` says what the run has when
    nothing matches.
    """
    if mode not in ("min", "max"):
        raise ValueError(f"mode is 'min' or 'max', not {mode!r}")
    if run is None and cid is None and not prefix:
        raise TypeError("name the run (select_checkpoint('my-run', ...)), a checkpoint cid, or a key prefix")
    if client is None:
        from ._shared_client import shared_client

        client = shared_client()
    if run is None and cid is not None:
        candidates = [stat_checkpoint(client, cid=cid)]
    else:
        candidates = list_checkpoints(client, run, prefix)
    candidates = [c for c in candidates if c.state in _LIVE_STATES and c.key.startswith(prefix)]
    what = f"run {run!r}" if run is not None else f"checkpoints under {prefix!r}" if prefix else f"checkpoint {cid}"
    if not candidates:
        raise error_for_code("NOT_FOUND", f"{what} has no committed checkpoint (`o3ml ckpt ls --run NAME` lists what there is)")
    chosen = _choose(candidates, what, step=step, epoch=epoch, cid=cid, best=best, mode=mode)
    return CheckpointPath(url_of(chosen.key, bucket or service_bucket()), chosen)


def _choose(
    candidates: list[CheckpointInfo], what: str, *, step: int | None, epoch: int | None, cid: str | None, best: str | None, mode: str
) -> CheckpointInfo:
    kept = candidates
    for name, value, attribute in (("cid", cid, "cid"), ("step", step, "step"), ("epoch", epoch, "epoch")):
        if value is None:
            continue
        matching = [c for c in kept if getattr(c, attribute) == value]
        if not matching:
            seen = ", ".join(str(v) for v in sorted({getattr(c, attribute) for c in kept}))
            raise error_for_code("NOT_FOUND", f"{what} has no committed checkpoint with {name} {value}; it has {name}s {seen}")
        kept = matching
    newest = lambda c: (c.created, c.step)  # noqa: E731
    if best is None:
        return max(kept, key=newest)
    scored = [c for c in kept if best in c.metrics and not math.isnan(c.metrics[best])]
    if not scored:
        recorded = ", ".join(sorted({m for c in kept for m in c.metrics})) or "none"
        raise error_for_code("NOT_FOUND", f"no checkpoint of {what} records metric {best!r}; the metrics recorded are: {recorded}")
    sign = 1.0 if mode == "min" else -1.0
    top = min(sign * c.metrics[best] for c in scored)
    return max((c for c in scored if sign * c.metrics[best] == top), key=newest)
