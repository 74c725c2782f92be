"""``TrainerProcess``: ``examples/digits/train.py`` in a child process, watched line by line.

The demo kills the trainer with SIGKILL at moments it recognises in the trainer's output (the
``O3ML-*`` marker lines of ``train.py --markers``), so the output is read as it comes, by a
thread that also copies every line to a log file for the post-mortem of a failure.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TRAIN = REPO_ROOT / "examples" / "digits" / "train.py"


class DemoError(Exception):
    """A step of the demo failed; the message says which, and what was seen."""


class TrainerProcess:
    #: Every trainer started, so the demo can make sure none outlives it whatever happened.
    started: list[TrainerProcess] = []

    def __init__(self, name: str, args: list[str], logs: Path) -> None:
        self.name = name
        self.log_path = logs / f"{name}.log"
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, str(TRAIN), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        TrainerProcess.started.append(self)
        self._pump = threading.Thread(target=self._read, name=f"{name}-output", daemon=True)
        self._pump.start()

    @classmethod
    def kill_all(cls) -> None:
        for trainer in cls.started:
            if trainer.process.poll() is None:
                trainer.kill()

    def _read(self) -> None:
        assert self.process.stdout is not None
        with open(self.log_path, "w") as log:
            for line in self.process.stdout:
                log.write(line)
                log.flush()
                self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, wanted: Callable[[str], bool], timeout: float, what: str) -> str:
        """The first new output line for which ``wanted`` is true; DemoError if the trainer exits or times out first."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self._queue.get(timeout=max(left, 0.01))
            except queue.Empty:
                if left <= 0:
                    self.kill()
                    raise DemoError(f"{self.name}: no {what} within {timeout:.0f} s\n{self.tail()}") from None
                continue
            if line is None:
                code = self.process.wait()
                raise DemoError(f"{self.name} exited with status {code} before {what}\n{self.tail()}")
            self.lines.append(line)
            if wanted(line):
                return line

    def kill(self) -> None:
        """SIGKILL: the trainer gets no chance to flush, finish an upload or clean up."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        self._drain()

    def finish(self, timeout: float) -> None:
        """Waits for a clean exit; DemoError with the output's end otherwise."""
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise DemoError(f"{self.name} did not finish within {timeout:.0f} s\n{self.tail()}") from None
        self._drain()
        if code != 0:
            raise DemoError(f"{self.name} failed with status {code}\n{self.tail()}")

    def _drain(self) -> None:
        self._pump.join(30)
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                return
            if line is not None:
                self.lines.append(line)

    def tail(self, count: int = 40) -> str:
        text = "\n".join(f"  | {line}" for line in self.lines[-count:])
        return f"last lines of {self.name} (full output in {self.log_path}):\n{text}"


def marker_fields(line: str) -> dict[str, str]:
    """``O3ML-STEP step=3 epoch=0`` → ``{"step": "3", "epoch": "0"}``."""
    return dict(part.split("=", 1) for part in line.split()[1:] if "=" in part)
