"""``push_dataset``: a folder, array or table pushed as a new dataset version, as ``o3ml dataset push``.

Packing (reading the input, WebDataset tar shards, splits, the seeded shard order) and the reuse
plan (shards of the parent version whose bytes did not change are named again, not uploaded) have
one implementation, packages/datasets, which the CLI's ``o3ml dataset push`` runs. This function
runs that CLI (the one this installation carries, o3ml/_node_cli.py) against the same service as
the given connection, so a folder pushed from Python and from the shell gives the same shards,
CIDs and sample table.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, fields
from typing import Any, Mapping

from ._connection import Connection, connection_of
from ._errors import error_for_code
from ._node_cli import cli_command

@dataclass(frozen=True)
class PushResult:
    """What a push stored: the version (``name@version``, manifest ``cid``), its samples per split
    and shards, and what moved: ``shards_reused`` (named again from the parent version),
    ``shards_already_stored`` (new shards whose bytes the store held) and ``bytes_uploaded``."""

    name: str
    version: str
    cid: str
    parent_cid: str
    source_kind: str
    samples: int
    splits: dict[str, int]
    classes: list[str]
    columns: list[str]
    shards: int
    shuffled: bool
    seed: int
    shards_reused: int
    shards_new: int
    shards_already_stored: int
    bytes_total: int
    bytes_uploaded: int
    image_sizes: dict[str, int]
    warnings: list[str]
    seconds: float

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> PushResult:
        """From the CLI's ``--json`` summary (camelCase keys, packages/datasets/src/push-summary.ts)."""

        def camel(name: str) -> str:
            head, *rest = name.split("_")
            return head + "".join(part.title() for part in rest)

        missing = [f.name for f in fields(cls) if camel(f.name) not in summary]
        if missing:
            raise error_for_code("INTERNAL", f"the push summary lacks {', '.join(missing)}: the o3ml CLI and this package differ in version")
        return cls(**{f.name: summary[camel(f.name)] for f in fields(cls)})


def push_dataset(
    path: str | os.PathLike[str],
    name: str,
    *,
    version: str | None = None,
    shard_size: int | str | None = None,
    split: Mapping[str, float] | str | None = None,
    seed: int | None = None,
    shuffle: bool = True,
    kind: str | None = None,
    client: Any = None,
) -> PushResult:
    """Pushes ``path`` (a folder such as an ImageFolder, an ``.npy``/``.npz`` array or a CSV table)
    as a new version of dataset ``name``; the options are ``o3ml dataset push``'s.

    ``version`` names the version (default: a sortable id); ``shard_size`` is the target shard size
    in bytes or as ``"64MiB"``; ``split`` assigns splits by a seeded hash of each key
    (``{"train": 0.8, "val": 0.2}``; default: ``train/``, ``val/``, ``test/`` folders, if any);
    ``seed`` seeds the shard order and ``split``; ``shuffle=False`` keeps samples in key order;
    ``kind`` forces how the input is read (``imagefolder``, ``files``, ``npy``, ``npz``, ``csv`` or
    ``parquet``). ``client`` is an ``O3Client`` or
    ``Connection`` (default: ``Connection.resolve()``, the environment's service).

    The CLI checks every option; bad input raises ``InvalidArgumentError`` with its message (nothing
    is stored then), and a failure of the service raises the error of its code, as ``O3Client``
    does.
    """
    connection = connection_of(client) if client is not None else Connection.resolve()
    args = ["dataset", "push", os.fspath(path), "--name", name, "--json"]
    if version is not None:
        args += ["--version", version]
    if shard_size is not None:
        args += ["--shard-size", str(shard_size)]
    if split is not None:
        args += ["--split", split if isinstance(split, str) else ",".join(f"{k}={v}" for k, v in split.items())]
    if seed is not None:
        args += ["--seed", str(seed)]
    if not shuffle:
        args.append("--no-shuffle")
    if kind is not None:
        args += ["--kind", kind]
    done = subprocess.run([*cli_command(), *args], env=_cli_env(connection), capture_output=True, text=True, check=False)
    return _result(done)


def _cli_env(connection: Connection) -> dict[str, str]:
    """The environment that makes the CLI reach the service ``connection`` reaches, as it would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("O3ML_TLS_", "O3ML_TOKEN"))}
    env["O3ML_SERVICE"] = connection.address
    if connection.token:
        env["O3ML_TOKEN"] = connection.token
    env.update(connection.tls.environment())
    return env


def _result(done: subprocess.CompletedProcess[str]) -> PushResult:
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    try:
        reply = json.loads(last) if last else None
    except json.JSONDecodeError:
        reply = None
    if isinstance(reply, dict) and isinstance(reply.get("error"), dict):
        error = reply["error"]
        raise error_for_code(str(error.get("code", "INTERNAL")), str(error.get("message", done.stderr.strip())))
    if done.returncode != 0 or not isinstance(reply, dict):
        # Not an o3ml error (a usage error of the arguments given, or the CLI did not start).
        said = done.stderr.strip() or done.stdout.strip() or f"exit status {done.returncode}"
        code = "INVALID_ARGUMENT" if done.returncode in (1, 2) and said.startswith("error:") else "INTERNAL"
        raise error_for_code(code, f"o3ml dataset push failed: {said}")
    return PushResult.from_summary(reply)
