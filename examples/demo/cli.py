"""The ``o3ml`` command, run the way a user runs it (``node packages/o3ml/bin/o3ml.js``)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from typing import Any

from trainer_process import REPO_ROOT, DemoError

CLI = REPO_ROOT / "packages" / "o3ml" / "bin" / "o3ml.js"


@dataclass(frozen=True)
class Done:
    argv: list[str]
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def o3ml(*args: str, check: bool = True, timeout: float = 300) -> Done:
    argv = ["node", str(CLI), *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    result = Done(["o3ml", *args], done.returncode, done.stdout, done.stderr)
    if check and done.returncode != 0:
        raise DemoError(f"`{' '.join(result.argv)}` failed with status {done.returncode}:\n{done.stderr.strip()[-3000:] or done.stdout.strip()[-3000:]}")
    return result

