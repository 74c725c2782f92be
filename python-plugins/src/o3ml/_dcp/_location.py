"""What ``O3StorageWriter`` and ``O3StorageReader`` share: the client they reach the service with
and the ``o3://<bucket>/<dir>`` checkpoint id they stand for."""

from __future__ import annotations

import os

from .._client import O3Client
from .._o3_url import url_of
from .._shared_client import shared_client
from ._layout import is_o3_id


class O3Location:
    """Mixed into the storage writer and reader, which set ``_client``, ``bucket`` and ``key``."""

    _client: O3Client | None
    bucket: str
    key: str | None

    @property
    def client(self) -> O3Client:
        if self._client is None:
            self._client = shared_client()
        return self._client

    @property
    def checkpoint_id(self) -> str | None:
        """``o3://<bucket>/<dir>`` of the checkpoint, once one is set."""
        return url_of(self.key, self.bucket) if self.key is not None else None

    @classmethod
    def validate_checkpoint_id(cls, checkpoint_id: str | os.PathLike[str]) -> bool:
        return is_o3_id(checkpoint_id)
