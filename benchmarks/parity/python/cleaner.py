"""Deletes what a cell wrote once it has been measured (see store_cleanup for why and how):
a peer's objects by key and version, o3ml's through o3ml itself, then o3ml's gc between cells."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from peer_base import Endpoint, Peer
from store_cleanup import delete_keys


class Cleaner:
    def __init__(self, ep: Endpoint, local: bool) -> None:
        from peer_boto3 import boto3_client

        self.ep = ep
        self.local = local
        self.client = boto3_client(ep)

    def remove(self, peer: Peer, keys: list[str]) -> None:
        """A peer's objects, by key and version; o3ml's deleted through its service (``o3ml rm``)."""
        if peer.name == "o3ml":
            peer.remove(keys)
        else:
            delete_keys(self.client, self.ep.bucket, keys)

    def collect(self, after: str) -> None:
        """``o3ml gc --grace 0`` on this target's service, between cells (nothing in flight).

        No grace is safe only on a local target, whose bucket nothing but this run writes; on a
        remote one o3ml's deleted data waits for a gc with the usual grace. The TypeScript side
        names the CLI (O3ML_BENCH_CLI: the node binary and o3ml.js, tab-separated)."""
        cli = os.environ.get("O3ML_BENCH_CLI", "")
        if not self.local or not cli:
            return
        env = {**os.environ, "O3ML_SERVICE": self.ep.service, "O3ML_HOME": self.ep.service_home}
        env.pop("O3ML_TOKEN", None)
        done = subprocess.run([*cli.split("\t"), "gc", "--grace", "0", "--json"], env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"[harness]   gc after {after} failed ({done.returncode}): {done.stderr.strip()[-400:]}", file=sys.stderr, flush=True)
            return
        report = json.loads(done.stdout)
        blobs = report["deleted"]["blobs"]
        print(f"[harness]   gc after {after}: freed {blobs['count']} blobs ({blobs['bytes'] / (1 << 20):.0f} MiB), {report['deleted']['manifests']['count']} manifests, {report['deleted']['refs']} refs", file=sys.stderr, flush=True)
