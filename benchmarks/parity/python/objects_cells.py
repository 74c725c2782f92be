"""Object put and get by size and concurrency: each round puts ``ops`` objects of fresh bytes
(stamped every 64 KiB, so o3ml's deduplication never helps it), then a get round reads them back."""

from __future__ import annotations

import os
import struct
from typing import Any

from cleaner import Cleaner
from peer_base import Endpoint, Peer
from repeats import Cell, Recorder, offering, run_cells
from timing import measure

MiB = 1 << 20
WORKFLOW = "objects (Python)"
STAMP_EVERY = 64 * 1024


def ops_per_round(size: int, concurrency: int, bytes_per_round: int) -> int:
    """Enough operations to move ``bytes_per_round``; at concurrency c at least 2c, so c are really in flight."""
    ops = max(1, -(-bytes_per_round // size))
    return ops if concurrency == 1 else max(ops, 2 * concurrency)


def stamped(base: bytes, serial: int) -> bytes:
    body = bytearray(base)
    for off in range(0, len(body) - 8, STAMP_EVERY):
        struct.pack_into("<II", body, off, serial, off // STAMP_EVERY)
    return bytes(body)


def slug(peer: Peer) -> str:
    return peer.name.split()[0]


def run(rec: Recorder, peers: list[Peer], ep: Endpoint, plan: dict[str, Any], rounds: tuple[int, int], cleaner: Cleaner) -> None:
    peers = offering(rec, peers, "put", [WORKFLOW], "no plain object put/get")
    serial = 0
    for size in plan["sizes"]:
        base = os.urandom(size)
        for conc in plan["concurrency"]:
            ops = ops_per_round(size, conc, plan["bytesPerRound"])
            label = f"{size / MiB:g} MiB, c={conc}"
            where = lambda peer, r: f"{ep.prefix}/py/{slug(peer)}/{size}-c{conc}/r{r}"  # noqa: E731
            keys = lambda peer, r: [f"{where(peer, r)}/{i}" for i in range(ops)]  # noqa: E731

            def figures(op: str, f: dict[str, float]) -> dict[Cell, float]:
                return {
                    Cell(WORKFLOW, f"py {op} {label}", "MiB/s", True): f["mibps"],
                    Cell(WORKFLOW, f"py {op} {label} p50", "ms", False, False): f["p50_ms"],
                    Cell(WORKFLOW, f"py {op} {label} p99", "ms", False, False): f["p99_ms"],
                }

            def put(peer: Peer, r: int) -> dict[Cell, float]:
                nonlocal serial
                bodies = []
                for _ in range(ops):
                    serial += 1
                    bodies.append(stamped(base, serial))
                names = keys(peer, r)
                return figures("put", measure(lambda i: peer.put(names[i], bodies[i]), ops, size, conc).figures())

            def get(peer: Peer, r: int) -> dict[Cell, float]:
                names = keys(peer, r)

                def one(i: int) -> None:
                    got = len(peer.get(names[i]))
                    if got != size:
                        raise AssertionError(f"get of {names[i]} returned {got} bytes, {size} were put")

                return figures("get", measure(one, ops, size, conc).figures())

            cells = list(figures("put", {"mibps": 0, "p50_ms": 0, "p99_ms": 0}))
            wrote = run_cells(rec, peers, cells, f"put {label}", rounds, put)
            for peer in peers:
                if peer not in wrote:
                    rec.missing(peer.name, WORKFLOW, f"get {label}", f"not measured: the put of the same cell failed ({peer.name})")
            cells = list(figures("get", {"mibps": 0, "p50_ms": 0, "p99_ms": 0}))
            run_cells(rec, wrote, cells, f"get {label}", rounds, get, after_peer=lambda peer, r: cleaner.remove(peer, keys(peer, r)))
            for peer in peers:
                if peer not in wrote:  # a failed put cell never reached the get rounds that delete
                    for r in range(sum(rounds)):
                        cleaner.remove(peer, keys(peer, r))
            cleaner.collect(f"py objects {label}")
            for peer in (p for p in peers if p not in wrote):
                for r in range(sum(rounds)):
                    cleaner.remove(peer, keys(peer, r))
