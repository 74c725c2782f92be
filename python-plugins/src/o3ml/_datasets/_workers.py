"""How ``O3DataLoader`` starts its workers: through a fork server when the source talks gRPC.

A worker forked straight from the trainer inherits gRPC's state as it was at that instant. gRPC
can only reset that state in the child when no other thread of the parent is inside a gRPC call
at the moment of the fork; otherwise it skips its fork handlers (and logs "Other threads are
currently calling into gRPC, skipping fork() handlers"), and the child's calls then fail
(UNAVAILABLE "Wrong file descriptor generation"), hang, or abort the process. A trainer has such
threads at exactly that moment more often than not: a checkpoint uploading in the background,
the metadata calls of callbacks, the prefetch thread of another loader. gRPC's
GRPC_ENABLE_FORK_SUPPORT does not help: it must be set before grpc is imported, and with it set,
loaders forked while another thread made calls hung in every stress run we made.

So for a source that is not ``fork_safe`` (the service), workers start through Python's fork
server: a process started fresh (fork + exec) that never makes a gRPC call, from which each worker
is forked. The fork server preloads this package (torch, grpc, the reader) and the program's main
module (``_fork_server_main``), so starting a worker costs a fork, not imports; the first loader
of a process pays the fork server's start once. As with ``spawn``, the dataset, ``transform`` and
``collate_fn`` travel to the worker pickled (define functions at module level, not as lambdas),
the script's top level runs once more in the fork server, and workers see the environment the
fork server started with. A main module that cannot be imported that way (a script without an
``if __name__ == "__main__":`` block, an interactive session: ``_main_module``) keeps forked
workers, with a warning. Passing ``multiprocessing_context`` to the loader overrides all of this.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import pickle
import threading
from multiprocessing import forkserver, spawn
from multiprocessing.context import BaseContext
from typing import Any

from .._errors import InvalidArgumentError
from ._main_module import unimportable_main

__all__ = ["explain_unpicklable", "worker_context"]

log = logging.getLogger(__name__)

# Imported by the fork server before it forks any worker: what unpickling a dataset needs, then
# the program's main module.
_PRELOAD = ("o3ml._datasets", "o3ml._datasets._fork_server_main")
# What multiprocessing's prepare() needs to make the fork server's __main__ the program's.
_MAIN_KEYS = ("sys_path", "sys_argv", "dir", "orig_dir", "init_main_from_name", "init_main_from_path")
_FORK_SERVER = "forkserver"
#: Carries the main module's description to the fork server (read by ``_fork_server_main``).
MAIN_VARIABLE = "O3ML_FORK_SERVER_MAIN"
# os.environ is process-wide: two loaders starting the fork server at once take turns.
_starting = threading.Lock()
_warned_fork = False


def worker_context(source: Any, num_workers: int, given: Any) -> Any:
    """The ``multiprocessing_context`` for a loader of ``source``: ``given`` if any, else a fork server's when needed."""
    if num_workers == 0:
        return given
    if given is not None:
        if _start_method(given) == "fork" and not getattr(source, "fork_safe", True):
            log.warning(
                "data-loader workers of %s are forked (multiprocessing_context='fork'): a fork while another "
                "thread of this process is inside a gRPC call leaves the workers' gRPC broken (failed or hung "
                "shard fetches); leave multiprocessing_context unset to start workers through a fork server",
                source.describe() if hasattr(source, "describe") else type(source).__name__,
            )
        return given
    if getattr(source, "fork_safe", True) or _FORK_SERVER not in multiprocessing.get_all_start_methods():
        return None  # the DataLoader's default (fork on Linux; spawn where fork is unavailable)
    reason = unimportable_main()
    if reason is not None:
        _warn_forked(reason)
        return None
    context = multiprocessing.get_context(_FORK_SERVER)
    _start_fork_server(context)
    return context


def _start_fork_server(context: Any) -> None:
    """Starts the fork server now (a no-op when it runs), preloading what workers need."""
    # Adds to the preload list rather than replacing it, so a list the program set stays in force.
    preload = list(getattr(forkserver._forkserver, "_preload_modules", None) or [])
    missing = [name for name in _PRELOAD if name not in preload]
    if missing:
        context.set_forkserver_preload([*preload, *missing])
    main = {key: value for key, value in spawn.get_preparation_data("o3ml-fork-server").items() if key in _MAIN_KEYS}
    with _starting:
        # The fork server takes a copy of the environment as it starts; the variable is gone from
        # this process's environment right after, so nothing else ever sees it.
        os.environ[MAIN_VARIABLE] = json.dumps(main)
        try:
            forkserver.ensure_running()
        finally:
            os.environ.pop(MAIN_VARIABLE, None)


def _warn_forked(reason: str) -> None:
    global _warned_fork
    if not _warned_fork:
        _warned_fork = True
        log.warning(
            "data-loader workers reading from the o3ml service are forked from this process, since %s: a fork "
            "while another thread is inside a gRPC call (a checkpoint upload, a callback) can leave the workers' "
            'shard reads failing or hung. Put the script\'s work under `if __name__ == "__main__":` to have '
            "workers start through a fork server instead",
            reason,
        )


def explain_unpicklable(err: BaseException) -> InvalidArgumentError | None:
    """A clear error for a worker start that failed because something could not be pickled."""
    text = str(err)
    if not isinstance(err, pickle.PicklingError) and not (isinstance(err, (AttributeError, TypeError)) and "pickle" in text.lower()):
        return None
    return InvalidArgumentError(
        f"the data-loader workers could not be started: {type(err).__name__}: {text}. Workers reading "
        "from the o3ml service start through a fork server (a worker forked from a process using gRPC "
        "can fail or hang), so the dataset's transform and decode functions, collate_fn and "
        "worker_init_fn must pickle: define them at module level instead of as lambdas or nested "
        "functions, and keep the script's training code under `if __name__ == \"__main__\":`"
    )


def _start_method(context: Any) -> str | None:
    if isinstance(context, str):
        return context
    if isinstance(context, BaseContext):
        return context.get_start_method()
    return None
