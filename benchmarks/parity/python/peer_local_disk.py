"""The reference for dataset epochs: the very tar shards o3ml reads, read from local files with no
store at all (where ``o3ml dataset pull`` wrote them), by the same tar reader as the tar peers.
A cold epoch first drops the files' pages from the page cache (``POSIX_FADV_DONTNEED``), so it
reads the disk; a warm one reads what the cold one left cached, as a second epoch would."""

from __future__ import annotations

import os
from pathlib import Path

from peer_base import Fixture, Peer, Tally, Unsupported
from tar_samples import read_shards


class LocalDiskPeer(Peer):
    name = "local-disk"
    dataset_format = "WebDataset tar shards in local files (the same bytes, no store)"

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def prepare_epoch(self, fixture: Fixture) -> None:
        if not fixture.local_shards:
            raise Unsupported("no pulled tar shards on this host to read")
        self.paths = list(fixture.local_shards)

    def read_epoch(self, cold: bool) -> Tally:
        if cold:
            for path in self.paths:
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)
        return read_shards([str(p) for p in self.paths], lambda p: open(p, "rb"))  # noqa: SIM115 - read_shards closes it
