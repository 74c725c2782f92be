"""A local o3ml service, started for the user when none is configured and none answers.

``Connection.resolve`` asks here for an address when it is given none and ``O3ML_SERVICE`` is
unset. When something answers at the default address, that is the service. Otherwise this module
reuses, or starts, one service per ``O3ML_HOME``:

- its address (a free loopback port) and process id are recorded in ``$O3ML_HOME/service.json``;
  its output goes to ``$O3ML_HOME/service.log``;
- an exclusive lock on ``$O3ML_HOME/service.lock`` (fcntl) is held while one is looked for and
  started, so trainers or DDP ranks starting together make one service, and the others read its
  record;
- it is ``o3ml serve`` as this installation runs it (o3ml/_node_cli.py), with this process's
  environment: without ``O3ML_ENDPOINT`` it keeps data in ``$O3ML_HOME/store``, with it it fronts
  that store;
- it runs in a session of its own and keeps running after the process that started it ends (a
  killed trainer resumes against the same service); stop it with ``kill <pid>`` from its record.

``O3ML_AUTOSTART=0`` turns this off: the default address is used and, when nothing answers there,
the error says how to start a service.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from ._errors import error_for_code
from ._node_cli import cli_command

log = logging.getLogger("o3ml")

#: How long a starting service may take to report its address (a first start opens the store).
START_TIMEOUT = 120.0


def enabled() -> bool:
    """False when ``O3ML_AUTOSTART=0``."""
    return os.environ.get("O3ML_AUTOSTART", "").strip() != "0"


def o3ml_home() -> Path:
    """``$O3ML_HOME``, else ``~/.o3ml``: the same folder the service uses (services/storage/src/home.ts)."""
    return Path(os.environ.get("O3ML_HOME") or Path.home() / ".o3ml")


def _answers(address: str) -> bool:
    """Whether something accepts a TCP connection at ``host:port``."""
    try:
        host, port = address.rsplit(":", 1)
        with socket.create_connection((host.strip("[]"), int(port)), timeout=2):
            return True
    except (OSError, ValueError):
        return False


def _recorded(home: Path) -> str | None:
    """The address in ``home``'s record when its process lives and answers there (a port is
    checked as well as the process, since either may have been reused by another program)."""
    try:
        record = json.loads((home / "service.json").read_text())
        address = str(record["address"])
        os.kill(int(record["pid"]), 0)
        return address if _answers(address) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def running_address(default: str) -> str | None:
    """The address of the service autostarted for ``O3ML_HOME`` when it runs and nothing answers
    at ``default`` (a ``host:port``); never starts one."""
    if not enabled() or _answers(default):
        return None
    return _recorded(o3ml_home())


def service_address(default: str) -> str:
    """The address to use when none is given: ``default`` when something answers there or
    autostart is off, else the service of ``O3ML_HOME``, started when none runs."""
    if not enabled() or _answers(default):
        return default
    home = o3ml_home()
    found = _recorded(home)
    if found is not None:
        return found
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "service.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        # Another process may have started one while this one waited for the lock.
        found = _recorded(home)
        return found if found is not None else _start(home)


def _start(home: Path) -> str:
    command = [*cli_command(), "serve", "--listen", "127.0.0.1:0", "--json"]
    log_file = home / "service.log"
    env = {k: v for k, v in os.environ.items() if k != "O3ML_SERVICE"}
    with open(log_file, "ab") as out:
        offset = out.tell()
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd=home, env=env, start_new_session=True
        )
    ready = _await_listening(process, command, log_file, offset)
    address = ready.get("address")
    if not isinstance(address, str):
        raise error_for_code(
            "INTERNAL",
            f"the local o3ml service (pid {process.pid}) said it was listening but named no address ({ready}); "
            f"see its log, {log_file}",
        )
    record = home / "service.json"
    partial = home / f"service.json.{os.getpid()}"
    partial.write_text(json.dumps({"address": address, "pid": process.pid, "log": str(log_file)}) + "\n")
    os.replace(partial, record)
    where = ready.get("localDir") or f"bucket {ready.get('bucket')} at {ready.get('endpoint')}"
    log.info(
        "started a local o3ml service at %s (pid %d) for O3ML_HOME=%s: data in %s, log in %s; it keeps running "
        "for later processes (stop it with `kill %d`; O3ML_AUTOSTART=0 turns autostart off)",
        address, process.pid, home, where, log_file, process.pid,
    )
    return address


def _await_listening(process: subprocess.Popen[bytes], command: list[str], log_file: Path, offset: int) -> dict[str, Any]:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        with open(log_file, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
        for line in text.splitlines():
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict) and message.get("event") == "listening":
                return message
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                process.kill()
            state = f"exited with status {process.returncode}" if process.returncode is not None else f"did not start within {START_TIMEOUT:.0f} s"
            raise error_for_code(
                "UNAVAILABLE",
                f"o3ml could not start a local service (`{' '.join(command)}` {state}); its output, from "
                f"{log_file}:\n{text.strip()[-2000:]}\nStart one with `o3ml serve`, or set O3ML_SERVICE to a running service",
            )
        time.sleep(0.1)
