"""o3ml: Akave O3 as the primary storage of PyTorch Lightning training.

``O3Client`` streams named objects of any size through the o3ml storage service
(``o3ml serve``, or one o3ml starts for ``O3ML_HOME``) over a ``Connection``, which every API given the client shares;
every failure is an ``O3mlError`` subclass named after its code in ``proto/o3ml/v1/errors.proto``.
The names that need PyTorch (datasets and ``torch.distributed.checkpoint`` storage) load on
first use.
"""

import importlib
from typing import TYPE_CHECKING

from ._checkpoint_info import CheckpointInfo, VerifyResult
from ._checkpoint_select import CheckpointPath, select_checkpoint
from ._checkpoints import (
    export_checkpoint,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
    stat_checkpoint,
    verify_checkpoint,
)
from ._client import O3Client
from ._connection import Connection
from ._errors import (
    AbortedError,
    AlreadyExistsError,
    CancelledError,
    DeadlineExceededError,
    FailedPreconditionError,
    IntegrityError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    O3mlError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
    UnimplementedError,
)
from ._dataset_methods import DatasetVersionInfo
from ._dataset_push import PushResult, push_dataset
from ._metadata import RunInfo
from ._object_info import ObjectInfo
from ._retention import PrunedCheckpoint, PruneResult, Retention, pin_checkpoint, prune_checkpoints, unpin_checkpoint
from ._storage_usage import KeyCounts, StorageUsage

__all__ = [
    "O3Client",
    "Connection",
    "O3ShardDataset",
    "O3DataLoader",
    "O3StorageWriter",
    "O3StorageReader",
    "RunInfo",
    "DatasetVersionInfo",
    "push_dataset",
    "PushResult",
    "ObjectInfo",
    "StorageUsage",
    "KeyCounts",
    "CheckpointInfo",
    "VerifyResult",
    "save_checkpoint",
    "load_checkpoint",
    "stat_checkpoint",
    "list_checkpoints",
    "latest_checkpoint",
    "select_checkpoint",
    "CheckpointPath",
    "verify_checkpoint",
    "export_checkpoint",
    "Retention",
    "PruneResult",
    "PrunedCheckpoint",
    "prune_checkpoints",
    "pin_checkpoint",
    "unpin_checkpoint",
    "O3mlError",
    "InvalidArgumentError",
    "NotFoundError",
    "AlreadyExistsError",
    "UnauthenticatedError",
    "PermissionDeniedError",
    "FailedPreconditionError",
    "IntegrityError",
    "UnavailableError",
    "ResourceExhaustedError",
    "AbortedError",
    "CancelledError",
    "DeadlineExceededError",
    "UnimplementedError",
    "InternalError",
]

# The dataset classes and the distributed-checkpoint storage need PyTorch, which the base install
# does not: they load on first use, so `import o3ml` works without it (and without importing
# torch.distributed), and `from o3ml import O3ShardDataset` says what to install.
if TYPE_CHECKING:  # a type checker sees their classes; at run time __getattr__ below loads them
    from ._datasets import O3DataLoader, O3ShardDataset
    from ._dcp import O3StorageReader, O3StorageWriter

_LAZY_MODULES = {
    "O3ShardDataset": "_datasets",
    "O3DataLoader": "_datasets",
    "O3StorageWriter": "_dcp",
    "O3StorageReader": "_dcp",
}


def __dir__() -> list[str]:
    # The lazily loaded names are public too: dir(o3ml) and tab completion list them before first use.
    return sorted(set(globals()) | set(__all__))


def __getattr__(name: str) -> object:
    module = _LAZY_MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'o3ml' has no attribute {name!r}")
    try:
        loaded = importlib.import_module(f".{module}", __name__)
    except ModuleNotFoundError as err:
        if err.name is None or err.name.partition(".")[0] not in ("torch", "numpy"):
            raise
        raise ImportError(f"o3ml.{name} needs PyTorch ({err.name} is not installed): pip install o3ml[lightning]") from err
    return getattr(loaded, name)
