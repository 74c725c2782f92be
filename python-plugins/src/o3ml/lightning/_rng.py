"""The random number generators a training step draws from (Python, NumPy, torch CPU and CUDA).

Saved with every checkpoint and restored before the first batch of a resumed run, so dropout
and random augmentations draw the numbers the uninterrupted run drew. States are tensors and
plain values only: Lightning loads checkpoints with ``weights_only``.
"""

from __future__ import annotations

import random
from typing import Any

# numpy is there wherever Lightning is: Lightning's own seeding imports it.
import numpy as np
import torch

from .._errors import error_for_code


def capture() -> dict[str, Any]:
    state: dict[str, Any] = {"python": random.getstate(), "torch": torch.get_rng_state()}
    numpy_state = np.random.get_state(legacy=True)
    if not isinstance(numpy_state, tuple):
        # A dict comes only from a generator other than MT19937, which numpy's global one never is.
        raise error_for_code("INTERNAL", f"numpy's global random state is not MT19937's tuple: {type(numpy_state).__name__}")
    kind, keys, position, has_gauss, gauss = numpy_state
    state["numpy"] = {
        "kind": kind,
        "keys": torch.from_numpy(keys.astype("int64")),
        "pos": int(position),
        "has_gauss": int(has_gauss),
        "gauss": float(gauss),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore(state: dict[str, Any]) -> None:
    if "python" in state:
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
    if "torch" in state:
        torch.set_rng_state(state["torch"])
    saved = state.get("numpy")
    if isinstance(saved, dict):
        keys = saved["keys"].numpy().astype("uint32")
        np.random.set_state((saved["kind"], keys, saved["pos"], saved["has_gauss"], saved["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
