"""How every Python cell is measured: one warm-up round that is thrown away, then ``repeats``
rounds; in each round every peer runs the cell once, o3ml and the peers in alternating order
(forward in even rounds, reversed in odd ones), so no side always runs first or last while the
host's load drifts. The raw value of every round is kept; the report takes median and IQR.

A peer that fails a cell (in the warm-up or any round) is out of that cell, with the whole error
as the reason; a peer without such a path is recorded as not offering it. Either way the report
names it: no peer silently misses a workflow.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from peer_base import Peer, Unsupported


@dataclass(frozen=True)
class Cell:
    """One figure of one side: ``workflow`` groups cells in the summary; only ``primary`` cells
    (time or throughput, one per cell) count there, the others (latency percentiles, rates
    derived from the same run) are shown beside them."""

    workflow: str
    metric: str
    unit: str
    higher: bool
    primary: bool = True


def describe(err: BaseException) -> str:
    """The whole error: type, message and every chained cause, on one line per exception."""
    parts: list[str] = []
    seen: set[int] = set()
    e: BaseException | None = err
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        parts.append(f"{type(e).__name__}: {e}".strip())
        parts.extend(getattr(e, "__notes__", []) or [])
        e = e.__cause__ or (None if e.__suppress_context__ else e.__context__)
    return " | caused by: ".join(parts)


class Recorder:
    def __init__(self) -> None:
        self.values: dict[tuple[str, Cell], list[float]] = {}
        self.notes: dict[tuple[str, Cell], str] = {}
        self.unavailable: list[dict[str, str]] = []

    def add(self, peer: str, cell: Cell, value: float) -> None:
        self.values.setdefault((peer, cell), []).append(value)

    def note(self, peer: str, cell: Cell, note: str) -> None:
        self.notes[(peer, cell)] = note

    def missing(self, peer: str, workflow: str, what: str, err: BaseException | str) -> None:
        offered = not isinstance(err, Unsupported)
        reason = err if isinstance(err, str) else describe(err) if offered else str(err)
        self.unavailable.append({"peer": peer, "workflow": workflow, "what": what, "reason": reason, "kind": "failed" if offered else "not offered"})
        print(f"[harness]   {peer}: {what}: {'FAILED' if offered else 'not offered'}: {reason[:400]}", file=sys.stderr, flush=True)

    def results(self) -> list[dict[str, Any]]:
        return [
            {
                "peer": peer,
                "workflow": cell.workflow,
                "metric": cell.metric,
                "unit": cell.unit,
                "higherIsBetter": cell.higher,
                "primary": cell.primary,
                "values": values,
                **({"note": self.notes[(peer, cell)]} if (peer, cell) in self.notes else {}),
            }
            for (peer, cell), values in self.values.items()
        ]


def in_order(peers: Sequence[Peer], round_index: int) -> list[Peer]:
    return list(peers) if round_index % 2 == 0 else list(reversed(peers))


def run_cells(
    rec: Recorder,
    peers: Sequence[Peer],
    cells: Sequence[Cell],
    what: str,
    rounds: tuple[int, int],
    body: Callable[[Peer, int], dict[Cell, float]],
    before_round: Callable[[int], None] | None = None,
    after_peer: Callable[[Peer, int], None] | None = None,
) -> list[Peer]:
    """Runs ``body(peer, round)`` for warm-up + repeats rounds; ``body`` returns the figures of
    ``cells`` it measured. Returns the peers that completed every round."""
    warmup, repeats = rounds
    out: set[int] = set()
    for r in range(warmup + repeats):
        if before_round is not None:
            before_round(r)
        for peer in in_order(peers, r):
            if id(peer) in out:
                continue
            try:
                figures = body(peer, r)
            except Exception as err:  # noqa: BLE001 - a peer failing is a finding, reported with its reason
                traceback.print_exc()
                out.add(id(peer))
                for workflow in dict.fromkeys(c.workflow for c in cells):
                    rec.missing(peer.name, workflow, what, err)
                continue
            finally:
                if after_peer is not None:
                    try:
                        after_peer(peer, r)
                    except Exception:  # noqa: BLE001 - clean-up is best effort, never a result
                        traceback.print_exc()
            if r >= warmup:
                for cell, value in figures.items():
                    rec.add(peer.name, cell, value)
    return [p for p in peers if id(p) not in out]


def offering(rec: Recorder, peers: Sequence[Peer], method: str, workflows: Sequence[str], lacks: str) -> list[Peer]:
    """The peers that implement ``method``; each other one is recorded as not offering ``workflows``
    (``lacks`` says what it has not, e.g. "a checkpoint path")."""
    out = []
    for peer in peers:
        if getattr(type(peer), method) is not getattr(Peer, method):
            out.append(peer)
            continue
        for workflow in workflows:
            rec.missing(peer.name, workflow, workflow, Unsupported(f"{peer.name} has {lacks}"))
    return out
