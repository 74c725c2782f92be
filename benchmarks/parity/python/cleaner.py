"""Deletes what a round wrote once it has been measured (see store_cleanup for why and how)."""

from __future__ import annotations

from peer_base import Endpoint, Peer
from store_cleanup import delete_keys


class Cleaner:
    def __init__(self, ep: Endpoint) -> None:
        from peer_boto3 import boto3_client

        self.ep = ep
        self.client = boto3_client(ep)

    def remove(self, peer: Peer, keys: list[str]) -> None:
        """A peer's objects, by key; o3ml's stay until the target stops (see store_cleanup)."""
        if peer.name != "o3ml":
            delete_keys(self.client, self.ep.bucket, keys)
