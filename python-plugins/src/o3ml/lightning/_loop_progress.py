"""Lightning's loop progress counters: the one place o3ml reads or writes Lightning internals.

A Lightning checkpoint records, under ``loops``, how far the fit loop got: per epoch how many
were *ready*, *started*, *processed* and *completed*, and per batch of the current epoch the
same. Lightning 2.5 and 2.6 restart wrongly from a checkpoint saved on an epoch's last batch:
the resumed process never counts the next epoch as ready and started, so its counters lag by
one for the rest of the process, and every checkpoint it saves says "no epoch in progress"
while a batch is. Resuming from one of those restarts that epoch at batch 0 and trains past the
end (46-step epochs, checkpoints every 23 steps: a run resumed at step 92 and again at step 115
ends at step 161 instead of 138).

The counters are consistent when, inside a fit, the epoch of a running batch is counted as
started and not yet processed. ``repair_checkpoint`` mends a loaded checkpoint where they are
not (before Lightning restores its loops from it); ``repair_trainer`` mends a running trainer
the same way, so a resumed process saves consistent checkpoints again.

The format is Lightning's, not a public API: ``SUPPORTED_LIGHTNING`` names the minor versions
this module was checked against, and ``tests/unit/test_loop_progress.py`` checks the installed
one (it fails on a version not listed, until this module is checked against it). Lightning 2.4
is not listed: restarting from a checkpoint saved on an epoch's last batch, it trains that batch
a second time, which no repair of the counters undoes.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

SUPPORTED_LIGHTNING = ("2.5", "2.6")

_EPOCH = "epoch_progress"
_BATCH = "epoch_loop.batch_progress"


def repair_checkpoint(checkpoint: Any) -> bool:
    """Mends the fit loop's epoch counters in a loaded checkpoint; True when something changed."""
    fit = _mapping(_mapping(checkpoint).get("loops")).get("fit_loop")
    fit = _mapping(fit)
    epoch, batch = _mapping(fit.get(_EPOCH)), _mapping(fit.get(_BATCH))
    if not epoch or not batch:
        return False
    return _repair_progress(epoch, _mapping(batch.get("current")))


def repair_trainer(trainer: Any) -> bool:
    """Mends the running fit loop's epoch counters; True when something changed."""
    loop = trainer.fit_loop
    state = loop.epoch_progress.state_dict()
    if not _repair_progress(state, loop.epoch_loop.batch_progress.current.state_dict()):
        return False
    loop.epoch_progress.load_state_dict(state)
    return True


def saved_at_epoch_end(checkpoint: Any) -> bool:
    """True when the checkpoint was saved after the last batch of an epoch was fetched."""
    fit = _mapping(_mapping(_mapping(checkpoint).get("loops")).get("fit_loop"))
    return bool(_mapping(fit.get(_BATCH)).get("is_last_batch", False))


def _repair_progress(epoch: Mapping[str, Any], batch: Mapping[str, Any]) -> bool:
    # A batch is in flight when it was counted ready and not yet completed: the checkpoint was
    # saved from inside a training batch, so its epoch must count as started.
    in_flight = _int(batch.get("ready")) > _int(batch.get("completed"))
    changed = False
    for part in ("total", "current"):
        counters = epoch.get(part)
        if not isinstance(counters, MutableMapping):
            continue
        started, processed = _int(counters.get("started")), _int(counters.get("processed"))
        if processed > started:  # saved at an epoch's end by a lagging process
            target = processed
        elif in_flight and started == processed:  # saved mid-epoch by a lagging process
            target = processed + 1
        else:
            continue
        counters["started"] = target
        counters["ready"] = max(_int(counters.get("ready")), target)
        changed = True
    return changed


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else 0
