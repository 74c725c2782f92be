"""Runs every code block of docs/lineage.md marked as a test, in order, against a real service:
Python blocks in one shared namespace (as one script), shell blocks with bash and `o3ml` on PATH.
The page therefore cannot show a command or snippet that does not work."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from doc_blocks import Block, blocks_of
from servers import REPO_ROOT, Service, service_command

DOC = REPO_ROOT / "docs" / "lineage.md"
def blocks(page: Path) -> list[Block]:
    found = blocks_of(page)
    for block in found:
        assert block.mode == "test", f"{block.where}: a ```{block.language} block of this page must be marked ```{block.language} test, and is then run here"
    return found


def image_folder(root: Path) -> None:
    """A tiny ImageFolder-shaped dataset for `o3ml dataset push ./digits`."""
    for label in ("0", "1"):
        folder = root / "digits" / "train" / label
        folder.mkdir(parents=True)
        for i in range(3):
            (folder / f"{i}.bin").write_bytes(os.urandom(300))


def test_every_test_block_of_the_page_works(service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = blocks(DOC)
    assert {b.language for b in page} == {"python", "sh"}
    image_folder(tmp_path)
    node, cli = service_command()[:2]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "o3ml"
    shim.write_text(f'#!/bin/sh\nexec "{node}" "{cli}" "$@"\n')
    shim.chmod(0o755)
    s3 = service.s3
    env = {k: v for k, v in os.environ.items() if not k.startswith(("O3ML_", "AWS_"))}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        O3ML_SERVICE=service.address,
        O3ML_ENDPOINT=s3.endpoint,
        O3ML_ACCESS_KEY_ID=s3.access_key,
        O3ML_SECRET_ACCESS_KEY=s3.secret_key,
        O3ML_REGION=s3.region,
        O3ML_BUCKET=service.bucket,
        # The offline rebuild writes its own index here, beside (not into) the running service's.
        O3ML_HOME=str(tmp_path / "offline-home"),
        O3ML_LOG_LEVEL="warn",
    )
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("O3ML_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("O3ML_SERVICE", service.address)
    namespace: dict[str, object] = {"__name__": "__lineage_doc__"}
    printed: list[str] = []
    try:
        for block in page:
            where = f"{DOC.name}:{block.line}"
            if block.language == "python":
                exec(compile(block.code, where, "exec"), namespace)  # noqa: S102 - the page's own snippets
                continue
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", block.code],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, (
                f"{where}: shell block failed ({done.returncode})\n{block.code}\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
            printed.append(done.stdout)
    finally:
        client = namespace.get("client")
        if client is not None:
            client.close()  # type: ignore[attr-defined]
    out = "\n".join(printed)
    assert "mnist-baseline" in out and "graph TD" in out and "code commit" in out
    assert '"offline":true' in out.replace(" ", "")
    assert (tmp_path / "offline-home" / "index.sqlite").exists()
