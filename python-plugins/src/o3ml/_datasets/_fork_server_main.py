"""Imported only by the fork server ``O3DataLoader`` starts: loads the program's main module there.

A worker started through a fork server first makes its ``__main__`` the program's main module
again (multiprocessing's ``prepare``), importing it unless the fork server already holds it. Python
means the fork server to preload it (its default preload list is ``["__main__"]``), but never hands
the fork server the main module's path, so without this every worker of every epoch would import
the training script and everything it imports (Lightning alone takes seconds). The parent puts
what ``prepare`` needs in ``O3ML_FORK_SERVER_MAIN`` (JSON) for the moment it starts the fork
server; this module reads it after the package is imported.

A main module that cannot be imported here (one that starts processes at import, outside an
``if __name__ == "__main__":`` guard) is only reported: each worker then imports it itself and
fails the way ``spawn`` makes such scripts fail, with Python's own explanation.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from multiprocessing import process, spawn

from ._workers import MAIN_VARIABLE


def _load_main() -> None:
    text = os.environ.pop(MAIN_VARIABLE, None)
    if not text:
        return
    process.current_process()._inheriting = True  # type: ignore[attr-defined]  # as multiprocessing does while it imports main
    try:
        spawn.prepare(json.loads(text))
    except BaseException:  # the fork server must live on whatever the script does at import
        print("o3ml: the data-loader fork server could not import the main module; each worker will:", file=sys.stderr)
        traceback.print_exc()
    finally:
        del process.current_process()._inheriting  # type: ignore[attr-defined]


_load_main()
