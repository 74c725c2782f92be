"""PyTorch Lightning on O3: checkpoints saved tensor-aware to O3, and runs resumed from it.

- ``O3CheckpointIO``: the CheckpointIO plugin; ``Trainer(plugins=[O3CheckpointIO()])`` with
  ``ModelCheckpoint(dirpath="o3://<bucket>/<dir>")`` saves every checkpoint through the o3ml
  service, so unchanged tensors cost no upload; ``async_save=True`` lets training go on while
  a checkpoint uploads.
- ``O3ResumeCallback(run="my-run")``: resumes the named run from its newest committed checkpoint,
  from any process (``fit(model)`` or ``fit(model, ckpt_path="last")``), or starts it; with it,
  a resume is exact: random generators and loop counters come back as they were.
  ``o3ml.select_checkpoint`` picks another one (by step, epoch, CID or best metric) for
  ``ckpt_path``; ``resolve_ckpt_path`` names the newest.
- ``O3DataModule``: the splits of a dataset version on O3 as dataloaders that resume mid-epoch
  exactly from a checkpoint.

Needs the ``lightning`` extra: ``pip install o3ml[lightning]``.
"""

try:
    import lightning.pytorch  # noqa: F401
    import torch  # noqa: F401
except ModuleNotFoundError as err:
    raise ImportError(
        f"o3ml.lightning needs PyTorch Lightning and PyTorch ({err.name} is not installed): "
        "pip install o3ml[lightning]"
    ) from err

from ._checkpoint_io import O3CheckpointIO
from ._datamodule import O3DataModule
from ._resume import O3ResumeCallback, resolve_ckpt_path

__all__ = [
    "O3CheckpointIO",
    "O3DataModule",
    "O3ResumeCallback",
    "resolve_ckpt_path",
]
