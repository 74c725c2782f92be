"""The order of an epoch, and where a resumed epoch picks up. Pure functions of numbers.

Every reader of a split (each rank, and each data-loader worker of a rank) derives the same
epoch order from ``(seed, epoch)`` alone, with no coordination:

1. The split's shards are shuffled (seeded by seed and epoch); their samples, in manifest order
   within each shard, form the epoch's sequence of N samples.
2. Rank ``r`` of ``R`` takes the contiguous slice ``[N*r//R, N*(r+1)//R)`` of it, and worker ``w``
   of ``W`` the same-rule slice of its rank's slice: the parts are disjoint, cover the sequence,
   differ in size by at most one sample, and each touches few shards.
3. Each worker's slice ("stream") goes through a bounded shuffle buffer seeded by seed, epoch,
   rank and worker (WebDataset's buffer shuffle, including its small initial fill), which mixes
   samples across nearby shards while only a few shards are read at a time.

With ``seed=None`` nothing is shuffled: the manifest order, every epoch.

The order is computed on sample numbers before any byte is read, which is what makes exact
resume cheap: a resumed stream drops the samples it already delivered and fetches only the
shards the rest needs. ``resume_point`` works out how many batches each worker had delivered
from the number of batches the trainer consumed, because a ``DataLoader`` takes batches from its
workers in a fixed round-robin.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["INITIAL_BUFFER", "Layout", "batches_of", "buffer_shuffle", "resume_point", "shard_order", "stream_lengths", "stream_sequence"]

#: Items the shuffle buffer holds before it emits its first one.
INITIAL_BUFFER = 100


@dataclass(frozen=True)
class Layout:
    """Who reads the epoch: this process's rank of ``world_size``, and its number of streams.

    ``streams`` is the data loader's ``num_workers``, or 1 when the main process reads.
    """

    rank: int = 0
    world_size: int = 1
    streams: int = 1

    def __post_init__(self) -> None:
        if self.world_size < 1 or not 0 <= self.rank < self.world_size:
            raise ValueError(f"rank {self.rank} is not one of the world_size {self.world_size} ranks")
        if self.streams < 1:
            raise ValueError(f"a layout needs at least one stream, not {self.streams}")


def _rng(*parts: object) -> random.Random:
    # A digest of every part, so nearby seeds and epochs give unrelated orders.
    text = "/".join(str(p) for p in ("o3ml-order-v1", *parts))
    return random.Random(int.from_bytes(hashlib.sha256(text.encode()).digest()[:16], "big"))


def shard_order(num_shards: int, seed: int | None, epoch: int) -> list[int]:
    """The epoch's order of the split's shards (positions in manifest order)."""
    order = list(range(num_shards))
    if seed is not None:
        _rng("shards", seed, epoch).shuffle(order)
    return order


def _bounds(total: int, parts: int, index: int) -> tuple[int, int]:
    return total * index // parts, total * (index + 1) // parts


def _stream_bounds(total: int, layout: Layout, stream: int) -> tuple[int, int]:
    rank_lo, rank_hi = _bounds(total, layout.world_size, layout.rank)
    lo, hi = _bounds(rank_hi - rank_lo, layout.streams, stream)
    return rank_lo + lo, rank_lo + hi


def stream_lengths(total: int, layout: Layout) -> list[int]:
    """Samples each stream of ``layout`` reads in an epoch of ``total`` samples."""
    return [hi - lo for lo, hi in (_stream_bounds(total, layout, s) for s in range(layout.streams))]


def stream_sequence(
    counts: Sequence[int],
    seed: int | None,
    epoch: int,
    buffer: int,
    layout: Layout,
    stream: int,
) -> list[int]:
    """The global sample numbers stream ``stream`` yields in the epoch, in order.

    ``counts[k]`` is the number of samples of shard ``k``; sample ``i`` of shard ``k`` is
    ``sum(counts[:k]) + i``.
    """
    starts = [0]
    for n in counts:
        starts.append(starts[-1] + n)
    lo, hi = _stream_bounds(starts[-1], layout, stream)
    sequence: list[int] = []
    position = 0
    for k in shard_order(len(counts), seed, epoch):
        n = counts[k]
        a, b = max(lo, position), min(hi, position + n)
        if a < b:
            sequence.extend(range(starts[k] + a - position, starts[k] + b - position))
        position += n
        if position >= hi:
            break
    if seed is None or buffer <= 1:
        return sequence
    rng = _rng("samples", seed, epoch, layout.rank, layout.world_size, stream, layout.streams)
    return buffer_shuffle(sequence, buffer, rng)


def buffer_shuffle(items: Sequence[int], size: int, rng: random.Random, initial: int = INITIAL_BUFFER) -> list[int]:
    """WebDataset's shuffle: emit a random member of a buffer of up to ``size`` items per item admitted.

    The buffer starts emitting once it holds ``initial`` items and then grows by one item per
    item emitted until it holds ``size`` (WebDataset's ``initial``), so the first batch needs
    only the first shard or two, not ``size`` samples' worth of shards.
    """
    initial = max(1, min(initial, size))
    out: list[int] = []
    buf: list[int] = []
    source = iter(items)
    for item in source:
        buf.append(item)
        if len(buf) < size:
            extra = next(source, None)
            if extra is not None:
                buf.append(extra)
        if len(buf) < initial:
            continue
        k = rng.randrange(len(buf))
        buf[k], buf[-1] = buf[-1], buf[k]
        out.append(buf.pop())
    rng.shuffle(buf)
    out.extend(buf)
    return out


def batches_of(samples: int, batch_size: int, drop_last: bool) -> int:
    """Batches a worker makes of ``samples`` (each worker batches only its own samples)."""
    return samples // batch_size if drop_last else -(-samples // batch_size)


def resume_point(batches: Sequence[int], consumed: int) -> tuple[list[int], int]:
    """After ``consumed`` batches: how many each stream had delivered, and which stream is next.

    A ``DataLoader`` with W workers yields their batches in turn, worker 0, 1, ..., W-1, 0, ...,
    skipping workers that have run out (torch's multi-process iterator, ``in_order=True``), so
    the split of ``consumed`` between workers follows from each worker's batch count. Resuming,
    worker ``j`` of the new loader serves stream ``(next + j) % W``: the round-robin then
    continues exactly where it stopped.
    """
    delivered = [0] * len(batches)
    left = min(consumed, sum(batches))
    while left:
        active = [s for s, n in enumerate(batches) if delivered[s] < n]
        rounds = min(batches[s] - delivered[s] for s in active)
        if left >= rounds * len(active):
            # Whole rounds end where they began, at the first stream.
            for s in active:
                delivered[s] += rounds
            left -= rounds * len(active)
            continue
        whole, part = divmod(left, len(active))
        for s in active:
            delivered[s] += whole
        for s in active[:part]:
            delivered[s] += 1
        return delivered, active[part]
    return delivered, 0
