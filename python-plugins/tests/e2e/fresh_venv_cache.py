"""What a fresh virtualenv of the installed-wheel test reuses across runs on one machine: a folder
holding only torch and its dependencies, and a wheelhouse of everything else it installs.

The installed-wheel test (test_installed_wheel.py) builds a new virtualenv on every run; installing
torch==2.13.0 into it would fetch and unpack several GB of CUDA packages each time. Instead, the
distributions of torch's dependency closure, as this test environment has them installed, are
hard-linked (copied where links cannot be made) into ``~/.cache/o3ml/torch-site/<key>`` once; the
fresh virtualenv puts that folder on its path with a ``.pth`` file. It holds no o3ml and nothing of
the checkout, and pip sees the distributions there as installed, so ``pip install o3ml[lightning]``
takes torch as satisfied and installs everything else itself.

The wheelhouse (``~/.cache/o3ml/wheelhouse``) keeps the wheels pip downloaded for that, about
100 MB (pip's own cache does not keep them here): once it holds them, pip installs from it and
the o3ml wheel alone, without the index.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def closure(root: str) -> list[metadata.Distribution]:
    """``root`` and every distribution it needs on this platform, extras followed."""
    found: dict[str, metadata.Distribution] = {}
    wanted: dict[str, set[str]] = {}
    stack: list[tuple[str, frozenset[str]]] = [(root, frozenset())]
    while stack:
        name, extras = stack.pop()
        key = canonicalize_name(name)
        if key in found and extras <= wanted[key]:
            continue
        wanted.setdefault(key, set()).update(extras)
        found[key] = dist = metadata.distribution(name)
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in {"", *wanted[key]}):
                stack.append((req.name, frozenset(req.extras)))
    return sorted(found.values(), key=lambda d: canonicalize_name(d.metadata["Name"]))


CACHE = Path.home() / ".cache" / "o3ml"


def torch_site(cache: Path = CACHE / "torch-site") -> Path:
    """The folder for this interpreter's torch, made when missing; several runs may race to make it."""
    dists = closure("torch")
    names = " ".join(f"{d.metadata['Name']}=={d.version}" for d in dists)
    key = f"torch-{metadata.version('torch')}-py{sys.version_info.major}{sys.version_info.minor}-{hashlib.sha256(names.encode()).hexdigest()[:12]}"
    site = cache / key
    if (site / ".complete").is_file():
        return site
    cache.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{key}.tmp.", dir=cache))
    try:
        for dist in dists:
            base = Path(str(dist.locate_file("")))
            for file in dist.files or []:
                if file.parts and file.parts[0] == "..":  # console scripts live outside site-packages
                    continue
                source, target = base / file, partial / file
                if not source.is_file():
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(source, target)
                except OSError:
                    shutil.copy2(source, target)
        (partial / ".complete").write_text(names + "\n")
        try:
            partial.rename(site)
        except OSError:  # another run got there first
            shutil.rmtree(partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return site


def pip_install(python: Path, requirement: str, constraints: Path, env: dict[str, str], wheelhouse: Path = CACHE / "wheelhouse") -> None:
    """``pip install -c constraints requirement`` into ``python``'s environment: from the wheelhouse
    and ``requirement``'s own folder alone when they hold everything, else from the index, keeping
    what it installed in the wheelhouse for the next run."""
    local = Path(requirement.split("[")[0]).parent
    base = [str(python), "-m", "pip", "install", "--quiet", "-c", str(constraints)]
    offline = subprocess.run(
        [*base, "--no-index", "--find-links", str(wheelhouse), "--find-links", str(local), requirement], env=env, capture_output=True, text=True
    )
    if offline.returncode == 0:
        return
    online = subprocess.run([*base, requirement], env=env, capture_output=True, text=True)
    assert online.returncode == 0, online.stdout + online.stderr
    where = [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
    purelib = subprocess.run(where, env=env, capture_output=True, text=True, check=True).stdout.strip()
    listing = [str(python), "-m", "pip", "list", "--path", purelib, "--format", "freeze"]
    installed = subprocess.run(listing, env=env, capture_output=True, text=True, check=True).stdout.split()
    wanted = [line for line in installed if line.split("==")[0].lower() not in {"o3ml", "pip"}]
    wheelhouse.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(python), "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(wheelhouse), *wanted], env=env, check=True, capture_output=True)
