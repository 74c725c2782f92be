"""Whether the program's main module may be imported by another process (the workers' fork server).

Workers started by a fork server (as by ``spawn``) make the program's main module their own
``__main__`` again, by importing it, so that functions defined in the script unpickle. A script
that keeps its work under ``if __name__ == "__main__":`` imports harmlessly; one that works at
its top level would start that work over in the other process (and fail there as soon as it
makes a data loader). That is decided here from the script's source, before any process is
started: a top-level ``if __name__ == "__main__":`` block marks a script as safe to import.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from multiprocessing import spawn
from pathlib import Path

__all__ = ["unimportable_main"]


@functools.lru_cache(maxsize=None)
def _verdict(name: str | None, path: str | None) -> str | None:
    if name is not None:
        if name == "__main__" or name.endswith(".__main__"):
            return None  # a package's __main__: multiprocessing never imports it again
        spec = importlib.util.find_spec(name)
        path = spec.origin if spec is not None else None
    if path is None:
        return "the main module is interactive (it has no file a worker could import)"
    try:
        tree = ast.parse(Path(path).read_text(), path)
    except (OSError, SyntaxError, ValueError) as err:
        return f"the main module {path} cannot be read ({err})"
    if any(_is_main_guard(node) for node in tree.body):
        return None
    return f'the main module {path} has no `if __name__ == "__main__":` block'


def unimportable_main() -> str | None:
    """None when the main module can be imported elsewhere without running the program; else why not."""
    data = spawn.get_preparation_data("o3ml-main-check")
    return _verdict(data.get("init_main_from_name"), data.get("init_main_from_path"))


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare) or len(node.test.ops) != 1:
        return False
    if not isinstance(node.test.ops[0], ast.Eq):
        return False
    sides = [node.test.left, node.test.comparators[0]]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    values = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(values) == 1
