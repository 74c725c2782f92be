"""Runs and lineage through a real service: what ``register_run`` captures arrives intact, runs are
found by id and by name, lineage answers as a dict or rendered text, and unknown ids fail clearly."""

from __future__ import annotations

import pytest

from o3ml import InvalidArgumentError, NotFoundError, O3Client, RunInfo
from o3ml._run_capture import capture_environment


def test_register_run_records_the_captured_environment(client: O3Client, prefix: str) -> None:
    name = f"{prefix}baseline"
    run_id = client.register_run(name, {"lr": 0.01, "sizes": (1, 2), "note": None})
    env = capture_environment()
    run = client.run(run_id)
    assert isinstance(run, RunInfo)
    assert (run.id, run.name) == (run_id, name)
    assert run.hyperparameters == {"lr": 0.01, "sizes": [1, 2], "note": None}
    # The tests run inside the o3ml repository, so the commit is known.
    assert run.code_commit == env.code_commit and run.code_commit
    assert run.code_dirty is not None
    assert run.packages == dict(env.packages)
    assert {"python", "torch", "o3ml"} <= set(run.packages)
    assert run.host == env.host
    assert client.run(name) == run
    assert run_id in [r.id for r in client.runs()]


def test_without_capture_only_name_and_hyperparameters_are_recorded(client: O3Client, prefix: str) -> None:
    run = client.run(client.register_run(f"{prefix}bare", capture=False))
    recorded = (run.code_commit, run.code_dirty, dict(run.packages), run.host, dict(run.hyperparameters))
    assert recorded == (None, None, {}, None, {})


def test_a_name_registered_twice_is_one_run(client: O3Client, prefix: str) -> None:
    first = client.register_run(f"{prefix}again", {"try": 1}, capture=False)
    second = client.register_run(f"{prefix}again", {"try": 2}, capture=False)
    assert first == second  # continued, so its checkpoints stay found by name
    assert client.run(f"{prefix}again").hyperparameters == {"try": 1}


def test_lineage_of_a_run_and_its_artifact(client: O3Client, prefix: str) -> None:
    run_id = client.register_run(f"{prefix}export", capture=False)
    stored = client.put(f"{prefix}model.onnx", b"\x08\x01" * 100)
    artifact = client.record_artifact(run_id, "model.onnx", stored.cid, stored.size, media_type="application/onnx")
    graph = client.lineage(run_id)
    assert graph["focus"] == f"run:{run_id}"
    assert {"from": f"run:{run_id}", "to": f"artifact:{artifact}", "relation": "produced"} in graph["edges"]
    labels = {n["id"]: n["label"] for n in graph["nodes"]}
    assert labels[f"artifact:{artifact}"] == "artifact model.onnx"
    assert client.lineage(artifact)["focus"] == f"artifact:{artifact}"
    mermaid = client.lineage(f"{prefix}export", "mermaid")
    assert mermaid.startswith("graph TD\n") and "model.onnx" in mermaid
    assert client.lineage(run_id, "dot").startswith("digraph lineage {")
    assert f"run {prefix}export" in client.lineage(run_id, "text")


def test_unknown_ids_and_bad_requests_say_what_is_wrong(client: O3Client, prefix: str) -> None:
    with pytest.raises(NotFoundError, match=r"no run, checkpoint, artifact or dataset version .*ghost"):
        client.lineage(f"{prefix}ghost")
    with pytest.raises(NotFoundError, match="o3ml runs ls"):
        client.run(f"{prefix}ghost")
    run_id = client.register_run(f"{prefix}formats", capture=False)
    with pytest.raises(InvalidArgumentError, match="unknown lineage format"):
        client.lineage(run_id, "svg")  # type: ignore[call-overload]
    with pytest.raises(InvalidArgumentError, match="needs a name"):
        client.register_run("")
