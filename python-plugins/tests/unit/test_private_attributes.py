"""No module of o3ml reads or sets a private attribute (``x._name``) of another module's objects,
nor imports another module's private names: modules meet through public names (an ``O3Client``'s
``connection``, say), so a change inside one cannot break another unseen.

What a module does with its own objects is its business: an attribute is the module's own when no
other module of the package defines that name. Private names of other libraries that o3ml must
use are listed in ``FOREIGN``, each with its reason.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import o3ml

PACKAGE = Path(o3ml.__file__).parent

FOREIGN = {
    # torch.load's own unpickling machinery, which the codec follows to the letter
    # (see _checkpoint_codec's docstring).
    "_checkpoint_codec.py": {
        "_get_restore_location", "_maybe_decode_ascii", "_utils", "_element_size", "_weights_only_unpickler",
        "_serialization_tls", "_untyped_storage", "_pickle_storage_type", "_size", "_cdata",
    },
    # A storage's identity (its ``_cdata`` address), as torch.save tells storages apart.
    "_dcp/_writer.py": {"_cdata"},
    # multiprocessing's fork server has no public way to read its preloaded modules (see _workers).
    "_datasets/_workers.py": {"_forkserver", "_preload_modules"},
    # multiprocessing's own flag while it imports a main module (see _fork_server_main).
    "_datasets/_fork_server_main.py": {"_inheriting"},
}


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def modules() -> dict[str, ast.Module]:
    return {
        str(path.relative_to(PACKAGE)): ast.parse(path.read_text(), str(path))
        for path in sorted(PACKAGE.rglob("*.py"))
        if "gen" not in path.relative_to(PACKAGE).parts
    }


def defined_names(tree: ast.Module) -> set[str]:
    """Private names a module defines: functions, classes, assigned names and ``self._x``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and _is_self(node.value):
            names.add(node.attr)
    return {n for n in names if private(n)}


def _is_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id in ("self", "cls")


def crossings(name: str, tree: ast.Module, owners: dict[str, set[str]]) -> list[str]:
    found = []
    allowed = FOREIGN.get(name, set())
    for node in ast.walk(tree):
        if not isinstance(node, (ast.expr, ast.stmt)):
            continue  # what names an attribute or imports one is an expression or a statement, with a line
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            found += [f"{name}:{node.lineno} imports {a.name} from .{node.module or ''}" for a in node.names if private(a.name) and node.module]
        attr = None
        if isinstance(node, ast.Attribute) and not _is_self(node.value):
            attr = node.attr
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "setattr", "hasattr"):
            if len(node.args) >= 2 and not _is_self(node.args[0]) and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
                attr = node.args[1].value
        if attr is None or not private(attr) or attr in allowed or owners.get(attr) == {name}:
            continue
        found.append(f"{name}:{node.lineno} {ast.unparse(node)}")
    return found


def test_no_module_reaches_into_another_module_s_private_attributes() -> None:
    trees = modules()
    owners: dict[str, set[str]] = defaultdict(set)
    for name, tree in trees.items():
        for attr in defined_names(tree):
            owners[attr].add(name)
    found = [line for name, tree in trees.items() for line in crossings(name, tree, owners)]
    assert found == []


def test_the_check_sees_a_crossing() -> None:
    owners = {"_channel": {"_client.py"}}
    tree = ast.parse("def f(client):\n    return client._channel, getattr(client, '_channel')\nfrom ._checkpoints import _connect\n")
    assert len(crossings("_checkpoints.py", tree, owners)) == 3
    # In _client.py the attribute is the module's own; the import still crosses.
    assert crossings("_client.py", tree, owners) == ["_client.py:3 imports _connect from ._checkpoints"]
