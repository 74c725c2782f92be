"""A process that uses an ``O3Client`` over TLS with a token, forks, and has the child use every API
through what it inherited: objects, checkpoints, the metadata index, ``o3://`` and a dataset.

Run in a fresh interpreter by test_connection_fork.py (the test process's own gRPC threads would
be inherited by a child it forked). The settings come as arguments, never from the environment,
so the child can only connect as the parent's ``Connection`` says. Prints a JSON report: each
check of the child, and the parent's own calls after the child ended.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import fsspec
import torch

from o3ml import O3Client, O3ShardDataset, load_checkpoint, save_checkpoint


def child_checks(client: O3Client, inherited: Any, fs: Any, dataset: O3ShardDataset, run_id: str, args: dict[str, Any]) -> dict[str, Any]:
    prefix = args["prefix"]
    checks: dict[str, Any] = {"own_channel": client.connection.channel is not inherited}
    checks["object"] = client.get(f"{prefix}parent.bin") == b"from the parent"
    client.put(f"{prefix}child.bin", b"from the child")
    checks["checkpoint"] = torch.equal(load_checkpoint(client, f"{prefix}model.ckpt")["w"], torch.arange(6.0))
    checks["metadata"] = client.run(run_id).name == f"{prefix}run"
    checks["fsspec"] = fs.cat(f"{args['bucket']}/{prefix}child.bin") == b"from the child"
    checks["dataset"] = sorted(sample["__key__"] for sample in dataset) == args["keys"]
    return checks


def main() -> None:
    args = json.loads(sys.argv[1])
    prefix = args["prefix"]
    client = O3Client(args["address"], args["token"], timeout=60, **args["tls"])
    run_id = client.register_run(f"{prefix}run", {"lr": 0.1}, capture=False)
    client.put(f"{prefix}parent.bin", b"from the parent")
    save_checkpoint(client, f"{prefix}model.ckpt", {"w": torch.arange(6.0)}, run=run_id, step=1)
    # Made before the fork: the child inherits them, sharing the client's connection.
    fs = fsspec.filesystem("o3", bucket=args["bucket"], client=client, skip_instance_cache=True)
    dataset = O3ShardDataset(args["spec"], split=None, client=client, cache="stream")
    inherited = client.connection.channel

    report_file = Path(args["out"])
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            report = child_checks(client, inherited, fs, dataset, run_id, args)
        except BaseException:
            report, code = {"error": traceback.format_exc()}, 1
        report_file.write_text(json.dumps(report))
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    child = json.loads(report_file.read_text()) if report_file.exists() else {"exit": status}
    parent_after = client.connection.channel is inherited and client.get(f"{prefix}child.bin") == b"from the child"
    print(json.dumps({"child": child, "child_exit": os.waitstatus_to_exitcode(status), "parent_after": parent_after}))


if __name__ == "__main__":
    main()
