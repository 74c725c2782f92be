"""Dataset epochs: per round each peer reads the whole dataset from an empty cache (cold, as a new
job starts), then once more right after (warm: a second epoch, with whatever the peer keeps).

o3ml reads its pushed dataset version; boto3, s3fs and s3torchconnector read the very same
WebDataset tar shards (``o3ml dataset pull`` of that version, uploaded once as plain objects);
litdata and MosaicML streaming read their own formats of the same samples (marked as such);
local-disk reads the same tar shards from local files, with no store (peer_local_disk.py): the
reference a warm epoch is held to.
Every sample's bytes are checked (the sum of their CRC-32s against the written samples'), which
also makes every reader touch every byte, as training does; anything short of every sample and
every byte is a failure with its reason.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from peer_base import Endpoint, Fixture, Peer
from peer_boto3 import boto3_client
from repeats import Cell, Recorder, offering, run_cells

COLD, WARM = "dataset epoch, cold", "dataset epoch, warm"
WORKFLOWS = [COLD, WARM]


def upload_shards(ep: Endpoint, shards_dir: Path) -> list[str]:
    """The pulled tar shards as plain objects (untimed set-up); returns their keys."""
    client = boto3_client(ep)
    keys = []
    for path in sorted(shards_dir.rglob("*.tar")):
        key = f"{ep.prefix}/peers/wds/{path.relative_to(shards_dir).as_posix()}"
        client.upload_file(str(path), ep.bucket, key)
        keys.append(key)
    return keys


def run(rec: Recorder, peers: list[Peer], ep: Endpoint, fixture: Fixture, rounds: tuple[int, int]) -> None:
    readers = offering(rec, peers, "read_epoch", WORKFLOWS, "no dataset reader")
    prepared = []
    for peer in readers:
        try:
            peer.prepare_epoch(fixture)
            prepared.append(peer)
        except Exception as err:  # noqa: BLE001 - reported whole, like any failure
            for workflow in WORKFLOWS:
                rec.missing(peer.name, workflow, "dataset set-up (untimed)", err)
    shape = f"({fixture.samples} x {fixture.sample_bytes // 1024} KiB)"
    want = fixture.expected()
    expected = want.payload
    cells: dict[str, dict[str, Cell]] = {
        temp: {
            "rate": Cell(wf, f"{wf} {shape}", "samples/s", True),
            "mibps": Cell(wf, f"{wf} {shape} MiB/s", "MiB/s", True, False),
        }
        for temp, wf in (("cold", COLD), ("warm", WARM))
    }

    def epoch(peer: Peer, cold: bool) -> float:
        t0 = time.perf_counter()
        got = peer.read_epoch(cold)
        wall = time.perf_counter() - t0
        if got.samples != want.samples or got.payload != want.payload:
            raise AssertionError(
                f"one {'cold' if cold else 'warm'} epoch yielded {got.samples} of {want.samples} samples and {got.payload} of {want.payload} sample bytes"
                + (" (no error was raised)" if got.samples == 0 else "")
            )
        if got.digest != want.digest:
            raise AssertionError(f"one {'cold' if cold else 'warm'} epoch yielded every sample, but their bytes differ from the ones written (CRC-32 sum)")
        return wall

    def body(peer: Peer, r: int) -> dict[Cell, Any]:
        out = {}
        for temp in ("cold", "warm"):
            wall = epoch(peer, temp == "cold")
            out[cells[temp]["rate"]] = fixture.samples / wall
            out[cells[temp]["mibps"]] = expected / (1 << 20) / wall
        return out

    for peer in prepared:
        for c in cells.values():
            rec.note(peer.name, c["rate"], peer.dataset_format)
    run_cells(rec, prepared, [c for t in cells.values() for c in t.values()], "dataset epoch", rounds, body)
