"""``push_dataset``: a folder, array or table pushed as a new dataset version, as ``o3ml dataset push``.

Packing (reading the input, WebDataset tar shards, splits, the seeded shard order) and the reuse
plan (shards of the parent version whose bytes did not change are named again, not uploaded) have
one implementation, packages/datasets, and this function runs it one of two ways:

- On the service's host (``AdminService.Colocate`` proves it, o3ml/_colocation.py), the service
  runs it: ``DatasetService.Push`` names a file this process stages in the service's staging
  directory, holding the options (``PushDatasetOptions``). The service reads the input path with
  its own rights, so the request must come from a process that could read the input itself: only
  one that can write into that directory (mode 0700, of the service's user) can stage the file.
  The service then reads the input and stores the shards in process, without a second process or
  a gRPC round trip per shard.
- Elsewhere (another host or container, ``O3ML_COLOCATE=0``, a service without Push), it runs the
  CLI this installation carries (o3ml/_node_cli.py) against the same service as the connection.

Either way the options are checked by the same code (bad ones raise ``InvalidArgumentError`` with
the CLI's message) and the result is the summary ``o3ml dataset push --json`` prints, so a folder
pushed from Python and from the shell gives the same shards, CIDs and sample table. Which way a
push went is logged at debug level on the ``o3ml`` logger.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from dataclasses import dataclass, fields
from typing import Any, Mapping

import grpc

from ._colocation import colocated, refused_elsewhere, stage, unlink
from ._connection import Connection, connection_of
from ._errors import error_for_code, from_rpc_error, service_code
from ._node_cli import cli_command
from .gen import blob_service_pb2 as pb
from .gen import blob_service_pb2_grpc

log = logging.getLogger("o3ml")


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
        """From the CLI's ``--json`` summary, which ``DatasetService.Push`` also ends with (camelCase keys,
        packages/datasets/src/push-summary.ts)."""

        def camel(name: str) -> str:
            head, *rest = name.split("_")
            return head + "".join(part.title() for part in rest)

        missing = [f.name for f in fields(cls) if camel(f.name) not in summary]
        if missing:
            raise error_for_code("INTERNAL", f"the push summary lacks {', '.join(missing)}: the o3ml CLI or service and this package differ in version")
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

    On the service's host the service runs the push (``DatasetService.Push``), elsewhere the
    bundled CLI does; either way the options are checked as the CLI checks them: bad input raises
    ``InvalidArgumentError`` with its message (nothing is stored then), and a failure of the service
    raises the error of its code, as ``O3Client`` does.
    """
    connection = connection_of(client) if client is not None else Connection.resolve()
    options = pb.PushDatasetOptions(
        # Absolute either way: the service resolves nothing against this process's directory.
        path=os.path.abspath(os.fspath(path)),
        name=name,
        version=version or "",
        shard_size="" if shard_size is None else str(shard_size),
        split="" if split is None else split if isinstance(split, str) else ",".join(f"{k}={v}" for k, v in split.items()),
        seed="" if seed is None else str(seed),
        no_shuffle=not shuffle,
        kind=kind or "",
    )
    place = colocated(connection)
    if place is not None:
        staged = stage(place.staging_dir, [memoryview(options.SerializeToString())])
        if staged is not None:
            log.debug("o3ml: pushing %s through DatasetService.Push of the service on this host (%s)", options.path, connection.address)
            result = _push_by_service(connection, os.path.join(place.staging_dir, staged))
            if result is not None:
                return result
    log.debug("o3ml: pushing %s with the bundled o3ml CLI against %s", options.path, connection.address)
    return _push_by_cli(connection, options)


def _push_by_service(connection: Connection, staged: str) -> PushResult | None:
    """The service's push of the options staged at ``staged``; None when the service has no Push, or
    the staging directory turned out to be another service's (the caller runs the CLI)."""
    request = pb.PushDatasetRequest(staged=os.path.basename(staged))
    summary: Any = None
    call: Any = None
    try:
        # No deadline, as the CLI's push has none: a large dataset takes as long as it takes.
        call = connection.stub(blob_service_pb2_grpc.DatasetServiceStub).Push(request, metadata=connection.metadata)
        for reply in call:
            if reply.WhichOneof("msg") == "summary_json":
                summary = json.loads(reply.summary_json)
    except grpc.RpcError as err:
        if err.code() is grpc.StatusCode.UNIMPLEMENTED and service_code(err) is None:
            log.debug("o3ml: the service at %s has no DatasetService.Push (an older version)", connection.address)
            return None
        error = from_rpc_error(err, connection.address)
        if refused_elsewhere(connection, staged, error):
            return None
        raise error from None
    finally:
        if call is not None:
            # Ended by anything else (KeyboardInterrupt): the service stops and commits nothing. A no-op once done.
            call.cancel()
        # The service deletes the file once it has read it; this covers a call that never reached it.
        unlink(staged)
    if not isinstance(summary, dict):
        raise error_for_code("INTERNAL", f"the o3ml service at {connection.address} ended the push without its summary")
    return PushResult.from_summary(summary)


def _push_by_cli(connection: Connection, o: pb.PushDatasetOptions) -> PushResult:
    """``o3ml dataset push --json`` of the options ``o``, run by the bundled CLI."""
    args = ["dataset", "push", o.path, "--name", o.name, "--json"]
    for flag, value in (("--version", o.version), ("--shard-size", o.shard_size), ("--split", o.split), ("--seed", o.seed), ("--kind", o.kind)):
        if value:
            args += [flag, value]
    if o.no_shuffle:
        args.append("--no-shuffle")
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
