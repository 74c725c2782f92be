"""Reading WebDataset tar shards as a peer without a dataset format of its own would: each shard
streamed once from the store through ``tarfile`` (as the ``webdataset`` library does), members
grouped into samples by key, a few shards in flight at once (as DataLoader workers would)."""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import IO

from peer_base import Tally

#: Shards read at once by each tar-reading peer (o3ml's dataset prefetches 2 shards ahead of the one it reads).
SHARDS_IN_FLIGHT = 4


def count_shard(stream: IO[bytes]) -> Tally:
    """The samples of one tar stream. A sample is the run of members sharing a key (the member
    path up to the first dot of its file name); its payload is every member but ``.cls``."""
    tally = Tally()
    last = None
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            if not member.isfile():
                continue
            head, _, name = member.name.rpartition("/")
            key, _, ext = name.partition(".")
            new = (head, key) != last
            last = (head, key)
            data = tar.extractfile(member)
            body = data.read() if data is not None else b""
            if ext != "cls":
                tally.add(body, new_sample=new)
            elif new:
                tally.samples += 1
    return tally


def read_shards(keys: list[str], open_shard: Callable[[str], IO[bytes]]) -> Tally:
    """The samples of every shard in ``keys``, ``SHARDS_IN_FLIGHT`` at a time."""

    def one(key: str) -> Tally:
        stream = open_shard(key)
        try:
            return count_shard(stream)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    with ThreadPoolExecutor(SHARDS_IN_FLIGHT) as pool:
        counts = list(pool.map(one, keys))
    total = Tally()
    for c in counts:
        total = total.merge(c)
    return total
