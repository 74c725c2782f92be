"""Latency samples and the figures the report needs from them (throughput, p50, p99)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any


@dataclass
class Measured:
    """``ops`` operations of ``nbytes`` each, ``wall`` seconds in all, one latency (s) per op."""

    ops: int
    nbytes: int
    wall: float
    latencies: list[float]

    def figures(self) -> dict[str, float]:
        ordered = sorted(self.latencies)
        return {
            "mibps": self.ops * self.nbytes / (1 << 20) / self.wall if self.wall > 0 else 0.0,
            "p50_ms": percentile(ordered, 50) * 1000,
            "p99_ms": percentile(ordered, 99) * 1000,
            "wall_s": self.wall,
        }


def percentile(ordered: list[float], p: float) -> float:
    """Linear interpolation between closest ranks, as tinybench computes it."""
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def measure(op: Callable[[int], Any], ops: int, nbytes: int, concurrency: int = 1) -> Measured:
    """Runs ``op(i)`` for i in range(ops), ``concurrency`` at a time, timing each and the whole."""
    latencies: list[float] = []

    def timed(i: int) -> None:
        t0 = time.perf_counter()
        op(i)
        latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    if concurrency <= 1:
        for i in range(ops):
            timed(i)
    else:
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(timed, range(ops)))
    return Measured(ops, nbytes, time.perf_counter() - start, latencies)
