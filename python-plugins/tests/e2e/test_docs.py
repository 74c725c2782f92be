"""Every shell command and Python snippet in README.md and docs/ is exercised, so the docs cannot rot.

A ```bash / ```sh / ```python block (any language a reader would paste into a shell or an
interpreter) must say how it is exercised, in its info string:

- ```bash test  — run here, in page order, against `o3ml serve --standin` with no endpoint
  configured (the in-memory stand-in, bucket `o3ml`; why not the default store: see UserEnvironment). Python blocks of a page share
  one namespace, like one script; shell blocks run with bash -euo pipefail in a scratch folder
  that mirrors the repository's `examples/` and `.venv/`.
- ```bash mirrored-by=<path>[,<path>…]  — the commands are run by those tests or scripts (which must exist),
  for commands that cannot run inside a test: `npm test` itself, the demo, the benchmarks.

Endpoints a page shows for other stores are swapped for local servers of the same kind before a
block runs (see SUBSTITUTIONS): MinIO's address for the MinIO this suite starts, Akave's community
endpoint for the O3-profile layer of the stand-in (no O3 endpoint can be reached from a test).
`o3ml serve` in a block starts the service, waits until it listens, and stops it: a block shows
how to start the service, the test proves that exact command line starts it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from doc_blocks import Block, blocks_of
from servers import REPO_ROOT, Managed, S3Endpoint, _await_listening, service_command

PAGES = sorted([REPO_ROOT / "README.md", *(REPO_ROOT / "docs").glob("*.md")])
# docs/lineage.md has its own runner (test_lineage_docs.py), which also checks what it prints.
OWN_RUNNER = {REPO_ROOT / "docs" / "lineage.md": "test_lineage_docs.py"}
def runnable_pages() -> list[Path]:
    return [p for p in PAGES if p not in OWN_RUNNER and any(b.mode == "test" for b in blocks_of(p))]


def test_every_block_says_how_it_is_exercised_and_mirrors_exist() -> None:
    unmarked = [f"{b.where} (```{b.language})" for p in PAGES for b in blocks_of(p) if not b.mode]
    assert not unmarked, (
        "each of these blocks must be marked `test` (run by this suite) or "
        f"`mirrored-by=<test or script>` (run there): {unmarked}"
    )
    mirrored = [b for p in PAGES for b in blocks_of(p) if b.mode == "mirrored-by"]
    for block in mirrored:
        for path in block.mirror.split(","):
            assert (REPO_ROOT / path).is_file(), f"{block.where}: mirrored-by names {path}, which does not exist"
    for page, runner in OWN_RUNNER.items():
        assert (Path(__file__).parent / runner).is_file(), f"{page} names its own runner {runner}, which is missing"
    # The guarantee is only worth something if most of the docs run here.
    assert len(runnable_pages()) >= 5, [p.name for p in runnable_pages()]


@dataclass
class UserEnvironment:
    """The service the pages' blocks talk to, in front of the in-memory stand-in (`o3ml serve --standin`).

    Not the default local folder store: the blocks written for Akave O3 (boto3 included) need an S3
    endpoint with the O3 profile, and the stand-in's is the one substituted for O3's. Blocks that run
    `o3ml serve` themselves still get the default a new user has.
    """

    address: str
    o3_endpoint: str  # the stand-in's O3-profile layer
    minio: S3Endpoint
    env: dict[str, str]
    scratch: Path


@pytest.fixture(scope="module")
def user(minio: S3Endpoint, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UserEnvironment]:
    home = tmp_path_factory.mktemp("docs-home")
    logs = tmp_path_factory.mktemp("docs-logs")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("O3ML_", "AWS_"))}
    process = Managed.start(
        "docs-serve",
        # Port 0: a port picked beforehand can be handed to the embedded stand-in the service
        # starts first, and the service's own bind then fails.
        [*service_command(), "--standin", "--listen", "127.0.0.1:0", "--json"],
        {**base, "O3ML_HOME": str(home)},
        logs,
        stdout_pipe=True,
    )
    try:
        ready = _await_listening(process)
        scratch = tmp_path_factory.mktemp("docs-scratch")
        bin_dir = scratch / ".docs-bin"
        bin_dir.mkdir()
        write_shims(bin_dir)
        for name in ("examples", ".venv"):
            (scratch / name).symlink_to(REPO_ROOT / name)
        env = {
            **base,
            "PATH": f"{bin_dir}{os.pathsep}{REPO_ROOT / '.venv' / 'bin'}{os.pathsep}{base.get('PATH', '')}",
            "O3ML_SERVICE": ready["address"],
            "O3ML_HOME": str(home),
            "O3ML_LOG_LEVEL": "warn",
        }
        yield UserEnvironment(ready["address"], ready["endpoint"], minio, env, scratch)
    finally:
        process.stop()


def write_shims(bin_dir: Path) -> None:
    """`o3ml` and `npx o3ml` as installed by npm (node + the CLI's bin); `o3ml serve` returns once ready."""
    node, cli = service_command()[:2]
    o3ml = bin_dir / "o3ml"
    o3ml.write_text(
        f"""#!/usr/bin/env bash
set -euo pipefail
if [ "${{1:-}}" != serve ]; then exec "{node}" "{cli}" "$@"; fi
ready=$(mktemp) log=$(mktemp)
"{node}" "{cli}" "$@" --json > "$ready" 2> "$log" &
pid=$!
for _ in $(seq 1 1200); do
  grep -q listening "$ready" && break
  kill -0 "$pid" 2>/dev/null || {{ cat "$log" >&2; exit 1; }}
  sleep 0.1
done
grep -q listening "$ready" || {{ echo "o3ml serve did not start" >&2; cat "$log" >&2; kill "$pid"; exit 1; }}
kill "$pid"; wait "$pid" || true
cat "$ready"
"""
    )
    npx = bin_dir / "npx"
    real_npx = shutil.which("npx") or "npx"
    npx.write_text(
        f"""#!/usr/bin/env bash
if [ "${{1:-}}" = o3ml ]; then shift; exec "{o3ml}" "$@"; fi
exec "{real_npx}" "$@"
"""
    )
    for shim in (o3ml, npx):
        shim.chmod(0o755)


def substitutions(user: UserEnvironment) -> dict[str, str]:
    """Addresses and keys a page shows for other stores, mapped to the local servers of the same kind."""
    return {
        "http://127.0.0.1:9000": user.minio.endpoint,
        "O3ML_ACCESS_KEY_ID=minioadmin": f"O3ML_ACCESS_KEY_ID={user.minio.access_key}",
        "O3ML_SECRET_ACCESS_KEY=minioadmin": f"O3ML_SECRET_ACCESS_KEY={user.minio.secret_key}",
        "https://o3-rc2.akave.xyz": user.o3_endpoint,
        "O3ML_ACCESS_KEY_ID=<your-access-key>": "O3ML_ACCESS_KEY_ID=o3ml-local",
        "O3ML_SECRET_ACCESS_KEY=<your-secret-key>": "O3ML_SECRET_ACCESS_KEY=o3ml-local-secret",
    }


def run_shell(block: Block, user: UserEnvironment, folder: Path) -> str:
    code = block.code
    for shown, local in substitutions(user).items():
        code = code.replace(shown, local)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", code],
        cwd=folder,
        env=user.env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, (
        f"{block.where}: shell block failed ({done.returncode})\n{code}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    )
    return done.stdout


@pytest.mark.parametrize("page", runnable_pages(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_test_block_of_the_page_runs(page: Path, user: UserEnvironment, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = user.scratch / page.stem
    folder.mkdir()
    for name in ("examples", ".venv"):
        (folder / name).symlink_to(REPO_ROOT / name)
    monkeypatch.chdir(folder)
    for key in [k for k in os.environ if k.startswith(("O3ML_", "AWS_"))]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("O3ML_SERVICE", user.address)
    namespace: dict[str, object] = {"__name__": f"__docs_{page.stem}__"}
    for block in (b for b in blocks_of(page) if b.mode == "test"):
        if block.language == "python":
            exec(compile(block.code, block.where, "exec"), namespace)  # noqa: S102 - the page's own snippets
        else:
            run_shell(block, user, folder)
