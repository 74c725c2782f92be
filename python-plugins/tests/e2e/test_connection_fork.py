"""A process forked after its ``O3Client`` was used goes on using it, through every API, over
mutual TLS with a token: the child connects from the ``Connection`` alone (all its settings, none
from the environment) on a channel of its own, and the parent's channel keeps working."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from certs import Certs, make_certs
from dataset_trees import image_folder, push
from servers import S3Endpoint, Service, start_service

from o3ml import O3Client, UnauthenticatedError

TOKEN = "fork-token"
JOB = Path(__file__).with_name("fork_job.py")


@pytest.fixture(scope="module")
def secured(moto: S3Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, Certs]]:
    # What is under test is the Python side's connection: one S3 server is enough.
    certs = make_certs(tmp_path_factory.mktemp("fork-certs"))
    home, logs = tmp_path_factory.mktemp("fork-home"), tmp_path_factory.mktemp("fork-logs")
    service = start_service(moto, home, logs, token=TOKEN, name="o3ml-serve-fork", extra_args=certs.mutual_tls_args())
    try:
        assert service.ready["tls"] == "mutual"
        yield service, certs
    finally:
        service.stop()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_uses_every_api_over_mutual_tls_with_the_token(secured: tuple[Service, Certs], tmp_path: Path) -> None:
    service, certs = secured
    tls = certs.client_tls()
    with O3Client(service.address, "", timeout=30, **tls) as anonymous, pytest.raises(UnauthenticatedError):
        anonymous.stat("any")  # the token is needed: a child without it could not pass
    tree = tmp_path / "tree"
    expected = image_folder(tree, {"train": 6}, size=2000)
    tls_env = {"O3ML_TOKEN": TOKEN, "O3ML_TLS_CA": tls["tls_ca"], "O3ML_TLS_CERT": tls["tls_cert"], "O3ML_TLS_KEY": tls["tls_key"]}
    summary = push(service, tree, f"tests/fork-{uuid.uuid4().hex[:8]}", env=tls_env)
    args = {
        "address": service.address,
        "token": TOKEN,
        "tls": tls,
        "bucket": service.bucket,
        "prefix": f"tests/fork-{uuid.uuid4().hex[:8]}/",
        "spec": f"{summary['name']}@{summary['version']}",
        "keys": sorted(expected),
        "out": str(tmp_path / "child.json"),
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("O3ML_")}
    done = subprocess.run([sys.executable, str(JOB), json.dumps(args)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["child"] == {"own_channel": True, "object": True, "checkpoint": True, "metadata": True, "fsspec": True, "dataset": True}, report
    assert report["child_exit"] == 0 and report["parent_after"] is True
