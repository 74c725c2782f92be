"""Starts trainer processes (trainer.py) by fork from one process that has already imported torch,
Lightning and o3ml, so that each crash point of the reliability suite costs seconds, not the import
time of torch and Lightning again. Each forked child is an ordinary, separate trainer process with
its own pid: the suite SIGKILLs it exactly as it would a freshly started one. No gRPC channel is
opened before the fork (gRPC channels do not survive it); each child opens its own.

Protocol on stdin/stdout, one line each: ``START <logfile> <arg>...`` answers ``PID <pid>``; when a
child ends the server prints ``EXIT <pid> <code>`` (negative: killed by that signal). The child's
stdout and stderr go to ``<logfile>``.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
import threading

import trainer  # imports torch, Lightning and o3ml once, before any fork


def reap() -> None:
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            threading.Event().wait(0.05)
            continue
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        print(f"EXIT {pid} {code}", flush=True)


def main() -> None:
    threading.Thread(target=reap, daemon=True).start()
    print("READY", flush=True)
    for line in sys.stdin:
        parts = shlex.split(line)
        if not parts or parts[0] != "START":
            continue
        logfile, args = parts[1], parts[2:]
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            fd = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.close(fd)
            sys.stdout = os.fdopen(1, "w", buffering=1)
            sys.stderr = os.fdopen(2, "w", buffering=1)
            code = 1
            try:
                sys.argv = ["trainer.py", *args]
                code = trainer.main()
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(f"PID {pid}", flush=True)


if __name__ == "__main__":
    main()
