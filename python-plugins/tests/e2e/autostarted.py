"""Stopping the service o3ml autostarted for an O3ML_HOME (o3ml/_autostart.py): it outlives the
processes that used it by design, so the tests that make one stop it themselves."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path


def stop_recorded_service(home: Path) -> None:
    """Stops the service recorded in ``home``/service.json, if any, and waits for it to go."""
    record = home / "service.json"
    if not record.is_file():
        return
    pid = json.loads(record.read_text())["pid"]
    try:
        os.kill(pid, signal.SIGTERM)
        for _ in range(600):  # not this process's child: wait for its pid to go, then insist
            time.sleep(0.1)
            os.kill(pid, 0)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
