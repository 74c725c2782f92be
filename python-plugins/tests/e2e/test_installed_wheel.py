"""The o3ml wheel as a user installs it: a fresh virtualenv outside the checkout, ``pip install``
of the wheel ``npm run package`` wrote to dist-packages/, then Lightning training to ``o3://`` with
no service started by hand. The job is killed with SIGKILL mid-training and resumes from its last
checkpoint; the wheel's ``o3ml`` console script then lists the checkpoints.

torch comes from fresh_venv_cache.py's shared folder (no checkout, no o3ml in it); lightning and
every dependency of the wheel are installed into the virtualenv by pip, pinned by requirements.lock,
from that module's wheelhouse once it holds them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from autostarted import stop_recorded_service
from fresh_venv_cache import pip_install, torch_site

PLUGINS = Path(__file__).resolve().parents[2]
ROOT = PLUGINS.parent
JOB = Path(__file__).with_name("installed_job.py")


@dataclass
class Installed:
    python: Path
    o3ml: Path
    folder: Path
    home: Path

    def env(self) -> dict[str, str]:
        """A user's environment: no O3ML_* settings (autostart on), nothing of the checkout on the path."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("O3ML_", "PYTHON", "VIRTUAL_ENV"))}
        env["O3ML_HOME"] = str(self.home)
        return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    wheels = sorted((ROOT / "dist-packages").glob("o3ml-*.whl"))
    if not wheels:
        pytest.fail(f"no o3ml wheel in {ROOT / 'dist-packages'}: run `npm run package` first")
    folder = tmp_path_factory.mktemp("installed-wheel")
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    where: list[str | Path] = [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
    purelib = subprocess.run(where, check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "o3ml-torch-site.pth").write_text(f"{torch_site()}\n")
    home = folder / "home"
    result = Installed(python, venv / "bin" / "o3ml", folder, home)
    pip_install(python, f"{wheels[-1]}[lightning]", PLUGINS / "requirements.lock", result.env())
    try:
        yield result
    finally:
        stop_recorded_service(home)
        shutil.rmtree(folder, ignore_errors=True)


def run_job(installed: Installed, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [installed.python, str(installed.folder / JOB.name), *args],
        cwd=installed.folder, env=installed.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_the_wheel_runs_from_its_own_install(installed: Installed) -> None:
    where = subprocess.run(
        [installed.python, "-c", "import o3ml, o3ml._node_cli as n; print(o3ml.__file__); print(n.cli_command())"],
        cwd=installed.folder, env=installed.env(), capture_output=True, text=True, check=True,
    ).stdout
    assert str(installed.folder / "venv") in where.splitlines()[0] and str(ROOT) not in where
    version = subprocess.run([installed.o3ml, "--version"], cwd=installed.folder, env=installed.env(), capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.strip() == "0.1.0", version.stderr


def test_lightning_trains_is_killed_and_resumes_with_an_autostarted_service(installed: Installed) -> None:
    shutil.copy(JOB, installed.folder / JOB.name)
    dirpath = "o3://o3ml/installed/ckpts"
    first = run_job(installed, "--dirpath", dirpath, "--max-steps", "20", "--stall-at", "14")
    assert first.stdout is not None
    for line in first.stdout:
        if line.strip() == "STALLED":
            break
    else:
        first.wait()
        pytest.fail(f"the first job ended before step 14:\n{first.stderr.read() if first.stderr else ''}")
    first.send_signal(signal.SIGKILL)
    first.wait()
    said = first.stderr.read() if first.stderr else ""
    assert "started a local o3ml service" in said and str(installed.home / "store") in said, said
    record = json.loads((installed.home / "service.json").read_text())

    second = run_job(installed, "--dirpath", dirpath, "--max-steps", "20")
    out, err = second.communicate()
    assert second.returncode == 0, err
    assert "STARTED_AT 12" in out.splitlines() and "DONE 20" in out.splitlines(), out + err
    # The same service served both: the second job found it through O3ML_HOME and started none.
    assert "started a local o3ml service" not in err
    assert json.loads((installed.home / "service.json").read_text()) == record

    listed = subprocess.run(
        [installed.o3ml, "ckpt", "ls", "--prefix", dirpath, "--json"], cwd=installed.folder, env=installed.env(), capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    keys = {c["key"] for c in json.loads(listed.stdout)}
    assert {"installed/ckpts/last.ckpt"} <= keys and len(keys) >= 5, keys
