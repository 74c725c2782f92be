"""torch.distributed.checkpoint on O3: a StorageWriter and a StorageReader for ``o3://`` folders.

- ``O3StorageWriter``: ``dcp.save(state_dict, storage_writer=O3StorageWriter("o3://<bucket>/<dir>"))``
  from any number of ranks; each rank's items go up as one o3ml checkpoint, tensor by tensor,
  so unchanged tensors cost no upload.
- ``O3StorageReader``: ``dcp.load(state_dict, storage_reader=O3StorageReader("o3://<bucket>/<dir>"))``
  with the same or another number of ranks; each rank reads only the bytes it needs.

Needs PyTorch (``pip install o3ml[lightning]``). ``_layout`` describes what is stored.
"""

from ._layout import ItemLocation
from ._reader import O3StorageReader
from ._writer import O3StorageWriter

__all__ = ["O3StorageWriter", "O3StorageReader", "ItemLocation"]
