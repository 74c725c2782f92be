"""What a Lightning checkpoint says about itself, for the record the service keeps of it.

Everything is read from the checkpoint dict, because that is all a ``CheckpointIO`` is given
(and all that Lightning's ``AsyncCheckpointIO`` hands on, from another thread, later):

- step and epoch: ``global_step`` and ``epoch``;
- metrics: ``trainer.callback_metrics`` as ``O3ResumeCallback`` stored them under ``"o3ml"``
  when the checkpoint was made, plus each ``ModelCheckpoint``'s monitored score;
- the monitored metric and its mode, as the labels ``o3ml.monitor`` and ``o3ml.mode``;
- the dataset: the manifest CID (its content hash) and ``name@version`` (label ``o3ml.dataset``)
  from ``O3DataModule``'s state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch

#: The top-level checkpoint entry where o3ml's callback keeps what it adds.
O3ML_ENTRY = "o3ml"
MONITOR_LABEL = "o3ml.monitor"
MODE_LABEL = "o3ml.mode"
DATASET_LABEL = "o3ml.dataset"
# The service's limits: 256 metrics, names of at most 128 bytes.
_MAX_METRICS = 256
_MAX_NAME_BYTES = 128
# ModelCheckpoint's state key spells out its arguments: "ModelCheckpoint{'monitor': 'val_loss', 'mode': 'min', ...}".
_MODE_IN_STATE_KEY = re.compile(r"'mode': '(min|max)'")


def scalar_metrics(values: Mapping[str, Any]) -> dict[str, float]:
    """The numeric scalars of ``values`` (tensors of one element, ints, floats) as floats."""
    metrics: dict[str, float] = {}
    for name, value in values.items():
        if isinstance(value, torch.Tensor):
            if value.numel() != 1:
                continue
            value = value.detach().cpu().item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not isinstance(name, str) or not name or len(name.encode()) > _MAX_NAME_BYTES:
            continue
        metrics[name] = float(value)
    return metrics


def checkpoint_metrics(checkpoint: Mapping[str, Any]) -> dict[str, float]:
    """The callback metrics stored with the checkpoint, completed by the monitored scores."""
    entry = checkpoint.get(O3ML_ENTRY)
    metrics = dict(entry.get("metrics", {})) if isinstance(entry, Mapping) else {}
    for name, score in monitored_metrics(checkpoint).items():
        metrics.setdefault(name, score)
    return dict(sorted(metrics.items())[:_MAX_METRICS])


def monitored_metrics(checkpoint: Mapping[str, Any]) -> dict[str, float]:
    """The metric each ModelCheckpoint monitors, with the value it had for this save."""
    metrics: dict[str, float] = {}
    for _, state in _model_checkpoint_states(checkpoint):
        score = state.get("current_score")
        if isinstance(score, (torch.Tensor, int, float)) and not isinstance(score, bool):
            metrics[state["monitor"]] = float(score)
    return metrics


def monitor_labels(checkpoint: Mapping[str, Any], dirpath: str) -> dict[str, str]:
    """``o3ml.monitor`` and ``o3ml.mode`` of the ModelCheckpoint saving into ``dirpath``."""
    states = _model_checkpoint_states(checkpoint)
    mine = [(k, s) for k, s in states if str(s.get("dirpath") or "").rstrip("/") == dirpath.rstrip("/")]
    chosen = mine or states
    if len({s["monitor"] for _, s in chosen}) != 1:
        return {}  # several monitors save into one folder: none of them is this checkpoint's alone
    key, state = chosen[0]
    labels = {MONITOR_LABEL: state["monitor"]}
    mode = _MODE_IN_STATE_KEY.search(key)
    if mode:
        labels[MODE_LABEL] = mode.group(1)
    return labels


def dataset_of(checkpoint: Mapping[str, Any]) -> tuple[str, str]:
    """(manifest CID, ``name@version``) of the dataset an ``O3DataModule`` recorded; ("", "") when none."""
    for value in checkpoint.values():
        if isinstance(value, Mapping) and isinstance(value.get("dataset_cid"), str) and value.get("dataset_cid"):
            spec = value.get("dataset")
            return value["dataset_cid"], spec if isinstance(spec, str) else ""
    return "", ""


def _model_checkpoint_states(checkpoint: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    callbacks = checkpoint.get("callbacks")
    found = []
    for key, state in callbacks.items() if isinstance(callbacks, Mapping) else ():
        if isinstance(state, Mapping) and isinstance(state.get("monitor"), str):
            found.append((str(key), state))
    return found
