"""Datasets on O3: the samples of a pushed dataset version, streamed to PyTorch.

- ``O3ShardDataset``: a torch ``IterableDataset`` of one split, deterministic per (seed, epoch),
  partitioned across ranks and workers, shards prefetched in the background and verified.
- ``O3DataLoader``: its ``DataLoader``, with ``state_dict``/``load_state_dict`` for exact
  mid-epoch resume.
- ``ShardSource``: where versions and shard bytes come from; ``ServiceShardSource`` (the o3ml
  service, the default) and ``LocalShardSource`` (shard files in a folder) implement it.

Needs PyTorch (``pip install o3ml[lightning]``).
"""

from ._dataset import O3ShardDataset
from ._decode import IMAGE_EXTENSIONS
from ._loader import O3DataLoader
from ._local_source import LocalShardSource
from ._service_source import ServiceShardSource
from ._source import ShardSource
from ._split_index import DatasetVersion, SplitIndex, splits_of

__all__ = [
    "O3ShardDataset",
    "O3DataLoader",
    "ShardSource",
    "ServiceShardSource",
    "LocalShardSource",
    "DatasetVersion",
    "SplitIndex",
    "splits_of",
    "IMAGE_EXTENSIONS",
]
