"""Checkpoints of the shapes users save (model_shapes): per round the model changes (every
tensor, so no store has seen it), then each peer saves it, optionally saves the unchanged model
once more (what o3ml's deduplication is for), and restores it, every tensor compared. The
asynchronous save times what the training loop waits for, then how long until the upload is
durable; the warm-up round also restores it and compares."""

from __future__ import annotations

import random
import time
from typing import Any

from cleaner import Cleaner
from model_shapes import build, fit, label, perturb, same, shape_from_plan
from peer_base import Endpoint, Peer
from repeats import Cell, Recorder, offering, run_cells

SAVE, RESTORE, RESAVE, ASYNC = "checkpoint save", "checkpoint restore", "checkpoint re-save unchanged", "async save: loop blocked"


def workflows(plan: dict[str, Any]) -> list[str]:
    out = [SAVE, RESTORE]
    if plan.get("dedup"):
        out.append(RESAVE)
    if plan.get("async"):
        out.append(ASYNC)
    return out


def _restored(peer: Peer, key: str, state: dict[str, Any]) -> None:
    back = peer.load_checkpoint(key)
    if not same(back, state):
        raise AssertionError(f"the checkpoint restored from {key} differs from the one saved")


def run(rec: Recorder, peers: list[Peer], ep: Endpoint, plan: dict[str, Any], rounds: tuple[int, int], cleaner: Cleaner) -> None:
    savers = offering(rec, peers, "save_checkpoint", [w for w in workflows(plan) if w != ASYNC], "no checkpoint path")
    asyncs = offering(rec, peers, "save_checkpoint_async", [ASYNC], "no asynchronous checkpoint path") if plan.get("async") else []
    run_id = random.randrange(1 << 30)
    for spec in plan["shapes"]:
        shape = fit(shape_from_plan(spec), plan["capMiB"])
        name = label(shape)
        print(f"[harness]   checkpoint {name}", flush=True)
        state = build(shape)
        where = lambda peer, r, what: f"{ep.prefix}/py-ckpt/{peer.name.split()[0]}/{run_id}-{shape.kind}-{what}-r{r}"  # noqa: E731
        dedup = spec["kind"] in plan.get("dedup", [])
        save_cell, restore_cell = Cell(SAVE, f"checkpoint save {name}", "s", False), Cell(RESTORE, f"checkpoint restore {name}", "s", False)
        resave_cell = Cell(RESAVE, f"checkpoint re-save unchanged {name}", "s", False)

        def body(peer: Peer, r: int) -> dict[Cell, float]:
            key = where(peer, r, "sync") + "/model.ckpt"
            t0 = time.perf_counter()
            peer.save_checkpoint(key, state)
            out = {save_cell: time.perf_counter() - t0}
            if dedup:
                t0 = time.perf_counter()
                peer.save_checkpoint(where(peer, r, "sync") + "/again.ckpt", state)
                out[resave_cell] = time.perf_counter() - t0
                note = getattr(peer, "saved_note", lambda: None)()
                if note:
                    rec.note(peer.name, resave_cell, f"second save {note}")
            t0 = time.perf_counter()
            back = peer.load_checkpoint(key)
            out[restore_cell] = time.perf_counter() - t0
            if not same(back, state):
                raise AssertionError(f"the checkpoint restored from {key} differs from the one saved")
            return out

        def forget(peer: Peer, r: int) -> None:
            base = where(peer, r, "sync")
            cleaner.remove(peer, [base + "/model.ckpt", base + "/again.ckpt"])

        cells = [save_cell, restore_cell] + ([resave_cell] if dedup else [])
        run_cells(rec, savers, cells, f"checkpoint {name}", rounds, body, before_round=lambda r: perturb(state, r), after_peer=forget)
        cleaner.collect(f"checkpoint {name}")

        if spec["kind"] in plan.get("async", []) and asyncs:
            blocked = Cell(ASYNC, f"async save, loop blocked: {name}", "s", False)
            durable = Cell(ASYNC, f"async save, until durable: {name}", "s", False, False)

            def async_body(peer: Peer, r: int) -> dict[Cell, float]:
                key = where(peer, r, "async") + "/model.ckpt"
                t0 = time.perf_counter()
                peer.save_checkpoint_async(key, state)
                waited = time.perf_counter() - t0
                peer.wait_saved()
                done = time.perf_counter() - t0
                if r == 0:
                    _restored(peer, key, state)
                return {blocked: waited, durable: done}

            def forget_async(peer: Peer, r: int) -> None:
                cleaner.remove(peer, [where(peer, r, "async") + "/model.ckpt"])

            run_cells(rec, asyncs, [blocked, durable], f"async save {name}", rounds, async_body, before_round=lambda r: perturb(state, 100 + r), after_peer=forget_async)
            cleaner.collect(f"async save {name}")
        del state
