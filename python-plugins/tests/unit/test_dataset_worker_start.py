"""How O3DataLoader starts workers: through a fork server for a dataset read from the service,
forked for local shards or when the main module cannot be imported elsewhere; a transform that
does not pickle is refused with a clear error; a worker connects as the trainer did (more of the
connection in test_connection.py)."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest
from dataset_shards import build_version, local_source, numbered

from o3ml import InvalidArgumentError, O3Client, O3DataLoader, O3ShardDataset
from o3ml._datasets import ServiceShardSource
from o3ml._datasets._main_module import _verdict
from o3ml._datasets._workers import worker_context


@pytest.mark.parametrize(
    ("source", "importable"),
    [
        ('import torch\n\ndef main():\n    pass\n\nif __name__ == "__main__":\n    main()\n', True),
        ("x = 1\nif '__main__' == __name__:\n    print(x)\n", True),
        ("from o3ml import O3DataLoader\nloader = O3DataLoader(...)\n", False),
        ("def main():\n    if __name__ == '__main__':\n        pass\n", False),  # not at the top level
    ],
)
def test_a_main_module_is_importable_elsewhere_only_with_a_main_block(tmp_path: Path, source: str, importable: bool) -> None:
    script = tmp_path / f"script_{importable}_{abs(hash(source))}.py"
    script.write_text(source)
    verdict = _verdict(None, str(script))
    assert (verdict is None) is importable
    if not importable:
        assert str(script) in verdict and "__main__" in verdict  # type: ignore[operator]


def test_package_mains_and_interactive_sessions() -> None:
    assert _verdict("pytest.__main__", None) is None  # multiprocessing never re-imports these
    assert "interactive" in (_verdict(None, None) or "")


def test_workers_start_through_a_fork_server_only_for_the_service(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    version = build_version(tmp_path, numbered(8, "train"))
    service = ServiceShardSource(O3Client("127.0.0.1:1"))  # never called here
    assert worker_context(local_source(tmp_path, version), 2, None) is None
    assert worker_context(service, 0, None) is None
    assert worker_context(service, 2, None).get_start_method() == "forkserver"  # pytest's main is a package's
    with caplog.at_level(logging.WARNING):
        assert worker_context(service, 2, "fork") == "fork"
    assert "multiprocessing_context='fork'" in caplog.text


@pytest.mark.filterwarnings("ignore:Got pickle error")
def test_a_transform_that_does_not_pickle_is_refused_clearly(tmp_path: Path) -> None:
    version = build_version(tmp_path, numbered(8, "train"))
    dataset = O3ShardDataset(version, "train", source=ServiceShardSource(O3Client("127.0.0.1:1")), transform=lambda s: s)
    with pytest.raises(InvalidArgumentError, match="must pickle: define them at module level"):
        next(iter(O3DataLoader(dataset, batch_size=2, num_workers=2)))


def test_a_worker_connects_as_the_trainer_did_whatever_its_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pem = tmp_path / "any.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")  # read, never used to connect
    client = O3Client("10.0.0.2:7433", "t0k", timeout=12, tls_ca=str(pem), tls_cert=str(pem), tls_key=str(pem))
    source = ServiceShardSource(client)
    assert source.connection is client.connection  # the trainer's source shares the client's channel
    # A fork server's workers see the environment it started with, not the trainer's.
    for name in ("O3ML_SERVICE", "O3ML_TOKEN", "O3ML_TLS_CA", "O3ML_TLS_CERT", "O3ML_TLS_KEY"):
        monkeypatch.setenv(name, "elsewhere")
    in_worker = pickle.loads(pickle.dumps(source)).connection
    assert in_worker == client.connection and in_worker.channel is not client.connection.channel
    assert (in_worker.address, in_worker.tls.enabled, in_worker.metadata, in_worker.timeout) == (
        "10.0.0.2:7433", True, (("authorization", "Bearer t0k"),), 12,
    )
