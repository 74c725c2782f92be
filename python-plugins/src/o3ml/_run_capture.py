"""What a training run records about where it came from: the code commit, whether the working tree
had uncommitted changes, the versions of the packages that shape training, and the host.

Everything is best effort: a value that cannot be found (no git, not a repository, a package not
installed) is left out or ``None``, never an error, so registering a run cannot stop training.
"""

from __future__ import annotations

import importlib.metadata
import math
import platform
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The packages whose versions decide what training computes; recorded when installed.
RECORDED_PACKAGES = ("torch", "lightning", "numpy", "o3ml")
_GIT_TIMEOUT = 10.0


@dataclass(frozen=True)
class RunEnvironment:
    code_commit: str | None = None
    code_dirty: bool | None = None
    packages: Mapping[str, str] = field(default_factory=dict, hash=False)
    host: str | None = None


def capture_environment(cwd: str | Path | None = None) -> RunEnvironment:
    """The environment of a run started in ``cwd`` (default: the current working directory)."""
    where = Path(cwd) if cwd is not None else Path.cwd()
    commit = _git(where, "rev-parse", "--verify", "HEAD")
    # Untracked files are not counted: build outputs and logs would mark every run dirty.
    status = _git(where, "status", "--porcelain", "--untracked-files=no") if commit else None
    return RunEnvironment(
        code_commit=commit or None,
        code_dirty=None if status is None else status != "",
        packages=package_versions(),
        host=socket.gethostname() or None,
    )


def package_versions() -> dict[str, str]:
    """Installed versions of ``RECORDED_PACKAGES``, plus the Python version as ``python``."""
    found = {"python": platform.python_version()}
    for name in RECORDED_PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def _git(cwd: Path, *args: str) -> str | None:
    """``git <args>`` in ``cwd``: its stripped output, or None when git is missing or fails."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=_GIT_TIMEOUT, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def to_json_value(value: Any) -> Any:
    """``value`` as plain JSON: mappings with string keys, lists, finite numbers, strings, None.

    Hyperparameters often hold what JSON cannot (tuples, paths, numpy scalars, NaN); those are
    recorded as the nearest JSON value (a list, ``.tolist()``) or, failing that, as their ``str``.
    """
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [to_json_value(v) for v in items]
    tolist = getattr(value, "tolist", None)  # numpy and torch scalars and arrays
    if callable(tolist):
        try:
            return to_json_value(tolist())
        except (TypeError, ValueError, RuntimeError):
            pass
    return str(value)
