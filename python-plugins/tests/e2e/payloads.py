"""Test data: unique pseudo-random bytes, fast enough to be made while streaming."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

MiB = 1024 * 1024


def random_bytes(size: int, seed: int) -> bytes:
    return np.random.default_rng(seed).bytes(size)


def pseudo_random_stream(total: int, seed: int, piece: int = 2 * MiB) -> Iterator[bytes]:
    """`total` bytes made piece by piece, none kept: a random pool XOR a per-piece key.

    Every piece differs from every other (the key differs), so nothing deduplicates, and the
    stream costs a few memory copies per byte instead of a random generator's time.
    """
    rng = np.random.default_rng(seed)
    words = piece // 8
    pool = rng.integers(0, 2**64, size=8 * words, dtype=np.uint64).reshape(8, words)
    keys = rng.integers(1, 2**64, size=1 << 16, dtype=np.uint64)
    sent, index = 0, 0
    while sent < total:
        block = pool[index % 8] ^ keys[index % len(keys)] ^ np.uint64(index)
        data = block.tobytes()[: total - sent]
        sent += len(data)
        index += 1
        yield data
