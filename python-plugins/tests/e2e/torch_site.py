"""A folder holding only torch and its dependencies, made once per machine, for fresh virtualenvs.

The installed-wheel test (test_installed_wheel.py) builds a new virtualenv on every run; installing
torch==2.13.0 into it would fetch and unpack several GB of CUDA packages each time. Instead, the
distributions of torch's dependency closure, as this test environment has them installed, are
hard-linked (copied where links cannot be made) into ``~/.cache/o3ml/torch-site/<key>`` once; the
fresh virtualenv puts that folder on its path with a ``.pth`` file. It holds no o3ml and nothing of
the checkout, and pip sees the distributions there as installed, so ``pip install o3ml[lightning]``
takes torch as satisfied and installs everything else itself.
"""

from __future__ import annotations

import hashlib
import os
import shutil
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


def torch_site(cache: Path = Path.home() / ".cache" / "o3ml" / "torch-site") -> Path:
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
